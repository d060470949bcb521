//! Background work, driven by a tokio interval (`COFUND_SCHEDULER_INTERVAL_MS`). Each job runs
//! on the one replica holding its lease ([`lease`]), and is taken over when that replica dies.
//! Every job is also idempotent and claims its rows with conditional updates, so a pass that
//! outlives its lease still cannot do anything twice.

pub mod lease;
pub mod outbox;
pub mod payments;
pub mod scheduler;

use crate::app::AppState;
use crate::app::matching as engine;
use crate::clock::now;
use crate::db::{DbConnection, DbError};
use lease::{Claim, Job};
use std::sync::atomic::Ordering;
use std::time::Duration;

/// What one pass of every job did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct JobsReport {
    pub started: usize,
    pub closed: usize,
    pub decided: usize,
    pub served: usize,
    pub refunds_done: usize,
    pub refunds_failed: usize,
    pub reconciled: usize,
    pub expired: usize,
    /// Per-donation holds that lapsed.
    pub holds_released: usize,
    /// Quadratic rounds shared.
    pub rounds_shared: usize,
    pub messages_sent: usize,
    pub messages_failed: usize,
    pub messages_dead: usize,
    /// Grants whose final report became overdue.
    pub grants_overdue: usize,
    /// Associations reminded that a final report falls due soon.
    pub reports_reminded: usize,
    /// Crowd payouts paid at the provider, and refused by it.
    pub payouts_paid: usize,
    pub payouts_failed: usize,
    /// Payouts taken back at the provider, and those the association owes instead.
    pub reversals_done: usize,
    pub reversals_owed: usize,
}

impl JobsReport {
    pub fn is_empty(&self) -> bool {
        *self == JobsReport::default()
    }
}

/// Calendar moves.
pub fn run_calendar(conn: &mut DbConnection) -> Result<JobsReport, DbError> {
    let calendar = crate::app::campaigns::run_calendar(conn)?;
    let grants_overdue = crate::app::grants::mark_overdue(conn)?.len();
    let reports_reminded = crate::app::grants::remind_reports_due(conn)?;
    Ok(JobsReport {
        started: calendar.started,
        closed: calendar.closed,
        grants_overdue,
        reports_reminded,
        ..JobsReport::default()
    })
}

/// Holds that lapsed, crossings not acted on (`catch_up`: every running campaign), decisions,
/// waitlists, quadratic rounds.
pub fn run_matching(
    conn: &mut DbConnection,
    grace: Duration,
    catch_up: bool,
) -> Result<JobsReport, DbError> {
    run_matching_with_fee(conn, grace, None, catch_up)
}

/// [`run_matching`] with the platform fee a campaign decided now keeps of its crowd money.
pub fn run_matching_with_fee(
    conn: &mut DbConnection,
    grace: Duration,
    fee_ratio: Option<rust_decimal::Decimal>,
    catch_up: bool,
) -> Result<JobsReport, DbError> {
    // Holds lapse on time whether or not a request arrives.
    let holds_released = crate::app::per_donation::expire_holds(conn, 1_000)?;
    if catch_up {
        engine::rematch_all(conn)?;
    }
    let (decided, _freed) = crate::app::campaigns::decide_closing(conn, grace, fee_ratio)?;
    let served = engine::serve_waitlists(conn)?;
    let rounds_shared = crate::app::quadratic::distribute_due(conn)?;
    Ok(JobsReport {
        decided,
        served,
        holds_released,
        rounds_shared,
        ..JobsReport::default()
    })
}

/// Claims `job`'s lease for this replica; false when another replica holds it.
async fn hold(state: &AppState, job: Job) -> Result<bool, DbError> {
    let holder = state.replica_id.clone();
    let ttl = state.config.job_lease;
    let claim = state
        .db
        .run_quiet(move |conn| lease::claim(conn, job, &holder, ttl))
        .await?;
    match claim {
        Claim::HeldElsewhere => {
            state
                .metrics
                .job_passes_skipped
                .fetch_add(1, Ordering::Relaxed);
        }
        Claim::Acquired { takeover } => {
            if takeover {
                state.metrics.job_takeovers.fetch_add(1, Ordering::Relaxed);
            }
            tracing::info!(job = job.name(), takeover, "job lease acquired");
        }
        Claim::Renewed => {}
    }
    Ok(claim.held())
}

/// One pass of `job`, if this replica holds (or can take) its lease.
pub async fn run_job(state: &AppState, job: Job) -> Result<JobsReport, DbError> {
    let mut report = JobsReport::default();
    if !hold(state, job).await? {
        return Ok(report);
    }
    let grace = state.config.closing_grace;
    match job {
        Job::Calendar => {
            let part = state.db.run_quiet(run_calendar).await?;
            report.started = part.started;
            report.closed = part.closed;
        }
        Job::Matching => {
            let catch_up = state.match_catch_up.clone();
            let fee = state.config.payments.platform_fee_ratio;
            let part = state
                .db
                .run_quiet(move |conn| {
                    let due = catch_up.due(now());
                    run_matching_with_fee(conn, grace, fee, due)
                })
                .await?;
            report.decided = part.decided;
            report.served = part.served;
            report.holds_released = part.holds_released;
            report.rounds_shared = part.rounds_shared;
        }
        Job::Refunds => {
            let (done, failed) = payments::process_refunds(state).await?;
            report.refunds_done = done;
            report.refunds_failed = failed;
        }
        Job::PendingPayments => {
            let (reconciled, expired) = payments::reconcile_pending(state).await?;
            report.reconciled = reconciled;
            report.expired = expired;
        }
        Job::Payouts => {
            let done = crate::app::payouts::run(state).await?;
            report.payouts_paid = done.paid;
            report.payouts_failed = done.failed;
            report.reversals_done = done.reversed;
            report.reversals_owed = done.owed;
        }
        Job::Outbox => {
            let sent = outbox::dispatch(state).await?;
            report.messages_sent = sent.sent;
            report.messages_failed = sent.failed;
            report.messages_dead = sent.dead;
        }
    }
    Ok(report)
}

impl JobsReport {
    fn add(&mut self, o: &JobsReport) {
        self.started += o.started;
        self.closed += o.closed;
        self.decided += o.decided;
        self.served += o.served;
        self.refunds_done += o.refunds_done;
        self.refunds_failed += o.refunds_failed;
        self.reconciled += o.reconciled;
        self.expired += o.expired;
        self.holds_released += o.holds_released;
        self.rounds_shared += o.rounds_shared;
        self.messages_sent += o.messages_sent;
        self.messages_failed += o.messages_failed;
        self.messages_dead += o.messages_dead;
        self.grants_overdue += o.grants_overdue;
        self.reports_reminded += o.reports_reminded;
        self.payouts_paid += o.payouts_paid;
        self.payouts_failed += o.payouts_failed;
        self.reversals_done += o.reversals_done;
        self.reversals_owed += o.reversals_owed;
    }
}

/// One pass of every job whose lease this replica holds (or can take), one after another (the
/// scheduler runs each job on a schedule of its own instead; tests and `cofund` use this).
pub async fn run_once(state: &AppState) -> Result<JobsReport, DbError> {
    let mut report = JobsReport::default();
    for job in Job::ALL {
        report.add(&run_job(state, job).await?);
    }
    Ok(report)
}

//! Background work, driven by a tokio interval (`COFUND_SCHEDULER_INTERVAL_MS`). Each job runs
//! on the one replica holding its lease ([`lease`]), and is taken over when that replica dies.
//! Every job is also idempotent and claims its rows with conditional updates, so a pass that
//! outlives its lease still cannot do anything twice.

pub mod lease;
pub mod payments;
pub mod scheduler;

use crate::app::AppState;
use crate::app::matching as engine;
use crate::clock::now;
use crate::db::schema::{campaigns, pledges};
use crate::db::{DbConnection, DbError};
use diesel::prelude::*;
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
}

impl JobsReport {
    pub fn is_empty(&self) -> bool {
        *self == JobsReport::default()
    }
}

/// Decides `closing` campaigns with no pending pledge left, or whose grace period has passed.
pub fn decide_closing(
    conn: &mut DbConnection,
    grace: Duration,
) -> Result<(usize, Vec<String>), DbError> {
    let closing: Vec<(String, chrono::NaiveDateTime)> = campaigns::table
        .filter(campaigns::status.eq("closing"))
        .select((campaigns::id, campaigns::ends_at))
        .order(campaigns::id)
        .limit(200)
        .load(conn)?;
    let grace = chrono::Duration::from_std(grace).unwrap_or(chrono::Duration::hours(72));
    let t = now();
    let mut decided = 0;
    let mut freed = Vec::new();
    for (id, ends_at) in closing {
        let pending: i64 = pledges::table
            .filter(pledges::campaign_id.eq(&id))
            .filter(pledges::status.eq("pending"))
            .count()
            .get_result(conn)?;
        if pending > 0 && ends_at + grace > t {
            continue;
        }
        // A crossing the rule has not acted on yet reserves (or queues) before the decision
        // reads the match: the periodic catch-up may not have reached it.
        let campaign = engine::load_campaign(conn, &id)?;
        if engine::needs_rematch(conn, &campaign)? {
            engine::rematch(conn, &id)?;
        }
        if let Some((_, effect)) = engine::decide(conn, &id)? {
            decided += 1;
            if effect.freed {
                freed.push(engine::load_campaign(conn, &id)?.fund_id);
            }
        }
    }
    Ok((decided, freed))
}

/// Serves the waitlist of every fund that has one.
pub fn serve_waitlists(conn: &mut DbConnection) -> Result<usize, DbError> {
    let funds: Vec<String> = campaigns::table
        .filter(campaigns::match_status.eq("waitlisted"))
        .select(campaigns::fund_id)
        .distinct()
        .load(conn)?;
    let mut served = 0;
    for fund in funds {
        served += engine::serve_waitlist(conn, &fund)?;
    }
    Ok(served)
}

/// Calendar moves.
pub fn run_calendar(conn: &mut DbConnection) -> Result<JobsReport, DbError> {
    let calendar = scheduler::tick(conn)?;
    Ok(JobsReport {
        started: calendar.started,
        closed: calendar.closed,
        ..JobsReport::default()
    })
}

/// How often the matching job looks at every running campaign for a crossing the rule has not
/// acted on. Every change of `raised` applies the rule in its own transaction, so this is only
/// a safety net; run on every tick it read every running campaign several times a second,
/// which at a programme's 20,000 campaigns competed with the confirmations themselves.
pub const MATCH_CATCH_UP_EVERY: chrono::TimeDelta = chrono::TimeDelta::seconds(60);

/// When this process's matching job last caught up every running campaign (by the injected
/// clock). A process's first pass always catches up: a replica taking the job over from a dead
/// one looks at everything at once.
#[derive(Debug, Default)]
pub struct CatchUp {
    last: std::sync::Mutex<Option<chrono::NaiveDateTime>>,
}

impl CatchUp {
    /// Whether a catch-up is due at `t`; if so, it counts as done from `t`.
    pub fn due(&self, t: chrono::NaiveDateTime) -> bool {
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        match *last {
            Some(at) if t < at + MATCH_CATCH_UP_EVERY => false,
            _ => {
                *last = Some(t);
                true
            }
        }
    }
}

/// Holds that lapsed, crossings not acted on (`catch_up`: every running campaign), decisions,
/// waitlists, quadratic rounds.
pub fn run_matching(
    conn: &mut DbConnection,
    grace: Duration,
    catch_up: bool,
) -> Result<JobsReport, DbError> {
    // Holds lapse on time whether or not a request arrives.
    let holds_released = crate::app::per_donation::expire_holds(conn, 1_000)?;
    if catch_up {
        engine::rematch_all(conn)?;
    }
    let (decided, _freed) = decide_closing(conn, grace)?;
    let served = serve_waitlists(conn)?;
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
            let part = state
                .db
                .run_quiet(move |conn| {
                    let due = catch_up.due(now());
                    run_matching(conn, grace, due)
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
        Job::Outbox => {
            let sent = crate::notify::dispatch::dispatch(state).await?;
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

//! Job leases: each background job is run by the one replica holding its row in `job_leases`.
//! The holder renews the lease on every pass; a replica that dies stops renewing, its lease runs
//! out after `COFUND_JOB_LEASE_MS`, and the next replica to look takes the job over.
//!
//! Every claim is one conditional UPDATE (or the INSERT that creates the row), so two replicas
//! can never both win the same lease. The jobs themselves also claim their rows conditionally,
//! so even a pass that outlives its lease cannot do a piece of work twice.

use crate::clock::now;
use crate::db::schema::job_leases;
use crate::db::{DbConnection, DbError};
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use std::time::Duration;

/// The background jobs, each with its own lease (so replicas can share the work).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Job {
    /// `approved → live` and `live → closing` on the calendar.
    Calendar,
    /// Lost crossings, decisions of closing campaigns, waitlists.
    Matching,
    /// Refunds owed to donors.
    Refunds,
    /// Pending pledges: asked of the provider, then expired.
    PendingPayments,
    /// E-mails and partner webhooks.
    Outbox,
    /// Crowd money paid on to associations, and taken back after refunds.
    Payouts,
}

impl Job {
    pub const ALL: [Job; 6] = [
        Job::Calendar,
        Job::Matching,
        Job::Refunds,
        Job::PendingPayments,
        Job::Payouts,
        Job::Outbox,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Job::Calendar => "calendar",
            Job::Matching => "matching",
            Job::Refunds => "refunds",
            Job::PendingPayments => "pending_payments",
            Job::Outbox => "outbox",
            Job::Payouts => "payouts",
        }
    }
}

/// How a claim went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// This replica already held the lease and renewed it.
    Renewed,
    /// The lease was free (first run, or its holder's lease ran out): this replica has it now.
    Acquired { takeover: bool },
    /// Another replica holds a live lease.
    HeldElsewhere,
}

impl Claim {
    pub fn held(self) -> bool {
        !matches!(self, Claim::HeldElsewhere)
    }
}

/// Renews or takes `job`'s lease for `holder`, until now + `ttl`.
pub fn claim(
    conn: &mut DbConnection,
    job: Job,
    holder: &str,
    ttl: Duration,
) -> Result<Claim, DbError> {
    let t = now();
    let until = t + chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::seconds(30));
    let row = job_leases::table.find(job.name());
    let current: Option<(String, chrono::NaiveDateTime)> = row
        .select((job_leases::holder, job_leases::lease_until))
        .first(conn)
        .optional()?;
    let won = match current {
        None => {
            let created = diesel::insert_into(job_leases::table)
                .values((
                    job_leases::job.eq(job.name()),
                    job_leases::holder.eq(holder),
                    job_leases::lease_until.eq(until),
                    job_leases::acquired_at.eq(t),
                    job_leases::renewed_at.eq(t),
                    job_leases::takeovers.eq(0i64),
                ))
                .execute(conn);
            return match created {
                Ok(_) => Ok(Claim::Acquired { takeover: false }),
                // Another replica created it first.
                Err(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => {
                    Ok(Claim::HeldElsewhere)
                }
                Err(e) => Err(e.into()),
            };
        }
        Some((current, lease_until)) if current == holder && lease_until >= t => {
            let renewed = diesel::update(row)
                .filter(job_leases::holder.eq(holder))
                .filter(job_leases::lease_until.ge(t))
                .set((
                    job_leases::lease_until.eq(until),
                    job_leases::renewed_at.eq(t),
                ))
                .execute(conn)?;
            (renewed == 1).then_some(Claim::Renewed)
        }
        Some((current, lease_until)) if lease_until < t => {
            // Expired or released. On PostgreSQL a concurrent taker waits for the first one's
            // commit, re-checks `lease_until` and finds it live again: only one wins.
            let takeover = current != holder;
            let taken = diesel::update(row)
                .filter(job_leases::lease_until.lt(t))
                .set((
                    job_leases::takeovers.eq(job_leases::takeovers + i64::from(takeover)),
                    job_leases::holder.eq(holder),
                    job_leases::lease_until.eq(until),
                    job_leases::acquired_at.eq(t),
                    job_leases::renewed_at.eq(t),
                ))
                .execute(conn)?;
            (taken == 1).then_some(Claim::Acquired { takeover })
        }
        Some(_) => None,
    };
    Ok(won.unwrap_or(Claim::HeldElsewhere))
}

/// Gives up every lease `holder` has (a clean shutdown), so the others take over at once.
pub fn release_all(conn: &mut DbConnection, holder: &str) -> Result<usize, DbError> {
    let t = now() - chrono::Duration::seconds(1);
    Ok(diesel::update(job_leases::table)
        .filter(job_leases::holder.eq(holder))
        .set(job_leases::lease_until.eq(t))
        .execute(conn)?)
}

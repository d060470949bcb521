//! Moves campaigns along the calendar: `approved → live` at `starts_at`, `live → closing` at
//! `ends_at`. Each step is one conditional UPDATE per campaign, so replicas running the same
//! tick cannot move a campaign twice.

use crate::app::AppState;
use crate::clock::now;
use crate::db::queries::audit_system;
use crate::db::schema::campaigns;
use crate::db::{DbConnection, DbError, write_tx};
use diesel::prelude::*;
use std::sync::atomic::Ordering;

/// What one tick did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct TickReport {
    pub started: usize,
    pub closed: usize,
}

/// One pass of the calendar jobs.
pub fn tick(conn: &mut DbConnection) -> Result<TickReport, DbError> {
    let t = now();
    let to_start: Vec<String> = campaigns::table
        .filter(campaigns::status.eq("approved"))
        .filter(campaigns::starts_at.le(t))
        .select(campaigns::id)
        .order(campaigns::id)
        .limit(500)
        .load(conn)?;
    let mut report = TickReport::default();
    for id in to_start {
        report.started += move_one(conn, &id, "approved", "live", "campaign.go_live")?;
    }
    let to_close: Vec<String> = campaigns::table
        .filter(campaigns::status.eq("live"))
        .filter(campaigns::ends_at.le(t))
        .select(campaigns::id)
        .order(campaigns::id)
        .limit(500)
        .load(conn)?;
    for id in to_close {
        report.closed += move_one(conn, &id, "live", "closing", "campaign.close")?;
    }
    Ok(report)
}

fn move_one(
    conn: &mut DbConnection,
    id: &str,
    from: &str,
    to: &str,
    action: &str,
) -> Result<usize, DbError> {
    write_tx(conn, |conn| -> Result<usize, DbError> {
        let changed = diesel::update(campaigns::table.find(id))
            .filter(campaigns::status.eq(from))
            .set((campaigns::status.eq(to), campaigns::updated_at.eq(now())))
            .execute(conn)?;
        if changed == 1 {
            audit_system(
                conn,
                action,
                "campaign",
                id,
                Some(format!("{from} -> {to}")),
            )?;
            let campaign = crate::app::matching::load_campaign(conn, id)?;
            let fund = crate::app::matching::load_fund(conn, &campaign.fund_id)?;
            crate::notify::campaign_changed(conn, &campaign, &fund, None, true)?;
        }
        Ok(changed)
    })
}

/// Runs every job, each on its own interval, until `shutdown` fires.
pub async fn run(state: AppState, shutdown: tokio::sync::watch::Receiver<bool>) {
    // Each job on a schedule of its own: a slow partner endpoint or a provider outage holds up
    // its own job only, never the calendar or the decisions.
    let mut loops: Vec<_> = super::lease::Job::ALL
        .into_iter()
        .map(|job| actix_web::rt::spawn(run_job_loop(state.clone(), job, shutdown.clone())))
        .collect();
    loops.push(actix_web::rt::spawn(refresh_revocations(
        state.clone(),
        shutdown.clone(),
    )));
    for l in loops {
        let _ = l.await;
    }
    // Hand the jobs over now rather than when the leases run out.
    let holder = state.replica_id.clone();
    match state
        .db
        .run(move |conn| super::lease::release_all(conn, &holder))
        .await
    {
        Ok(n) => tracing::info!(released = n, "scheduler stopped"),
        Err(e) => tracing::warn!(error = %e, "scheduler stopped; job leases left to run out"),
    }
}

/// Runs `job` every scheduler interval until shutdown.
async fn run_job_loop(
    state: AppState,
    job: super::lease::Job,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    let mut ticker = tokio::time::interval(state.config.scheduler_interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let metrics = state.metrics.clone();
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = shutdown.changed() => break,
        }
        let pass = super::run_job(&state, job);
        let report = tokio::select! {
            r = pass => r,
            // A pass in progress is dropped at shutdown: every job claims its rows with
            // conditional updates or leases, so what it did not finish is done again later.
            _ = shutdown.changed() => break,
        };
        match report {
            Ok(report) => {
                metrics.scheduler_runs.fetch_add(1, Ordering::Relaxed);
                metrics
                    .campaigns_started
                    .fetch_add(report.started as u64, Ordering::Relaxed);
                metrics
                    .campaigns_closed
                    .fetch_add(report.closed as u64, Ordering::Relaxed);
                if !report.is_empty() {
                    tracing::info!(job = job.name(), ?report, "scheduler pass");
                }
            }
            Err(e) => {
                metrics.scheduler_errors.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(job = job.name(), error = %e, "scheduler pass failed");
            }
        }
    }
}

/// Reloads the revoked tokens (disabled principals, rotated secrets) every interval, on every
/// replica: what another replica disabled stops working here within one interval.
async fn refresh_revocations(state: AppState, mut shutdown: tokio::sync::watch::Receiver<bool>) {
    let mut ticker = tokio::time::interval(state.config.scheduler_interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = shutdown.changed() => break,
        }
        let loaded = state
            .db
            .read(|conn| -> Result<_, crate::db::DbError> {
                Ok(crate::db::queries::revocations(conn)?)
            })
            .await;
        match loaded {
            Ok(all) => state.revocations.replace(all),
            Err(e) => tracing::warn!(error = %e, "could not reload revoked tokens"),
        }
    }
}

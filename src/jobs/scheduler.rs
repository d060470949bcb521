//! Runs the jobs, each on its own interval, on the replica that holds its lease. What a job
//! does is a use case of `app` (the calendar's moves are `app::campaigns::run_calendar`).

use crate::app::AppState;
use std::sync::atomic::Ordering;

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
                Ok((
                    crate::db::queries::revocations(conn)?,
                    crate::db::queries::credential_generations(conn)?,
                ))
            })
            .await;
        match loaded {
            Ok((all, generations)) => {
                state.revocations.replace(all);
                state.revocations.merge_generations(generations);
            }
            Err(e) => tracing::warn!(error = %e, "could not reload revoked tokens"),
        }
    }
}

//! The service's own state: whether it is ready to serve, and its counters.

use super::AppState;
use crate::db::DbError;
use crate::db::schema::campaigns;
use diesel::dsl::count_star;
use diesel::prelude::*;

/// Whether the service can serve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Readiness {
    /// The database answers and every migration is applied.
    Ready,
    /// The database answers; migrations are still to be applied.
    MigrationsPending,
    /// The database does not answer (or the probe failed).
    DatabaseUnavailable,
}

/// Probes the database (only reads: a probe leaves the read caches valid).
pub async fn readiness(state: &AppState) -> Readiness {
    let db = state.db.clone();
    match tokio::task::spawn_blocking(move || db.ready()).await {
        Ok(Ok(true)) => Readiness::Ready,
        Ok(Ok(false)) => Readiness::MigrationsPending,
        _ => Readiness::DatabaseUnavailable,
    }
}

/// The Prometheus text exposition: the process's counters, the pool's connections and the
/// campaigns by status. A database outage must not hide the process's own counters: the
/// campaigns are left out when they cannot be read. Only reads: a scrape leaves the read caches
/// valid.
pub async fn metrics_text(state: &AppState) -> String {
    let by_status = state
        .db
        .read(|conn| -> Result<Vec<(String, i64)>, DbError> {
            Ok(campaigns::table
                .group_by(campaigns::status)
                .select((campaigns::status, count_star()))
                .order(campaigns::status)
                .load(conn)?)
        })
        .await
        .unwrap_or_default();
    state.metrics.render(&by_status, state.db.pool_state())
}

//! The service's clock: every stored timestamp comes from here, so every layer (database,
//! jobs, notifications, providers) reads time the same way without depending on the HTTP layer.

use chrono::{DateTime, NaiveDateTime, Timelike, Utc};

/// Now, in UTC, truncated to microseconds (which round-trip identically on PostgreSQL and
/// SQLite).
pub fn now() -> NaiveDateTime {
    truncate(Utc::now().naive_utc())
}

/// A client-supplied instant as both backends store it (microseconds, UTC).
pub fn from_client(t: DateTime<Utc>) -> NaiveDateTime {
    truncate(t.naive_utc())
}

fn truncate(t: NaiveDateTime) -> NaiveDateTime {
    t.with_nanosecond(t.nanosecond() / 1000 * 1000).unwrap_or(t)
}

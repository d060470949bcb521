//! Shared pieces of the JSON representation.

use crate::domain::money::{Currency, format_amount};
use chrono::{DateTime, NaiveDateTime, Utc};

/// A stored UTC timestamp as RFC 3339 (`2026-05-01T08:00:00Z`).
pub fn ts(t: NaiveDateTime) -> DateTime<Utc> {
    t.and_utc()
}

/// Minor units as the API writes money ("25.00"), in a stored currency code.
pub fn money(minor: i64, currency: &str) -> String {
    let c = Currency::parse(currency).unwrap_or(Currency::EUR);
    format_amount(minor, c)
}

pub fn now() -> NaiveDateTime {
    // Microsecond precision round-trips identically on PostgreSQL and SQLite.
    let n = Utc::now().naive_utc();
    n.with_nanosecond_truncated()
}

trait TruncateNanos {
    fn with_nanosecond_truncated(self) -> Self;
}

impl TruncateNanos for NaiveDateTime {
    fn with_nanosecond_truncated(self) -> Self {
        use chrono::Timelike;
        let micros = self.nanosecond() / 1000 * 1000;
        self.with_nanosecond(micros).unwrap_or(self)
    }
}

/// Truncates a client-supplied instant to what both backends store (microseconds, UTC).
pub fn from_client(t: DateTime<Utc>) -> NaiveDateTime {
    t.naive_utc().with_nanosecond_truncated()
}

//! Shared pieces of the JSON representation.

use crate::domain::money::Currency;
use chrono::{DateTime, NaiveDateTime, Utc};

/// A stored UTC timestamp as RFC 3339 (`2026-05-01T08:00:00Z`).
pub fn ts(t: NaiveDateTime) -> DateTime<Utc> {
    t.and_utc()
}

/// Minor units as the API writes money ("25.00").
pub fn money(minor: i64, currency: &Currency) -> String {
    crate::domain::money::format_amount(minor, *currency)
}

pub use crate::clock::{from_client, now};

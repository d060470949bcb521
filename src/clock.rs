//! The service's clock: every stored timestamp comes from here, so every layer (database,
//! jobs, notifications, providers) reads time the same way without depending on the HTTP layer.
//!
//! The clock is injected: a [`Clock`] belongs to a `Db` (`Db::with_clock`), and `Db::run` and
//! `Db::read` make it the clock of the thread that runs their closure, so every rule, job and
//! query that runs on that database reads [`now`] from it. Outside such a closure [`now`] is
//! the system clock. Tests use a clock they can move forward ([`Clock::advance`]) instead of
//! rewriting stored timestamps.

use chrono::{DateTime, NaiveDateTime, TimeDelta, Timelike, Utc};
use std::cell::RefCell;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

/// The system clock, possibly moved forward by a test.
#[derive(Clone, Debug, Default)]
pub struct Clock {
    /// Microseconds added to the system time; None for the plain system clock.
    ahead: Option<Arc<AtomicI64>>,
}

impl Clock {
    /// The system clock.
    pub fn system() -> Clock {
        Clock { ahead: None }
    }

    /// A clock that runs with the system clock and can be moved forward (tests).
    pub fn adjustable() -> Clock {
        Clock {
            ahead: Some(Arc::new(AtomicI64::new(0))),
        }
    }

    /// Now by this clock, in UTC, truncated to microseconds.
    pub fn now(&self) -> NaiveDateTime {
        let system = Utc::now().naive_utc();
        let t = match &self.ahead {
            Some(ahead) => system + TimeDelta::microseconds(ahead.load(Ordering::Acquire)),
            None => system,
        };
        truncate(t)
    }

    /// Moves an adjustable clock forward by `by` (every copy of it moves). A system clock
    /// cannot be moved: this panics, as it can only be a test's mistake.
    pub fn advance(&self, by: TimeDelta) {
        let ahead = self
            .ahead
            .as_ref()
            .expect("only an adjustable clock can be moved");
        let micros = by
            .num_microseconds()
            .expect("a test moves time by less than 290k years");
        ahead.fetch_add(micros, Ordering::AcqRel);
    }

    /// Makes this the clock of the current thread until the returned guard is dropped.
    pub fn enter(&self) -> ClockScope {
        ClockScope(CURRENT.with(|c| c.replace(Some(self.clone()))))
    }
}

thread_local! {
    static CURRENT: RefCell<Option<Clock>> = const { RefCell::new(None) };
}

/// Restores the thread's previous clock when dropped (see [`Clock::enter`]).
pub struct ClockScope(Option<Clock>);

impl Drop for ClockScope {
    fn drop(&mut self) {
        let previous = self.0.take();
        CURRENT.with(|c| *c.borrow_mut() = previous);
    }
}

/// Now, in UTC, truncated to microseconds (which round-trip identically on PostgreSQL and
/// SQLite), by the clock of the database this thread works for (the system clock elsewhere).
pub fn now() -> NaiveDateTime {
    CURRENT.with(|c| match &*c.borrow() {
        Some(clock) => clock.now(),
        None => truncate(Utc::now().naive_utc()),
    })
}

/// A client-supplied instant as both backends store it (microseconds, UTC).
pub fn from_client(t: DateTime<Utc>) -> NaiveDateTime {
    truncate(t.naive_utc())
}

fn truncate(t: NaiveDateTime) -> NaiveDateTime {
    t.with_nanosecond(t.nanosecond() / 1000 * 1000).unwrap_or(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_adjustable_clock_moves_every_copy_and_only_inside_its_scope() {
        let clock = Clock::adjustable();
        let copy = clock.clone();
        clock.advance(TimeDelta::days(2));
        let outside = now();
        {
            let _scope = copy.enter();
            assert!(now() - outside >= TimeDelta::days(2));
        }
        assert!(now() - outside < TimeDelta::days(1));
    }
}

//! Progressive delays after failed sign-ins, per account. Only failures count: the owner signing
//! in as often as they like is never slowed down, and a stranger failing an account's password
//! can delay its owner by at most [`FailureBackoff::max`] at a time, never lock them out. Each
//! replica keeps its own counts (a replica bounds what it is sent).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub struct FailureBackoff {
    /// Failures allowed before the first delay.
    free: u32,
    first: Duration,
    max: Duration,
    /// Per key: consecutive failures, and the instant before which attempts are refused.
    state: Mutex<HashMap<String, (u32, Instant)>>,
}

impl FailureBackoff {
    pub fn new(free: u32, first: Duration, max: Duration) -> FailureBackoff {
        FailureBackoff {
            free: free.max(1),
            first,
            max,
            state: Mutex::new(HashMap::new()),
        }
    }

    /// `Err(retry_after)` while `key` is waiting out a delay.
    pub fn check(&self, key: &str) -> Result<(), Duration> {
        self.check_at(key, Instant::now())
    }

    /// Counts a failed attempt for `key`.
    pub fn failed(&self, key: &str) {
        self.failed_at(key, Instant::now())
    }

    /// A successful attempt clears `key`'s failures.
    pub fn succeeded(&self, key: &str) {
        self.lock().remove(key);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (u32, Instant)>> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn check_at(&self, key: &str, now: Instant) -> Result<(), Duration> {
        match self.lock().get(key) {
            Some((_, until)) if *until > now => Err(*until - now),
            _ => Ok(()),
        }
    }

    fn failed_at(&self, key: &str, now: Instant) {
        let mut state = self.lock();
        if state.len() > 100_000 {
            // Bound memory under a flood of distinct names: forget those not waiting.
            state.retain(|_, (_, until)| *until > now);
        }
        let entry = state.entry(key.to_string()).or_insert((0, now));
        entry.0 = entry.0.saturating_add(1);
        if entry.0 >= self.free {
            let doublings = (entry.0 - self.free).min(20);
            let delay = self.first.saturating_mul(1u32 << doublings).min(self.max);
            entry.1 = now + delay;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_failures_count_and_delays_grow_up_to_a_cap() {
        let b = FailureBackoff::new(3, Duration::from_secs(2), Duration::from_secs(60));
        let t = Instant::now();
        for _ in 0..2 {
            b.failed_at("admin", t);
            assert!(b.check_at("admin", t).is_ok());
        }
        b.failed_at("admin", t);
        assert_eq!(b.check_at("admin", t), Err(Duration::from_secs(2)));
        assert!(b.check_at("admin", t + Duration::from_secs(2)).is_ok());
        assert!(b.check_at("someone-else", t).is_ok());
        b.failed_at("admin", t);
        assert_eq!(b.check_at("admin", t), Err(Duration::from_secs(4)));
        for _ in 0..30 {
            b.failed_at("admin", t);
        }
        assert_eq!(b.check_at("admin", t), Err(Duration::from_secs(60)));
        b.succeeded("admin");
        assert!(b.check_at("admin", t).is_ok());
    }
}

//! A small in-process fixed-window rate limiter keyed by client. Each replica limits on its
//! own; that bounds brute force per process, which is what the token endpoint needs.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub struct RateLimiter {
    limit: u32,
    window: Duration,
    buckets: Mutex<HashMap<String, (Instant, u32)>>,
}

impl RateLimiter {
    pub fn new(limit: u32, window: Duration) -> RateLimiter {
        RateLimiter {
            limit,
            window,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one attempt for `key`; `Err(retry_after)` when over the limit.
    pub fn check(&self, key: &str) -> Result<(), Duration> {
        self.check_at(key, Instant::now())
    }

    /// True while `key` has no attempt left in its current window (counts nothing).
    pub fn is_exhausted(&self, key: &str) -> bool {
        self.is_exhausted_at(key, Instant::now())
    }

    fn is_exhausted_at(&self, key: &str, now: Instant) -> bool {
        let buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        buckets
            .get(key)
            .is_some_and(|(start, n)| now.duration_since(*start) < self.window && *n >= self.limit)
    }

    fn check_at(&self, key: &str, now: Instant) -> Result<(), Duration> {
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() > 100_000 {
            // Bound memory under a flood of distinct keys.
            buckets.retain(|_, (start, _)| now.duration_since(*start) < self.window);
        }
        let entry = buckets.entry(key.to_string()).or_insert((now, 0));
        if now.duration_since(entry.0) >= self.window {
            *entry = (now, 0);
        }
        if entry.1 >= self.limit {
            return Err(self.window.saturating_sub(now.duration_since(entry.0)));
        }
        entry.1 += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_per_key_and_resets_after_the_window() {
        let rl = RateLimiter::new(2, Duration::from_secs(60));
        let t0 = Instant::now();
        assert!(rl.check_at("a", t0).is_ok());
        assert!(rl.check_at("a", t0).is_ok());
        let retry = rl.check_at("a", t0).unwrap_err();
        assert!(retry <= Duration::from_secs(60) && retry > Duration::from_secs(59));
        assert!(rl.check_at("b", t0).is_ok());
        assert!(rl.check_at("a", t0 + Duration::from_secs(61)).is_ok());
    }

    #[test]
    fn exhaustion_is_seen_without_spending_an_attempt() {
        let rl = RateLimiter::new(2, Duration::from_secs(60));
        let t0 = Instant::now();
        assert!(!rl.is_exhausted_at("a", t0));
        assert!(rl.check_at("a", t0).is_ok());
        assert!(!rl.is_exhausted_at("a", t0));
        assert!(!rl.is_exhausted_at("a", t0), "looking must not count");
        assert!(rl.check_at("a", t0).is_ok());
        assert!(rl.is_exhausted_at("a", t0));
        assert!(!rl.is_exhausted_at("b", t0));
        assert!(!rl.is_exhausted_at("a", t0 + Duration::from_secs(61)));
    }
}

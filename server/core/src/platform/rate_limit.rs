//! In-memory rate limits, keyed by whatever the caller limits (an IP address, an account and
//! address pair): sliding windows ([`RateLimiter`]) and growing delays ([`Backoff`]). Memory is
//! bounded: each key keeps a few numbers, and stale keys are swept when a table grows past its cap.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Counts events per key and refuses once `limit` happened within `window`.
#[derive(Debug)]
pub struct RateLimiter {
    limit: usize,
    window: Duration,
    max_keys: usize,
    events: Mutex<HashMap<String, VecDeque<Instant>>>,
}

/// Refused: the next event for this key is allowed after this long.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryAfter(pub Duration);

impl RetryAfter {
    /// Whole seconds to wait, at least one.
    pub fn secs(self) -> u64 {
        (self.0.as_secs() + u64::from(self.0.subsec_nanos() > 0)).max(1)
    }
}

impl RateLimiter {
    /// At most `limit` events per key in any `window`.
    pub fn new(limit: usize, window: Duration) -> Self {
        Self { limit: limit.max(1), window, max_keys: 100_000, events: Mutex::default() }
    }

    /// Refuses if `key` already used its budget; does not count anything.
    pub fn check(&self, key: &str, now: Instant) -> Result<(), RetryAfter> {
        let mut events = self.lock();
        match events.get_mut(key) {
            Some(times) => self.prune_and_test(times, now),
            None => Ok(()),
        }
    }

    /// Counts one event for `key`.
    pub fn record(&self, key: &str, now: Instant) {
        let mut events = self.lock();
        if events.len() >= self.max_keys && !events.contains_key(key) {
            let window = self.window;
            events.retain(|_, times| times.back().is_some_and(|t| now.duration_since(*t) < window));
        }
        let times = events.entry(key.to_owned()).or_default();
        if times.len() >= self.limit {
            times.pop_front();
        }
        times.push_back(now);
    }

    /// Forgets `key`, e.g. after a successful sign-in.
    pub fn reset(&self, key: &str) {
        self.lock().remove(key);
    }

    fn prune_and_test(
        &self,
        times: &mut VecDeque<Instant>,
        now: Instant,
    ) -> Result<(), RetryAfter> {
        while times.front().is_some_and(|t| now.duration_since(*t) >= self.window) {
            times.pop_front();
        }
        match times.front() {
            Some(oldest) if times.len() >= self.limit => {
                Err(RetryAfter(self.window.saturating_sub(now.duration_since(*oldest))))
            }
            _ => Ok(()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, VecDeque<Instant>>> {
        // A panic while holding the lock leaves counts that are still valid numbers.
        self.events.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Growing delays per key: after `free` failures in a row, the next attempt waits one second, and
/// each further failure doubles the wait (up to `max`). A key is forgotten after `max` without
/// a failure, or at once on [`Backoff::reset`]. Nobody is ever locked out for longer than `max`,
/// and only the keys that failed wait.
#[derive(Debug)]
pub struct Backoff {
    free: u32,
    max: Duration,
    max_keys: usize,
    failures: Mutex<HashMap<String, (u32, Instant)>>,
}

impl Backoff {
    /// `free` failures without delay, then delays doubling from one second up to `max`.
    pub fn new(free: u32, max: Duration) -> Self {
        Self { free, max, max_keys: 100_000, failures: Mutex::default() }
    }

    /// The wait after `count` failures in a row: none for the first `free`, then 1 s, 2 s, ...
    fn delay(&self, count: u32) -> Duration {
        match count.checked_sub(self.free) {
            None => Duration::ZERO,
            Some(extra) => Duration::from_secs(1u64 << extra.min(20)).min(self.max),
        }
    }

    /// Refuses while `key` must still wait after its last failure; counts nothing.
    pub fn check(&self, key: &str, now: Instant) -> Result<(), RetryAfter> {
        let failures = self.lock();
        let Some(&(count, last)) = failures.get(key) else { return Ok(()) };
        let ready = last + self.delay(count);
        if now < ready { Err(RetryAfter(ready - now)) } else { Ok(()) }
    }

    /// Counts one failure for `key`.
    pub fn record(&self, key: &str, now: Instant) {
        let mut failures = self.lock();
        if failures.len() >= self.max_keys && !failures.contains_key(key) {
            let max = self.max;
            failures.retain(|_, (_, last)| now.duration_since(*last) < max);
        }
        let entry = failures.entry(key.to_owned()).or_insert((0, now));
        if now.duration_since(entry.1) >= self.max {
            entry.0 = 0;
        }
        *entry = (entry.0.saturating_add(1), now);
    }

    /// Forgets `key`, e.g. after a successful sign-in.
    pub fn reset(&self, key: &str) {
        self.lock().remove(key);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (u32, Instant)>> {
        self.failures.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_lets_free_failures_through_then_doubles_the_wait_up_to_its_cap() {
        let backoff = Backoff::new(2, Duration::from_secs(10));
        let t0 = Instant::now();
        for i in 0..2 {
            assert_eq!(backoff.check("pair", t0), Ok(()), "free attempt {i}");
            backoff.record("pair", t0);
        }
        assert_eq!(backoff.check("pair", t0), Err(RetryAfter(Duration::from_secs(1))));
        backoff.record("pair", t0);
        assert_eq!(backoff.check("pair", t0), Err(RetryAfter(Duration::from_secs(2))));
        for _ in 0..10 {
            backoff.record("pair", t0);
        }
        assert_eq!(backoff.check("pair", t0), Err(RetryAfter(Duration::from_secs(10))), "capped");
        assert_eq!(backoff.check("other", t0), Ok(()));
        assert_eq!(backoff.check("pair", t0 + Duration::from_secs(10)), Ok(()));
        backoff.reset("pair");
        assert_eq!(backoff.check("pair", t0), Ok(()));
    }

    #[test]
    fn the_limit_applies_within_the_window_and_lifts_after_it() {
        let limiter = RateLimiter::new(2, Duration::from_secs(60));
        let t0 = Instant::now();
        limiter.record("ip", t0);
        limiter.record("ip", t0 + Duration::from_secs(10));
        assert_eq!(
            limiter.check("ip", t0 + Duration::from_secs(20)),
            Err(RetryAfter(Duration::from_secs(40)))
        );
        assert_eq!(limiter.check("other", t0), Ok(()));
        assert_eq!(limiter.check("ip", t0 + Duration::from_secs(60)), Ok(()));
    }

    #[test]
    fn reset_forgets_a_key() {
        let limiter = RateLimiter::new(1, Duration::from_secs(60));
        let now = Instant::now();
        limiter.record("a", now);
        assert!(limiter.check("a", now).is_err());
        limiter.reset("a");
        assert!(limiter.check("a", now).is_ok());
    }

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        assert_eq!(RetryAfter(Duration::from_millis(1500)).secs(), 2);
        assert_eq!(RetryAfter(Duration::from_millis(10)).secs(), 1);
    }
}

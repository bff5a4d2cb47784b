//! [`RateLimiter`]: at most N records per second for one receiver.

use std::time::{Duration, Instant};

/// Counts records in one-second windows and says how long to wait when a window is full.
#[derive(Debug)]
pub struct RateLimiter {
    per_second: u64,
    window_start: Instant,
    in_window: u64,
}

impl RateLimiter {
    /// A limiter of `per_second` records per second (at least 1).
    pub fn new(per_second: u64) -> Self {
        RateLimiter {
            per_second: per_second.max(1),
            window_start: Instant::now(),
            in_window: 0,
        }
    }

    /// Records `n` more records; returns how long to pause before reading more.
    pub fn admit(&mut self, n: u64) -> Option<Duration> {
        let now = Instant::now();
        let elapsed = now - self.window_start;
        if elapsed >= Duration::from_secs(1) {
            self.window_start = now;
            self.in_window = 0;
        }
        self.in_window += n;
        if self.in_window >= self.per_second {
            let wait = Duration::from_secs(1).saturating_sub(now - self.window_start);
            self.window_start += Duration::from_secs(1);
            self.in_window -= self.per_second;
            Some(wait)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asks_to_wait_when_the_second_is_full() {
        let mut r = RateLimiter::new(100);
        assert_eq!(r.admit(50), None);
        let wait = r.admit(60).unwrap();
        assert!(wait > Duration::from_millis(900), "{wait:?}");
    }
}

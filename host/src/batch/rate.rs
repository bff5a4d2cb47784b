//! [`RateLimiter`]: at most N records per second for one receiver, the lower of its
//! configured `rate_limit` and the rate backpressure last set (Spark's receiver
//! `RateLimiter` with `updateRate`). Shared by the receiver task, which asks before each
//! read, and the driver, which updates the rate after each batch.

use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Credit a limiter may build up while its receiver is idle: after a pause, this much
/// time's worth of records is read without waiting.
const BURST: Duration = Duration::from_millis(100);

/// How much time's worth of records one read should bring in at the rate in force, so
/// that a read never puts the receiver far ahead of its rate.
const READ_SPAN: f64 = 0.02;

/// Smallest and largest read, bytes.
pub const MIN_READ: usize = 256;
/// See [`MIN_READ`].
pub const MAX_READ: usize = 64 << 10;

#[derive(Debug)]
struct Bucket {
    /// From backpressure, records per second.
    estimated: Option<f64>,
    /// When the records read so far are paid for at the rate in force.
    paid_until: Instant,
}

/// A token bucket on records per second; thread-safe.
#[derive(Debug)]
pub struct RateLimiter {
    configured: Option<f64>,
    bucket: Mutex<Bucket>,
}

impl RateLimiter {
    /// A limiter of at most `configured` records per second (at least 1), or unlimited
    /// until [`RateLimiter::update_rate`] sets a rate.
    pub fn new(configured: Option<u64>) -> Self {
        RateLimiter {
            configured: configured.map(|r| r.max(1) as f64),
            bucket: Mutex::new(Bucket {
                estimated: None,
                paid_until: Instant::now(),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Bucket> {
        self.bucket.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Backpressure's new rate (`None`: none); the configured limit still caps it.
    pub fn update_rate(&self, per_second: Option<f64>) {
        self.lock().estimated = per_second.map(|r| r.max(1.0));
    }

    /// The limit in force, records per second: the lower of the configured limit and the
    /// rate backpressure set, if either.
    pub fn limit(&self) -> Option<f64> {
        Self::effective(self.configured, self.lock().estimated)
    }

    fn effective(configured: Option<f64>, estimated: Option<f64>) -> Option<f64> {
        match (configured, estimated) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// How long to wait before reading more, or `None` to read now.
    pub fn wait(&self) -> Option<Duration> {
        let b = self.lock();
        Self::effective(self.configured, b.estimated)?;
        let now = Instant::now();
        (b.paid_until > now).then(|| b.paid_until - now)
    }

    /// Records that `records` were read.
    pub fn charge(&self, records: u64) {
        let mut b = self.lock();
        let Some(rate) = Self::effective(self.configured, b.estimated) else {
            return;
        };
        let now = Instant::now();
        let from = b.paid_until.max(now.checked_sub(BURST).unwrap_or(now));
        b.paid_until = from + Duration::from_secs_f64(records as f64 / rate);
    }

    /// How many bytes the next read may take: about [`READ_SPAN`] of records at the rate
    /// in force, given the average record size seen so far; [`MAX_READ`] without a limit.
    pub fn read_size(&self, bytes_per_record: f64) -> usize {
        match self.limit() {
            Some(rate) => {
                let bytes = rate * READ_SPAN * bytes_per_record.max(1.0);
                (bytes as usize).clamp(MIN_READ, MAX_READ)
            }
            None => MAX_READ,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unlimited_until_a_rate_is_set() {
        let r = RateLimiter::new(None);
        r.charge(1_000_000);
        assert_eq!(
            (r.wait(), r.limit(), r.read_size(10.0)),
            (None, None, MAX_READ)
        );
        r.update_rate(Some(100.0));
        assert_eq!(r.limit(), Some(100.0));
        r.charge(50);
        // 50 records at 100/s are paid for in 0.5 s, less the idle credit.
        let wait = r.wait().unwrap();
        assert!(wait > Duration::from_millis(300), "{wait:?}");
        assert!(wait <= Duration::from_millis(500), "{wait:?}");
    }

    #[test]
    fn the_configured_limit_caps_backpressure() {
        let r = RateLimiter::new(Some(1000));
        assert_eq!(r.limit(), Some(1000.0));
        r.update_rate(Some(5000.0));
        assert_eq!(r.limit(), Some(1000.0));
        r.update_rate(Some(200.0));
        assert_eq!(r.limit(), Some(200.0));
        r.update_rate(None);
        assert_eq!(r.limit(), Some(1000.0));
    }

    #[test]
    fn reads_shrink_with_the_rate() {
        let r = RateLimiter::new(Some(1_000_000));
        assert_eq!(r.read_size(20.0), MAX_READ);
        r.update_rate(Some(1000.0));
        // 1000 records/s * 20 ms * 20 bytes = 400 bytes.
        assert_eq!(r.read_size(20.0), 400);
        r.update_rate(Some(1.0));
        assert_eq!(r.read_size(20.0), MIN_READ);
    }
}

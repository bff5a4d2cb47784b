//! [`PidRateEstimator`]: Spark Streaming's backpressure controller. From each completed
//! batch (records, processing time, scheduling delay) it estimates the rate the job can
//! sustain; receivers and direct sources then take in no more than that.

/// One completed batch, as the estimator sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateSample {
    /// The batch time, in ms.
    pub time_ms: i64,
    /// Records the batch took in.
    pub records: u64,
    /// How long the batch took, in ms.
    pub processing_ms: f64,
    /// How long the batch waited before it started, in ms.
    pub scheduling_delay_ms: f64,
}

/// A PID controller on the ingestion rate (records per second), as in Spark's
/// `PIDRateEstimator` with its defaults: proportional 1.0, integral 0.2, derivative 0.
#[derive(Debug, Clone)]
pub struct PidRateEstimator {
    batch_ms: f64,
    proportional: f64,
    integral: f64,
    derivative: f64,
    min_rate: f64,
    first_run: bool,
    latest_time: i64,
    latest_rate: f64,
    latest_error: f64,
}

impl PidRateEstimator {
    /// An estimator for a job with the given batch interval; the rate never drops below
    /// `min_rate` records per second.
    pub fn new(batch_ms: i64, min_rate: f64) -> Self {
        PidRateEstimator {
            batch_ms: batch_ms.max(1) as f64,
            proportional: 1.0,
            integral: 0.2,
            derivative: 0.0,
            min_rate: min_rate.max(1.0),
            first_run: true,
            latest_time: -1,
            latest_rate: -1.0,
            latest_error: -1.0,
        }
    }

    /// The rate of the last batch that said something: the processing rate of the first
    /// one (the baseline), then the last rate [`PidRateEstimator::compute`] returned.
    pub fn latest_rate(&self) -> Option<f64> {
        (self.latest_rate >= 0.0).then_some(self.latest_rate.max(self.min_rate))
    }

    /// The new rate limit after a batch, or `None` when the batch says nothing (no
    /// records, no time spent, or the first batch, which only sets the baseline).
    pub fn compute(&mut self, s: RateSample) -> Option<f64> {
        if s.time_ms <= self.latest_time || s.records == 0 || s.processing_ms <= 0.0 {
            return None;
        }
        let since_update_s = if self.latest_time < 0 {
            self.batch_ms / 1e3
        } else {
            (s.time_ms - self.latest_time) as f64 / 1e3
        };
        let processing_rate = s.records as f64 / s.processing_ms * 1e3;
        let error = self.latest_rate - processing_rate;
        // The backlog the scheduling delay stands for, as a rate over one batch interval.
        let historical_error = s.scheduling_delay_ms * processing_rate / self.batch_ms;
        let d_error = (error - self.latest_error) / since_update_s;
        let new_rate = (self.latest_rate
            - self.proportional * error
            - self.integral * historical_error
            - self.derivative * d_error)
            .max(self.min_rate);
        self.latest_time = s.time_ms;
        if self.first_run {
            self.latest_rate = processing_rate;
            self.latest_error = 0.0;
            self.first_run = false;
            None
        } else {
            self.latest_rate = new_rate;
            self.latest_error = error;
            Some(new_rate)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(time_ms: i64, records: u64, processing_ms: f64, delay_ms: f64) -> RateSample {
        RateSample {
            time_ms,
            records,
            processing_ms,
            scheduling_delay_ms: delay_ms,
        }
    }

    #[test]
    fn first_batch_sets_the_baseline_only() {
        let mut e = PidRateEstimator::new(1000, 100.0);
        assert_eq!(e.latest_rate(), None);
        assert_eq!(e.compute(sample(1000, 1000, 500.0, 0.0)), None);
        assert_eq!(
            e.latest_rate(),
            Some(2000.0),
            "the baseline's processing rate"
        );
        assert_eq!(
            e.compute(sample(1000, 1000, 500.0, 0.0)),
            None,
            "same time again"
        );
        assert_eq!(e.compute(sample(2000, 0, 500.0, 0.0)), None, "no records");
    }

    #[test]
    fn steady_processing_holds_the_rate() {
        let mut e = PidRateEstimator::new(1000, 100.0);
        e.compute(sample(1000, 2000, 1000.0, 0.0));
        // 2000 records/s processed, no delay: the rate stays at the processing rate.
        let r = e.compute(sample(2000, 2000, 1000.0, 0.0)).unwrap();
        assert!((r - 2000.0).abs() < 1e-6, "{r}");
    }

    #[test]
    fn slow_batches_and_delay_lower_the_rate() {
        let mut e = PidRateEstimator::new(1000, 100.0);
        e.compute(sample(1000, 10_000, 1000.0, 0.0));
        // Now 10_000 records take 4 s (2500/s) and batches wait 3 s: the rate must fall
        // below what was processed, to drain the backlog.
        let r = e.compute(sample(2000, 10_000, 4000.0, 3000.0)).unwrap();
        assert!(r < 2500.0, "{r}");
        // Never below the minimum.
        let r = e
            .compute(sample(3000, 10_000, 100_000.0, 100_000.0))
            .unwrap();
        assert_eq!(r, 100.0);
    }
}

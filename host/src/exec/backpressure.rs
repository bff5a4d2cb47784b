//! Backpressure (`[job] backpressure = true`): after each batch, a PID rate estimator per
//! source (Spark's `PIDRateEstimator`) turns the batch's processing time, scheduling delay
//! and that source's record count into a new rate limit for the source, so that a job
//! whose batches take longer than the batch interval takes in less instead of queueing
//! ever more input. Direct sources pull less at the next batch; receivers (tcp, stdin)
//! read their input more slowly from now on (Spark's `ReceiverRateController`).

use std::time::Duration;

use crate::brokers::{PidRateEstimator, RateSample};
use crate::ops::BatchTime;
use crate::source::{SourceBatch, SourceHandle};

/// Spark's `spark.streaming.backpressure.pid.minRate` default, records per second.
const MIN_RATE: f64 = 100.0;

/// One estimator per source, or none when backpressure is off.
#[derive(Debug)]
pub struct Backpressure {
    estimators: Vec<PidRateEstimator>,
}

impl Backpressure {
    /// Estimators for `sources` sources of a job with the given batch interval, when
    /// `enabled`.
    pub fn new(enabled: bool, sources: usize, batch_ms: i64) -> Self {
        let estimators = if enabled {
            (0..sources)
                .map(|_| PidRateEstimator::new(batch_ms, MIN_RATE))
                .collect()
        } else {
            Vec::new()
        };
        Backpressure { estimators }
    }

    /// The records each source produced for a batch, before the batch runs.
    pub fn counts(inputs: &[SourceBatch]) -> Vec<u64> {
        inputs
            .iter()
            .map(|i| i.batch.as_ref().map_or(0, |b| b.len() as u64))
            .collect()
    }

    /// Feeds a completed batch to the estimators and hands each source its new rate.
    pub fn after_batch(
        &mut self,
        time: BatchTime,
        counts: &[u64],
        processing: Duration,
        scheduling_delay: Duration,
        handles: &mut [SourceHandle],
    ) {
        for (i, e) in self.estimators.iter_mut().enumerate() {
            let sample = RateSample {
                time_ms: time,
                records: counts.get(i).copied().unwrap_or(0),
                processing_ms: processing.as_secs_f64() * 1e3,
                scheduling_delay_ms: scheduling_delay.as_secs_f64() * 1e3,
            };
            // Unlike Spark, the baseline batch already limits the source, at the rate it
            // was processed: until then the source reads as fast as its limits allow, and
            // a second unlimited batch would only pile up more.
            let rate = e.compute(sample).or_else(|| e.latest_rate());
            let (Some(rate), Some(handle)) = (rate, handles.get_mut(i)) else {
                continue;
            };
            match handle {
                SourceHandle::Direct(s) => s.set_rate(Some(rate)),
                SourceHandle::Receiver(r) => r.set_rate(Some(rate)),
            }
        }
    }

    /// The rate limit in force per source, for the progress line: `, rate limit 1234
    /// records/s` in a job with one source, `, rate limit lines 1234 records/s, g 200
    /// records/s` (the sources that have one) otherwise; empty when none has a limit.
    pub fn progress_suffix(names: &[String], handles: &[SourceHandle]) -> String {
        let limits: Vec<(&str, f64)> = names
            .iter()
            .zip(handles)
            .filter_map(|(name, h)| {
                let limit = match h {
                    SourceHandle::Direct(s) => s.rate_limit(),
                    SourceHandle::Receiver(r) => r.rate_limit(),
                };
                limit.map(|l| (name.as_str(), l))
            })
            .collect();
        match limits.as_slice() {
            [] => String::new(),
            [(_, limit)] if handles.len() == 1 => format!(", rate limit {limit:.0} records/s"),
            _ => {
                let each: Vec<String> = limits
                    .iter()
                    .map(|(name, limit)| format!("{name} {limit:.0} records/s"))
                    .collect();
                format!(", rate limit {}", each.join(", "))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::GeneratorSource;

    fn generator() -> SourceHandle {
        let config = toml::from_str("rate = 1000").unwrap();
        SourceHandle::Direct(Box::new(GeneratorSource::new("g", &config, 1000)))
    }

    #[test]
    fn the_baseline_batch_already_limits_the_source() {
        let mut bp = Backpressure::new(true, 1, 1000);
        let mut handles = vec![generator()];
        let names = vec!["g".to_owned()];
        assert_eq!(Backpressure::progress_suffix(&names, &handles), "");
        // 250 records in 500 ms: 500 records/s.
        let (processing, delay) = (Duration::from_millis(500), Duration::ZERO);
        bp.after_batch(1000, &[250], processing, delay, &mut handles);
        assert_eq!(
            Backpressure::progress_suffix(&names, &handles),
            ", rate limit 500 records/s"
        );
        let off = Backpressure::new(false, 1, 1000);
        assert!(off.estimators.is_empty());
    }

    #[test]
    fn several_sources_are_named() {
        let names = vec!["a".to_owned(), "b".to_owned()];
        let mut handles = vec![generator(), generator()];
        if let SourceHandle::Direct(s) = &mut handles[1] {
            s.set_rate(Some(250.0));
        }
        assert_eq!(
            Backpressure::progress_suffix(&names, &handles),
            ", rate limit b 250 records/s"
        );
        if let SourceHandle::Direct(s) = &mut handles[0] {
            s.set_rate(Some(600.0));
        }
        assert_eq!(
            Backpressure::progress_suffix(&names, &handles),
            ", rate limit a 600 records/s, b 250 records/s"
        );
    }
}

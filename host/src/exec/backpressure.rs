//! Backpressure (`[job] backpressure = true`): after each batch, a PID rate estimator per
//! source (Spark's `PIDRateEstimator`) turns the batch's processing time, scheduling delay
//! and that source's record count into a new rate limit for the source, so that a job
//! whose batches take longer than the batch interval takes in less instead of queueing
//! ever more input. Direct sources pull less at the next batch; receivers (tcp, stdin)
//! read their input more slowly from now on (Spark's `ReceiverRateController`). Until the
//! estimator has its first rate, `[job] backpressure_initial_rate` caps every source
//! (Spark's `spark.streaming.backpressure.initialRate`).

use std::time::Duration;

use super::pid::{PidRateEstimator, RateSample};
use crate::record::BatchTime;
use crate::source::{SourceBatch, SourceHandle};

/// Spark's `spark.streaming.backpressure.pid.minRate` default, records per second.
const MIN_RATE: f64 = 100.0;

/// One estimator per source, or none when backpressure is off.
#[derive(Debug)]
pub struct Backpressure {
    estimators: Vec<PidRateEstimator>,
    /// Records per second per source until its estimator has a rate.
    initial_rate: Option<f64>,
}

impl Backpressure {
    /// Estimators for `sources` sources of a job with the given batch interval, when
    /// `enabled`, each source capped at `initial_rate` records per second until its
    /// estimator has a rate.
    pub fn new(enabled: bool, initial_rate: Option<u64>, sources: usize, batch_ms: i64) -> Self {
        let estimators = if enabled {
            (0..sources)
                .map(|_| PidRateEstimator::new(batch_ms, MIN_RATE))
                .collect()
        } else {
            Vec::new()
        };
        Backpressure {
            estimators,
            initial_rate: initial_rate.filter(|_| enabled).map(|r| r.max(1) as f64),
        }
    }

    /// Whether backpressure is on.
    pub fn enabled(&self) -> bool {
        !self.estimators.is_empty()
    }

    /// The initial rate, records per second, when backpressure is on and one is set.
    pub fn initial_rate(&self) -> Option<f64> {
        self.initial_rate
    }

    /// Before the first batch: caps every source at the initial rate (receivers already
    /// got it when they started), or, with backpressure on and no initial rate, warns that
    /// the receivers without a `rate_limit` read up to `max_buffered` before the first
    /// rate (Spark's behaviour without `initialRate`).
    pub fn start(&self, sources: &mut [(String, SourceHandle)]) {
        if self.estimators.is_empty() {
            return;
        }
        let Some(rate) = self.initial_rate else {
            let unlimited: Vec<&str> = sources
                .iter()
                .filter(|(_, h)| matches!(h, SourceHandle::Receiver(r) if r.rate_limit().is_none()))
                .map(|(n, _)| n.as_str())
                .collect();
            if !unlimited.is_empty() {
                tracing::warn!(
                    sources = %unlimited.join(", "),
                    "Backpressure without [job] backpressure_initial_rate: until the first batch is processed, these receivers read as much as max_buffered allows, and a slow stage may take long over its first batches."
                );
            }
            return;
        };
        for (_, handle) in sources {
            match handle {
                SourceHandle::Direct(s) => s.set_rate(Some(rate)),
                SourceHandle::Receiver(r) => r.set_rate(Some(rate)),
            }
        }
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
        sources: &mut [(String, SourceHandle)],
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
            let (Some(rate), Some((_, handle))) = (rate, sources.get_mut(i)) else {
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
    pub fn progress_suffix(sources: &[(String, SourceHandle)]) -> String {
        let limits: Vec<(&str, f64)> = sources
            .iter()
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
            [(_, limit)] if sources.len() == 1 => format!(", rate limit {limit:.0} records/s"),
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

    fn generator(name: &str) -> (String, SourceHandle) {
        let config = toml::from_str("rate = 1000").unwrap();
        let source = GeneratorSource::new(name, &config, 1000);
        (name.to_owned(), SourceHandle::Direct(Box::new(source)))
    }

    #[test]
    fn the_baseline_batch_already_limits_the_source() {
        let mut bp = Backpressure::new(true, None, 1, 1000);
        let mut handles = vec![generator("g")];
        assert_eq!(Backpressure::progress_suffix(&handles), "");
        // 250 records in 500 ms: 500 records/s.
        let (processing, delay) = (Duration::from_millis(500), Duration::ZERO);
        bp.after_batch(1000, &[250], processing, delay, &mut handles);
        assert_eq!(
            Backpressure::progress_suffix(&handles),
            ", rate limit 500 records/s"
        );
        let off = Backpressure::new(false, Some(500), 1, 1000);
        assert!(off.estimators.is_empty());
        assert_eq!(off.initial_rate(), None);
    }

    #[test]
    fn the_initial_rate_caps_sources_until_the_first_rate() {
        let mut bp = Backpressure::new(true, Some(300), 1, 1000);
        let mut handles = vec![generator("g")];
        bp.start(&mut handles);
        let suffix = |h: &[(String, SourceHandle)]| Backpressure::progress_suffix(h);
        assert_eq!(suffix(&handles), ", rate limit 300 records/s");
        // A batch without records gives the estimator nothing: the initial rate stays.
        bp.after_batch(1000, &[0], Duration::ZERO, Duration::ZERO, &mut handles);
        assert_eq!(suffix(&handles), ", rate limit 300 records/s");
        // 250 records in 500 ms: 500 records/s replaces it.
        let processing = Duration::from_millis(500);
        bp.after_batch(2000, &[250], processing, Duration::ZERO, &mut handles);
        assert_eq!(suffix(&handles), ", rate limit 500 records/s");
    }

    #[test]
    fn several_sources_are_named() {
        let mut handles = vec![generator("a"), generator("b")];
        if let (_, SourceHandle::Direct(s)) = &mut handles[1] {
            s.set_rate(Some(250.0));
        }
        assert_eq!(
            Backpressure::progress_suffix(&handles),
            ", rate limit b 250 records/s"
        );
        if let (_, SourceHandle::Direct(s)) = &mut handles[0] {
            s.set_rate(Some(600.0));
        }
        assert_eq!(
            Backpressure::progress_suffix(&handles),
            ", rate limit a 600 records/s, b 250 records/s"
        );
    }
}

//! [`Metrics`]: the process's Prometheus registry (the `prometheus-client` crate) with
//! every Sluice metric, labelled per job (`job`, and `tenant` in `sluice serve`).
//! Batch metrics are updated once per batch; plugin metrics are read at scrape time from
//! the plugins' lock-free counters ([`crate::wasm::PluginStats`]) by [`PluginCollector`].

use std::sync::{Arc, Mutex};

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};

use super::collector::{PluginCollector, PluginSet};
use crate::checkpoint::CheckpointStats;
use crate::exec::BatchReport;

pub use super::collector::Labels;

type Hist = Family<Labels, Histogram, fn() -> Histogram>;
type FloatGauge = Family<Labels, Gauge<f64, std::sync::atomic::AtomicU64>>;

/// Buckets of batch-level durations (seconds): 1 ms to about 65 s.
fn batch_histogram() -> Histogram {
    Histogram::new(prometheus_client::metrics::histogram::exponential_buckets(
        0.001, 2.0, 17,
    ))
}

/// Every metric family.
pub(crate) struct Families {
    pub processing: Hist,
    pub scheduling: Hist,
    pub total_delay: Hist,
    pub stream_time: Hist,
    pub sink_time: Hist,
    pub checkpoint_time: Hist,
    pub completed: Family<Labels, Counter>,
    pub failed: Family<Labels, Counter>,
    pub records_in: Family<Labels, Counter>,
    pub records_out: Family<Labels, Counter>,
    pub rejected: Family<Labels, Counter>,
    pub dead_lettered: Family<Labels, Counter>,
    pub interval: FloatGauge,
    pub buffered: Family<Labels, Gauge>,
    pub rate_limit: FloatGauge,
    pub checkpoint_bytes: Family<Labels, Gauge>,
    pub checkpoint_last: FloatGauge,
    pub state_keys: Family<Labels, Gauge>,
    pub state_bytes: Family<Labels, Gauge>,
    pub wal_bytes: Family<Labels, Gauge>,
}

fn hist() -> Hist {
    Family::new_with_constructor(batch_histogram as fn() -> Histogram)
}

impl Families {
    fn new() -> Self {
        Families {
            processing: hist(),
            scheduling: hist(),
            total_delay: hist(),
            stream_time: hist(),
            sink_time: hist(),
            checkpoint_time: hist(),
            completed: Family::default(),
            failed: Family::default(),
            records_in: Family::default(),
            records_out: Family::default(),
            rejected: Family::default(),
            dead_lettered: Family::default(),
            interval: Family::default(),
            buffered: Family::default(),
            rate_limit: Family::default(),
            checkpoint_bytes: Family::default(),
            checkpoint_last: Family::default(),
            state_keys: Family::default(),
            state_bytes: Family::default(),
            wal_bytes: Family::default(),
        }
    }
}

/// The process's metrics: one registry shared by every job it runs.
pub struct Metrics {
    registry: Registry,
    pub(crate) f: Arc<Families>,
    plugins: Arc<Mutex<Vec<PluginSet>>>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A registry with every Sluice metric registered (no samples until a job runs).
    pub fn new() -> Metrics {
        let f = Arc::new(Families::new());
        let plugins = Arc::new(Mutex::new(Vec::new()));
        let mut r = Registry::default();
        register_batches(&mut r, &f);
        register_records(&mut r, &f);
        register_state(&mut r, &f);
        r.register_collector(Box::new(PluginCollector::new(plugins.clone())));
        Metrics {
            registry: r,
            f,
            plugins,
        }
    }

    /// The metrics in the OpenMetrics text format (what Prometheus asks for).
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }

    /// The metrics in the classic Prometheus text format 0.0.4 (for clients that do not
    /// ask for OpenMetrics, and `promtool check metrics`).
    pub fn encode_text(&self) -> String {
        super::text::openmetrics_to_text(&self.encode())
    }

    /// Adds a job's plugins to the plugin metrics.
    pub(crate) fn add_plugins(&self, set: PluginSet) {
        let mut sets = self.plugins.lock().unwrap_or_else(|e| e.into_inner());
        sets.retain(|s| s.labels != set.labels);
        sets.push(set);
    }
}

/// Batch times and counts.
fn register_batches(r: &mut Registry, f: &Families) {
    let s = Unit::Seconds;
    r.register_with_unit(
        "sluice_batch_processing",
        "Time to compute a batch and write its sinks",
        s.clone(),
        f.processing.clone(),
    );
    r.register_with_unit(
        "sluice_batch_scheduling_delay",
        "How late a batch started after its batch time",
        s.clone(),
        f.scheduling.clone(),
    );
    r.register_with_unit(
        "sluice_batch_total_delay",
        "Scheduling delay plus processing time of a batch",
        s.clone(),
        f.total_delay.clone(),
    );
    r.register_with_unit(
        "sluice_batch_interval",
        "The job's batch interval",
        s.clone(),
        f.interval.clone(),
    );
    r.register(
        "sluice_batches_completed",
        "Batches completed",
        f.completed.clone(),
    );
    r.register(
        "sluice_batches_failed",
        "Batches that failed (and stopped the job)",
        f.failed.clone(),
    );
}

/// Records per source and sink, stream and sink times, receivers.
fn register_records(r: &mut Registry, f: &Families) {
    let s = Unit::Seconds;
    let b = Unit::Bytes;
    r.register(
        "sluice_source_records",
        "Records a source produced",
        f.records_in.clone(),
    );
    r.register(
        "sluice_sink_records",
        "Records written to a sink",
        f.records_out.clone(),
    );
    r.register(
        "sluice_rejected_records",
        "Records rejected (malformed input, plugin record errors)",
        f.rejected.clone(),
    );
    r.register(
        "sluice_dead_lettered_records",
        "Rejected records written to the dead-letter directory",
        f.dead_lettered.clone(),
    );
    r.register_with_unit(
        "sluice_stream_batch",
        "Time of a stream's operator in one batch (a fused chain under its last stream)",
        s.clone(),
        f.stream_time.clone(),
    );
    r.register_with_unit(
        "sluice_sink_write",
        "Time to write one batch to a sink",
        s.clone(),
        f.sink_time.clone(),
    );
    r.register_with_unit(
        "sluice_receiver_buffered",
        "Bytes a receiver received that wait for the next batch",
        b.clone(),
        f.buffered.clone(),
    );
    r.register(
        "sluice_source_rate_limit_records_per_second",
        "The rate limit in force for a source (rate_limit or backpressure)",
        f.rate_limit.clone(),
    );
}

/// Checkpoints, keyed state and the WAL.
fn register_state(r: &mut Registry, f: &Families) {
    let s = Unit::Seconds;
    let b = Unit::Bytes;
    r.register_with_unit(
        "sluice_checkpoint_duration",
        "Time to snapshot the state and write a checkpoint",
        s.clone(),
        f.checkpoint_time.clone(),
    );
    r.register_with_unit(
        "sluice_checkpoint_size",
        "State bytes written by the last checkpoint",
        b.clone(),
        f.checkpoint_bytes.clone(),
    );
    r.register(
        "sluice_checkpoint_last_success_timestamp_seconds",
        "When the last checkpoint was written (Unix time)",
        f.checkpoint_last.clone(),
    );
    r.register(
        "sluice_state_keys",
        "Keys in an operator's keyed state (windowed reduces without an inverse: entries of the buffered batches)",
        f.state_keys.clone(),
    );
    r.register_with_unit(
        "sluice_state",
        "Bytes of an operator's keyed state (encoded keys and values)",
        b.clone(),
        f.state_bytes.clone(),
    );
    r.register_with_unit(
        "sluice_wal",
        "Bytes of the receivers' write-ahead log segments on disk",
        b,
        f.wal_bytes.clone(),
    );
}

/// `base` plus one more label.
pub(crate) fn with(base: &Labels, key: &str, value: &str) -> Labels {
    let mut l = base.clone();
    l.push((key.to_owned(), value.to_owned()));
    l
}

/// Updates the batch metrics of the job labelled `base` from one batch's report.
pub(crate) fn record_batch(f: &Families, base: &Labels, r: &BatchReport, dead_letter: bool) {
    let processing = r.processing.as_secs_f64();
    let delay = r.scheduling_delay.as_secs_f64();
    f.processing.get_or_create(base).observe(processing);
    f.scheduling.get_or_create(base).observe(delay);
    f.total_delay
        .get_or_create(base)
        .observe(processing + delay);
    f.completed.get_or_create(base).inc();
    if r.rejected > 0 {
        f.rejected.get_or_create(base).inc_by(r.rejected as u64);
        if dead_letter {
            f.dead_lettered
                .get_or_create(base)
                .inc_by(r.rejected as u64);
        }
    }
    for s in &r.sources {
        let l = with(base, "source", &s.name);
        f.records_in.get_or_create(&l).inc_by(s.records as u64);
        if let Some(bytes) = s.buffered_bytes {
            f.buffered.get_or_create(&l).set(bytes as i64);
        }
        match s.rate_limit {
            Some(limit) => {
                f.rate_limit.get_or_create(&l).set(limit);
            }
            None => {
                f.rate_limit.remove(&l);
            }
        }
    }
    for s in &r.streams {
        let l = with(base, "stream", &s.name);
        f.stream_time
            .get_or_create(&l)
            .observe(s.took.as_secs_f64());
        if let Some(state) = s.state {
            f.state_keys.get_or_create(&l).set(state.keys as i64);
            f.state_bytes.get_or_create(&l).set(state.bytes as i64);
        }
    }
    if let Some(bytes) = r.wal_bytes {
        f.wal_bytes.get_or_create(base).set(bytes as i64);
    }
    for s in &r.sinks {
        let l = with(base, "sink", &s.name);
        f.records_out.get_or_create(&l).inc_by(s.records as u64);
        f.sink_time.get_or_create(&l).observe(s.took.as_secs_f64());
    }
}

/// Updates the checkpoint metrics of the job labelled `base`.
pub(crate) fn record_checkpoint(f: &Families, base: &Labels, c: &CheckpointStats) {
    f.checkpoint_time
        .get_or_create(base)
        .observe(c.took.as_secs_f64());
    f.checkpoint_bytes.get_or_create(base).set(c.bytes as i64);
    f.checkpoint_last
        .get_or_create(base)
        .set(crate::base::now_ms() as f64 / 1000.0);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_carry_their_unit_and_suffix_and_the_job_label() {
        use crate::exec::{SourceReport, StageTime};
        let m = Metrics::new();
        let base = vec![("job".to_owned(), "j".to_owned())];
        let report = BatchReport {
            sources: vec![SourceReport {
                name: "in".into(),
                records: 3,
                took: std::time::Duration::ZERO,
                buffered_bytes: Some(10),
                rate_limit: None,
            }],
            streams: vec![StageTime {
                name: "s".into(),
                records: 3,
                took: std::time::Duration::from_millis(2),
                state: None,
            }],
            ..BatchReport::default()
        };
        record_batch(&m.f, &base, &report, false);
        record_checkpoint(&m.f, &base, &CheckpointStats::default());
        let text = m.encode();
        for name in [
            "sluice_batch_processing_seconds",
            "sluice_batches_completed",
            "sluice_receiver_buffered_bytes",
            "sluice_stream_batch_seconds",
            "sluice_checkpoint_size_bytes",
        ] {
            assert!(
                text.contains(&format!("# TYPE {name} ")),
                "{name} in {text}"
            );
        }
        assert!(text.contains("sluice_source_records_total{job=\"j\",source=\"in\"} 3\n"));
        assert!(text.contains("sluice_receiver_buffered_bytes{job=\"j\",source=\"in\"} 10\n"));
    }
}

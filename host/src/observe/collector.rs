//! [`PluginCollector`]: the plugin metrics, read at scrape time from every job's plugins'
//! lock-free counters (so that a call pays a few atomic increments, never a lock).

use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex};

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Unit;

use crate::wasm::{FunctionStats, Plugin, CALL_BUCKETS};

/// A label set: the job's labels, then the metric's own (`stream`, `source`, …).
pub type Labels = Vec<(String, String)>;

/// One job's plugins and the job's labels.
#[derive(Debug, Clone)]
pub(crate) struct PluginSet {
    pub labels: Labels,
    pub plugins: Vec<Plugin>,
}

/// Encodes the plugin families of every job.
#[derive(Debug)]
pub(crate) struct PluginCollector {
    sets: Arc<Mutex<Vec<PluginSet>>>,
}

impl PluginCollector {
    pub(crate) fn new(sets: Arc<Mutex<Vec<PluginSet>>>) -> Self {
        PluginCollector { sets }
    }
}

/// A counter family read from one field of [`FunctionStats`].
struct CounterFamily {
    name: &'static str,
    help: &'static str,
    read: fn(&FunctionStats) -> u64,
}

const COUNTERS: [CounterFamily; 7] = [
    CounterFamily {
        name: "sluice_plugin_calls",
        help: "Calls of a plugin function (one per partition of a batch)",
        read: |s| s.calls.load(Relaxed),
    },
    CounterFamily {
        name: "sluice_plugin_traps",
        help: "Calls that trapped (a guest fault or proc_exit)",
        read: |s| s.traps.load(Relaxed),
    },
    CounterFamily {
        name: "sluice_plugin_deadline_exceeded",
        help: "Calls stopped by the plugin's timeout",
        read: |s| s.deadline.load(Relaxed),
    },
    CounterFamily {
        name: "sluice_plugin_memory_limit_exceeded",
        help: "Calls that hit the plugin's memory limit",
        read: |s| s.memory_limit.load(Relaxed),
    },
    CounterFamily {
        name: "sluice_plugin_out_of_fuel",
        help: "Calls that ran out of fuel",
        read: |s| s.fuel.load(Relaxed),
    },
    CounterFamily {
        name: "sluice_plugin_failed_calls",
        help: "Calls that failed otherwise (bad output, a whole-call error from the guest)",
        read: |s| s.other_failures.load(Relaxed),
    },
    CounterFamily {
        name: "sluice_plugin_rejected_records",
        help: "Input records a plugin function rejected with a per-record error",
        read: |s| s.rejected.load(Relaxed),
    },
];

impl PluginCollector {
    /// Every (labels with plugin and function, stats) pair.
    fn each(
        &self,
        mut f: impl FnMut(&Labels, &FunctionStats) -> std::fmt::Result,
    ) -> std::fmt::Result {
        let sets = self.sets.lock().unwrap_or_else(|e| e.into_inner());
        for set in sets.iter() {
            for plugin in &set.plugins {
                for (i, function) in plugin.functions().iter().enumerate() {
                    let Some(stats) = plugin.stats().function(i) else {
                        continue;
                    };
                    if stats.calls.load(Relaxed) == 0 {
                        continue;
                    }
                    let mut labels = set.labels.clone();
                    labels.push(("plugin".into(), plugin.name().to_owned()));
                    labels.push(("function".into(), function.clone()));
                    f(&labels, stats)?;
                }
            }
        }
        Ok(())
    }
}

impl Collector for PluginCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> std::fmt::Result {
        for c in &COUNTERS {
            let mut family =
                encoder.encode_descriptor(c.name, c.help, None, MetricType::Counter)?;
            self.each(|labels, stats| {
                ConstCounter::new((c.read)(stats)).encode(family.encode_family(labels)?)
            })?;
        }
        let mut family = encoder.encode_descriptor(
            "sluice_plugin_call_duration",
            "Duration of one call of a plugin function",
            Some(&Unit::Seconds),
            MetricType::Histogram,
        )?;
        self.each(|labels, stats| {
            let mut buckets: Vec<(f64, u64)> = CALL_BUCKETS
                .iter()
                .zip(&stats.buckets)
                .map(|(&b, n)| (b, n.load(Relaxed)))
                .collect();
            buckets.push((f64::MAX, stats.buckets[CALL_BUCKETS.len()].load(Relaxed)));
            let count = buckets.iter().map(|(_, n)| n).sum();
            let sum = stats.duration_ns.load(Relaxed) as f64 / 1e9;
            family
                .encode_family(labels)?
                .encode_histogram::<Labels>(sum, count, &buckets, None)
        })?;
        let mut family = encoder.encode_descriptor(
            "sluice_plugin_memory",
            "Linear memory of the instance after a function's latest call",
            Some(&Unit::Bytes),
            MetricType::Gauge,
        )?;
        self.each(|labels, stats| {
            ConstGauge::new(stats.memory_bytes.load(Relaxed) as i64)
                .encode(family.encode_family(labels)?)
        })
    }
}

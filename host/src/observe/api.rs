//! The JSON API's documents, built from what a [`JobObserver`] keeps: the job, its last
//! batches (each as `--progress json` prints it), the graph with each stage's share of
//! the recent batches, checkpoints and the latest plugin errors with their records.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::bottleneck::{self, WINDOW};
use super::{JobObserver, Observed};
use crate::exec::{batch_json, BatchReport};
use crate::wasm::PluginErrorEntry;

/// Plugin errors served (the newest).
pub const SERVED_ERRORS: usize = 50;

impl JobObserver {
    /// `GET /api/job`: name, state, error, batch interval, batches completed, bottleneck.
    pub fn job_json(&self) -> Value {
        let o = self.lock();
        self.job_of(&o)
    }

    fn job_of(&self, o: &Observed) -> Value {
        let reports: Vec<&BatchReport> = o.batches.iter().collect();
        json!({
            "name": self.name,
            "labels": self.labels.iter().cloned().collect::<BTreeMap<String, String>>(),
            "state": o.state,
            "error": o.error,
            "batch_interval_ms": self.batch_ms,
            "started_ms": self.started_ms,
            "batches_completed": o.completed,
            "bottleneck": bottleneck::find(&reports, &o.graph, self.batch_ms),
        })
    }

    /// `GET /api/batches?after=TIME`: the kept batches after a batch time, oldest first.
    pub fn batches_json(&self, after: Option<i64>) -> Value {
        let o = self.lock();
        self.batches_of(&o, after)
    }

    fn batches_of(&self, o: &Observed, after: Option<i64>) -> Value {
        Value::Array(
            o.batches
                .iter()
                .filter(|b| after.is_none_or(|t| b.time > t))
                .map(|b| batch_json(&self.name, b, self.batch_ms))
                .collect(),
        )
    }

    /// `GET /api/graph`: sources, streams (with their node, functions and share of the
    /// recent batches' processing time) and sinks.
    pub fn graph_json(&self) -> Value {
        let o = self.lock();
        graph_of(&o)
    }

    /// `GET /api/checkpoints`: the checkpoints written after a batch, oldest first.
    pub fn checkpoints_json(&self) -> Value {
        let o = self.lock();
        checkpoints_of(&o)
    }

    /// `GET /api/errors`: the latest plugin errors, newest first, each with the streams
    /// that call the function.
    pub fn errors_json(&self) -> Value {
        let o = self.lock();
        errors_of(&o)
    }

    /// `GET /api/status?after=TIME`: everything the UI polls, in one document.
    pub fn status_json(&self, after: Option<i64>) -> Value {
        let o = self.lock();
        json!({
            "job": self.job_of(&o),
            "graph": graph_of(&o),
            "batches": self.batches_of(&o, after),
            "checkpoints": checkpoints_of(&o),
            "errors": errors_of(&o),
        })
    }
}

fn graph_of(o: &Observed) -> Value {
    let recent: Vec<&BatchReport> = o.batches.iter().rev().take(WINDOW).collect();
    let total: f64 = recent.iter().map(|r| r.processing.as_secs_f64()).sum();
    let mut took: BTreeMap<(&str, &str), (f64, u64)> = BTreeMap::new();
    for r in &recent {
        let stages = r
            .sources
            .iter()
            .map(|s| ("source", &s.name, s.took, s.records))
            .chain(
                r.streams
                    .iter()
                    .map(|s| ("stream", &s.name, s.took, s.records)),
            )
            .chain(r.sinks.iter().map(|s| ("sink", &s.name, s.took, s.records)));
        for (kind, name, t, records) in stages {
            let e = took.entry((kind, name)).or_default();
            e.0 += t.as_secs_f64();
            e.1 += records as u64;
        }
    }
    let n = recent.len().max(1) as f64;
    let stat = |kind: &str, name: &str| {
        let (t, records) = took.get(&(kind, name)).copied().unwrap_or_default();
        let share = if total > 0.0 { t / total } else { 0.0 };
        (share, t * 1e3 / n, records as f64 / n)
    };
    let mut g = serde_json::to_value(&o.graph).unwrap_or_default();
    for (kind, key) in [
        ("source", "sources"),
        ("stream", "streams"),
        ("sink", "sinks"),
    ] {
        let Some(items) = g.get_mut(key).and_then(Value::as_array_mut) else {
            continue;
        };
        for item in items {
            let name = match kind {
                "stream" => item["node"].as_str(),
                _ => item["name"].as_str(),
            }
            .unwrap_or_default()
            .to_owned();
            let (share, ms, records) = stat(kind, &name);
            item["share"] = json!(share);
            item["ms"] = json!(ms);
            item["records"] = json!(records);
        }
    }
    g
}

fn checkpoints_of(o: &Observed) -> Value {
    Value::Array(
        o.checkpoints
            .iter()
            .map(|(time, at, c)| {
                json!({"index": c.index, "time": time, "written_ms": at, "bytes": c.bytes,
                       "full": c.full, "deltas": c.deltas,
                       "ms": c.took.as_secs_f64() * 1e3})
            })
            .collect(),
    )
}

fn errors_of(o: &Observed) -> Value {
    let mut errors: Vec<PluginErrorEntry> =
        o.plugins.iter().flat_map(|p| p.stats().errors()).collect();
    errors.sort_by_key(|e| std::cmp::Reverse(e.at_ms));
    errors.truncate(SERVED_ERRORS);
    Value::Array(
        errors
            .into_iter()
            .map(|e| {
                let f = format!("{}.{}", e.plugin, e.function);
                let streams: Vec<&str> = o
                    .graph
                    .streams
                    .iter()
                    .filter(|s| s.functions.contains(&f))
                    .map(|s| s.name.as_str())
                    .collect();
                let mut v = serde_json::to_value(&e).unwrap_or_default();
                v["streams"] = json!(streams);
                v
            })
            .collect(),
    )
}

//! Observability: what a job is doing, for people and for Prometheus.
//!
//! - [`Metrics`] (`metrics.rs`, `collector.rs`): every Sluice metric in one
//!   `prometheus-client` registry, served at `GET /metrics`;
//! - [`JobObserver`]: fed by the driver once per batch (a [`crate::exec::BatchReport`]
//!   with per-source, per-stream and per-sink times) and reading the plugins' own
//!   lock-free call counters; keeps the last batches, checkpoints and the job graph for
//!   the JSON API and names the bottleneck (`bottleneck.rs`);
//! - the web UI and JSON API on axum (`server.rs`, `api.rs`, assets in `assets/`).
//!
//! See `docs/observability.md`.

mod api;
mod bottleneck;
mod collector;
mod graph;
mod metrics;
mod serve;
mod server;
mod text;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

pub use bottleneck::Bottleneck;
pub use graph::{GraphSink, GraphSource, GraphStream, JobGraph};
pub use metrics::{Labels, Metrics};
pub use serve::ServeObservers;
pub use server::{asset_response, metrics_response, page, UiError, UiServer};

use crate::base::now_ms;
use crate::checkpoint::CheckpointStats;
use crate::exec::{BatchReport, RunObserver};
use crate::job::{ErrorPolicyConfig, JobDocument};
use crate::wasm::Plugin;

/// Batches kept for the JSON API and the UI (the newest).
pub const KEPT_BATCHES: usize = 300;

/// Checkpoints kept for the JSON API and the UI (the newest).
pub const KEPT_CHECKPOINTS: usize = 100;

/// Where a job is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    /// Loading plugins, opening sources and sinks.
    Starting,
    /// Running batches.
    Running,
    /// Stopped cleanly.
    Stopped,
    /// Stopped by an error.
    Failed,
}

/// What the observer keeps of a job.
#[derive(Debug)]
struct Observed {
    state: JobState,
    error: Option<String>,
    graph: JobGraph,
    plugins: Vec<Plugin>,
    batches: VecDeque<BatchReport>,
    /// Checkpoints written after a batch: (batch time, written at ms, statistics).
    checkpoints: VecDeque<(i64, i64, CheckpointStats)>,
    completed: u64,
}

/// Watches one job: updates its metrics and keeps its recent history for the UI.
#[derive(Debug)]
pub struct JobObserver {
    name: String,
    labels: Labels,
    batch_ms: i64,
    dead_letter: bool,
    started_ms: i64,
    metrics: Arc<Metrics>,
    observed: Mutex<Observed>,
}

impl JobObserver {
    /// An observer of the job in `doc` whose metrics carry `labels` (`job`, and `tenant`
    /// in `sluice serve`) in `metrics`.
    pub fn new(doc: &JobDocument, metrics: Arc<Metrics>, labels: Labels) -> Arc<JobObserver> {
        let batch_ms = doc.batch_ms();
        metrics
            .f
            .interval
            .get_or_create(&labels)
            .set(batch_ms as f64 / 1000.0);
        Arc::new(JobObserver {
            name: doc.file.job.name.clone(),
            labels,
            batch_ms,
            dead_letter: doc.file.job.error_policy == ErrorPolicyConfig::DeadLetter,
            started_ms: now_ms(),
            metrics,
            observed: Mutex::new(Observed {
                state: JobState::Starting,
                error: None,
                graph: JobGraph::of(doc),
                plugins: Vec::new(),
                batches: VecDeque::new(),
                checkpoints: VecDeque::new(),
                completed: 0,
            }),
        })
    }

    /// The job's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The metrics registry this job reports to.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    fn lock(&self) -> MutexGuard<'_, Observed> {
        self.observed.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The verdict on the recent batches.
    pub fn bottleneck(&self) -> Option<Bottleneck> {
        let o = self.lock();
        let reports: Vec<&BatchReport> = o.batches.iter().collect();
        bottleneck::find(&reports, &o.graph, self.batch_ms)
    }
}

impl RunObserver for JobObserver {
    fn started(&self, nodes: &[&str], plugins: &[Plugin]) {
        self.metrics.add_plugins(collector::PluginSet {
            labels: self.labels.clone(),
            plugins: plugins.to_vec(),
        });
        let mut o = self.lock();
        o.graph.set_nodes(nodes);
        o.plugins = plugins.to_vec();
        o.state = JobState::Running;
    }

    fn batch_done(&self, report: &BatchReport) {
        metrics::record_batch(&self.metrics.f, &self.labels, report, self.dead_letter);
        if let Some(c) = &report.checkpoint {
            metrics::record_checkpoint(&self.metrics.f, &self.labels, c);
        }
        let mut o = self.lock();
        if let Some(c) = &report.checkpoint {
            if o.checkpoints.len() == KEPT_CHECKPOINTS {
                o.checkpoints.pop_front();
            }
            o.checkpoints.push_back((report.time, now_ms(), c.clone()));
        }
        if o.batches.len() == KEPT_BATCHES {
            o.batches.pop_front();
        }
        o.batches.push_back(report.clone());
        o.completed += 1;
    }

    fn failed(&self, message: &str, in_batch: bool) {
        if in_batch {
            self.metrics.f.failed.get_or_create(&self.labels).inc();
        }
        let mut o = self.lock();
        o.state = JobState::Failed;
        o.error = Some(message.to_owned());
    }

    fn stopped(&self) {
        self.lock().state = JobState::Stopped;
    }
}

//! The job file's top level: `[job]`, `[plugins.*]`, and the maps of sources, streams and
//! sinks. Config types only; `exec::plan` builds the runtime types from them.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;
use toml::Spanned;

use super::checkpoint::CheckpointConfig;
use super::sinks::SinkConfig;
use super::sources::SourceConfig;
use super::streams::StreamConfig;
use super::units::{ByteSize, DurationMs};

/// A whole job file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobFile {
    /// Job-wide settings.
    pub job: JobSection,
    /// WebAssembly plugins by name; functions are referenced as `plugin.function`.
    #[serde(default)]
    pub plugins: BTreeMap<String, Spanned<PluginConfig>>,
    /// Where records come from; each source is a stream of its name.
    #[serde(default)]
    pub sources: BTreeMap<String, Spanned<SourceConfig>>,
    /// Derived streams: one operation each over one or more parent streams.
    #[serde(default)]
    pub streams: BTreeMap<String, Spanned<StreamConfig>>,
    /// Where streams' batches go.
    #[serde(default)]
    pub sinks: BTreeMap<String, Spanned<SinkConfig>>,
    /// Checkpointing and the write-ahead log (see `docs/operations.md`).
    #[serde(default)]
    pub checkpoint: Option<CheckpointConfig>,
}

/// `[job]`: batch timing, partitioning and error handling.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobSection {
    /// The job's name, for logs.
    pub name: String,
    /// Time between batches (Spark's batch duration). Default `"1s"`.
    #[serde(default = "default_batch_interval")]
    pub batch_interval: Spanned<DurationMs>,
    /// Receivers seal a block (one partition) every block interval. Default `"200ms"`.
    #[serde(default = "default_block_interval")]
    pub block_interval: DurationMs,
    /// When set, received batches are spread over this many partitions instead of one per
    /// block, and shuffles default to this many partitions.
    #[serde(default)]
    pub partitions: Option<usize>,
    /// What to do with a record that cannot be read or that a plugin rejects.
    #[serde(default)]
    pub error_policy: ErrorPolicyConfig,
    /// The dead-letter sink, required with `error_policy = "dead_letter"`.
    #[serde(default)]
    pub dead_letter: Option<DeadLetterConfig>,
    /// Backpressure: sources slow down when batches take longer than the batch interval
    /// (a PID estimator per source, as Spark's `spark.streaming.backpressure.enabled`).
    #[serde(default)]
    pub backpressure: bool,
    /// With backpressure, records per second each source takes in until the estimator
    /// has its first rate (Spark's `spark.streaming.backpressure.initialRate`); unset: no
    /// cap but the sources' own limits.
    #[serde(default)]
    pub backpressure_initial_rate: Option<u64>,
    /// The job's memory budget: receivers stop reading while the input they hold, the
    /// batch in process and the keyed state reach half of it, and the job fails, naming
    /// the budget and the state, when its keyed state alone reaches that half. Unset: no
    /// budget but each receiver's `max_buffered`.
    #[serde(default)]
    pub max_memory: Option<ByteSize>,
    /// `sluice run` serves the web UI, the JSON API and `/metrics` on this address
    /// (`"127.0.0.1:9090"`; `--ui` overrides it; `sluice serve` ignores it).
    #[serde(default)]
    pub ui: Option<std::net::SocketAddr>,
}

fn default_batch_interval() -> Spanned<DurationMs> {
    Spanned::new(0..0, DurationMs(1000))
}

const fn default_block_interval() -> DurationMs {
    DurationMs(200)
}

/// `error_policy`: `fail`, `skip` or `dead_letter`.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ErrorPolicyConfig {
    /// Stop the job with an error naming the stream, plugin, function and record.
    #[default]
    Fail,
    /// Count and log the record, then drop it.
    Skip,
    /// Write the record, the reason and its position to the dead-letter files.
    DeadLetter,
}

/// `dead_letter = { path = "..." }`: a directory of JSON-lines files, one per batch.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeadLetterConfig {
    /// The directory, relative to the job file.
    pub path: PathBuf,
}

/// `[plugins.NAME]`: a WebAssembly module and how to run it. The module is named by
/// exactly one of `path` (a file, for `sluice run`) and `name` (a plugin uploaded to
/// `sluice serve`, which resolves it to its stored file before the plan is built).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PluginConfig {
    /// The `.wasm` file, relative to the job file.
    #[serde(default)]
    pub path: Option<PathBuf>,
    /// The name the plugin was uploaded under (`sluice serve` only).
    #[serde(default)]
    pub name: Option<String>,
    /// Parameters handed to the plugin's `sluice_init`.
    #[serde(default = "empty_table")]
    pub params: toml::Value,
    /// Per-call limits.
    #[serde(default)]
    pub limits: LimitsConfig,
    /// Whether calls whose output feeds only a built-in `sum`/`min`/`max` reduce carry the
    /// combine hint, so that the plugin's SDK merges its pairs per key (docs/abi.md).
    /// Default `true`; `false` sends every call's context without it.
    #[serde(default = "yes")]
    pub combine_hint: bool,
}

fn yes() -> bool {
    true
}

fn empty_table() -> toml::Value {
    toml::Value::Table(toml::Table::new())
}

/// `limits = { ... }` of a plugin. Unset fields take the runtime's defaults.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsConfig {
    /// Wall-clock deadline per call. Default `"5s"`.
    pub timeout: Option<DurationMs>,
    /// Linear memory per instance. Default `"256MiB"`.
    pub memory: Option<ByteSize>,
    /// Largest output document of one call. Default `"64MiB"`.
    pub output: Option<ByteSize>,
    /// Fuel per call; unset means no metering.
    pub fuel: Option<u64>,
}

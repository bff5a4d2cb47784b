//! `[sources.NAME]`: where records come from. A closed set, tagged by `kind`.
//!
//! Replayable ("direct") sources are pulled at each batch time: `queue`, `generator`,
//! `files`, and the brokers `kafka`, `redis` and `nats`. Pushed sources ("receivers") run
//! as tasks and are cut into blocks: `tcp`, `stdin`.

use std::path::PathBuf;

use serde::Deserialize;

use super::units::ByteSize;

/// A source and its settings.
#[derive(Debug, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SourceConfig {
    /// A deterministic generator: batch k is a pure function of (seed, k).
    Generator(GeneratorConfig),
    /// Batches from a JSON array of batches (tests and the conformance runner).
    Queue(QueueConfig),
    /// New files in a directory, in name order, each read once.
    Files(FilesSourceConfig),
    /// A TCP client that reads lines, like Spark's `socketTextStream`.
    Tcp(TcpConfig),
    /// Lines from standard input.
    Stdin(StdinConfig),
    /// Kafka topics as a direct stream: one batch partition per Kafka partition.
    Kafka(crate::brokers::KafkaSourceConfig),
    /// Redis Streams through a consumer group, acknowledged after each checkpoint.
    Redis(crate::brokers::RedisSourceConfig),
    /// A NATS JetStream stream through a durable pull consumer, acknowledged after each
    /// checkpoint.
    Nats(crate::brokers::NatsSourceConfig),
}

/// How lines become records.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// Each line is one string record.
    #[default]
    Text,
    /// Each line is one JSON value.
    Json,
}

const fn default_max_line() -> ByteSize {
    ByteSize(1 << 20)
}

/// `kind = "generator"`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GeneratorConfig {
    /// `text`: lines of words; `json`: records `{"id": n, "word": w, "value": v}`.
    #[serde(default)]
    pub format: Format,
    /// Records per second; each batch holds `rate * batch_interval` records.
    #[serde(default = "default_rate")]
    pub rate: u64,
    /// Words per line (text).
    #[serde(default = "default_words")]
    pub words_per_line: usize,
    /// Size of the vocabulary words are drawn from, at most [`MAX_VOCABULARY`] (words are
    /// computed when drawn, so size costs nothing).
    #[serde(default = "default_vocabulary")]
    pub vocabulary: usize,
    /// Seed of the pseudo-random sequence.
    #[serde(default)]
    pub seed: u64,
    /// Partitions per batch. Default: 2.
    #[serde(default)]
    pub partitions: Option<usize>,
}

const fn default_rate() -> u64 {
    1000
}
const fn default_words() -> usize {
    10
}
/// The largest generator vocabulary: 2^32 words (the generator draws 32-bit numbers).
pub const MAX_VOCABULARY: usize = 1 << 32;

const fn default_vocabulary() -> usize {
    10_000
}

/// `kind = "queue"`: a JSON array of batches, each an array of records or `null` (no RDD).
/// Batch i (time `i * batch_interval`) is element i-1; later batches are empty.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueConfig {
    /// A JSON file holding the batches, relative to the job file.
    #[serde(default)]
    pub path: Option<PathBuf>,
    /// The batches as JSON text, instead of `path`.
    #[serde(default)]
    pub data: Option<String>,
    /// Partitions per batch, split like Spark's `ParallelCollectionRDD`. Default 1.
    #[serde(default = "one")]
    pub input_partitions: usize,
}

const fn one() -> usize {
    1
}

/// `kind = "files"`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilesSourceConfig {
    /// The directory to watch, relative to the job file.
    pub path: PathBuf,
    /// How lines become records.
    #[serde(default)]
    pub format: Format,
    /// Longer lines are malformed input.
    #[serde(default = "default_max_line")]
    pub max_line_length: ByteSize,
    /// Read files that are already there at start. Default true.
    #[serde(default = "yes")]
    pub include_existing: bool,
}

const fn yes() -> bool {
    true
}

/// `kind = "tcp"`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TcpConfig {
    /// The host to connect to.
    #[serde(default = "localhost")]
    pub host: String,
    /// The port to connect to.
    pub port: u16,
    /// How lines become records.
    #[serde(default)]
    pub format: Format,
    /// Longer lines are malformed input.
    #[serde(default = "default_max_line")]
    pub max_line_length: ByteSize,
    /// At most this many records per second (the receiver slows down the socket).
    #[serde(default)]
    pub rate_limit: Option<u64>,
    /// Received records waiting for a batch, at most; then the receiver stops reading.
    #[serde(default = "default_max_buffered")]
    pub max_buffered: ByteSize,
}

/// The default `max_buffered` of a receiver: 64 MiB.
const DEFAULT_MAX_BUFFERED: u64 = 64 << 20;

const fn default_max_buffered() -> ByteSize {
    ByteSize(DEFAULT_MAX_BUFFERED)
}

fn localhost() -> String {
    "localhost".to_owned()
}

/// `kind = "stdin"`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StdinConfig {
    /// How lines become records.
    #[serde(default)]
    pub format: Format,
    /// Longer lines are malformed input.
    #[serde(default = "default_max_line")]
    pub max_line_length: ByteSize,
    /// At most this many records per second.
    #[serde(default)]
    pub rate_limit: Option<u64>,
    /// Received records waiting for a batch, at most; then the receiver stops reading.
    #[serde(default = "default_max_buffered")]
    pub max_buffered: ByteSize,
    /// Keep running after standard input ends (empty batches) instead of stopping the
    /// job once the last records are processed.
    #[serde(default)]
    pub keep_running: bool,
}

//! `[sinks.NAME]`: where a stream's batches go. A closed set, tagged by `kind`.

use std::path::PathBuf;

use serde::Deserialize;
use toml::Spanned;

/// A sink: the stream it reads and what it does with each batch. (Unknown fields are
/// refused by each kind's struct; serde cannot refuse them here because of `flatten`.)
#[derive(Debug, Deserialize)]
pub struct SinkConfig {
    /// The stream (or source) whose batches it writes.
    pub from: Spanned<String>,
    /// The kind of sink and its settings.
    #[serde(flatten)]
    pub kind: SinkKind,
}

/// The kinds of sink.
#[derive(Debug, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SinkKind {
    /// Like Spark's `print()`: a header with the batch time, then the first `num` records
    /// as JSON, then `...` if there are more. To stdout.
    Print(PrintSinkConfig),
    /// Every record as one JSON line on stdout.
    Stdout(StdoutSinkConfig),
    /// One JSON-lines file per batch, `<path>/batch-<time_ms>.jsonl`, written atomically.
    Files(FilesSinkConfig),
    /// Every record to a Kafka topic, delivery confirmed before the batch completes.
    Kafka(super::brokers::KafkaSinkConfig),
    /// Every record as an entry of a Redis stream (`XADD`, pipelined).
    Redis(super::brokers::RedisSinkConfig),
    /// Every record published to a NATS JetStream subject, `PubAck`ed, with a `Nats-Msg-Id`.
    Nats(super::nats::NatsSinkConfig),
}

/// `kind = "print"`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrintSinkConfig {
    /// How many records to show per batch. Default 10.
    #[serde(default = "default_print_num")]
    pub num: usize,
}

const fn default_print_num() -> usize {
    10
}

/// `kind = "stdout"`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StdoutSinkConfig {}

/// `kind = "files"`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilesSinkConfig {
    /// The output directory, relative to the job file; created if missing.
    pub path: PathBuf,
    /// Also write a file for batches with no records. Default true.
    #[serde(default = "yes")]
    pub write_empty: bool,
}

const fn yes() -> bool {
    true
}

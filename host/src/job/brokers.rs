//! Job-file settings of the Kafka and Redis Streams sources and sinks
//! (`[sources.X] kind = "kafka" | "redis"`, `[sinks.Y] kind = "kafka" | "redis"`).
//! Config types only; `source::kafka`, `source::redis`, `sink::kafka` and `sink::redis`
//! build the runtime types from them, `brokers::codec` gives [`RecordFormat`] its behaviour.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::units::DurationMs;

const fn default_timeout() -> DurationMs {
    DurationMs(10_000)
}

const fn default_delivery_timeout() -> DurationMs {
    DurationMs(60_000)
}

const fn yes() -> bool {
    true
}

fn default_field() -> String {
    "value".to_owned()
}

fn default_key_field() -> String {
    "key".to_owned()
}

/// How a message's payload becomes a record.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RecordFormat {
    /// The payload is UTF-8 text; the record is that string.
    #[default]
    Text,
    /// The payload is one JSON value; the record is that value.
    Json,
}

/// Where a reader starts when the caller has no recorded offsets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KafkaStart {
    /// The group's committed offsets; the earliest offset where there are none.
    #[default]
    Committed,
    /// The earliest offset still in each partition.
    Earliest,
    /// The end of each partition (only records produced from now on).
    Latest,
}

/// Where a consumer group starts when it does not exist yet.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RedisStart {
    /// Every entry already in the stream.
    #[default]
    Earliest,
    /// Only entries added from now on.
    Latest,
}

/// `[sources.X] kind = "kafka"`: every partition of the topics, read as a direct stream.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KafkaSourceConfig {
    /// `host:port[,host:port...]`.
    pub bootstrap_servers: String,
    /// The topics; each Kafka partition is one partition of every batch.
    pub topics: Vec<String>,
    /// The consumer group offsets are committed to after each checkpoint (for monitoring;
    /// Sluice resumes from its own checkpoint). Default `sluice-<source name>`.
    #[serde(default)]
    pub group: Option<String>,
    /// Where to start without a checkpoint: `committed` (the group's offsets, else the
    /// earliest), `earliest` or `latest`. Default `committed`.
    #[serde(default)]
    pub start: KafkaStart,
    /// How payloads become records: `text` or `json`.
    #[serde(default)]
    pub format: RecordFormat,
    /// Records are pairs `[key, value]` (the key as text) instead of values.
    #[serde(default)]
    pub key: bool,
    /// At most this many records per second per partition (Spark's
    /// `maxRatePerPartition`): each batch reads at most rate × batch interval per partition.
    #[serde(default)]
    pub max_rate_per_partition: Option<u64>,
    /// Timeout of metadata, offset and commit requests. Default `"10s"`.
    #[serde(default = "default_timeout")]
    pub timeout: DurationMs,
    /// Extra librdkafka consumer properties.
    #[serde(default)]
    pub properties: BTreeMap<String, String>,
}

/// `[sources.X] kind = "redis"`: Redis Streams through a consumer group, acknowledged after
/// each checkpoint.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedisSourceConfig {
    /// `redis://host:port[/db]`.
    pub url: String,
    /// The stream keys; each is one partition of every batch.
    pub streams: Vec<String>,
    /// The consumer group (created if missing). Default `sluice-<source name>`.
    #[serde(default)]
    pub group: Option<String>,
    /// This consumer's name; keep it across restarts (pending entries belong to it).
    /// Default `sluice`.
    #[serde(default)]
    pub consumer: Option<String>,
    /// Where a new group starts: `earliest` or `latest`. Default `earliest`.
    #[serde(default)]
    pub start: RedisStart,
    /// The entry field holding the payload. Default `value`.
    #[serde(default = "default_field")]
    pub field: String,
    /// How payloads become records: `text` or `json`.
    #[serde(default)]
    pub format: RecordFormat,
    /// Records are pairs `[key, value]`, the key from field `key_field`.
    #[serde(default)]
    pub key: bool,
    /// The field holding the key. Default `key`.
    #[serde(default = "default_key_field")]
    pub key_field: String,
    /// At most this many records per second per stream.
    #[serde(default)]
    pub max_rate_per_stream: Option<u64>,
    /// Timeout of connecting and of each command. Default `"10s"`.
    #[serde(default = "default_timeout")]
    pub timeout: DurationMs,
}

/// `[sinks.Y] kind = "kafka"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KafkaSinkConfig {
    /// `host:port[,host:port...]`.
    pub bootstrap_servers: String,
    /// The topic records go to.
    pub topic: String,
    /// A pair `[k, v]` becomes key `k` and payload `v`. Default true.
    #[serde(default = "yes")]
    pub key_from_pair: bool,
    /// Payloads as JSON text (`json`), or strings as their own text (`text`).
    #[serde(default = "json")]
    pub format: RecordFormat,
    /// How long a batch may take to be delivered. Default `"60s"`.
    #[serde(default = "default_delivery_timeout")]
    pub delivery_timeout: DurationMs,
    /// Extra librdkafka producer properties.
    #[serde(default)]
    pub properties: BTreeMap<String, String>,
}

/// How the Redis sink picks entry ids.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RedisSinkIds {
    /// `<batch_time_ms>-<index in the batch>`: exactly-once across crashes, one writer.
    #[default]
    Batch,
    /// Chosen by Redis (`*`): any number of writers, at-least-once.
    Auto,
}

/// `[sinks.Y] kind = "redis"`: one stream entry per record.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedisSinkConfig {
    /// `redis://host:port[/db]`.
    pub url: String,
    /// The stream key entries are added to.
    pub stream: String,
    /// The field holding the payload. Default `value`.
    #[serde(default = "default_field")]
    pub field: String,
    /// A pair `[k, v]` becomes field `key_field` = `k` and the payload `v`. Default true.
    #[serde(default = "yes")]
    pub key_from_pair: bool,
    /// The field holding the key. Default `key`.
    #[serde(default = "default_key_field")]
    pub key_field: String,
    /// Payloads as JSON text (`json`), or strings as their own text (`text`).
    #[serde(default = "json")]
    pub format: RecordFormat,
    /// Entry ids: `batch` (`<batch_time_ms>-<index>`, a replayed batch is not written
    /// twice; the sink must be the stream's only writer) or `auto` (Redis picks them;
    /// at-least-once). Default `batch`.
    #[serde(default)]
    pub ids: RedisSinkIds,
    /// Trim the stream to about this many entries (`MAXLEN ~`).
    #[serde(default)]
    pub max_len: Option<u64>,
    /// How long a batch keeps retrying while Redis is unreachable. Default `"60s"`.
    #[serde(default = "default_delivery_timeout")]
    pub retry_for: DurationMs,
    /// Timeout of connecting and of each command. Default `"10s"`.
    #[serde(default = "default_timeout")]
    pub timeout: DurationMs,
}

const fn json() -> RecordFormat {
    RecordFormat::Json
}

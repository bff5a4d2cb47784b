//! Job-file settings of the NATS JetStream source and sink (`[sources.X] kind = "nats"`,
//! `[sinks.Y] kind = "nats"`). Config types only; `source::nats` and `sink::nats` build the
//! runtime types from them.

use serde::Deserialize;

use super::brokers::RecordFormat;
use super::units::DurationMs;

const fn default_timeout() -> DurationMs {
    DurationMs(10_000)
}

const fn default_ack_wait() -> DurationMs {
    DurationMs(30_000)
}

const fn default_retry_for() -> DurationMs {
    DurationMs(60_000)
}

const fn json() -> RecordFormat {
    RecordFormat::Json
}

/// Where a new consumer starts (a consumer that exists resumes where it is acknowledged).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NatsStart {
    /// Every message in the stream.
    #[default]
    All,
    /// Only messages published from now on.
    New,
}

/// `[sources.X] kind = "nats"`: a JetStream stream read through a durable pull consumer,
/// acknowledged after each checkpoint.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NatsSourceConfig {
    /// `nats://host:port` (or `host:port`).
    pub url: String,
    /// The JetStream stream.
    pub stream: String,
    /// Subject filters; empty reads every subject of the stream. More than one needs a
    /// NATS 2.10 server.
    #[serde(default)]
    pub subjects: Vec<String>,
    /// The durable consumer's name. Default `sluice-<source name>`.
    #[serde(default)]
    pub consumer: Option<String>,
    /// Where a new consumer starts: `all` or `new`. Default `all`.
    #[serde(default)]
    pub start: NatsStart,
    /// How payloads become records: `text` or `json`.
    #[serde(default)]
    pub format: RecordFormat,
    /// Records are pairs `[subject, value]` instead of values.
    #[serde(default)]
    pub key: bool,
    /// At most this many records per second (each batch reads at most rate × interval).
    #[serde(default)]
    pub max_rate: Option<u64>,
    /// At most this many records per batch.
    #[serde(default)]
    pub max_batch: Option<u64>,
    /// How long a delivered message may stay unacknowledged before JetStream redelivers
    /// it. Default `"30s"`.
    #[serde(default = "default_ack_wait")]
    pub ack_wait: DurationMs,
    /// Timeout of connecting and of each request. Default `"10s"`.
    #[serde(default = "default_timeout")]
    pub timeout: DurationMs,
}

/// `[sinks.Y] kind = "nats"`: every record published to a JetStream stream's subject.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NatsSinkConfig {
    /// `nats://host:port` (or `host:port`).
    pub url: String,
    /// The subject records are published to (a stream must take it).
    pub subject: String,
    /// A pair `[k, v]` is published to `<subject>.<k>` with payload `v`. Default false.
    #[serde(default)]
    pub key_from_pair: bool,
    /// Payloads as JSON text (`json`), or strings as their own text (`text`).
    #[serde(default = "json")]
    pub format: RecordFormat,
    /// How long a batch keeps retrying while NATS is unreachable. Default `"60s"`.
    #[serde(default = "default_retry_for")]
    pub retry_for: DurationMs,
    /// Timeout of connecting and of waiting for a batch's acknowledgements. Default `"10s"`.
    #[serde(default = "default_timeout")]
    pub timeout: DurationMs,
}

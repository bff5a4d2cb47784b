//! Clients for the brokers Sluice reads from and writes to: Kafka and Redis Streams.
//!
//! These are the building blocks of the Kafka and Redis sources and sinks. They speak the
//! brokers' protocols and know nothing about jobs or batches:
//! - [`KafkaReader`] reads exact offset ranges of assigned partitions (assign + seek, no
//!   group join, like Spark's direct stream), and commits offsets to a consumer group for
//!   monitoring tools;
//! - [`KafkaWriter`] produces records and returns only once every delivery is confirmed;
//! - [`RedisStreamReader`] reads streams through a consumer group (`XREADGROUP`), replays
//!   its pending entries first after a restart, and acknowledges (`XACK`) only on request;
//! - [`RedisStreamWriter`] appends entries (`XADD`), pipelined;
//! - [`NatsReader`] reads a NATS JetStream stream through a durable pull consumer and
//!   acknowledges only on request; [`NatsWriter`] publishes with `Nats-Msg-Id`s and waits
//!   for every `PubAck` (both on [`NatsConn`], a minimal blocking NATS client);
//! - [`RecordFormat`] turns message bytes into records and back;
//!
//! All clients are blocking: sources are pulled on the driver thread and sinks are written
//! there, never on the tokio executor.

mod codec;
mod kafka_context;
mod kafka_reader;
mod kafka_writer;
mod nats_conn;
mod nats_js;
mod nats_proto;
mod nats_reader;
mod nats_writer;
mod redis_reader;
mod redis_writer;

pub use codec::{encode_for_sink, FormatError, SinkMessage};
pub use kafka_reader::{KafkaReader, KafkaReaderConfig, PartitionRead};
pub use kafka_writer::{KafkaWriter, KafkaWriterConfig};
pub use nats_conn::{NatsConn, NatsError, NatsMsg};
pub use nats_js::{ack_floor as nats_ack_floor, JsMessage, StreamState};
pub use nats_reader::{NatsReader, NatsReaderConfig};
pub use nats_writer::NatsWriter;
pub use redis_reader::{RedisEntry, RedisStreamReader, RedisStreamReaderConfig};
pub use redis_writer::{Appended, RedisStreamWriter};

/// Errors of broker clients. Each names the broker address and the topic or stream.
#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    /// A topic the job reads does not exist.
    #[error("Kafka topic `{topic}` does not exist on {bootstrap} (create it, or check the name)")]
    UnknownTopic { topic: String, bootstrap: String },
    /// A Kafka operation failed.
    #[error("Kafka at {bootstrap}: {message}")]
    Kafka { bootstrap: String, message: String },
    /// Some records were not delivered.
    #[error(
        "Kafka at {bootstrap}: {failed} of {sent} records for topic `{topic}` were not delivered: {first_error}"
    )]
    Delivery {
        bootstrap: String,
        topic: String,
        sent: usize,
        failed: usize,
        first_error: String,
    },
    /// A Redis operation failed.
    #[error("Redis at {url}: {message}")]
    Redis { url: String, message: String },
}

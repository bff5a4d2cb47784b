//! Sinks: where a stream's batches go, in batch order, after the whole batch is computed.
//!
//! An open set: implement [`Sink`] (Kafka and Redis sinks do), then add a config variant
//! to `job::SinkKind` and an arm to [`build`].

mod broker;
mod dead_letter;
mod files;
mod kafka;
mod nats;
mod print;
mod redis;
mod stdout;

use std::path::Path;

pub use dead_letter::DeadLetterSink;
pub use files::FilesSink;
pub use kafka::KafkaSink;
pub use nats::NatsSink;
pub use print::PrintSink;
pub use redis::RedisSink;
pub use stdout::StdoutSink;

use crate::job::SinkKind;
use crate::record::Batch;
use crate::record::BatchTime;

/// Errors of sinks.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    /// Writing failed.
    #[error("sink `{sink}`: {message}")]
    Write { sink: String, message: String },
}

/// Receives a stream's batches.
pub trait Sink: Send {
    /// Writes the batch of `time`; returns once delivery is confirmed (durable, acked).
    /// Called once per valid batch time, in time order; after a recovery the same time may
    /// be written again and must give the same result (idempotent).
    ///
    /// # Errors
    /// [`SinkError`] fails the job.
    fn write_batch(&mut self, time: BatchTime, batch: &Batch) -> Result<(), SinkError>;

    /// Flushes buffered output at shutdown.
    ///
    /// # Errors
    /// [`SinkError`].
    fn flush(&mut self) -> Result<(), SinkError> {
        Ok(())
    }
}

/// Builds a sink from its config; `dir` resolves relative paths.
///
/// # Errors
/// [`SinkError`] when the sink cannot be opened.
pub fn build(name: &str, kind: &SinkKind, dir: &Path) -> Result<Box<dyn Sink>, SinkError> {
    Ok(match kind {
        SinkKind::Print(c) => Box::new(PrintSink::new(c.num)),
        SinkKind::Stdout(_) => Box::new(StdoutSink::new(name)),
        SinkKind::Files(c) => {
            let path = if c.path.is_relative() {
                dir.join(&c.path)
            } else {
                c.path.clone()
            };
            Box::new(FilesSink::new(name, path, c.write_empty)?)
        }
        SinkKind::Kafka(c) => Box::new(KafkaSink::new(name, c)?),
        SinkKind::Redis(c) => Box::new(RedisSink::new(name, c)?),
        SinkKind::Nats(c) => Box::new(NatsSink::new(name, c)),
    })
}

/// A record as one line of JSON (or a note when it has no JSON form).
pub fn record_json(record: &[u8]) -> String {
    match crate::record::msgpack_to_json(record) {
        Ok(v) => v.to_string(),
        Err(e) => serde_json::json!({ "unprintable_record": e.to_string() }).to_string(),
    }
}

//! Sources: where records come from.
//!
//! Two families, as in Spark Streaming:
//! - **direct** sources ([`DirectSource`]: `queue`, `generator`, `files`, `kafka`, `redis`) are
//!   pulled at each batch time. They are replayable: [`DirectSource::position`] records
//!   where the next batch starts, and after [`DirectSource::seek`] to a recorded position
//!   they yield the same batches again (checkpoints build on this);
//! - **receivers** (`tcp`, `stdin`) run as tokio tasks and push records into a
//!   [`crate::batch::BlockGenerator`]; at each batch time the batcher takes the sealed
//!   blocks, one partition per block.
//!
//! Malformed input (invalid UTF-8, bad JSON, an over-long line) becomes a
//! [`crate::record::DeadLetter`] naming the source and the position, and goes to the job's error policy.

mod broker;
mod build;
mod files;
mod format;
mod generator;
mod kafka;
mod lines;
mod nats;
mod pump;
mod queue;
mod receiver;
mod redis;
mod stdin;
mod tcp;

pub use build::build;
pub use files::FilesSource;
pub use format::LineDecoder;
pub use generator::{vocabulary_word, GeneratorSource};
pub use kafka::KafkaSource;
pub use lines::LineSplitter;
pub use nats::NatsSource;
pub use pump::{InputEnded, ReceiverKind, ReceiverSpec};
pub use queue::QueueSource;
pub use receiver::start as start_receiver;
pub use redis::RedisSource;

use crate::batch::ReceiverInput;
pub use crate::batch::SourceBatch;
use crate::record::BatchTime;

/// Errors of sources.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The source's table in the job file is wrong (with file, line and column).
    #[error(transparent)]
    Job(#[from] crate::job::JobError),
    /// Reading the source's data failed.
    #[error("source `{source_name}`: {message}")]
    Io {
        source_name: String,
        message: String,
    },
    /// The source's configuration or data is invalid.
    #[error("source `{source_name}`: {message}")]
    Invalid {
        source_name: String,
        message: String,
    },
    /// A recorded position does not belong to this source.
    #[error("source `{source_name}`: cannot seek to {position}: {message}")]
    Seek {
        source_name: String,
        position: String,
        message: String,
    },
}

/// A source pulled at each batch time, replayable from a recorded position.
pub trait DirectSource: Send {
    /// The records for the batch at `time`, advancing the position.
    ///
    /// # Errors
    /// [`SourceError`] when the data cannot be read at all (malformed records are dead
    /// letters, not errors).
    fn next_batch(&mut self, time: BatchTime) -> Result<SourceBatch, SourceError>;

    /// The batch at `time` replayed after a crash: exactly up to `end`, a
    /// [`DirectSource::position`] recorded right after this batch was first pulled. The
    /// default calls [`DirectSource::next_batch`], right for sources whose batches are a
    /// pure function of their position (queue, generator).
    ///
    /// # Errors
    /// As [`DirectSource::next_batch`]; [`SourceError::Seek`] when `end` is not a position
    /// of this source.
    fn next_batch_to(
        &mut self,
        time: BatchTime,
        _end: &serde_json::Value,
    ) -> Result<SourceBatch, SourceError> {
        self.next_batch(time)
    }

    /// Where the next batch starts, as JSON (stored in checkpoints).
    fn position(&self) -> serde_json::Value;

    /// Continues from a position returned by [`DirectSource::position`]; the following
    /// batches are identical to those produced after that position was recorded.
    ///
    /// # Errors
    /// [`SourceError::Seek`] when the position is not one of this source's.
    fn seek(&mut self, position: &serde_json::Value) -> Result<(), SourceError>;

    /// Called once a checkpoint that recorded `position` is durable: sources that
    /// acknowledge or commit offsets upstream (Kafka, Redis, NATS) do it here, never earlier.
    fn committed(&mut self, _position: &serde_json::Value) {}

    /// Backpressure: take in at most `per_second` records per second from now on (`None`:
    /// no limit from backpressure; configured limits still apply).
    fn set_rate(&mut self, _per_second: Option<f64>) {}

    /// The rate limit in force, records per second, if any (shown in the progress line).
    fn rate_limit(&self) -> Option<f64> {
        None
    }
}

/// A source before the job starts.
pub enum SourceSpec {
    /// Pulled at each batch time.
    Direct(Box<dyn DirectSource>),
    /// Started as a receiver task when the job starts.
    Receiver(ReceiverSpec),
}

/// A source of a running job: pulled directly or fed by a receiver.
pub enum SourceHandle {
    /// Pulled at each batch time.
    Direct(Box<dyn DirectSource>),
    /// Fed by a receiver task.
    Receiver(ReceiverInput),
}

impl SourceHandle {
    /// The batch for `time`.
    ///
    /// # Errors
    /// See [`DirectSource::next_batch`].
    pub fn next_batch(&mut self, time: BatchTime) -> Result<SourceBatch, SourceError> {
        match self {
            SourceHandle::Direct(s) => s.next_batch(time),
            SourceHandle::Receiver(r) => r.take_batch(time).map_err(|message| SourceError::Io {
                source_name: r.source().to_owned(),
                message,
            }),
        }
    }
}

impl std::fmt::Debug for SourceHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SourceHandle::Direct(_) => f.write_str("SourceHandle::Direct"),
            SourceHandle::Receiver(_) => f.write_str("SourceHandle::Receiver"),
        }
    }
}

//! Micro-batching of pushed input, the one place where blocks become a batch: receivers
//! push records into a [`BlockGenerator`], which seals a block every block interval (or
//! earlier, at [`blocks::MAX_BLOCK_BYTES`]); at
//! each batch time [`ReceiverInput`] takes the sealed blocks the [`BlockStore`] allocates
//! to the batch, one partition per block (Spark's `BlockGenerator` and
//! `ReceivedBlockTracker`).
//!
//! A block counts as received only once it is sealed, and sealing first hands it to the
//! [`BlockStore`]: a write-ahead log persists it there, so that a crash after the
//! receiver acknowledged its input loses nothing, and records which blocks each batch
//! took, so that a replayed batch takes the same ones. The log only writes; each block is
//! held in memory once, by the batcher.

mod batcher;
mod blocks;
mod budget;
mod rate;

use std::sync::Arc;

pub use batcher::ReceiverInput;
pub use blocks::{Block, BlockGenerator, BlockStore, NoBlockStore};
pub use budget::MemoryBudget;
pub use rate::{RateLimiter, MAX_READ, MIN_READ};

use crate::record::{Batch, DeadLetter};

/// What a source produced for one batch time.
#[derive(Debug, Default)]
pub struct SourceBatch {
    /// The records, or `None` for "no RDD" (a queue's `null` batch).
    pub batch: Option<Arc<Batch>>,
    /// Input that could not be read, with source and position in each reason.
    pub dead_letters: Vec<DeadLetter>,
}

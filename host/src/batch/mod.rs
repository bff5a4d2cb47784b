//! Micro-batching of pushed input: receivers push records into a [`BlockGenerator`],
//! which seals a block every block interval; at each batch time the batcher takes every
//! sealed block, one partition per block (Spark's `BlockGenerator` and
//! `ReceivedBlockTracker`).
//!
//! A block counts as received only once it is sealed, and sealing first hands it to the
//! [`BlockStore`] hook: a write-ahead log persists it there, so that a crash after the
//! receiver acknowledged its input loses nothing.

mod blocks;
mod rate;

pub use blocks::{Block, BlockGenerator, BlockStore, NoBlockStore};
pub use rate::{RateLimiter, MAX_READ, MIN_READ};

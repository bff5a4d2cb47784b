//! [`BlockGenerator`]: the receiver side of micro-batching, with the write-ahead-log hook.

use std::sync::{Arc, Mutex, MutexGuard};

use crate::ops::DeadLetter;
use crate::record::Partition;

/// A sealed block: the records one receiver got during one block interval.
#[derive(Debug, Default, Clone)]
pub struct Block {
    /// Sequence number within the receiver, from 0.
    pub id: u64,
    /// The records.
    pub records: Partition,
    /// Input that could not be read during the interval.
    pub dead_letters: Vec<DeadLetter>,
}

/// Where sealed blocks are persisted before they count as received (a write-ahead log).
pub trait BlockStore: Send + Sync {
    /// Persists `block` of `source`; returns once it is durable.
    ///
    /// # Errors
    /// A sentence; the block is then kept in memory and sealing is retried.
    fn persist(&self, source: &str, block: &Block) -> Result<(), String>;
}

/// No write-ahead log: blocks live in memory only (Spark's unreliable receivers).
#[derive(Debug, Default, Clone, Copy)]
pub struct NoBlockStore;

impl BlockStore for NoBlockStore {
    fn persist(&self, _source: &str, _block: &Block) -> Result<(), String> {
        Ok(())
    }
}

#[derive(Debug, Default)]
struct State {
    current: Partition,
    current_dead: Vec<DeadLetter>,
    sealed: Vec<Block>,
    next_id: u64,
}

/// Collects a receiver's records and seals them into blocks. Shared between the receiver
/// task, the block timer and the batcher.
pub struct BlockGenerator {
    source: String,
    state: Mutex<State>,
    store: Arc<dyn BlockStore>,
}

impl std::fmt::Debug for BlockGenerator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlockGenerator")
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

impl BlockGenerator {
    /// A generator for `source` persisting blocks to `store`.
    pub fn new(source: &str, store: Arc<dyn BlockStore>) -> Arc<Self> {
        Arc::new(BlockGenerator {
            source: source.to_owned(),
            state: Mutex::new(State::default()),
            store,
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds records to the current block.
    pub fn push(&self, records: &Partition, dead_letters: Vec<DeadLetter>) {
        let mut s = self.lock();
        s.current.extend_from(records);
        s.current_dead.extend(dead_letters);
    }

    /// Seals the current block, if it holds anything, after persisting it.
    pub fn seal(&self) {
        let mut s = self.lock();
        if s.current.is_empty() && s.current_dead.is_empty() {
            return;
        }
        let block = Block {
            id: s.next_id,
            records: std::mem::take(&mut s.current),
            dead_letters: std::mem::take(&mut s.current_dead),
        };
        match self.store.persist(&self.source, &block) {
            Ok(()) => {
                s.next_id += 1;
                s.sealed.push(block);
            }
            Err(e) => {
                tracing::warn!(source = %self.source, error = %e, "Cannot persist a block; keeping it and retrying.");
                s.current = block.records;
                s.current_dead = block.dead_letters;
            }
        }
    }

    /// Takes every sealed block, oldest first.
    pub fn take_sealed(&self) -> Vec<Block> {
        std::mem::take(&mut self.lock().sealed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seals_blocks_in_order_and_skips_empty_ones() {
        let g = BlockGenerator::new("s", Arc::new(NoBlockStore));
        let mut p = Partition::new();
        p.push(&[1]);
        g.push(&p, Vec::new());
        g.seal();
        g.seal();
        g.push(&p, Vec::new());
        g.push(&p, Vec::new());
        g.seal();
        let blocks = g.take_sealed();
        assert_eq!(blocks.len(), 2);
        assert_eq!((blocks[0].id, blocks[0].records.len()), (0, 1));
        assert_eq!((blocks[1].id, blocks[1].records.len()), (1, 2));
        assert!(g.take_sealed().is_empty());
    }
}

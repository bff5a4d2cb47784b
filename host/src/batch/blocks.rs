//! [`BlockGenerator`]: the receiver side of micro-batching, with the write-ahead-log hook
//! ([`BlockStore`], which a write-ahead log implements) and a cap on the bytes received
//! but not yet taken into a batch.
//!
//! A block is sealed at the end of its block interval, or earlier once it holds
//! [`MAX_BLOCK_BYTES`]: each block becomes a partition, and a partition is what one plugin
//! call receives, so the cap bounds the memory a guest instance grows to (the input copied
//! in, its output) whatever the input rate.

use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::Notify;

use super::MemoryBudget;
use crate::record::{BatchTime, DeadLetter, Partition};

/// A sealed block: the records one receiver got during one block interval.
/// (Not `Clone`: a block is held in one place, moved from the generator to the batch.)
#[derive(Debug, Default)]
pub struct Block {
    /// Sequence number within the receiver, from 0.
    pub id: u64,
    /// The records.
    pub records: Partition,
    /// Input that could not be read during the interval.
    pub dead_letters: Vec<DeadLetter>,
}

/// Where sealed blocks are persisted before they count as received, and where each
/// batch's blocks are recorded before the batch runs: a write-ahead log (`wal/`)
/// implements it. The store only writes: the blocks themselves stay with the batcher, so
/// each block is held in memory once.
pub trait BlockStore: Send + Sync {
    /// The sequence number of `source`'s next block (after those already logged).
    fn next_seq(&self, _source: &str) -> u64 {
        0
    }

    /// Persists `block` of `source` (its `id` is its sequence number); returns once it
    /// is durable.
    ///
    /// # Errors
    /// A sentence; the block is then kept in memory and sealing is retried.
    fn persist(&self, source: &str, block: &Block) -> Result<(), String>;

    /// Blocks of `source` logged before a restart that no batch had consumed at the
    /// checkpoint, oldest first; handed over once, when the receiver starts.
    fn take_recovered(&self, _source: &str) -> Vec<Block> {
        Vec::new()
    }

    /// Decides which blocks the batch at `time` takes: those before the returned
    /// sequence number. `available` is one past the newest block at hand. A log replays
    /// the decision it recorded before a crash, or records this one durably.
    ///
    /// # Errors
    /// A sentence; the batch must not run.
    fn allocate(&self, _source: &str, _time: BatchTime, available: u64) -> Result<u64, String> {
        Ok(available)
    }
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
    /// Bytes of records in `current` and `sealed`.
    buffered: usize,
}

/// The bytes of records after which a block is sealed before its interval ends.
pub const MAX_BLOCK_BYTES: usize = 2 << 20;

/// How often a receiver stopped by the memory budget looks again.
const BUDGET_POLL: std::time::Duration = std::time::Duration::from_millis(20);

/// The memory a partition's records take: their encoded bytes and one offset each.
fn footprint(p: &Partition) -> usize {
    p.bytes().len() + 4 * p.len()
}

/// Collects a receiver's records and seals them into blocks. Shared between the receiver
/// task, the block timer and the batcher.
pub struct BlockGenerator {
    source: String,
    state: Mutex<State>,
    store: Arc<dyn BlockStore>,
    max_buffered: usize,
    /// The job's `max_memory`, if set.
    budget: Option<Arc<MemoryBudget>>,
    drained: Notify,
}

impl std::fmt::Debug for BlockGenerator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlockGenerator")
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

impl BlockGenerator {
    /// A generator for `source` persisting blocks to `store`, whose receiver stops
    /// reading while `max_buffered` bytes of records wait for a batch or the job's
    /// memory `budget` has no room (see [`BlockGenerator::wait_for_room`]).
    pub fn new(
        source: &str,
        store: Arc<dyn BlockStore>,
        max_buffered: usize,
        budget: Option<Arc<MemoryBudget>>,
    ) -> Arc<Self> {
        Arc::new(BlockGenerator {
            source: source.to_owned(),
            state: Mutex::new(State {
                next_id: store.next_seq(source),
                ..State::default()
            }),
            store,
            max_buffered: max_buffered.max(1),
            budget,
            drained: Notify::new(),
        })
    }

    /// Bytes of records received and not yet taken into a batch.
    pub fn buffered(&self) -> usize {
        self.lock().buffered
    }

    /// Bytes that may still be received before the cap (or the memory budget) is reached.
    pub fn room(&self) -> usize {
        let room = self.max_buffered.saturating_sub(self.buffered());
        match &self.budget {
            Some(b) => room.min(usize::try_from(b.room()).unwrap_or(usize::MAX)),
            None => room,
        }
    }

    /// Returns once fewer than the cap's bytes wait for a batch and the job's memory
    /// budget has room: a receiver calls it before each read, so that a full buffer
    /// stops the reading (and TCP flow control or a full pipe stops the sender) instead
    /// of dropping input. The budget frees up when a batch ends, which does not notify
    /// the receivers: while it is the obstacle, they look again every 20 ms.
    pub async fn wait_for_room(&self) {
        loop {
            let drained = self.drained.notified();
            tokio::pin!(drained);
            // Registered before the check, so a take between the check and the await
            // still wakes this task.
            drained.as_mut().enable();
            let budget_full = self.budget.as_ref().is_some_and(|b| b.room() == 0);
            if self.buffered() < self.max_buffered && !budget_full {
                return;
            }
            if budget_full {
                let _ = tokio::time::timeout(BUDGET_POLL, drained).await;
            } else {
                drained.await;
            }
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds records to the current block, sealing it once it holds [`MAX_BLOCK_BYTES`].
    pub fn push(&self, records: &Partition, dead_letters: Vec<DeadLetter>) {
        let mut s = self.lock();
        s.current.extend_from(records);
        s.current_dead.extend(dead_letters);
        s.buffered += footprint(records);
        if let Some(b) = &self.budget {
            b.received(footprint(records) as u64);
        }
        if footprint(&s.current) >= MAX_BLOCK_BYTES {
            self.seal_locked(&mut s);
        }
    }

    /// Seals the current block, if it holds anything, after persisting it.
    pub fn seal(&self) {
        let mut s = self.lock();
        self.seal_locked(&mut s);
    }

    fn seal_locked(&self, s: &mut State) {
        if s.current.is_empty() && s.current_dead.is_empty() {
            return;
        }
        let mut records = std::mem::take(&mut s.current);
        // The buffers grew by doubling: give back what the block will never use.
        records.shrink_to_fit();
        let block = Block {
            id: s.next_id,
            records,
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

    /// Takes every sealed block, oldest first, making room for the receiver.
    pub fn take_sealed(&self) -> Vec<Block> {
        let blocks = {
            let mut s = self.lock();
            let blocks = std::mem::take(&mut s.sealed);
            let taken: usize = blocks.iter().map(|b| footprint(&b.records)).sum();
            s.buffered = s.buffered.saturating_sub(taken);
            if let Some(b) = &self.budget {
                b.taken(taken as u64);
            }
            blocks
        };
        self.drained.notify_waiters();
        blocks
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seals_blocks_in_order_and_skips_empty_ones() {
        let g = BlockGenerator::new("s", Arc::new(NoBlockStore), 1 << 20, None);
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

    #[test]
    fn a_large_block_is_sealed_before_its_interval_ends() {
        let g = BlockGenerator::new("s", Arc::new(NoBlockStore), 64 << 20, None);
        let mut p = Partition::new();
        for _ in 0..2000 {
            p.push(&[0u8; 256]);
        }
        // 2,000 records of 256 bytes a push, 0.5 MiB: a block per about 4 pushes.
        for _ in 0..20 {
            g.push(&p, Vec::new());
        }
        let blocks = g.take_sealed();
        assert!(blocks.len() >= 4, "{} blocks", blocks.len());
        for b in &blocks {
            assert!(footprint(&b.records) < MAX_BLOCK_BYTES + footprint(&p));
        }
        g.seal();
        let rest = g.take_sealed();
        let total: usize = blocks.iter().chain(&rest).map(|b| b.records.len()).sum();
        assert_eq!(total, 20 * p.len(), "nothing lost");
        assert_eq!(g.buffered(), 0);
    }

    #[tokio::test]
    async fn a_full_buffer_waits_for_the_next_batch() {
        let g = BlockGenerator::new("s", Arc::new(NoBlockStore), 100, None);
        let mut p = Partition::new();
        p.push(&[0; 60]);
        g.push(&p, Vec::new());
        assert_eq!(g.buffered(), 64);
        g.wait_for_room().await;
        g.push(&p, Vec::new());
        g.seal();
        let waiter = {
            let g = g.clone();
            tokio::spawn(async move { g.wait_for_room().await })
        };
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert!(!waiter.is_finished(), "128 bytes buffered, cap 100");
        let blocks = g.take_sealed();
        assert_eq!(blocks[0].records.len(), 2, "nothing dropped");
        tokio::time::timeout(std::time::Duration::from_secs(5), waiter)
            .await
            .expect("woken by the take")
            .unwrap();
        assert_eq!(g.buffered(), 0);
    }
}

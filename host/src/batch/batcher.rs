//! [`ReceiverInput`]: the batcher side of a receiver, the one place where received blocks
//! become a batch. At each batch time it seals the current block, asks the
//! [`BlockStore`] which blocks the batch takes (a write-ahead log replays what it
//! recorded before a crash), and turns them into partitions: one per block, or the
//! records spread over the job's `partitions`.

use std::collections::VecDeque;
use std::sync::Arc;

use tokio::runtime::Handle;
use tokio::task::JoinHandle;

use super::{Block, BlockGenerator, BlockStore, RateLimiter, SourceBatch};
use crate::record::{Batch, BatchTime, Partition};

/// The batcher side of a receiver. Dropping it stops the receiver's tasks.
pub struct ReceiverInput {
    source: String,
    generator: Arc<BlockGenerator>,
    limiter: Arc<RateLimiter>,
    store: Arc<dyn BlockStore>,
    /// Sealed blocks not yet in a batch, oldest first (recovered ones first).
    queue: VecDeque<Block>,
    partitions: Option<usize>,
    tasks: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for ReceiverInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReceiverInput")
            .field("source", &self.source)
            .field("queued", &self.queue.len())
            .finish_non_exhaustive()
    }
}

impl ReceiverInput {
    /// The batcher of `source`, whose receiver pushes into `generator` under `limiter`
    /// and runs as `tasks`; blocks the store recovered from before a restart come first.
    pub fn new(
        source: &str,
        generator: Arc<BlockGenerator>,
        limiter: Arc<RateLimiter>,
        store: Arc<dyn BlockStore>,
        partitions: Option<usize>,
        tasks: Vec<JoinHandle<()>>,
    ) -> Self {
        let queue = store.take_recovered(source).into();
        ReceiverInput {
            source: source.to_owned(),
            generator,
            limiter,
            store,
            queue,
            partitions,
            tasks,
        }
    }

    /// The source's name.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Backpressure: read at most `per_second` records per second from now on (`None`: no
    /// limit from backpressure; the configured `rate_limit` still applies). Spark's
    /// `ReceiverRateController` pushing a new rate to the receiver's `RateLimiter`.
    pub fn set_rate(&self, per_second: Option<f64>) {
        self.limiter.update_rate(per_second);
    }

    /// The rate limit in force, records per second, if any (shown in the progress line).
    pub fn rate_limit(&self) -> Option<f64> {
        self.limiter.limit()
    }

    /// Bytes received and not yet taken into a batch (for metrics).
    pub fn buffered_bytes(&self) -> usize {
        self.generator.buffered()
    }

    /// A clean stop: the receiver stops reading (its task is cancelled between two reads,
    /// so every record read is already in the block generator) and the block timer
    /// stops; returns once both tasks are gone. The next [`ReceiverInput::take_batch`]
    /// then takes everything received, the unsealed current block included.
    pub fn stop_reading(&mut self, rt: &Handle) {
        for task in self.tasks.drain(..) {
            task.abort();
            // Cancelled or already finished: either way the task no longer pushes.
            let _ = rt.block_on(task);
        }
    }

    /// Seals the current block and makes the batch at `time` of the blocks the store
    /// allocates to it.
    ///
    /// # Errors
    /// A sentence when the store cannot record the allocation (the batch must not run).
    pub fn take_batch(&mut self, time: BatchTime) -> Result<SourceBatch, String> {
        self.generator.seal();
        self.queue.extend(self.generator.take_sealed());
        let available = self.queue.back().map_or(0, |b| b.id + 1);
        let end = self.store.allocate(&self.source, time, available)?;
        let mut dead_letters = Vec::new();
        let mut parts = Vec::new();
        while self.queue.front().is_some_and(|b| b.id < end) {
            let Some(b) = self.queue.pop_front() else {
                break;
            };
            dead_letters.extend(b.dead_letters);
            if !b.records.is_empty() {
                parts.push(b.records);
            }
        }
        let partitions = match self.partitions {
            Some(n) => spread(&parts, n),
            None => parts,
        };
        Ok(SourceBatch {
            batch: Some(Batch::new(partitions)),
            dead_letters,
        })
    }
}

impl Drop for ReceiverInput {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// Spreads records evenly over `n` partitions, keeping their order.
pub(crate) fn spread(parts: &[Partition], n: usize) -> Vec<Partition> {
    let n = n.max(1);
    let total: usize = parts.iter().map(Partition::len).sum();
    let mut out: Vec<Partition> = (0..n).map(|_| Partition::new()).collect();
    for (i, r) in parts.iter().flat_map(Partition::iter).enumerate() {
        // Record i goes to the partition p with p*total/n <= i < (p+1)*total/n.
        let p = (i * n) / total.max(1);
        out[p.min(n - 1)].push(r);
    }
    out
}

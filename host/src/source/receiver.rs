//! Receivers: tokio tasks that read lines from a pushed source into a block generator,
//! and [`ReceiverInput`], the batcher side that turns sealed blocks into a batch.
//!
//! A receiver slows down by not reading: before each read it waits while the blocks not
//! yet in a batch hold `max_buffered` bytes, and while its [`RateLimiter`] (the configured
//! `rate_limit`, lowered by backpressure) says the records read so far are ahead of the
//! rate. Unread input stays in the socket or pipe, so the sender is held back by TCP flow
//! control or a full pipe; nothing read is ever dropped.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::runtime::Handle;
use tokio::task::JoinHandle;

use super::lines::LineSplitter;
use super::{LineDecoder, SourceBatch};
use crate::batch::{BlockGenerator, BlockStore, RateLimiter, MAX_READ, MIN_READ};
use crate::record::{Batch, Partition};

/// What a receiver reads.
#[derive(Debug, Clone)]
pub enum ReceiverKind {
    /// A TCP client connected to `host:port`, reconnecting with backoff.
    Tcp { host: String, port: u16 },
    /// Standard input, until its end; then the job stops (see [`InputEnded`]) unless
    /// `keep_running`.
    Stdin { keep_running: bool },
}

/// Called by a receiver whose input ended for good and that asks the job to stop (a
/// `stdin` source without `keep_running`), with the source's name.
pub type InputEnded = Arc<dyn Fn(&str) + Send + Sync>;

/// Everything needed to start a receiver.
#[derive(Debug, Clone)]
pub struct ReceiverSpec {
    /// What to read.
    pub kind: ReceiverKind,
    /// How lines become records.
    pub decoder: LineDecoder,
    /// Longest accepted line.
    pub max_line: usize,
    /// Records per second, at most.
    pub rate_limit: Option<u64>,
    /// Bytes of records received and not yet in a batch, at most (then reading pauses).
    pub max_buffered: usize,
}

/// Longest pause between two looks at the rate, so that a new rate takes effect soon.
const RATE_POLL: Duration = Duration::from_millis(50);

impl ReceiverSpec {
    /// Starts the receiver and its block timer on `rt`; returns the batcher side. With
    /// `initial_rate` (backpressure's initial rate), the receiver reads no faster than
    /// that from its first read until backpressure sets a rate. `ended` is called when
    /// the input ends and the job should stop.
    pub fn start(
        self,
        rt: &Handle,
        store: Arc<dyn BlockStore>,
        block_interval: Duration,
        partitions: Option<usize>,
        initial_rate: Option<f64>,
        ended: InputEnded,
    ) -> ReceiverInput {
        let generator = BlockGenerator::new(self.decoder.source(), store, self.max_buffered);
        let limiter = Arc::new(RateLimiter::new(self.rate_limit));
        limiter.update_rate(initial_rate);
        let timer = {
            let g = generator.clone();
            rt.spawn(async move {
                let mut tick = tokio::time::interval(block_interval);
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    tick.tick().await;
                    g.seal();
                }
            })
        };
        let reader = {
            let g = generator.clone();
            let rate = limiter.clone();
            match self.kind.clone() {
                ReceiverKind::Tcp { host, port } => {
                    rt.spawn(super::tcp::run(self, host, port, g, rate))
                }
                ReceiverKind::Stdin { keep_running } => {
                    let ended = (!keep_running).then_some(ended);
                    rt.spawn(super::stdin::run(self, g, rate, ended))
                }
            }
        };
        ReceiverInput {
            generator,
            limiter,
            partitions,
            tasks: vec![timer, reader],
        }
    }
}

/// Reads `input` to its end, pushing records (in chunks) into `generator`, never ahead of
/// `rate` and never past the generator's cap. `position` names a byte offset for dead
/// letters. Returns the bytes read.
pub(super) async fn pump<R: AsyncRead + Unpin>(
    spec: &ReceiverSpec,
    mut input: R,
    generator: &BlockGenerator,
    rate: &RateLimiter,
    position: impl Fn(u64) -> String,
) -> std::io::Result<u64> {
    let mut splitter = LineSplitter::new(spec.max_line);
    let mut buf = vec![0u8; MAX_READ];
    let mut records_read: u64 = 0;
    loop {
        generator.wait_for_room().await;
        while let Some(wait) = rate.wait() {
            tokio::time::sleep(wait.min(RATE_POLL)).await;
        }
        // Small reads at a low rate, so that one read does not run far ahead of it, and
        // none much past the cap.
        let bytes_per_record = if records_read == 0 {
            64.0
        } else {
            splitter.consumed() as f64 / records_read as f64
        };
        let size = rate
            .read_size(bytes_per_record)
            .min(generator.room().max(MIN_READ));
        let n = input.read(&mut buf[..size]).await?;
        let mut records = Partition::new();
        let mut dead = Vec::new();
        let mut on_line = |line: super::lines::Line<'_>, at: super::lines::LineAt| {
            if let Err(d) = spec
                .decoder
                .decode(line, &mut records, || position(at.offset))
            {
                dead.push(d);
            }
        };
        if n == 0 {
            splitter.finish(&mut on_line);
        } else {
            splitter.feed(&buf[..n], &mut on_line);
        }
        let count = records.len() as u64;
        if count > 0 || !dead.is_empty() {
            generator.push(&records, dead);
        }
        if n == 0 {
            return Ok(splitter.consumed());
        }
        records_read += count;
        rate.charge(count);
    }
}

/// The batcher side of a receiver: at each batch time, all sealed blocks become a batch.
pub struct ReceiverInput {
    generator: Arc<BlockGenerator>,
    limiter: Arc<RateLimiter>,
    partitions: Option<usize>,
    tasks: Vec<JoinHandle<()>>,
}

impl ReceiverInput {
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

    /// Bytes received and not yet taken into a batch.
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

    /// Seals the current block and takes every sealed block: one partition per block, or
    /// the records spread evenly over the configured number of partitions.
    pub fn take_batch(&mut self) -> SourceBatch {
        self.generator.seal();
        let blocks = self.generator.take_sealed();
        let mut dead_letters = Vec::new();
        let mut parts = Vec::with_capacity(blocks.len());
        for b in blocks {
            dead_letters.extend(b.dead_letters);
            if !b.records.is_empty() {
                parts.push(b.records);
            }
        }
        let partitions = match self.partitions {
            Some(n) => spread(&parts, n),
            None => parts,
        };
        SourceBatch {
            batch: Some(Batch::new(partitions)),
            dead_letters,
        }
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
pub fn spread(parts: &[Partition], n: usize) -> Vec<Partition> {
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

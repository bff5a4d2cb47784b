//! What a receiver reads ([`ReceiverSpec`]) and how: [`pump`] reads a byte stream into
//! lines and records and pushes them into the receiver's block generator.
//!
//! A receiver slows down by not reading: before each read it waits while the blocks not
//! yet in a batch hold `max_buffered` bytes, and while its [`RateLimiter`] (the configured
//! `rate_limit`, lowered by backpressure) says the records read so far are ahead of the
//! rate. Unread input stays in the socket or pipe, so the sender is held back by TCP flow
//! control or a full pipe; nothing read is ever dropped.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt};

use super::lines::{Line, LineAt, LineSplitter};
use super::LineDecoder;
use crate::batch::{BlockGenerator, MemoryBudget, RateLimiter, MAX_READ, MIN_READ};
use crate::job::{StdinConfig, TcpConfig};
use crate::record::Partition;

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
    /// The job's memory budget (`[job] max_memory`), if set: reading also pauses while
    /// it has no room.
    pub budget: Option<Arc<MemoryBudget>>,
}

/// Longest pause between two looks at the rate, so that a new rate takes effect soon.
const RATE_POLL: Duration = Duration::from_millis(50);

impl ReceiverSpec {
    /// The receiver of `[sources.NAME] kind = "tcp"`.
    pub fn tcp(name: &str, c: &TcpConfig) -> Self {
        ReceiverSpec {
            kind: ReceiverKind::Tcp {
                host: c.host.clone(),
                port: c.port,
            },
            decoder: LineDecoder::new(name, c.format),
            max_line: c.max_line_length.0 as usize,
            rate_limit: c.rate_limit,
            max_buffered: usize::try_from(c.max_buffered.0).unwrap_or(usize::MAX),
            budget: None,
        }
    }

    /// The receiver of `[sources.NAME] kind = "stdin"`.
    pub fn stdin(name: &str, c: &StdinConfig) -> Self {
        ReceiverSpec {
            kind: ReceiverKind::Stdin {
                keep_running: c.keep_running,
            },
            decoder: LineDecoder::new(name, c.format),
            max_line: c.max_line_length.0 as usize,
            rate_limit: c.rate_limit,
            max_buffered: usize::try_from(c.max_buffered.0).unwrap_or(usize::MAX),
            budget: None,
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
        let mut on_line = |line: Line<'_>, at: LineAt| {
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

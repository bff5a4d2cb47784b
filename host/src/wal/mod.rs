//! The write-ahead log of receivers (TCP, stdin): every sealed block is appended to the
//! log before it counts as received, and every batch records which blocks it consumed
//! before it runs (Spark's received-block WAL and batch allocation events).
//!
//! After a crash, the batches after the checkpoint get exactly the blocks they had before,
//! and the blocks that no batch had consumed go into the next batch. A checkpoint that
//! covers a segment lets it be deleted. Layout: `DIR/wal/<source>/NNNNNNNNNNNN.wal`, one
//! new segment per process start and per `segment_bytes`.

mod direct_log;
mod record;
mod segment;
mod source_log;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

pub use direct_log::DirectLog;
pub use record::WalRecord;
pub use segment::{read_segment, SegmentRead, SegmentWriter, SEGMENT_HEADER};
pub use source_log::{list_segments, LoggedBlock, SegmentInfo, SourceLog};

use crate::base::dir_name;
use crate::batch::{Block, BlockStore};
use crate::record::BatchTime;

/// Errors of the write-ahead log.
#[derive(Debug, thiserror::Error)]
pub enum WalError {
    /// Reading or writing a file failed.
    #[error("write-ahead log {}: {cause}", path.display())]
    Io {
        path: PathBuf,
        cause: std::io::Error,
    },
    /// An intact record (its checksum is right) that this build cannot read.
    #[error("write-ahead log {}: {reason}", path.display())]
    Corrupt { path: PathBuf, reason: String },
    /// A source the log was not opened for.
    #[error("write-ahead log: no log for source `{0}`")]
    UnknownSource(String),
}

impl WalError {
    /// A [`WalError::Io`] for `path`.
    pub fn io(path: &Path, cause: std::io::Error) -> Self {
        WalError::Io {
            path: path.to_owned(),
            cause,
        }
    }
}

/// When appended blocks are fsynced. Allocation records are synced unless `Never`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FsyncPolicy {
    /// After every block (nothing received is lost, even on power loss).
    Block,
    /// At most once per interval (a power loss can lose the last interval's blocks; a
    /// process crash loses nothing).
    Interval(Duration),
    /// Never (a process crash loses nothing; a power loss may).
    Never,
}

/// Settings of the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WalConfig {
    /// The fsync policy.
    pub fsync: FsyncPolicy,
    /// A new segment starts past this size.
    pub segment_bytes: u64,
}

impl Default for WalConfig {
    fn default() -> Self {
        WalConfig {
            fsync: FsyncPolicy::Block,
            segment_bytes: 16 << 20,
        }
    }
}

/// The write-ahead logs of a job's receivers, shared by the receiver tasks (appends) and
/// the driver (batch allocation, truncation).
#[derive(Debug)]
pub struct WriteAheadLog {
    logs: BTreeMap<String, Mutex<SourceLog>>,
}

impl WriteAheadLog {
    /// The folder of the logs under a checkpoint directory.
    pub fn dir_of(checkpoint_dir: &Path) -> PathBuf {
        checkpoint_dir.join("wal")
    }

    /// Opens a log per source under `checkpoint_dir/wal`. `resume` holds each source's
    /// checkpointed position (missing: from the start) and `after_time` the checkpoint's
    /// batch time.
    ///
    /// # Errors
    /// [`WalError`] when a log cannot be read.
    pub fn open(
        checkpoint_dir: &Path,
        config: WalConfig,
        sources: &[String],
        resume: &BTreeMap<String, u64>,
        after_time: Option<i64>,
    ) -> Result<Self, WalError> {
        let root = Self::dir_of(checkpoint_dir);
        let mut logs = BTreeMap::new();
        for s in sources {
            let dir = root.join(dir_name(s));
            let seq = resume.get(s).copied().unwrap_or(0);
            logs.insert(
                s.clone(),
                Mutex::new(SourceLog::open(&dir, config, seq, after_time)?),
            );
        }
        Ok(WriteAheadLog { logs })
    }

    fn log(&self, source: &str) -> Result<MutexGuard<'_, SourceLog>, WalError> {
        let m = self
            .logs
            .get(source)
            .ok_or_else(|| WalError::UnknownSource(source.to_owned()))?;
        Ok(m.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Each source's position for a checkpoint.
    pub fn positions(&self) -> BTreeMap<String, u64> {
        self.logs
            .iter()
            .map(|(s, l)| {
                (
                    s.clone(),
                    l.lock().unwrap_or_else(|e| e.into_inner()).position(),
                )
            })
            .collect()
    }

    /// Bytes of every source's segments on disk.
    pub fn bytes(&self) -> u64 {
        self.logs
            .values()
            .map(|l| l.lock().unwrap_or_else(|e| e.into_inner()).bytes())
            .sum()
    }

    /// Deletes the segments a checkpoint covers (`covered`: positions, `time`: its batch
    /// time). Returns how many were deleted.
    ///
    /// # Errors
    /// [`WalError`] when a segment cannot be deleted.
    pub fn truncate(&self, covered: &BTreeMap<String, u64>, time: i64) -> Result<usize, WalError> {
        let mut n = 0;
        for (s, seq) in covered {
            if self.logs.contains_key(s) {
                n += self.log(s)?.truncate(*seq, time)?;
            }
        }
        Ok(n)
    }
}

/// The log as the batcher's [`BlockStore`]: blocks are appended when sealed, each
/// batch's allocation is recorded (or replayed) before the batch runs.
impl BlockStore for WriteAheadLog {
    fn next_seq(&self, source: &str) -> u64 {
        self.log(source).map_or(0, |l| l.next_seq())
    }

    fn persist(&self, source: &str, block: &Block) -> Result<(), String> {
        self.log(source)
            .and_then(|mut l| l.persist(block.id, &block.records, &block.dead_letters))
            .map_err(|e| e.to_string())
    }

    fn take_recovered(&self, source: &str) -> Vec<Block> {
        let Ok(mut log) = self.log(source) else {
            return Vec::new();
        };
        log.take_recovered()
            .into_iter()
            .map(|b| Block {
                id: b.seq,
                records: b.records,
                dead_letters: b.dead_letters,
            })
            .collect()
    }

    fn allocate(&self, source: &str, time: BatchTime, available: u64) -> Result<u64, String> {
        self.log(source)
            .and_then(|mut l| l.allocate(time, available))
            .map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests;

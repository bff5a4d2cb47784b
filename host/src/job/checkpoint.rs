//! `[checkpoint]` in a job file: where and how often to checkpoint, and the write-ahead
//! log of receivers. Config types only; `checkpoint::CheckpointSettings` is the resolved
//! form the runtime uses.

use std::path::PathBuf;

use serde::Deserialize;

use super::units::{ByteSize, DurationMs};

/// `[checkpoint]`: where and how often to checkpoint.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckpointConfig {
    /// The checkpoint directory, relative to the job file. `--checkpoint-dir` overrides it.
    #[serde(default)]
    pub dir: Option<PathBuf>,
    /// Checkpoint after every this many batches. Default 10 when `interval` is not set.
    #[serde(default)]
    pub every_batches: Option<u64>,
    /// Checkpoint when this much batch time passed since the last checkpoint.
    #[serde(default)]
    pub interval: Option<DurationMs>,
    /// Checkpoints kept (older ones are deleted). Default 3.
    #[serde(default = "default_keep")]
    pub keep: usize,
    /// Deltas on top of a full snapshot before the next full one. Default 8; 0 writes a
    /// full snapshot every time.
    #[serde(default = "default_max_deltas")]
    pub max_deltas: usize,
    /// Log received blocks of `tcp` and `stdin` sources before they count as received.
    /// Default `true`.
    #[serde(default = "default_true")]
    pub write_ahead_log: bool,
    /// When the log is fsynced: `block` (every block), `interval`, or `never`.
    #[serde(default)]
    pub wal_fsync: WalFsyncConfig,
    /// The interval of `wal_fsync = "interval"`. Default `"1s"`.
    #[serde(default = "default_fsync_interval")]
    pub wal_fsync_interval: DurationMs,
    /// A new log segment starts past this size. Default `"16MiB"`.
    #[serde(default = "default_segment")]
    pub wal_segment_size: ByteSize,
}

const fn default_keep() -> usize {
    3
}

const fn default_max_deltas() -> usize {
    8
}

const fn default_true() -> bool {
    true
}

const fn default_fsync_interval() -> DurationMs {
    DurationMs(1000)
}

const fn default_segment() -> ByteSize {
    ByteSize(16 << 20)
}

/// `wal_fsync`.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum WalFsyncConfig {
    /// After every block.
    #[default]
    Block,
    /// At most once per `wal_fsync_interval`.
    Interval,
    /// Never.
    Never,
}

impl Default for CheckpointConfig {
    fn default() -> Self {
        CheckpointConfig {
            dir: None,
            every_batches: None,
            interval: None,
            keep: default_keep(),
            max_deltas: default_max_deltas(),
            write_ahead_log: true,
            wal_fsync: WalFsyncConfig::Block,
            wal_fsync_interval: default_fsync_interval(),
            wal_segment_size: default_segment(),
        }
    }
}

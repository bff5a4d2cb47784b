//! `[checkpoint]` in a job file (config types), and [`CheckpointSettings`], the resolved
//! form the runtime uses (with `--checkpoint-dir` applied).

use std::path::PathBuf;

use serde::Deserialize;

use crate::job::{ByteSize, DurationMs};
use crate::wal::{FsyncPolicy, WalConfig};

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

/// Checkpointing as the runtime sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckpointSettings {
    /// The directory.
    pub dir: PathBuf,
    /// Batches between checkpoints, if set.
    pub every_batches: Option<u64>,
    /// Batch time between checkpoints, ms, if set.
    pub interval_ms: Option<i64>,
    /// Checkpoints kept.
    pub keep: usize,
    /// Deltas before a full snapshot.
    pub max_deltas: usize,
    /// The write-ahead log of receivers, when on.
    pub wal: Option<WalConfig>,
}

impl CheckpointConfig {
    /// Resolves the settings; `dir` is the directory to use (the job's `dir` resolved
    /// against the job file, or `--checkpoint-dir`).
    pub fn settings(&self, dir: PathBuf) -> CheckpointSettings {
        let interval_ms = self.interval.map(|d| d.ms()).filter(|ms| *ms > 0);
        let every_batches = match (self.every_batches, interval_ms) {
            (None, None) => Some(10),
            (n, _) => n.filter(|n| *n > 0),
        };
        let fsync = match self.wal_fsync {
            WalFsyncConfig::Block => FsyncPolicy::Block,
            WalFsyncConfig::Interval => FsyncPolicy::Interval(self.wal_fsync_interval.to_std()),
            WalFsyncConfig::Never => FsyncPolicy::Never,
        };
        CheckpointSettings {
            dir,
            every_batches,
            interval_ms,
            keep: self.keep.max(1),
            max_deltas: self.max_deltas,
            wal: self.write_ahead_log.then_some(WalConfig {
                fsync,
                segment_bytes: self.wal_segment_size.0.max(1),
            }),
        }
    }
}

impl CheckpointSettings {
    /// Whether a checkpoint is due after batch `index` at `time`, given the last one.
    pub fn due(&self, index: u64, time: i64, last_index: u64, last_time: Option<i64>) -> bool {
        let by_count = self.every_batches.is_some_and(|n| index >= last_index + n);
        let by_time = self
            .interval_ms
            .is_some_and(|ms| last_time.is_none_or(|t| time - t >= ms));
        by_count || by_time
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_schedule() {
        let c: CheckpointConfig = toml::from_str("").unwrap();
        let s = c.settings(PathBuf::from("d"));
        assert_eq!(
            (s.every_batches, s.interval_ms, s.keep),
            (Some(10), None, 3)
        );
        assert_eq!(s.wal.unwrap().fsync, FsyncPolicy::Block);
        assert!(!s.due(9, 900, 0, None) && s.due(10, 1000, 0, None));
        let c: CheckpointConfig =
            toml::from_str("interval = \"2s\"\nwal_fsync = \"interval\"\nwrite_ahead_log = true")
                .unwrap();
        let s = c.settings(PathBuf::from("d"));
        assert_eq!((s.every_batches, s.interval_ms), (None, Some(2000)));
        assert!(!s.due(3, 2500, 1, Some(1000)) && s.due(4, 3000, 1, Some(1000)));
        assert!(toml::from_str::<CheckpointConfig>("every = 3").is_err());
    }
}

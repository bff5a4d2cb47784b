//! [`CheckpointSettings`]: a job file's `[checkpoint]` resolved for the runtime (with
//! `--checkpoint-dir` applied, the write-ahead log's fsync policy), and when a checkpoint
//! is due.

use std::path::PathBuf;

use crate::job::{CheckpointConfig, WalFsyncConfig};
use crate::wal::{FsyncPolicy, WalConfig};

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

impl CheckpointSettings {
    /// Resolves `config`; `dir` is the directory to use (the job's `dir` resolved
    /// against the job file, or `--checkpoint-dir`).
    pub fn new(config: &CheckpointConfig, dir: PathBuf) -> CheckpointSettings {
        let interval_ms = config.interval.map(|d| d.ms()).filter(|ms| *ms > 0);
        let every_batches = match (config.every_batches, interval_ms) {
            (None, None) => Some(10),
            (n, _) => n.filter(|n| *n > 0),
        };
        let fsync = match config.wal_fsync {
            WalFsyncConfig::Block => FsyncPolicy::Block,
            WalFsyncConfig::Interval => FsyncPolicy::Interval(config.wal_fsync_interval.to_std()),
            WalFsyncConfig::Never => FsyncPolicy::Never,
        };
        CheckpointSettings {
            dir,
            every_batches,
            interval_ms,
            keep: config.keep.max(1),
            max_deltas: config.max_deltas,
            wal: config.write_ahead_log.then_some(WalConfig {
                fsync,
                segment_bytes: config.wal_segment_size.0.max(1),
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
        let s = CheckpointSettings::new(&c, PathBuf::from("d"));
        assert_eq!(
            (s.every_batches, s.interval_ms, s.keep),
            (Some(10), None, 3)
        );
        assert_eq!(s.wal.unwrap().fsync, FsyncPolicy::Block);
        assert!(!s.due(9, 900, 0, None) && s.due(10, 1000, 0, None));
        let c: CheckpointConfig =
            toml::from_str("interval = \"2s\"\nwal_fsync = \"interval\"\nwrite_ahead_log = true")
                .unwrap();
        let s = CheckpointSettings::new(&c, PathBuf::from("d"));
        assert_eq!((s.every_batches, s.interval_ms), (None, Some(2000)));
        assert!(!s.due(3, 2500, 1, Some(1000)) && s.due(4, 3000, 1, Some(1000)));
        assert!(toml::from_str::<CheckpointConfig>("every = 3").is_err());
    }
}

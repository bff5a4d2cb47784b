//! [`DirectLog`]: where each batch of a direct source ends, logged before the batch runs
//! (Spark's direct Kafka offset ranges), so that after a crash the batches after the
//! checkpoint are cut exactly as they were, whatever has arrived since. Layout:
//! `DIR/wal-direct/NNNNNNNNNNNN.wal` (the WAL's segment format), one record
//! `[batch_time, source, end position]` (JSON) per direct source and batch.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::segment::{read_segment, SegmentWriter};
use super::source_log::list_segments;
use super::WalError;

/// The end positions of direct-source batches.
#[derive(Debug)]
pub struct DirectLog {
    dir: PathBuf,
    writer: Option<SegmentWriter>,
    /// Segments on disk, oldest first: path, number, latest batch time in it.
    segments: Vec<(PathBuf, u64, Option<i64>)>,
    /// Recorded ends of batches after the checkpoint: (time, source) -> end.
    replay: BTreeMap<(i64, String), Value>,
}

impl DirectLog {
    /// The folder of the log under a checkpoint directory.
    pub fn dir_of(checkpoint_dir: &Path) -> PathBuf {
        checkpoint_dir.join("wal-direct")
    }

    /// Opens the log and keeps the ends of batches after `after_time` (all when `None`).
    ///
    /// # Errors
    /// [`WalError`] when a segment cannot be read or holds a record this build cannot read.
    pub fn open(checkpoint_dir: &Path, after_time: Option<i64>) -> Result<Self, WalError> {
        let dir = Self::dir_of(checkpoint_dir);
        std::fs::create_dir_all(&dir).map_err(|e| WalError::io(&dir, e))?;
        let mut log = DirectLog {
            dir: dir.clone(),
            writer: None,
            segments: Vec::new(),
            replay: BTreeMap::new(),
        };
        for (number, path) in list_segments(&dir)? {
            let read = read_segment(&path)?;
            if let Some(why) = &read.torn {
                tracing::warn!(segment = %path.display(), reason = %why,
                    "Direct batch log has a torn tail (a crash during an append); ignoring it.");
            }
            let mut max_time = None;
            for payload in &read.records {
                let (time, source, end) = serde_json::from_slice::<(i64, String, Value)>(payload)
                    .map_err(|e| WalError::Corrupt {
                    path: path.clone(),
                    reason: format!("bad direct batch record: {e}"),
                })?;
                max_time = max_time.max(Some(time));
                if after_time.is_none_or(|t| time > t) {
                    log.replay.insert((time, source), end);
                }
            }
            log.segments.push((path, number, max_time));
        }
        Ok(log)
    }

    /// The recorded end of `source`'s batch at `time`, if the log has one (a replay).
    pub fn recorded(&mut self, time: i64, source: &str) -> Option<Value> {
        self.replay.remove(&(time, source.to_owned()))
    }

    /// Durably records (written and fsynced) that `source`'s batch at `time` ends at `end`.
    ///
    /// # Errors
    /// [`WalError::Io`]; the batch must then not run.
    pub fn record(&mut self, time: i64, source: &str, end: &Value) -> Result<(), WalError> {
        if self.writer.is_none() {
            let number = self.segments.last().map_or(1, |s| s.1 + 1);
            let path = self.dir.join(format!("{number:012}.wal"));
            self.writer = Some(SegmentWriter::create(&path)?);
            self.segments.push((path, number, None));
        }
        let payload = serde_json::to_vec(&(time, source, end)).map_err(|e| WalError::Corrupt {
            path: self.dir.clone(),
            reason: format!("cannot encode a direct batch record: {e}"),
        })?;
        let w = self.writer.as_mut().expect("a writer was just opened");
        w.append(&payload)?;
        w.sync()?;
        if let Some(last) = self.segments.last_mut() {
            last.2 = last.2.max(Some(time));
        }
        Ok(())
    }

    /// Deletes the segments (never the one being written) whose batches are all at or
    /// before `time`, a checkpoint's batch time. Returns how many were deleted.
    ///
    /// # Errors
    /// [`WalError::Io`] when a segment cannot be deleted.
    pub fn truncate(&mut self, time: i64) -> Result<usize, WalError> {
        let active = self.writer.as_ref().map(|w| w.path().to_owned());
        let mut removed = 0;
        let mut kept = Vec::with_capacity(self.segments.len());
        for s in std::mem::take(&mut self.segments) {
            if s.2.is_none_or(|t| t <= time) && Some(&s.0) != active.as_ref() {
                std::fs::remove_file(&s.0).map_err(|e| WalError::io(&s.0, e))?;
                removed += 1;
            } else {
                kept.push(s);
            }
        }
        self.segments = kept;
        Ok(removed)
    }
}

//! The direct batch log in a running job: each direct source's batch end is logged before
//! the batch runs, and replayed exactly for the batches after the restored checkpoint.

use serde_json::Value;

use super::Checkpointer;
use crate::checkpoint::CheckpointError;
use crate::source::SourceHandle;
use crate::wal::DirectLog;

fn invalid(e: impl std::fmt::Display) -> CheckpointError {
    CheckpointError::Invalid {
        message: e.to_string(),
    }
}

impl Checkpointer {
    /// Opens the direct batch log when the job has direct sources, keeping the ends of
    /// batches after the loaded checkpoint.
    pub(super) fn open_direct_log(
        &mut self,
        handles: &[SourceHandle],
    ) -> Result<(), CheckpointError> {
        if !handles.iter().any(|h| matches!(h, SourceHandle::Direct(_))) {
            return Ok(());
        }
        let after = self.last.as_ref().map(|m| m.batch_time);
        if after.is_none() {
            // No checkpoint: the job starts from scratch (checkpoint 0 comes before any
            // batch end is logged), so a log left here is from an earlier life of the
            // directory and must not cut this run's batches.
            let stale = DirectLog::dir_of(&self.settings.dir);
            let segments = crate::wal::list_segments(&stale).map_err(invalid)?;
            if !segments.is_empty() {
                tracing::warn!(dir = %stale.display(),
                    "Removing a direct batch log without a checkpoint (from an earlier run).");
                for (_, path) in segments {
                    std::fs::remove_file(&path).map_err(|e| CheckpointError::io(&path, e))?;
                }
            }
        }
        self.direct = Some(DirectLog::open(&self.settings.dir, after).map_err(invalid)?);
        Ok(())
    }

    /// The recorded end of direct `source`'s batch at `time` when this batch ran before a
    /// crash (pull it with `next_batch_to`); `None` for a new batch.
    pub fn direct_end(&mut self, source: &str, time: i64) -> Option<Value> {
        self.direct.as_mut()?.recorded(time, source)
    }

    /// Durably logs that direct `source`'s batch at `time` ends at `end`; call after the
    /// pull and before the batch runs.
    ///
    /// # Errors
    /// [`CheckpointError::Invalid`] when the log cannot be written (the batch must not run).
    pub fn log_direct_end(
        &mut self,
        source: &str,
        time: i64,
        end: &Value,
    ) -> Result<(), CheckpointError> {
        match self.direct.as_mut() {
            Some(d) => d.record(time, source, end).map_err(invalid),
            None => Ok(()),
        }
    }
}

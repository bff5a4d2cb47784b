//! [`Checkpointer`]: checkpointing in a running job — opening the directory and checking
//! the job against the newest checkpoint at start, restoring state, opening the
//! write-ahead log of receivers, and the barrier after each batch
//! ([`Checkpointer::barrier`], one call taking the job) that writes a checkpoint when one
//! is due (full snapshots or deltas per operator), commits sources and truncates the logs.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::fingerprint::Fingerprint;
use super::lock::DirLock;
use super::meta::{CheckpointMeta, ClockName, SourcePosition};
use super::recovery::{check_compatible, restore_operators, seek_sources};
use super::settings::CheckpointSettings;
use super::store::{CheckpointStore, Loaded};
use super::CheckpointError;
use crate::base::now_ms;
use crate::batch::BlockStore;
use crate::ops::Operator;
use crate::record::BatchTime;
use crate::source::SourceHandle;
use crate::wal::{DirectLog, WriteAheadLog};

/// Consecutive failed checkpoints after which the job fails.
pub const MAX_FAILURES: u32 = 3;

/// What the last checkpoint cost.
#[derive(Debug, Clone, Default)]
pub struct CheckpointStats {
    /// Its index (batches completed).
    pub index: u64,
    /// State bytes written.
    pub bytes: u64,
    /// Operators written as full snapshots.
    pub full: usize,
    /// Operators written as deltas.
    pub deltas: usize,
    /// Time to snapshot and write.
    pub took: Duration,
}

/// A running job as the checkpoint barrier sees it: where it is, its operators and its
/// sources (implemented by the job runtime in `exec/`).
pub trait CheckpointedJob {
    /// Batches completed (those before a restart included), the time of the last one,
    /// and the job's zero time.
    fn progress(&self) -> (u64, BatchTime, BatchTime);
    /// Each stream's operator, by stream name.
    fn operators(&mut self) -> Vec<(&str, &mut Box<dyn Operator>)>;
    /// The sources, by name.
    fn sources(&mut self) -> &mut [(String, SourceHandle)];
}

/// Checkpointing of one running job.
#[derive(Debug)]
pub struct Checkpointer {
    settings: CheckpointSettings,
    store: CheckpointStore,
    job: String,
    clock: ClockName,
    fingerprint: Fingerprint,
    loaded: Option<Loaded>,
    last: Option<CheckpointMeta>,
    full_only: BTreeSet<String>,
    force_full: bool,
    failures: u32,
    wal: Option<Arc<WriteAheadLog>>,
    direct: Option<DirectLog>,
    /// What the last checkpoint cost.
    pub last_stats: Option<CheckpointStats>,
    _lock: DirLock,
}

impl Checkpointer {
    /// Opens the checkpoint directory, loads the newest valid checkpoint (falling back past
    /// corrupt ones with a warning) and checks that this job may resume it.
    /// `fingerprint` must include the state layouts of this job's operators.
    ///
    /// # Errors
    /// [`CheckpointError`] when the directory cannot be used or another process holds
    /// it, no checkpoint is valid, or the checkpoint belongs to a different job.
    pub fn open(
        settings: CheckpointSettings,
        job: &str,
        fingerprint: Fingerprint,
        clock: ClockName,
        allow_plugin_change: bool,
    ) -> Result<Self, CheckpointError> {
        let store = CheckpointStore::open(&settings.dir, settings.keep)?;
        let lock = DirLock::acquire(&settings.dir)?;
        let loaded = store.load_latest()?;
        if let Some(l) = &loaded {
            for s in &l.skipped {
                tracing::warn!(skipped = %s, "Corrupt checkpoint; using the previous one.");
            }
            let accepted = check_compatible(
                &l.meta,
                &settings.dir,
                &fingerprint,
                clock,
                allow_plugin_change,
            )?;
            for change in accepted {
                tracing::warn!(%change, "Resuming the checkpoint with a changed plugin (--allow-plugin-change).");
            }
            tracing::info!(dir = %settings.dir.display(), batch = l.meta.index,
                time = l.meta.batch_time, "Resuming from checkpoint.");
        }
        Ok(Checkpointer {
            settings,
            store,
            job: job.to_owned(),
            clock,
            fingerprint,
            last: loaded.as_ref().map(|l| l.meta.clone()),
            loaded,
            full_only: BTreeSet::new(),
            force_full: false,
            failures: 0,
            wal: None,
            direct: None,
            last_stats: None,
            _lock: lock,
        })
    }

    /// The checkpoint resumed: (batches completed, last batch time, zero time).
    pub fn resumed(&self) -> Option<(u64, i64, i64)> {
        self.last
            .as_ref()
            .map(|m| (m.index, m.batch_time, m.zero_time))
    }

    /// Opens the write-ahead log of `receivers` (when it is on and there are any); the
    /// returned store goes to their block generators.
    ///
    /// # Errors
    /// [`CheckpointError::Invalid`] when the log cannot be read.
    pub fn block_store(
        &mut self,
        receivers: &[String],
    ) -> Result<Option<Arc<dyn BlockStore>>, CheckpointError> {
        let Some(config) = self.settings.wal.filter(|_| !receivers.is_empty()) else {
            return Ok(None);
        };
        let mut resume = BTreeMap::new();
        if let Some(m) = &self.last {
            for (name, pos) in &m.sources {
                if let SourcePosition::Wal { next_seq } = pos {
                    resume.insert(name.clone(), *next_seq);
                }
            }
        }
        let after = self.last.as_ref().map(|m| m.batch_time);
        let wal = WriteAheadLog::open(&self.settings.dir, config, receivers, &resume, after)
            .map_err(|e| CheckpointError::Invalid {
                message: e.to_string(),
            })?;
        let wal = Arc::new(wal);
        self.wal = Some(wal.clone());
        Ok(Some(wal))
    }

    /// Restores operator state and source positions from the loaded checkpoint.
    ///
    /// # Errors
    /// [`CheckpointError`] when an operator or a source refuses its saved state.
    pub fn resume(&mut self, job: &mut dyn CheckpointedJob) -> Result<(), CheckpointError> {
        self.open_direct_log(job.sources())?;
        if let Some(loaded) = self.loaded.take() {
            let started = Instant::now();
            restore_operators(&loaded, job.operators().into_iter())?;
            seek_sources(&loaded.meta, job.sources())?;
            tracing::info!(
                batch = loaded.meta.index,
                took_ms = started.elapsed().as_millis() as u64,
                "State restored."
            );
        }
        Ok(())
    }

    /// The barrier after the job's last completed batch: writes a checkpoint when one is
    /// due (or when `force`: checkpoint 0 at the start, and at a clean stop). A failed
    /// checkpoint leaves the previous one intact and is retried after the next batch; the
    /// job fails after [`MAX_FAILURES`] in a row, or at once when `force`.
    ///
    /// # Errors
    /// [`CheckpointError`] when the job must fail.
    pub fn barrier(
        &mut self,
        job: &mut dyn CheckpointedJob,
        force: bool,
    ) -> Result<(), CheckpointError> {
        let (index, time, zero_time) = job.progress();
        let (last_index, last_time) = self
            .last
            .as_ref()
            .map_or((0, None), |m| (m.index, Some(m.batch_time)));
        if index <= last_index && self.last.is_some() {
            return Ok(());
        }
        let due = self.settings.due(index, time, last_index, last_time);
        if !(force || due || self.failures > 0) {
            return Ok(());
        }
        let started = Instant::now();
        let mut stats = CheckpointStats {
            index,
            ..CheckpointStats::default()
        };
        let blobs = self.snapshots(job.operators().into_iter(), &mut stats);
        let meta = self.meta(index, time, zero_time, job.sources());
        match self.store.write(meta, blobs) {
            Ok(meta) => {
                stats.took = started.elapsed();
                tracing::info!(
                    target: crate::PER_BATCH_LOG,
                    batch = index,
                    time,
                    bytes = stats.bytes,
                    full = stats.full,
                    deltas = stats.deltas,
                    took_ms = stats.took.as_millis() as u64,
                    "Checkpoint written."
                );
                self.committed(&meta, job.sources());
                self.last = Some(meta);
                self.last_stats = Some(stats);
                self.failures = 0;
                self.force_full = false;
                Ok(())
            }
            Err(e) => self.failed(index, last_index, force, e),
        }
    }

    /// Bytes of the receivers' write-ahead logs on disk (`None` without a log).
    pub fn wal_bytes(&self) -> Option<u64> {
        self.wal.as_ref().map(|w| w.bytes())
    }

    /// The metadata of the checkpoint after batch `index`: where every source is.
    fn meta(
        &self,
        index: u64,
        time: BatchTime,
        zero_time: BatchTime,
        sources: &[(String, SourceHandle)],
    ) -> CheckpointMeta {
        let wal_positions = self.wal.as_ref().map(|w| w.positions()).unwrap_or_default();
        let positions = sources
            .iter()
            .map(|(name, h)| {
                let pos = match h {
                    SourceHandle::Direct(d) => SourcePosition::Direct {
                        position: d.position(),
                    },
                    SourceHandle::Receiver(_) => match wal_positions.get(name) {
                        Some(&next_seq) => SourcePosition::Wal { next_seq },
                        None => SourcePosition::Unreliable,
                    },
                };
                (name.clone(), pos)
            })
            .collect();
        CheckpointMeta {
            job: self.job.clone(),
            index,
            batch_time: time,
            zero_time,
            clock: self.clock,
            written_at_ms: now_ms(),
            in_flight: Vec::new(),
            fingerprint: self.fingerprint.clone(),
            sources: positions,
            operators: self
                .last
                .as_ref()
                .map(|m| m.operators.clone())
                .unwrap_or_default(),
        }
    }

    /// A checkpoint failed: retried after the next batch, or the job fails.
    fn failed(
        &mut self,
        index: u64,
        previous: u64,
        force: bool,
        e: CheckpointError,
    ) -> Result<(), CheckpointError> {
        self.failures += 1;
        self.force_full = true;
        if force || self.failures >= MAX_FAILURES {
            return Err(CheckpointError::Invalid {
                message: format!(
                    "checkpoint after batch {index} failed ({} in a row): {e}; the last good \
                     checkpoint (batch {previous}) is intact",
                    self.failures
                ),
            });
        }
        tracing::error!(batch = index, error = %e, failures = self.failures,
            "Checkpoint failed; the previous one is intact. Retrying after the next batch.");
        Ok(())
    }

    fn committed(&mut self, meta: &CheckpointMeta, sources: &mut [(String, SourceHandle)]) {
        for (name, h) in sources.iter_mut() {
            if let (SourceHandle::Direct(d), Some(SourcePosition::Direct { position })) =
                (h, meta.sources.get(name))
            {
                d.committed(position);
            }
        }
        // Keep what the oldest kept checkpoint needs, in case the newer ones are corrupt.
        let oldest = self
            .store
            .list()
            .ok()
            .and_then(|l| l.first().copied())
            .and_then(|i| self.store.read_meta(i).ok())
            .unwrap_or_else(|| meta.clone());
        if let Some(Err(e)) = self.direct.as_mut().map(|d| d.truncate(oldest.batch_time)) {
            tracing::warn!(error = %e, "Cannot delete old direct batch log segments.");
        }
        let Some(wal) = &self.wal else { return };
        let covered: BTreeMap<String, u64> = oldest
            .sources
            .iter()
            .filter_map(|(n, p)| match p {
                SourcePosition::Wal { next_seq } => Some((n.clone(), *next_seq)),
                _ => None,
            })
            .collect();
        if let Err(e) = wal.truncate(&covered, oldest.batch_time) {
            tracing::warn!(error = %e, "Cannot delete old write-ahead log segments.");
        }
    }
}

#[path = "runtime_direct.rs"]
mod direct;

#[path = "runtime_snapshots.rs"]
mod snapshots;

#[cfg(test)]
#[path = "runtime_tests.rs"]
mod tests;

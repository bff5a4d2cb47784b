//! [`Checkpointer`]: checkpointing in a running job — opening the directory and checking
//! the job against the newest checkpoint at start, restoring state, feeding receivers from
//! the write-ahead log, and the barrier after each batch that writes a checkpoint when one
//! is due (full snapshots or deltas per operator), commits sources and truncates the log.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::config::CheckpointSettings;
use super::fingerprint::Fingerprint;
use super::lock::DirLock;
use super::meta::{CheckpointMeta, ClockName, SourcePosition};
use super::recovery::{check_compatible, restore_operators, seek_sources};
use super::store::{CheckpointStore, Loaded};
use super::CheckpointError;
use crate::batch::{Block, BlockStore};
use crate::ops::Operator;
use crate::record::Batch;
use crate::source::{spread, SourceBatch, SourceHandle};
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

/// The write-ahead log as the block generators' store.
#[derive(Debug)]
struct WalBlockStore(Arc<WriteAheadLog>);

impl BlockStore for WalBlockStore {
    fn persist(&self, source: &str, block: &Block) -> Result<(), String> {
        self.0
            .persist(source, &block.records, &block.dead_letters)
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
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
    receiver_partitions: Option<usize>,
    /// What the last checkpoint cost.
    pub last_stats: Option<CheckpointStats>,
    _lock: DirLock,
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
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
            receiver_partitions: None,
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
        partitions: Option<usize>,
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
        self.receiver_partitions = partitions;
        Ok(Some(Arc::new(WalBlockStore(wal))))
    }

    /// Restores operator state and source positions from the loaded checkpoint.
    ///
    /// # Errors
    /// [`CheckpointError`] when an operator or a source refuses its saved state.
    pub fn resume<'a>(
        &mut self,
        ops: impl Iterator<Item = (&'a str, &'a mut Box<dyn Operator>)>,
        names: &[String],
        handles: &mut [SourceHandle],
    ) -> Result<(), CheckpointError> {
        self.open_direct_log(handles)?;
        if let Some(loaded) = self.loaded.take() {
            let started = Instant::now();
            restore_operators(&loaded, ops)?;
            seek_sources(&loaded.meta, names, handles)?;
            tracing::info!(
                batch = loaded.meta.index,
                took_ms = started.elapsed().as_millis() as u64,
                "State restored."
            );
        }
        Ok(())
    }

    /// The batch of receiver `source` at `time` from the write-ahead log (replacing what
    /// the receiver handed over); `None` when the log is off.
    ///
    /// # Errors
    /// [`CheckpointError::Invalid`] when the allocation cannot be logged.
    pub fn receiver_batch(
        &self,
        source: &str,
        time: i64,
    ) -> Result<Option<SourceBatch>, CheckpointError> {
        let Some(wal) = &self.wal else {
            return Ok(None);
        };
        let blocks = wal
            .take_batch(source, time)
            .map_err(|e| CheckpointError::Invalid {
                message: e.to_string(),
            })?;
        let mut dead_letters = Vec::new();
        let mut parts = Vec::with_capacity(blocks.len());
        for b in blocks {
            dead_letters.extend(b.dead_letters);
            if !b.records.is_empty() {
                parts.push(b.records);
            }
        }
        let partitions = match self.receiver_partitions {
            Some(n) => spread(&parts, n),
            None => parts,
        };
        Ok(Some(SourceBatch {
            batch: Some(Batch::new(partitions)),
            dead_letters,
        }))
    }

    /// The barrier after batch `index` at `time`: writes a checkpoint when one is due (or
    /// when `force`, at a clean stop). A failed checkpoint leaves the previous one intact
    /// and is retried after the next batch; the job fails after [`MAX_FAILURES`] in a row,
    /// or at once when `force`.
    ///
    /// # Errors
    /// [`CheckpointError`] when the job must fail.
    #[allow(clippy::too_many_arguments, reason = "the barrier sees the whole job")]
    pub fn after_batch<'a>(
        &mut self,
        index: u64,
        time: i64,
        zero_time: i64,
        ops: impl Iterator<Item = (&'a str, &'a mut Box<dyn Operator>)>,
        names: &[String],
        handles: &mut [SourceHandle],
        force: bool,
    ) -> Result<(), CheckpointError> {
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
        let blobs = self.snapshots(ops, &mut stats);
        let mut sources = BTreeMap::new();
        let wal_positions = self.wal.as_ref().map(|w| w.positions()).unwrap_or_default();
        for (name, h) in names.iter().zip(handles.iter()) {
            let pos = match h {
                SourceHandle::Direct(d) => SourcePosition::Direct {
                    position: d.position(),
                },
                SourceHandle::Receiver(_) => match wal_positions.get(name) {
                    Some(&next_seq) => SourcePosition::Wal { next_seq },
                    None => SourcePosition::Unreliable,
                },
            };
            sources.insert(name.clone(), pos);
        }
        let meta = CheckpointMeta {
            job: self.job.clone(),
            index,
            batch_time: time,
            zero_time,
            clock: self.clock,
            written_at_ms: now_ms(),
            in_flight: Vec::new(),
            fingerprint: self.fingerprint.clone(),
            sources,
            operators: self
                .last
                .as_ref()
                .map(|m| m.operators.clone())
                .unwrap_or_default(),
        };
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
                self.committed(&meta, names, handles);
                self.last = Some(meta);
                self.last_stats = Some(stats);
                self.failures = 0;
                self.force_full = false;
                Ok(())
            }
            Err(e) => {
                self.failures += 1;
                self.force_full = true;
                let previous = last_index;
                if force || self.failures >= MAX_FAILURES {
                    return Err(CheckpointError::Invalid {
                        message: format!(
                            "checkpoint after batch {index} failed ({} in a row): {e}; the last \
                             good checkpoint (batch {previous}) is intact",
                            self.failures
                        ),
                    });
                }
                tracing::error!(batch = index, error = %e, failures = self.failures,
                    "Checkpoint failed; the previous one is intact. Retrying after the next batch.");
                Ok(())
            }
        }
    }

    fn committed(&mut self, meta: &CheckpointMeta, names: &[String], handles: &mut [SourceHandle]) {
        for (name, h) in names.iter().zip(handles.iter_mut()) {
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

//! [`SourceLog`]: the write-ahead log of one receiver — its segments, the blocks recovered
//! from them that no batch consumed before the checkpoint, and the allocations to replay
//! after a recovery. The log only writes new blocks; the batcher holds them.

use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};
use std::time::Instant;

use super::record::WalRecord;
use super::segment::{read_segment, SegmentWriter};
use super::{FsyncPolicy, WalConfig, WalError};
use crate::record::DeadLetter;
use crate::record::Partition;

/// What a segment holds, to decide when it can be deleted.
#[derive(Debug, Clone)]
pub struct SegmentInfo {
    /// The file.
    pub path: PathBuf,
    /// The segment number (from the file name).
    pub number: u64,
    /// Highest block sequence number in it.
    pub max_seq: Option<u64>,
    /// Latest allocation time in it.
    pub max_time: Option<i64>,
    /// Size in bytes.
    pub bytes: u64,
}

impl SegmentInfo {
    fn note(&mut self, rec: &WalRecord) {
        match rec {
            WalRecord::Block { seq, .. } => self.max_seq = self.max_seq.max(Some(*seq)),
            WalRecord::Allocation { time, .. } => self.max_time = self.max_time.max(Some(*time)),
        }
    }
}

/// A block read back from the log.
#[derive(Debug)]
pub struct LoggedBlock {
    /// Its sequence number.
    pub seq: u64,
    /// The records.
    pub records: Partition,
    /// Input that could not be read.
    pub dead_letters: Vec<DeadLetter>,
}

/// The log of one source.
#[derive(Debug)]
pub struct SourceLog {
    dir: PathBuf,
    config: WalConfig,
    writer: Option<SegmentWriter>,
    /// Every segment on disk, oldest first (the writer's is last).
    pub segments: Vec<SegmentInfo>,
    next_seq: u64,
    /// Blocks recovered from the segments that no batch consumed before the checkpoint,
    /// oldest first, until the batcher takes them.
    recovered: VecDeque<LoggedBlock>,
    /// Allocations recovered from the log for batches after the checkpoint.
    replay: BTreeMap<i64, (u64, u64)>,
    /// One past the last allocated sequence number.
    allocated_to: u64,
    last_sync: Instant,
}

/// Lists segment files (`NNNNNNNNNNNN.wal`) of a directory, oldest first.
pub fn list_segments(dir: &Path) -> Result<Vec<(u64, PathBuf)>, WalError> {
    let mut out = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(WalError::io(dir, e)),
    };
    for e in entries.filter_map(|e| e.ok()) {
        let name = e.file_name().to_string_lossy().into_owned();
        if let Some(n) = name.strip_suffix(".wal").and_then(|n| n.parse().ok()) {
            out.push((n, e.path()));
        }
    }
    out.sort();
    Ok(out)
}

impl SourceLog {
    /// Opens the log in `dir`: reads every segment, keeps the blocks from `resume_seq` on
    /// and the allocations of batches after `after_time`. Torn tails are skipped with a
    /// warning naming the segment.
    ///
    /// # Errors
    /// [`WalError`] when the directory or a segment cannot be read.
    pub fn open(
        dir: &Path,
        config: WalConfig,
        resume_seq: u64,
        after_time: Option<i64>,
    ) -> Result<Self, WalError> {
        std::fs::create_dir_all(dir).map_err(|e| WalError::io(dir, e))?;
        let mut log = SourceLog {
            dir: dir.to_owned(),
            config,
            writer: None,
            segments: Vec::new(),
            next_seq: resume_seq,
            recovered: VecDeque::new(),
            replay: BTreeMap::new(),
            allocated_to: resume_seq,
            last_sync: Instant::now(),
        };
        for (number, path) in list_segments(dir)? {
            let read = read_segment(&path)?;
            if let Some(why) = &read.torn {
                tracing::warn!(segment = %path.display(), reason = %why,
                    "Write-ahead log segment has a torn tail (a crash during an append); ignoring it.");
            }
            let bytes = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
            let mut info = SegmentInfo {
                path: path.clone(),
                number,
                max_seq: None,
                max_time: None,
                bytes,
            };
            for payload in &read.records {
                let rec = WalRecord::decode(payload).map_err(|reason| WalError::Corrupt {
                    path: path.clone(),
                    reason,
                })?;
                info.note(&rec);
                log.recover(rec, resume_seq, after_time);
            }
            log.segments.push(info);
        }
        Ok(log)
    }

    fn recover(&mut self, rec: WalRecord, resume_seq: u64, after_time: Option<i64>) {
        match rec {
            WalRecord::Block {
                seq,
                records,
                dead_letters,
            } => {
                self.next_seq = self.next_seq.max(seq + 1);
                if seq >= resume_seq && self.recovered.back().is_none_or(|b| b.seq < seq) {
                    self.recovered.push_back(LoggedBlock {
                        seq,
                        records,
                        dead_letters,
                    });
                }
            }
            WalRecord::Allocation { time, from, to } => {
                // Empty allocations count too: replaying them keeps later batches exact.
                if after_time.is_none_or(|t| time > t) && to >= resume_seq {
                    self.replay.insert(time, (from, to));
                }
            }
        }
    }

    fn writer(&mut self) -> Result<&mut SegmentWriter, WalError> {
        let roll = self
            .writer
            .as_ref()
            .is_some_and(|w| w.len() >= self.config.segment_bytes);
        if roll {
            if let Some(mut w) = self.writer.take() {
                w.sync()?;
            }
        }
        if self.writer.is_none() {
            let number = self.segments.last().map_or(1, |s| s.number + 1);
            let path = self.dir.join(format!("{number:012}.wal"));
            let w = SegmentWriter::create(&path)?;
            self.segments.push(SegmentInfo {
                path,
                number,
                max_seq: None,
                max_time: None,
                bytes: w.len(),
            });
            self.writer = Some(w);
        }
        Ok(self.writer.as_mut().expect("a writer was just opened"))
    }

    fn append(&mut self, payload: &[u8], force_sync: bool) -> Result<(), WalError> {
        let policy = self.config.fsync;
        let since_sync = self.last_sync.elapsed();
        let w = self.writer()?;
        w.append(payload)?;
        let len = w.len();
        let sync = match policy {
            FsyncPolicy::Block => true,
            FsyncPolicy::Interval(every) => force_sync || since_sync >= every,
            FsyncPolicy::Never => false,
        };
        if sync {
            w.sync()?;
            self.last_sync = Instant::now();
        }
        if let Some(info) = self.segments.last_mut() {
            info.bytes = len;
        }
        Ok(())
    }

    /// Bytes of the segments on disk.
    pub fn bytes(&self) -> u64 {
        self.segments.iter().map(|s| s.bytes).sum()
    }

    /// The sequence number of the next block.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// Appends block `seq` (the next sequence number); returns once it is written (and
    /// synced, as the policy says). The log keeps no copy of the records.
    ///
    /// # Errors
    /// [`WalError::Io`]; the block is then not logged and must be retried.
    pub fn persist(
        &mut self,
        seq: u64,
        records: &Partition,
        dead_letters: &[DeadLetter],
    ) -> Result<(), WalError> {
        let payload = WalRecord::encode_block(seq, records, dead_letters);
        self.append(&payload, false)?;
        if let Some(info) = self.segments.last_mut() {
            info.max_seq = info.max_seq.max(Some(seq));
        }
        self.next_seq = self.next_seq.max(seq + 1);
        Ok(())
    }

    /// Takes the recovered blocks (once).
    pub fn take_recovered(&mut self) -> Vec<LoggedBlock> {
        self.recovered.drain(..).collect()
    }

    /// The end (one past the last sequence number) of the blocks of the batch at `time`:
    /// what a recovered allocation recorded, or else every block before `available`,
    /// allocated to `time` durably before it is returned.
    ///
    /// # Errors
    /// [`WalError::Io`] when the allocation cannot be logged.
    pub fn allocate(&mut self, time: i64, available: u64) -> Result<u64, WalError> {
        let replayed: Vec<(i64, (u64, u64))> =
            self.replay.range(..=time).map(|(t, r)| (*t, *r)).collect();
        if let Some(&(_, (_, to))) = replayed.last() {
            for (t, _) in &replayed {
                self.replay.remove(t);
            }
            self.allocated_to = self.allocated_to.max(to);
            return Ok(to);
        }
        let from = self.allocated_to;
        let to = available.max(from);
        let rec = WalRecord::Allocation { time, from, to };
        self.append(&rec.encode(), true)?;
        if let Some(info) = self.segments.last_mut() {
            info.note(&rec);
        }
        self.allocated_to = to;
        Ok(to)
    }

    /// One past the last block consumed by a batch (the checkpoint's position).
    pub fn position(&self) -> u64 {
        self.allocated_to
    }

    /// Recovered allocations still to replay.
    pub fn replays_left(&self) -> usize {
        self.replay.len()
    }

    /// Deletes segments (never the one being written) whose blocks all come before
    /// `covered_seq` and whose allocations are all at or before `time`.
    ///
    /// # Errors
    /// [`WalError::Io`] when a segment cannot be deleted.
    pub fn truncate(&mut self, covered_seq: u64, time: i64) -> Result<usize, WalError> {
        let active = self.writer.as_ref().map(|w| w.path().to_owned());
        let mut removed = 0;
        let mut kept = Vec::with_capacity(self.segments.len());
        for s in std::mem::take(&mut self.segments) {
            let done =
                s.max_seq.is_none_or(|m| m < covered_seq) && s.max_time.is_none_or(|t| t <= time);
            if done && Some(&s.path) != active.as_ref() {
                std::fs::remove_file(&s.path).map_err(|e| WalError::io(&s.path, e))?;
                removed += 1;
            } else {
                kept.push(s);
            }
        }
        self.segments = kept;
        Ok(removed)
    }
}

//! [`CheckpointStore`]: a job's checkpoint directory — writing a checkpoint (state files,
//! then the metadata file as the commit point), loading the newest valid one with
//! fallback to older ones, keeping the last K, and resetting.
//!
//! ```text
//! DIR/checkpoint-000000000042.meta         metadata of the checkpoint after batch 42
//! DIR/state/<stream>/000000000040.full     a full snapshot of <stream>'s operator
//! DIR/state/<stream>/000000000042.delta    the changes since the previous file
//! DIR/wal/<source>/...                     write-ahead log of receivers (see `wal`)
//! ```

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::file::{self, META_MAGIC, STATE_MAGIC};
use super::meta::{CheckpointMeta, OperatorState, StateRef};
use super::CheckpointError;
use crate::base::dir_name;

/// Test hook: milliseconds to pause between writing the state files and committing the
/// metadata, so that a test can kill the process in the middle of a checkpoint.
pub const SLOW_ENV: &str = "SLUICE_TEST_SLOW_CHECKPOINT";

const META_PREFIX: &str = "checkpoint-";
const META_SUFFIX: &str = ".meta";

/// The state of one operator to write at a checkpoint.
#[derive(Debug, Clone)]
pub struct StateBlob {
    /// The stream.
    pub stream: String,
    /// The operator's kind.
    pub kind: String,
    /// A delta on top of the operator's previous chain, or a full snapshot.
    pub delta: bool,
    /// The bytes the operator returned.
    pub data: Vec<u8>,
}

/// An operator's state read back: the full snapshot, then the deltas, in order.
#[derive(Debug, Clone)]
pub struct LoadedState {
    /// The stream.
    pub stream: String,
    /// The operator kind recorded at the checkpoint.
    pub kind: String,
    /// The full snapshot.
    pub full: Vec<u8>,
    /// Deltas to apply after it, oldest first.
    pub deltas: Vec<Vec<u8>>,
}

/// A checkpoint read back and checked.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// Its metadata.
    pub meta: CheckpointMeta,
    /// The state of each stateful operator.
    pub states: Vec<LoadedState>,
    /// Newer checkpoints that were skipped, with why (corrupt or truncated).
    pub skipped: Vec<String>,
}

/// A job's checkpoint directory.
#[derive(Debug, Clone)]
pub struct CheckpointStore {
    dir: PathBuf,
    keep: usize,
    slow: Option<Duration>,
}

impl CheckpointStore {
    /// Opens (creating) `dir` for a job, marking it as a checkpoint directory (see
    /// [`owned`](super::owned)), keeping the newest `keep` checkpoints (at least 1).
    ///
    /// # Errors
    /// [`CheckpointError::Invalid`] naming the checkpoint directory when it cannot be
    /// created (it is a file, say).
    pub fn open(dir: &Path, keep: usize) -> Result<Self, CheckpointError> {
        std::fs::create_dir_all(dir.join("state")).map_err(|e| not_a_directory(dir, &e))?;
        super::owned::write_marker(dir)?;
        Ok(Self::existing(dir, keep))
    }

    /// The store of an existing directory, creating and writing nothing (inspection).
    pub fn existing(dir: &Path, keep: usize) -> Self {
        let slow = std::env::var(SLOW_ENV)
            .ok()
            .and_then(|v| v.parse::<u64>().ok())
            .map(Duration::from_millis);
        CheckpointStore {
            dir: dir.to_owned(),
            keep: keep.max(1),
            slow,
        }
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The metadata file of checkpoint `index`.
    pub fn meta_path(&self, index: u64) -> PathBuf {
        self.dir
            .join(format!("{META_PREFIX}{index:012}{META_SUFFIX}"))
    }

    /// The folder of a stream's state files.
    pub fn state_dir(&self, stream: &str) -> PathBuf {
        self.dir.join("state").join(dir_name(stream))
    }

    /// The state file of `stream` written by checkpoint `index`.
    pub fn state_path(&self, stream: &str, index: u64, delta: bool) -> PathBuf {
        let ext = if delta { "delta" } else { "full" };
        self.state_dir(stream).join(format!("{index:012}.{ext}"))
    }

    /// The checkpoints present (by index, oldest first), valid or not.
    ///
    /// # Errors
    /// [`CheckpointError::Io`] when the directory cannot be listed.
    pub fn list(&self) -> Result<Vec<u64>, CheckpointError> {
        let entries =
            std::fs::read_dir(&self.dir).map_err(|e| CheckpointError::io(&self.dir, e))?;
        let mut out: Vec<u64> = entries
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                name.strip_prefix(META_PREFIX)?
                    .strip_suffix(META_SUFFIX)?
                    .parse()
                    .ok()
            })
            .collect();
        out.sort_unstable();
        Ok(out)
    }

    /// Writes a checkpoint: every blob as a state file, then the metadata, whose rename is
    /// the commit point; then drops checkpoints beyond the newest K and unreferenced state
    /// files. `meta.operators` must hold the chains of the previous checkpoint; a delta
    /// blob extends its stream's chain, a full one replaces it. Returns the metadata as
    /// written.
    ///
    /// # Errors
    /// [`CheckpointError::Io`]; the previous checkpoints are then untouched.
    pub fn write(
        &self,
        mut meta: CheckpointMeta,
        blobs: Vec<StateBlob>,
    ) -> Result<CheckpointMeta, CheckpointError> {
        let index = meta.index;
        let mut dirs = BTreeSet::new();
        for blob in blobs {
            let dir = self.state_dir(&blob.stream);
            std::fs::create_dir_all(&dir).map_err(|e| CheckpointError::io(&dir, e))?;
            let path = self.state_path(&blob.stream, index, blob.delta);
            let flags = u16::from(blob.delta);
            file::write_atomically(&path, &file::encode(STATE_MAGIC, flags, &blob.data))?;
            dirs.insert(dir);
            let r = StateRef {
                index,
                delta: blob.delta,
                bytes: blob.data.len() as u64,
                crc: crc32fast::hash(&blob.data),
            };
            match meta.operators.iter_mut().find(|o| o.stream == blob.stream) {
                Some(op) if blob.delta && !op.chain.is_empty() => {
                    op.kind = blob.kind;
                    op.chain.push(r);
                }
                Some(op) => {
                    op.kind = blob.kind;
                    op.chain = vec![r];
                }
                None => meta.operators.push(OperatorState {
                    stream: blob.stream,
                    kind: blob.kind,
                    chain: vec![r],
                }),
            }
        }
        if let Some(pause) = self.slow {
            std::thread::sleep(pause);
        }
        let body = meta.to_body();
        file::write_atomically(&self.meta_path(index), &file::encode(META_MAGIC, 0, &body))?;
        if let Err(e) = self.retain() {
            tracing::warn!(dir = %self.dir.display(), error = %e, "Cannot remove old checkpoints.");
        }
        Ok(meta)
    }

    /// Reads a checkpoint's metadata.
    ///
    /// # Errors
    /// [`CheckpointError::Io`] or [`CheckpointError::Corrupt`].
    pub fn read_meta(&self, index: u64) -> Result<CheckpointMeta, CheckpointError> {
        let path = self.meta_path(index);
        let (_, body) = file::read(&path, META_MAGIC)?;
        CheckpointMeta::from_body(&body).map_err(|reason| CheckpointError::Corrupt { path, reason })
    }

    fn read_state(&self, stream: &str, r: &StateRef) -> Result<Vec<u8>, CheckpointError> {
        let path = self.state_path(stream, r.index, r.delta);
        let (framed, body) = file::read(&path, STATE_MAGIC)?;
        if framed.crc != r.crc || body.len() as u64 != r.bytes {
            return Err(CheckpointError::Corrupt {
                path,
                reason: "the file is not the one the checkpoint recorded (checksum)".into(),
            });
        }
        Ok(body)
    }

    /// Reads and checks checkpoint `index` and every state file it needs.
    ///
    /// # Errors
    /// [`CheckpointError::Io`] or [`CheckpointError::Corrupt`].
    pub fn load(&self, index: u64) -> Result<Loaded, CheckpointError> {
        let meta = self.read_meta(index)?;
        let mut states = Vec::with_capacity(meta.operators.len());
        for op in &meta.operators {
            let mut chain = op.chain.iter();
            let Some(first) = chain.next().filter(|r| !r.delta) else {
                return Err(CheckpointError::Corrupt {
                    path: self.meta_path(index),
                    reason: format!("stream `{}` has no full snapshot", op.stream),
                });
            };
            let full = self.read_state(&op.stream, first)?;
            let deltas = chain
                .map(|r| self.read_state(&op.stream, r))
                .collect::<Result<Vec<_>, _>>()?;
            states.push(LoadedState {
                stream: op.stream.clone(),
                kind: op.kind.clone(),
                full,
                deltas,
            });
        }
        Ok(Loaded {
            meta,
            states,
            skipped: Vec::new(),
        })
    }

    /// Loads the newest valid checkpoint. A corrupt or truncated one is renamed to
    /// `*.meta.corrupt`, reported in [`Loaded::skipped`] and the previous one is used.
    /// `None` when there is no checkpoint.
    ///
    /// # Errors
    /// [`CheckpointError::NoValidCheckpoint`] when checkpoints exist but none is valid;
    /// [`CheckpointError::Io`] when one cannot be read (not corrupt, but unreadable:
    /// falling back past it could go back in time, so recovery stops).
    pub fn load_latest(&self) -> Result<Option<Loaded>, CheckpointError> {
        let indices = self.list()?;
        if indices.is_empty() {
            return Ok(None);
        }
        let mut skipped = Vec::new();
        for &index in indices.iter().rev() {
            match self.load(index) {
                Ok(mut loaded) => {
                    loaded.skipped = skipped;
                    return Ok(Some(loaded));
                }
                Err(e @ CheckpointError::Corrupt { .. }) => {
                    let path = self.meta_path(index);
                    let aside = path.with_extension("meta.corrupt");
                    let _ = std::fs::rename(&path, &aside);
                    skipped.push(format!("checkpoint {index}: {e}"));
                }
                Err(e) => return Err(e),
            }
        }
        Err(CheckpointError::NoValidCheckpoint {
            dir: self.dir.clone(),
            reasons: skipped,
        })
    }

    /// Drops checkpoints beyond the newest K, then state files no kept checkpoint needs,
    /// and leftover temporary files.
    ///
    /// # Errors
    /// [`CheckpointError::Io`].
    pub fn retain(&self) -> Result<(), CheckpointError> {
        let indices = self.list()?;
        let cut = indices.len().saturating_sub(self.keep);
        for &old in &indices[..cut] {
            let p = self.meta_path(old);
            std::fs::remove_file(&p).map_err(|e| CheckpointError::io(&p, e))?;
        }
        let mut needed = BTreeSet::new();
        for &index in &indices[cut..] {
            // An unreadable checkpoint keeps nothing alive; it will be skipped on load.
            if let Ok(meta) = self.read_meta(index) {
                for op in &meta.operators {
                    for r in &op.chain {
                        needed.insert(self.state_path(&op.stream, r.index, r.delta));
                    }
                }
            }
        }
        // Only files Sluice writes: a state file no kept checkpoint needs, a temporary
        // file left by a failed write; never anything else in the directory.
        let state = self.dir.join("state");
        for f in super::owned::written_files(&self.dir)? {
            let temporary = f
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'));
            let unneeded = f.starts_with(&state) && !needed.contains(&f);
            if unneeded || (temporary && f.parent() == Some(self.dir.as_path())) {
                std::fs::remove_file(&f).map_err(|e| CheckpointError::io(&f, e))?;
            }
        }
        Ok(())
    }

    /// Deletes every checkpoint, state file and log segment in the directory, and
    /// nothing else (see [`owned::written_files`](super::owned::written_files)). Returns
    /// how many files were deleted.
    ///
    /// # Errors
    /// [`CheckpointError::Io`].
    pub fn reset(&self) -> Result<usize, CheckpointError> {
        let files = super::owned::written_files(&self.dir)?;
        super::owned::delete(&self.dir, &files)
    }
}

/// Why the checkpoint directory `dir` cannot be created, in the words of the start check
/// (`job::preflight`), which normally refuses such a directory first: that it is the
/// checkpoint directory, the options that set it, the path and the cause, once.
fn not_a_directory(dir: &Path, e: &std::io::Error) -> CheckpointError {
    let why = crate::job::preflight::usable_dir(dir)
        .err()
        .unwrap_or_else(|| format!("cannot create directory {}: {e}", dir.display()));
    CheckpointError::Invalid {
        message: format!("checkpoint directory (--checkpoint-dir or [checkpoint] dir): {why}"),
    }
}

#[cfg(test)]
#[path = "store_tests.rs"]
mod tests;

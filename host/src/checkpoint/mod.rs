//! Checkpoints: the state of a running job saved so that a restart continues exactly where
//! the last checkpoint left off.
//!
//! A checkpoint is a barrier after a completed batch: each stateful operator's snapshot (a
//! full one, or a delta of the keys that changed since the previous checkpoint) goes into
//! a state file, then a metadata file records the job's [`Fingerprint`], the last batch,
//! the clock and every source's position; renaming the metadata into place commits the
//! checkpoint. Files are checksummed, written atomically, and the newest K are kept.
//! See `docs/operations.md` for the guarantees and the layout.

mod config;
mod file;
pub mod fingerprint;
mod lock;
mod meta;
pub mod owned;
mod recovery;
mod runtime;
mod setup;
mod store;

use std::path::{Path, PathBuf};

pub use config::{CheckpointConfig, CheckpointSettings, WalFsyncConfig};
pub use file::{sync_dir, write_atomically, FORMAT_VERSION};
pub use fingerprint::{diff, Change, Fingerprint};
pub use lock::{DirLock, LOCK_FILE};
pub use meta::{CheckpointMeta, ClockName, OperatorState, SourcePosition, StateRef};
pub use recovery::{check_compatible, layout_of};
pub use runtime::{CheckpointStats, Checkpointer, MAX_FAILURES};
pub use setup::{checkpointer_for, job_fingerprint, CheckpointFlags};
pub use store::{dir_name, CheckpointStore, Loaded, LoadedState, StateBlob, SLOW_ENV};

/// Errors of checkpoints.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    /// Reading or writing a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A checkpoint file is damaged.
    #[error("{}: corrupt checkpoint file: {reason}", path.display())]
    Corrupt { path: PathBuf, reason: String },
    /// Checkpoints exist, but none can be read.
    #[error(
        "{}: no valid checkpoint: {}. Remove the directory or run `sluice checkpoint reset {}` \
         to start over (state is lost)",
        dir.display(), reasons.join("; "), dir.display()
    )]
    NoValidCheckpoint { dir: PathBuf, reasons: Vec<String> },
    /// The checkpoint belongs to a different job.
    #[error("{message}")]
    Incompatible { message: String },
    /// A saved state could not be given back to its operator.
    #[error("stream `{stream}`: cannot restore its state from the checkpoint: {message}")]
    Restore { stream: String, message: String },
    /// Another process is using the checkpoint directory.
    #[error(
        "{}: the checkpoint directory is in use by {holder}; two runs of a job must not \
         share one directory. Stop the other run, or give this one another \
         `--checkpoint-dir`",
        dir.display()
    )]
    Locked { dir: PathBuf, holder: String },
    /// Anything else, as a sentence.
    #[error("{message}")]
    Invalid { message: String },
}

impl CheckpointError {
    /// An [`CheckpointError::Io`] for `path`.
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        CheckpointError::Io {
            path: path.to_owned(),
            source,
        }
    }
}

//! `sluice checkpoint inspect|reset DIR`: look inside a checkpoint directory, or delete the
//! saved state so that the job starts over.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Subcommand;
use sluice::checkpoint::{CheckpointStore, DirLock, SourcePosition};
use sluice::dir_name;
use sluice::wal::{list_segments, read_segment, WriteAheadLog};

/// `sluice checkpoint ...`
#[derive(Debug, Subcommand)]
pub enum CheckpointCommand {
    /// List the checkpoints in a directory: batch, source positions, state per operator,
    /// write-ahead log segments.
    Inspect {
        /// The checkpoint directory.
        dir: PathBuf,
    },
    /// Delete every checkpoint, state file and write-ahead log in a directory (the job
    /// then starts from scratch; received but unprocessed input is lost).
    Reset {
        /// The checkpoint directory.
        dir: PathBuf,
    },
}

impl CheckpointCommand {
    /// Runs the subcommand.
    pub fn execute(self) -> anyhow::Result<ExitCode> {
        match self {
            CheckpointCommand::Inspect { dir } => {
                print!("{}", inspect(&dir)?);
                Ok(ExitCode::SUCCESS)
            }
            CheckpointCommand::Reset { dir } => {
                anyhow::ensure!(dir.is_dir(), "{}: no such directory", dir.display());
                let store = CheckpointStore::open(&dir, 1)?;
                // Never pull the state from under a running job.
                let _lock = DirLock::acquire(&dir)?;
                let n = store.reset()?;
                println!(
                    "{}: removed {n} checkpoints and all state and logs",
                    dir.display()
                );
                Ok(ExitCode::SUCCESS)
            }
        }
    }
}

fn position(p: &SourcePosition) -> String {
    match p {
        SourcePosition::Direct { position } => format!("direct {position}"),
        SourcePosition::Wal { next_seq } => format!("write-ahead log, next block {next_seq}"),
        SourcePosition::Unreliable => "receiver without write-ahead log (not replayable)".into(),
    }
}

/// The report of `sluice checkpoint inspect`.
///
/// # Errors
/// When the directory cannot be read.
pub fn inspect(dir: &Path) -> anyhow::Result<String> {
    anyhow::ensure!(dir.is_dir(), "{}: no such directory", dir.display());
    let store = CheckpointStore::open(dir, usize::MAX)?;
    let mut out = String::new();
    let indices = store.list()?;
    writeln!(out, "{}: {} checkpoint(s)", dir.display(), indices.len())?;
    let mut sources = Vec::new();
    for &i in &indices {
        let meta = match store.load(i) {
            Ok(l) => l.meta,
            Err(e) => {
                writeln!(out, "checkpoint {i}: INVALID: {e}")?;
                continue;
            }
        };
        writeln!(
            out,
            "checkpoint {i}: job `{}`, batch time {} ms ({} clock, zero time {}), written at {} ms",
            meta.job, meta.batch_time, meta.clock, meta.zero_time, meta.written_at_ms
        )?;
        for (name, p) in &meta.sources {
            writeln!(out, "  source `{name}`: {}", position(p))?;
            if !sources.contains(name) {
                sources.push(name.clone());
            }
        }
        for op in &meta.operators {
            let deltas = op.chain.len().saturating_sub(1);
            writeln!(
                out,
                "  state `{}` ({}): {} bytes to restore (full snapshot of batch {}, {} bytes; \
                 {deltas} delta(s)); keys: not recorded",
                op.stream,
                op.kind,
                op.chain_bytes(),
                op.chain.first().map_or(0, |r| r.index),
                op.chain.first().map_or(0, |r| r.bytes),
            )?;
        }
    }
    let wal = WriteAheadLog::dir_of(dir);
    if wal.is_dir() {
        writeln!(out, "write-ahead log:")?;
        for entry in std::fs::read_dir(&wal)?.filter_map(|e| e.ok()) {
            let source = entry.file_name().to_string_lossy().into_owned();
            let source = sources
                .iter()
                .find(|s| dir_name(s) == source)
                .cloned()
                .unwrap_or(source);
            for (_, path) in list_segments(&entry.path())? {
                let bytes = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
                let read = read_segment(&path)?;
                let torn = read
                    .torn
                    .map(|t| format!(", torn tail: {t}"))
                    .unwrap_or_default();
                writeln!(
                    out,
                    "  `{source}` {}: {bytes} bytes, {} records{torn}",
                    path.file_name().unwrap_or_default().to_string_lossy(),
                    read.records.len()
                )?;
            }
        }
    }
    Ok(out)
}

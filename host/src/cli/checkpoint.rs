//! `sluice checkpoint inspect|reset DIR`: look inside a checkpoint directory, or delete the
//! saved state so that the job starts over.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Subcommand;
use sluice::checkpoint::{owned, CheckpointStore, DirLock, SourcePosition};
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
    /// Delete the checkpoints, state files and write-ahead logs in a checkpoint directory
    /// (the job then starts from scratch; received but unprocessed input is lost).
    ///
    /// Refuses a directory Sluice did not create as a checkpoint directory, deletes only
    /// the files Sluice writes there, lists them first and asks for confirmation (on a
    /// terminal) unless `--yes` is given.
    Reset {
        /// The checkpoint directory.
        dir: PathBuf,
        /// Delete without asking (needed when stdin is not a terminal).
        #[arg(long, short)]
        yes: bool,
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
            CheckpointCommand::Reset { dir, yes } => reset(&dir, yes),
        }
    }
}

/// How many files `reset` lists before summing up the rest.
const LISTED: usize = 20;

/// `sluice checkpoint reset DIR [--yes]`.
fn reset(dir: &Path, yes: bool) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(dir.exists(), "{}: no such directory", dir.display());
    anyhow::ensure!(dir.is_dir(), "{}: not a directory", dir.display());
    anyhow::ensure!(
        owned::is_checkpoint_dir(dir)?,
        "{}: not a Sluice checkpoint directory (it has no {} file and no checkpoint or log \
         that Sluice wrote); nothing was deleted",
        dir.display(),
        owned::MARKER_FILE
    );
    // Never pull the state from under a running job.
    let _lock = DirLock::acquire(dir)?;
    // A directory from before the marker existed gets one, so that it stays recognised.
    owned::write_marker(dir)?;
    let files = owned::written_files(dir)?;
    if files.is_empty() {
        println!("{}: no checkpoint, state or log to delete", dir.display());
        return Ok(ExitCode::SUCCESS);
    }
    let bytes: u64 = files
        .iter()
        .filter_map(|f| std::fs::metadata(f).ok())
        .map(|m| m.len())
        .sum();
    println!(
        "{}: deleting {} file(s), {bytes} bytes (checkpoints, state and logs; nothing else):",
        dir.display(),
        files.len()
    );
    for f in files.iter().take(LISTED) {
        println!("  {}", f.strip_prefix(dir).unwrap_or(f).display());
    }
    if files.len() > LISTED {
        println!("  ... and {} more", files.len() - LISTED);
    }
    if !yes && !confirmed(dir)? {
        println!("Nothing deleted.");
        return Ok(ExitCode::FAILURE);
    }
    let n = owned::delete(dir, &files)?;
    println!(
        "{}: deleted {n} file(s); the job's next run starts from scratch",
        dir.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Asks on the terminal; without one, refuses with the hint to pass `--yes`.
fn confirmed(dir: &Path) -> anyhow::Result<bool> {
    use std::io::{BufRead, IsTerminal, Write};
    anyhow::ensure!(
        std::io::stdin().is_terminal(),
        "{}: not deleting without confirmation (stdin is not a terminal); run \
         `sluice checkpoint reset --yes {}` to delete the files listed above",
        dir.display(),
        dir.display()
    );
    print!("Delete them? [y/N] ");
    std::io::stdout().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes" | "YES" | "Yes"))
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
    anyhow::ensure!(dir.exists(), "{}: no such directory", dir.display());
    anyhow::ensure!(
        dir.is_dir(),
        "{}: not a directory (give the job's checkpoint directory, `[checkpoint] dir`)",
        dir.display()
    );
    let store = CheckpointStore::existing(dir, usize::MAX);
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

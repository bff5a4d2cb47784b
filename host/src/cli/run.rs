//! `sluice run JOB`: runs a job until `--batches`, Ctrl-C or SIGTERM.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use sluice::exec::{self, ClockKind, RunOptions};
use sluice::job::JobDocument;

/// `sluice run`.
#[derive(Debug, Args)]
pub struct RunCommand {
    /// The job file (TOML).
    job: PathBuf,
    /// `wall`: batches at real times; `virtual`: batch i at i × batch interval, run back to
    /// back without waiting.
    #[arg(long, value_enum, default_value_t = Clock::Wall)]
    clock: Clock,
    /// Stop cleanly after this many batches.
    #[arg(long)]
    batches: Option<u64>,
    /// No per-batch progress line on stderr.
    #[arg(long, short)]
    quiet: bool,
    /// Checkpoint directory (reserved; checkpoints are not implemented yet).
    #[arg(long)]
    checkpoint_dir: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Clock {
    Wall,
    Virtual,
}

impl RunCommand {
    /// Runs the job.
    pub fn execute(self) -> anyhow::Result<ExitCode> {
        if self.checkpoint_dir.is_some() {
            anyhow::bail!("--checkpoint-dir is reserved: checkpoints are not implemented yet");
        }
        let doc = JobDocument::load(&self.job)?;
        let options = RunOptions {
            clock: match self.clock {
                Clock::Wall => ClockKind::Wall,
                Clock::Virtual => ClockKind::Virtual,
            },
            batches: self.batches,
            quiet: self.quiet,
            handle_signals: true,
            ..RunOptions::default()
        };
        let summary = exec::run(&doc, &options)?;
        tracing::debug!(batches = summary.batches, "Job stopped.");
        Ok(ExitCode::SUCCESS)
    }
}

//! `sluice run JOB`: runs a job until `--batches`, Ctrl-C or SIGTERM.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, ValueEnum};
use sluice::checkpoint::CheckpointFlags;
use sluice::exec::{self, ClockKind, ProgressFormat, RunObserver, RunOptions};
use sluice::job::JobDocument;
use sluice::observe::{JobObserver, Metrics, UiServer};

/// `sluice run`.
#[derive(Debug, Args)]
pub struct RunCommand {
    /// The job file (TOML).
    job: PathBuf,
    /// `wall`: batches at real times; `virtual`: batch i at i × batch interval, run back to
    /// back without waiting.
    #[arg(long, value_enum, default_value_t = Clock::Wall)]
    clock: Clock,
    /// Stop cleanly after this many batches. With checkpoints, batches before a restart
    /// count: the job stops after batch N of its whole life.
    #[arg(long)]
    batches: Option<u64>,
    /// No per-batch output on stderr: no progress lines, no `Checkpoint written.` or other
    /// per-batch log lines, no plugin logs below warn (unless `--log-level` is given).
    /// Warnings, errors and one-off lines stay.
    #[arg(long, short)]
    quiet: bool,
    /// Checkpoint directory (overrides `[checkpoint] dir`; turns checkpoints on). An
    /// existing checkpoint in it is resumed.
    #[arg(long)]
    checkpoint_dir: Option<PathBuf>,
    /// Resume a checkpoint although a plugin's module or params changed (the new plugin
    /// must read the state the old one wrote).
    #[arg(long)]
    allow_plugin_change: bool,
    /// Serve the web UI, the JSON API and Prometheus metrics (`/metrics`) on this
    /// address, e.g. `127.0.0.1:9090` (overrides `[job] ui`; port 0 picks a free port).
    #[arg(long, value_name = "IP:PORT")]
    ui: Option<SocketAddr>,
    /// The per-batch progress on stderr: a `text` line or a `json` object per line.
    #[arg(long, value_enum, default_value_t = Progress::Text)]
    progress: Progress,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Progress {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Clock {
    Wall,
    Virtual,
}

impl RunCommand {
    /// Whether `--quiet` was given.
    pub fn quiet(&self) -> bool {
        self.quiet
    }

    /// Runs the job.
    pub fn execute(self) -> anyhow::Result<ExitCode> {
        let doc = JobDocument::load(&self.job)?;
        let mut observer: Option<Arc<dyn RunObserver>> = None;
        if let Some(addr) = self.ui.or(doc.file.job.ui) {
            let labels = vec![("job".to_owned(), doc.file.job.name.clone())];
            let job = JobObserver::new(&doc, Arc::new(Metrics::new()), labels);
            let server = UiServer::start(&addr.to_string(), job.clone())?;
            // Scripts and tests read the address (port 0 picks a free one).
            eprintln!("UI on http://{}/", server.local_addr());
            observer = Some(job);
        }
        let options = RunOptions {
            clock: match self.clock {
                Clock::Wall => ClockKind::Wall,
                Clock::Virtual => ClockKind::Virtual,
            },
            batches: self.batches,
            quiet: self.quiet,
            progress: match self.progress {
                Progress::Text => ProgressFormat::Text,
                Progress::Json => ProgressFormat::Json,
            },
            observer,
            handle_signals: true,
            checkpoint: CheckpointFlags {
                dir: self.checkpoint_dir,
                allow_plugin_change: self.allow_plugin_change,
            },
            ..RunOptions::default()
        };
        let summary = exec::run(&doc, &options)?;
        tracing::debug!(batches = summary.batches, "Job stopped.");
        Ok(ExitCode::SUCCESS)
    }
}

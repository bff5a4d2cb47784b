//! `sluice run`: a loop over a [`Job`] — wait for each batch time on the clock, step,
//! print progress — that stops cleanly on request (Ctrl-C, SIGTERM, `--batches`).

use std::time::Duration;

use super::executor::BatchReport;
use super::job::{ClockKind, Job, JobEnv};
use super::progress::progress_line;
use super::stop::StopSignal;
use super::ExecError;
use crate::base::now_ms;
use crate::checkpoint::CheckpointFlags;
use crate::job::JobDocument;
use crate::wasm::{RuntimeConfig, WasmRuntime};

/// How to run a job.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// The clock.
    pub clock: ClockKind,
    /// Stop after this many batches.
    pub batches: Option<u64>,
    /// No progress lines.
    pub quiet: bool,
    /// Raised to stop after the current batch.
    pub stop: StopSignal,
    /// Stop on Ctrl-C and SIGTERM.
    pub handle_signals: bool,
    /// `--checkpoint-dir` and `--allow-plugin-change`.
    pub checkpoint: CheckpointFlags,
}

/// What a run did.
#[derive(Debug, Clone, Default)]
pub struct RunSummary {
    /// Batches run.
    pub batches: u64,
    /// Reports of every batch.
    pub reports: Vec<BatchReport>,
}

/// Runs a checked job until `options.batches` batches ran or a stop is requested.
///
/// # Errors
/// [`ExecError`] when the job cannot start or a batch fails.
pub fn run(doc: &JobDocument, options: &RunOptions) -> Result<RunSummary, ExecError> {
    let wasm =
        WasmRuntime::new(RuntimeConfig::from_env()).map_err(|e| ExecError::Setup(e.to_string()))?;
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("sluice-io")
        .enable_all()
        .build()
        .map_err(|e| ExecError::Setup(format!("cannot start the I/O runtime: {e}")))?;
    if options.handle_signals {
        let stop = options.stop.clone();
        tokio.spawn(async move {
            wait_for_signal().await;
            tracing::info!("Stop requested; finishing the current batch.");
            stop.raise();
        });
    }
    let env = JobEnv {
        wasm,
        io: tokio.handle().clone(),
        clock: options.clock,
        checkpoint: options.checkpoint.clone(),
        pool: None,
    };
    let mut job = Job::start(doc, &env)?;
    let summary = drive(&mut job, options)?;
    job.finish()?;
    tokio.shutdown_timeout(Duration::from_millis(100));
    Ok(summary)
}

/// Steps `job` at its batch times until `options.batches` batches are done or a stop is
/// requested.
fn drive(job: &mut Job, options: &RunOptions) -> Result<RunSummary, ExecError> {
    let mut summary = RunSummary::default();
    loop {
        if options.batches.is_some_and(|n| job.batches_done() >= n) || options.stop.is_raised() {
            return Ok(summary);
        }
        if job.clock() == ClockKind::Wall {
            let wait = job.next_batch_time() - now_ms();
            if wait > 0 && options.stop.wait(Duration::from_millis(wait as u64)) {
                return Ok(summary);
            }
        }
        let report = job.step()?;
        if !options.quiet {
            eprintln!(
                "{}{}",
                progress_line(job.name(), &report),
                job.rate_suffix()
            );
        }
        summary.reports.push(report);
        summary.batches += 1;
    }
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

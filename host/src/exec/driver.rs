//! `sluice run`: a loop over a [`Job`] — wait for each batch time on the clock, step,
//! print progress — that stops cleanly on request (Ctrl-C, SIGTERM, the end of stdin:
//! a final batch of what the receivers received) or after `--batches`.

use std::sync::Arc;
use std::time::Duration;

use super::env::{ClockKind, JobEnv};
use super::executor::BatchReport;
use super::job::Job;
use super::observer::RunObserver;
use super::progress::{batch_json, progress_line, DelayWatch, ProgressFormat};
use super::stop::{on_signals, StopSignal};
use super::ExecError;
use crate::base::now_ms;
use crate::checkpoint::CheckpointFlags;
use crate::job::JobDocument;
use crate::source::InputEnded;
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
    /// Progress lines as text or JSON.
    pub progress: ProgressFormat,
    /// Told about the plan, every batch and the end (the UI and metrics of `--ui`).
    pub observer: Option<Arc<dyn RunObserver>>,
    /// Raised to stop after the current batch and a final batch of what the receivers
    /// received (also raised by a `stdin` source at the end of its input).
    pub stop: StopSignal,
    /// Stop cleanly on Ctrl-C and SIGTERM; exit the process at once on a second one.
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
        tokio.spawn(on_signals(options.stop.clone()));
    }
    let input_ended: InputEnded = {
        let stop = options.stop.clone();
        Arc::new(move |_source: &str| stop.raise())
    };
    let env = JobEnv {
        wasm,
        io: tokio.handle().clone(),
        clock: options.clock,
        checkpoint: options.checkpoint.clone(),
        pool: None,
        input_ended: Some(input_ended),
        observer: options.observer.clone(),
        plugin_log: None,
    };
    let mut job = Job::start(doc, &env)?;
    let mut summary = RunSummary::default();
    let finish = drive(&mut job, options, &mut summary)?;
    if matches!(finish, Finish::Limit) {
        job.end()?;
        tokio.shutdown_timeout(Duration::from_millis(100));
        return Ok(summary);
    }
    if let Some(report) = job.drain()? {
        if !options.quiet {
            match options.progress {
                ProgressFormat::Text => {
                    let line = progress_line(job.name(), &report);
                    eprintln!("{line}{}{FINAL_BATCH_NOTE}", job.rate_suffix());
                }
                ProgressFormat::Json => print_json(&job, &report),
            }
        }
        tracing::info!(
            records = report.records_in,
            "Stopped: the final batch took every record received before the stop."
        );
        summary.reports.push(report);
        summary.batches += 1;
    }
    job.finish()?;
    tokio.shutdown_timeout(Duration::from_millis(100));
    Ok(summary)
}

/// Ends the progress line of the final batch of a clean stop.
const FINAL_BATCH_NOTE: &str = " (final batch: everything received before the stop)";

/// Why the loop ended.
enum Finish {
    /// `--batches` batches are done: no final batch.
    Limit,
    /// A stop was requested (signal, end of stdin, a test): a final batch takes what the
    /// receivers received.
    Stop,
}

/// Steps `job` at its batch times until `options.batches` batches are done or a stop is
/// requested.
fn drive(
    job: &mut Job,
    options: &RunOptions,
    summary: &mut RunSummary,
) -> Result<Finish, ExecError> {
    let mut delay_watch = DelayWatch::new(job.batch_interval_ms(), job.backpressure_on());
    loop {
        if options.batches.is_some_and(|n| job.batches_done() >= n) {
            return Ok(Finish::Limit);
        }
        if options.stop.is_raised() {
            return Ok(Finish::Stop);
        }
        if job.clock() == ClockKind::Wall {
            let wait = job.next_batch_time() - now_ms();
            if wait > 0 && options.stop.wait(Duration::from_millis(wait as u64)) {
                return Ok(Finish::Stop);
            }
        }
        let report = job.step()?;
        if !options.quiet {
            match options.progress {
                ProgressFormat::Text => {
                    let line = progress_line(job.name(), &report);
                    eprintln!("{line}{}", job.rate_suffix());
                }
                ProgressFormat::Json => print_json(job, &report),
            }
        }
        delay_watch.observe(job.name(), &report);
        summary.reports.push(report);
        summary.batches += 1;
    }
}

/// `--progress json`: the batch as one JSON object on one line.
fn print_json(job: &Job, report: &BatchReport) {
    eprintln!(
        "{}",
        batch_json(job.name(), report, job.batch_interval_ms())
    );
}

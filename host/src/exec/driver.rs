//! The driver: picks batch times from the clock, pulls the sources, runs the executor on
//! this (non-tokio) thread, prints progress, and stops cleanly on request.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::executor::{BatchReport, ExecSettings, Executor};
use super::plan::{Plan, PlanMode, SourceSpec};
use super::progress::progress_line;
use super::stop::StopSignal;
use super::ExecError;
use crate::batch::{BlockStore, NoBlockStore};
use crate::job::JobDocument;
use crate::ops::BatchTime;
use crate::source::SourceHandle;
use crate::wasm::{RuntimeConfig, WasmRuntime};

/// Where batch times come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ClockKind {
    /// Real time: the first batch is at the next multiple of the batch interval after
    /// start, and each batch waits for its time.
    #[default]
    Wall,
    /// Batch i is at `i * batch_interval` from zero, and batches run back to back without
    /// waiting (tests, replays, benchmarks).
    Virtual,
}

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
}

/// What a run did.
#[derive(Debug, Clone, Default)]
pub struct RunSummary {
    /// Batches run.
    pub batches: u64,
    /// Reports of every batch.
    pub reports: Vec<BatchReport>,
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

/// Runs a checked job until `options.batches` batches ran or a stop is requested.
///
/// # Errors
/// [`ExecError`] when the job cannot start or a batch fails.
pub fn run(doc: &JobDocument, options: &RunOptions) -> Result<RunSummary, ExecError> {
    let runtime =
        WasmRuntime::new(RuntimeConfig::from_env()).map_err(|e| ExecError::Setup(e.to_string()))?;
    let plan = Plan::build(doc, &runtime, PlanMode::Run)?;
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
    let store: Arc<dyn BlockStore> = Arc::new(NoBlockStore);
    let block = Duration::from_millis(plan.block_ms as u64);
    let Plan {
        name,
        batch_ms,
        receiver_partitions,
        default_partitions,
        policy,
        sources,
        nodes,
        sinks,
        dead_letter,
        ..
    } = plan;
    let mut names = Vec::with_capacity(sources.len());
    let mut handles = Vec::with_capacity(sources.len());
    for (source, spec) in sources {
        names.push(source);
        handles.push(match spec {
            SourceSpec::Direct(d) => SourceHandle::Direct(d),
            SourceSpec::Receiver(r) => SourceHandle::Receiver(r.start(
                tokio.handle(),
                store.clone(),
                block,
                receiver_partitions,
            )),
        });
    }
    let zero_time: BatchTime = match options.clock {
        ClockKind::Virtual => 0,
        ClockKind::Wall => (now_ms() / batch_ms + 1) * batch_ms - batch_ms,
    };
    let settings = ExecSettings {
        policy,
        batch_ms,
        zero_time,
        default_partitions,
    };
    let mut executor = Executor::new(names, nodes, sinks, dead_letter, settings);
    let mut summary = RunSummary::default();
    let mut i: i64 = 1;
    let mut time = zero_time + batch_ms;
    loop {
        if options.batches.is_some_and(|n| summary.batches >= n) || options.stop.is_raised() {
            break;
        }
        time = zero_time + i * batch_ms;
        if options.clock == ClockKind::Wall {
            let wait = time - now_ms();
            if wait > 0 && options.stop.wait(Duration::from_millis(wait as u64)) {
                break;
            }
        }
        let delay = match options.clock {
            ClockKind::Wall => Duration::from_millis((now_ms() - time).max(0) as u64),
            ClockKind::Virtual => Duration::ZERO,
        };
        let started = std::time::Instant::now();
        let mut inputs = Vec::with_capacity(handles.len());
        for h in &mut handles {
            inputs.push(
                h.next_batch(time)
                    .map_err(|source| ExecError::Source { time, source })?,
            );
        }
        let mut report = executor.run_batch(time, inputs)?;
        report.processing = started.elapsed();
        report.scheduling_delay = delay;
        if !options.quiet {
            eprintln!("{}", progress_line(&name, &report));
        }
        summary.reports.push(report);
        summary.batches += 1;
        i += 1;
    }
    executor.flush(time)?;
    drop(handles);
    tokio.shutdown_timeout(Duration::from_millis(100));
    Ok(summary)
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

//! The driver: picks batch times from the clock, pulls the sources, runs the executor on
//! this (non-tokio) thread, prints progress, and stops cleanly on request.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::backpressure::Backpressure;
use super::executor::{BatchReport, ExecSettings, Executor};
use super::observer::RunObserver;
use super::plan::{Plan, PlanMode, SourceSpec};
use super::progress::{batch_json, progress_line, ProgressFormat};
use super::stop::{on_signals, StopSignal};
use super::ExecError;
use crate::batch::{BlockStore, NoBlockStore};
use crate::checkpoint::{checkpointer_for, CheckpointFlags, ClockName};
use crate::job::JobDocument;
use crate::ops::BatchTime;
use crate::source::{InputEnded, SourceHandle};
use crate::wasm::{RuntimeConfig, WasmRuntime};

/// Where batch times come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ClockKind {
    /// Real time: the first batch is at the next multiple of the block interval after
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
    /// Progress lines as text or JSON.
    pub progress: ProgressFormat,
    /// Told about the plan, every batch and the end (the UI and metrics).
    pub observer: Option<Arc<dyn RunObserver>>,
    /// Raised to stop after the current batch and a final batch of what the receivers
    /// received (also raised by a `stdin` source at the end of its input).
    pub stop: StopSignal,
    /// Stop cleanly on Ctrl-C and SIGTERM; exit the process at once on a second one.
    pub handle_signals: bool,
    /// `--checkpoint-dir` and `--allow-plugin-change`.
    pub checkpoint: CheckpointFlags,
    /// Called with the report of every batch once it completed (`sluice serve` keeps
    /// them for the job's status and log).
    pub on_batch: Option<BatchHook>,
}

/// A callback that receives each batch's report.
#[derive(Clone)]
pub struct BatchHook(pub Arc<dyn Fn(&BatchReport) + Send + Sync>);

impl std::fmt::Debug for BatchHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BatchHook")
    }
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
    let result = run_job(doc, options);
    if let Some(o) = &options.observer {
        match &result {
            Ok(_) => o.stopped(),
            Err(e) => o.failed(&e.to_string(), e.batch_time().is_some()),
        }
    }
    result
}

fn run_job(doc: &JobDocument, options: &RunOptions) -> Result<RunSummary, ExecError> {
    let runtime =
        WasmRuntime::new(RuntimeConfig::from_env()).map_err(|e| ExecError::Setup(e.to_string()))?;
    let plan = Plan::build(doc, &runtime, PlanMode::Run)?;
    if let Some(o) = &options.observer {
        let nodes: Vec<&str> = plan.nodes.iter().map(|n| n.name.as_str()).collect();
        let plugins: Vec<_> = plan.plugins.values().cloned().collect();
        o.started(&nodes, &plugins);
    }
    let clock = match options.clock {
        ClockKind::Wall => ClockName::Wall,
        ClockKind::Virtual => ClockName::Virtual,
    };
    let mut checkpointer = checkpointer_for(doc, &plan.nodes, clock, &options.checkpoint)?;
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("sluice-io")
        .enable_all()
        .build()
        .map_err(|e| ExecError::Setup(format!("cannot start the I/O runtime: {e}")))?;
    if options.handle_signals {
        tokio.spawn(on_signals(options.stop.clone()));
    }
    let plan_block_ms = plan.block_ms;
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
    let receivers: Vec<String> = sources
        .iter()
        .filter(|(_, s)| matches!(s, SourceSpec::Receiver(_)))
        .map(|(n, _)| n.clone())
        .collect();
    let wal = match checkpointer.as_mut() {
        Some(c) => c.block_store(&receivers, receiver_partitions)?,
        None => None,
    };
    let store: Arc<dyn BlockStore> = wal.unwrap_or_else(|| Arc::new(NoBlockStore));
    let mut backpressure = Backpressure::new(
        doc.file.job.backpressure,
        doc.file.job.backpressure_initial_rate,
        sources.len(),
        batch_ms,
    );
    let input_ended: InputEnded = {
        let stop = options.stop.clone();
        Arc::new(move |_source: &str| stop.raise())
    };
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
                backpressure.initial_rate(),
                input_ended.clone(),
            )),
        });
    }
    backpressure.start(&names, &mut handles);
    // On recovery the clock continues after the checkpoint's batch (see docs/operations.md).
    let resumed = checkpointer.as_ref().and_then(|c| c.resumed());
    let first_index = resumed.map_or(0, |(index, _, _)| index);
    let zero_time: BatchTime = match (resumed, options.clock) {
        (Some((_, _, zero)), _) => zero,
        (None, ClockKind::Virtual) => 0,
        (None, ClockKind::Wall) => first_wall_batch(now_ms(), batch_ms, plan_block_ms) - batch_ms,
    };
    let source_names = names.clone();
    let settings = ExecSettings {
        policy,
        batch_ms,
        zero_time,
        default_partitions,
    };
    let mut executor = Executor::new(names, nodes, sinks, dead_letter, settings);
    if let Some(c) = checkpointer.as_mut() {
        c.resume(executor.operators_mut(), &source_names, &mut handles)?;
        if resumed.is_none() {
            // Checkpoint 0 pins the zero time and where the sources start, so that a crash
            // before the first periodic checkpoint still resumes on the same batch times.
            let ops = executor.operators_mut();
            c.after_batch(
                0,
                zero_time,
                zero_time,
                ops,
                &source_names,
                &mut handles,
                true,
            )?;
        }
    }
    let mut summary = RunSummary::default();
    let mut i: i64 = first_index as i64 + 1;
    let mut time = zero_time + batch_ms;
    let mut final_batch = false;
    loop {
        let done = first_index + summary.batches;
        if options.batches.is_some_and(|n| done >= n) {
            break;
        }
        let next = zero_time + i * batch_ms;
        if options.stop.is_raised() || wait_for(next, options) {
            // A clean stop: what the receivers received goes into one final batch now.
            if !final_batch_begins(&mut handles, tokio.handle()) {
                break;
            }
            final_batch = true;
        }
        time = next;
        let delay = match options.clock {
            ClockKind::Wall => Duration::from_millis((now_ms() - time).max(0) as u64),
            ClockKind::Virtual => Duration::ZERO,
        };
        let started = std::time::Instant::now();
        let mut inputs = Vec::with_capacity(handles.len());
        let mut pulls = Vec::with_capacity(handles.len());
        for (k, h) in handles.iter_mut().enumerate() {
            let pull = std::time::Instant::now();
            let mut input = match (checkpointer.as_mut(), &mut *h) {
                // The batch ends where it ended before a crash, or where it ends now,
                // logged before it runs (docs/operations.md).
                (Some(c), SourceHandle::Direct(s)) => {
                    let name = &source_names[k];
                    let input = match c.direct_end(name, time) {
                        Some(end) => s.next_batch_to(time, &end),
                        None => s.next_batch(time),
                    }
                    .map_err(|source| ExecError::Source { time, source })?;
                    c.log_direct_end(name, time, &s.position())?;
                    input
                }
                _ => h
                    .next_batch(time)
                    .map_err(|source| ExecError::Source { time, source })?,
            };
            if let (Some(c), SourceHandle::Receiver(_)) = (checkpointer.as_ref(), &*h) {
                // With the write-ahead log, the batch is what the log allocates to it.
                if let Some(logged) = c.receiver_batch(&source_names[k], time)? {
                    input = logged;
                }
            }
            inputs.push(input);
            pulls.push(pull.elapsed());
        }
        let counts = Backpressure::counts(&inputs);
        let mut report = executor.run_batch(time, inputs)?;
        if let Some(c) = checkpointer.as_mut() {
            let ops = executor.operators_mut();
            c.after_batch(
                done + 1,
                time,
                zero_time,
                ops,
                &source_names,
                &mut handles,
                false,
            )?;
        } else {
            // Without checkpoints a batch is safe once it completed: sources that
            // acknowledge upstream (Redis, Kafka group commits) do it now.
            for h in &mut handles {
                if let SourceHandle::Direct(s) = h {
                    let position = s.position();
                    s.committed(&position);
                }
            }
        }
        report.processing = started.elapsed();
        report.scheduling_delay = delay;
        backpressure.after_batch(time, &counts, report.processing, delay, &mut handles);
        observe_sources(&mut report, &pulls, &handles);
        report.checkpoint = checkpointer
            .as_ref()
            .and_then(|c| c.last_stats.clone())
            .filter(|s| s.index == done + 1);
        if let Some(o) = &options.observer {
            o.batch_done(&report);
        }
        if let Some(hook) = &options.on_batch {
            (hook.0)(&report);
        }
        if !options.quiet {
            match options.progress {
                ProgressFormat::Json => eprintln!("{}", batch_json(&name, &report, batch_ms)),
                ProgressFormat::Text => {
                    let rate = Backpressure::progress_suffix(&source_names, &handles);
                    let last = if final_batch { FINAL_BATCH_NOTE } else { "" };
                    eprintln!("{}{rate}{last}", progress_line(&name, &report));
                }
            }
        }
        if final_batch {
            tracing::info!(
                records = report.records_in,
                "Stopped: the final batch took every record received before the stop."
            );
        }
        summary.reports.push(report);
        summary.batches += 1;
        i += 1;
        if final_batch {
            break;
        }
    }
    executor.flush(time)?;
    if let Some(c) = checkpointer.as_mut().filter(|_| summary.batches > 0) {
        let done = first_index + summary.batches;
        let ops = executor.operators_mut();
        c.after_batch(
            done,
            time,
            zero_time,
            ops,
            &source_names,
            &mut handles,
            true,
        )?;
    }
    drop(handles);
    tokio.shutdown_timeout(Duration::from_millis(100));
    Ok(summary)
}

/// Fills each source's pull time, receiver buffer and rate limit into the report.
fn observe_sources(report: &mut BatchReport, pulls: &[Duration], handles: &[SourceHandle]) {
    for ((s, took), h) in report.sources.iter_mut().zip(pulls).zip(handles) {
        s.took = *took;
        match h {
            SourceHandle::Direct(d) => s.rate_limit = d.rate_limit(),
            SourceHandle::Receiver(r) => {
                s.rate_limit = r.rate_limit();
                s.buffered_bytes = Some(r.buffered_bytes() as u64);
            }
        }
    }
}

/// Ends the progress line of the final batch of a clean stop.
const FINAL_BATCH_NOTE: &str = " (final batch: everything received before the stop)";

/// With the wall clock, waits until `time`; returns whether a stop was requested first.
fn wait_for(time: BatchTime, options: &RunOptions) -> bool {
    let wait = time - now_ms();
    options.clock == ClockKind::Wall
        && wait > 0
        && options.stop.wait(Duration::from_millis(wait as u64))
}

/// The start of a clean stop's final batch: every receiver stops reading, so that the
/// next batch takes everything they received. Returns whether there is a receiver (a job
/// of direct sources only has nothing received to finish and stops at once).
fn final_batch_begins(handles: &mut [SourceHandle], rt: &tokio::runtime::Handle) -> bool {
    let mut any = false;
    for h in handles {
        if let SourceHandle::Receiver(r) = h {
            r.stop_reading(rt);
            any = true;
        }
    }
    any
}

/// The first batch time with the wall clock: the next multiple of the block interval (or
/// of the batch interval, if shorter) after `now`, so that the first batch comes within
/// one block interval of start instead of waiting for a whole batch interval; the next
/// batches follow one batch interval apart.
fn first_wall_batch(now: i64, batch_ms: i64, block_ms: i64) -> i64 {
    let grain = block_ms.min(batch_ms).max(1);
    (now / grain + 1) * grain
}

#[cfg(test)]
mod tests {
    use super::first_wall_batch;

    #[test]
    fn the_first_wall_batch_waits_at_most_one_block() {
        assert_eq!(first_wall_batch(10_050, 1000, 200), 10_200);
        assert_eq!(first_wall_batch(10_200, 1000, 200), 10_400);
        assert_eq!(first_wall_batch(10_050, 100, 200), 10_100);
        assert_eq!(first_wall_batch(5, 1000, 0), 6);
    }
}

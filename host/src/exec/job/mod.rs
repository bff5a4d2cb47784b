//! [`Job`]: a running job that a scheduler drives one batch at a time —
//! [`Job::start`] (plan, checkpoint recovery, receivers), [`Job::step`] (one batch:
//! pull the sources, run the executor, the checkpoint barrier, backpressure) and
//! [`Job::finish`] (a final batch of what the receivers received, flush the sinks, final
//! checkpoint). `sluice run` is a loop over it
//! (`exec::run`); a server steps many jobs on one shared worker pool.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::backpressure::Backpressure;
use super::env::ClockKind;
use super::executor::{BatchReport, Executor};
use super::memory;
use super::observer::{observe_batch, RunObserver};
use super::ExecError;
use crate::base::now_ms;
use crate::batch::{MemoryBudget, SourceBatch};
use crate::checkpoint::{CheckpointedJob, Checkpointer};
use crate::ops::Operator;
use crate::record::BatchTime;
use crate::source::SourceHandle;

mod start;

/// Reports of the last batches a [`Job`] keeps for inspection.
pub const KEPT_REPORTS: usize = 100;

/// What [`Job::finish`] did.
#[derive(Debug, Clone, Default)]
pub struct FinishReport {
    /// The final batch of what the receivers received, when `finish` ran it.
    pub final_batch: Option<BatchReport>,
    /// Batches completed, those before a restart included.
    pub batches: u64,
    /// Batches this process ran.
    pub stepped: u64,
    /// The index of the final checkpoint, when one was written.
    pub checkpoint: Option<u64>,
}

/// The parts of a running job the checkpoint barrier sees.
struct Running {
    executor: Executor,
    sources: Vec<(String, SourceHandle)>,
    /// Batches completed, those before a restart included.
    done: u64,
    last_time: BatchTime,
    zero_time: BatchTime,
}

impl CheckpointedJob for Running {
    fn progress(&self) -> (u64, BatchTime, BatchTime) {
        (self.done, self.last_time, self.zero_time)
    }

    fn operators(&mut self) -> Vec<(&str, &mut Box<dyn Operator>)> {
        self.executor.operators_mut().collect()
    }

    fn sources(&mut self) -> &mut [(String, SourceHandle)] {
        &mut self.sources
    }
}

/// A running job, stepped one batch at a time.
pub struct Job {
    name: String,
    batch_ms: i64,
    clock: ClockKind,
    running: Running,
    checkpointer: Option<Checkpointer>,
    backpressure: Backpressure,
    pool: Option<Arc<rayon::ThreadPool>>,
    reports: VecDeque<BatchReport>,
    stepped: u64,
    io: tokio::runtime::Handle,
    drained: bool,
    /// `[job] max_memory`, shared with the receivers.
    budget: Option<Arc<MemoryBudget>>,
    observer: Option<Arc<dyn RunObserver>>,
}

impl Job {
    /// The job's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The batch interval, ms.
    pub fn batch_interval_ms(&self) -> i64 {
        self.batch_ms
    }

    /// Whether the job runs with backpressure.
    pub fn backpressure_on(&self) -> bool {
        self.backpressure.enabled()
    }

    /// The clock the job's batch times follow.
    pub fn clock(&self) -> ClockKind {
        self.clock
    }

    /// When the next step is due (clock ms; with the virtual clock, at once).
    pub fn next_batch_time(&self) -> BatchTime {
        self.running.zero_time + (self.running.done as i64 + 1) * self.batch_ms
    }

    /// Batches completed, those before a restart included.
    pub fn batches_done(&self) -> u64 {
        self.running.done
    }

    /// Reports of the last batches (at most [`KEPT_REPORTS`]), oldest first.
    pub fn last_reports(&self) -> &VecDeque<BatchReport> {
        &self.reports
    }

    /// The rate limits in force, for the progress line (empty when none).
    pub fn rate_suffix(&self) -> String {
        Backpressure::progress_suffix(&self.running.sources)
    }

    /// Runs the batch at [`Job::next_batch_time`]: pulls the sources, computes every
    /// stream (partitions on the job's pool) and writes the sinks, then the checkpoint
    /// barrier and backpressure. Does not wait for the batch time: the caller does.
    ///
    /// # Errors
    /// [`ExecError`] when a source, operator, sink or checkpoint fails; the job must
    /// then be dropped (or finished) without further steps.
    pub fn step(&mut self) -> Result<BatchReport, ExecError> {
        let stepped = self.step_batch();
        if let Some(o) = &self.observer {
            match &stepped {
                Ok(report) => o.batch_done(report),
                Err(e) => o.failed(&e.to_string(), true),
            }
        }
        stepped
    }

    fn step_batch(&mut self) -> Result<BatchReport, ExecError> {
        let time = self.next_batch_time();
        let delay = match self.clock {
            ClockKind::Wall => Duration::from_millis((now_ms() - time).max(0) as u64),
            ClockKind::Virtual => Duration::ZERO,
        };
        let started = Instant::now();
        let (inputs, pulls) = self.pull(time)?;
        let counts = Backpressure::counts(&inputs);
        memory::batch_started(self.budget.as_deref(), &inputs);
        let executor = &mut self.running.executor;
        let mut report = match &self.pool {
            Some(pool) => pool.install(|| executor.run_batch(time, inputs))?,
            None => executor.run_batch(time, inputs)?,
        };
        let executor = &mut self.running.executor;
        memory::batch_done(self.budget.as_deref(), executor, time, report.state_bytes)?;
        self.running.done += 1;
        self.running.last_time = time;
        match self.checkpointer.as_mut() {
            Some(c) => c.barrier(&mut self.running, false)?,
            None => commit_completed(&mut self.running.sources),
        }
        report.processing = started.elapsed();
        report.scheduling_delay = delay;
        let sources = &mut self.running.sources;
        self.backpressure
            .after_batch(time, &counts, report.processing, delay, sources);
        let (sources, done) = (&self.running.sources, self.running.done);
        observe_batch(
            &mut report,
            &pulls,
            sources,
            self.checkpointer.as_ref(),
            done,
        );
        if self.reports.len() == KEPT_REPORTS {
            self.reports.pop_front();
        }
        self.reports.push_back(report.clone());
        self.stepped += 1;
        Ok(report)
    }

    /// Every source's batch at `time`. With checkpoints, a direct source's batch ends
    /// where it ended before a crash, or where it ends now, logged before it runs
    /// (docs/operations.md); receivers' batches are what their block store allocates.
    fn pull(&mut self, time: BatchTime) -> Result<(Vec<SourceBatch>, Vec<Duration>), ExecError> {
        let mut inputs = Vec::with_capacity(self.running.sources.len());
        let mut pulls = Vec::with_capacity(self.running.sources.len());
        for (name, h) in &mut self.running.sources {
            let pull = Instant::now();
            let input = match (self.checkpointer.as_mut(), &mut *h) {
                (Some(c), SourceHandle::Direct(s)) => {
                    let input = match c.direct_end(name, time) {
                        Some(end) => s.next_batch_to(time, &end),
                        None => s.next_batch(time),
                    }
                    .map_err(|cause| ExecError::Source { time, cause })?;
                    c.log_direct_end(name, time, &s.position())?;
                    input
                }
                _ => h
                    .next_batch(time)
                    .map_err(|cause| ExecError::Source { time, cause })?,
            };
            inputs.push(input);
            pulls.push(pull.elapsed());
        }
        Ok((inputs, pulls))
    }

    /// A clean stop's final batch: every receiver stops reading and one last step takes
    /// everything they received (the unsealed block too). `None` when the job has no
    /// receiver (nothing received to finish) or was drained before.
    ///
    /// # Errors
    /// As [`Job::step`].
    pub fn drain(&mut self) -> Result<Option<BatchReport>, ExecError> {
        if std::mem::replace(&mut self.drained, true) {
            return Ok(None);
        }
        let mut any = false;
        for (_, h) in &mut self.running.sources {
            if let SourceHandle::Receiver(r) = h {
                r.stop_reading(&self.io);
                any = true;
            }
        }
        if !any {
            return Ok(None);
        }
        self.step().map(Some)
    }

    /// Stops the job cleanly: [`Job::drain`] (unless done before), then flushes the sinks
    /// and writes a final checkpoint (when the job checkpoints and ran a batch).
    ///
    /// # Errors
    /// [`ExecError`] when the final batch fails, a sink cannot flush or the final
    /// checkpoint fails.
    pub fn finish(mut self) -> Result<FinishReport, ExecError> {
        let final_batch = self.drain()?;
        let mut report = self.end()?;
        report.final_batch = final_batch;
        Ok(report)
    }

    /// Stops the job without a final batch (what the receivers hold is dropped, or
    /// replayed from the write-ahead log after a restart): flushes the sinks and writes a
    /// final checkpoint. `sluice run --batches N` ends so.
    ///
    /// # Errors
    /// [`ExecError`] when a sink cannot flush or the final checkpoint fails.
    pub fn end(self) -> Result<FinishReport, ExecError> {
        let observer = self.observer.clone();
        let ended = self.end_unobserved();
        if let Some(o) = observer {
            match &ended {
                Ok(_) => o.stopped(),
                Err(e) => o.failed(&e.to_string(), false),
            }
        }
        ended
    }

    fn end_unobserved(mut self) -> Result<FinishReport, ExecError> {
        let time = self.running.last_time;
        self.running.executor.flush(time)?;
        let mut checkpoint = None;
        if let Some(c) = self.checkpointer.as_mut().filter(|_| self.stepped > 0) {
            c.barrier(&mut self.running, true)?;
            checkpoint = c.resumed().map(|(index, _, _)| index);
        }
        Ok(FinishReport {
            final_batch: None,
            batches: self.running.done,
            stepped: self.stepped,
            checkpoint,
        })
    }
}

/// Without checkpoints a batch is safe once it completed: sources that acknowledge
/// upstream (Redis, Kafka group commits) do it now.
fn commit_completed(sources: &mut [(String, SourceHandle)]) {
    for (_, h) in sources {
        if let SourceHandle::Direct(s) = h {
            let position = s.position();
            s.committed(&position);
        }
    }
}

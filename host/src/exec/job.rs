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
use super::env::{ClockKind, JobEnv};
use super::executor::{BatchReport, ExecSettings, Executor};
use super::memory;
use super::observer::{observe_batch, RunObserver};
use super::plan::{Plan, PlanMode};
use super::ExecError;
use crate::base::now_ms;
use crate::batch::{BlockStore, MemoryBudget, NoBlockStore, SourceBatch};
use crate::checkpoint::{checkpointer_for, CheckpointedJob, Checkpointer, ClockName};
use crate::job::JobDocument;
use crate::ops::Operator;
use crate::record::BatchTime;
use crate::source::{start_receiver, InputEnded, SourceHandle, SourceSpec};

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
    /// Starts a checked job: loads plugins and builds the plan, opens the checkpoint
    /// directory and restores the newest checkpoint, starts the receivers on `env.io`,
    /// and writes checkpoint 0 when the job checkpoints and starts from scratch.
    ///
    /// # Errors
    /// [`ExecError`] when a plugin, source, sink or the checkpoint cannot be opened.
    pub fn start(doc: &JobDocument, env: &JobEnv) -> Result<Job, ExecError> {
        let started = Job::start_observed(doc, env);
        if let (Err(e), Some(o)) = (&started, &env.observer) {
            o.failed(&e.to_string(), false);
        }
        started
    }

    fn start_observed(doc: &JobDocument, env: &JobEnv) -> Result<Job, ExecError> {
        let mut plan = Plan::build_with_log(doc, &env.wasm, PlanMode::Run, env.plugin_log.clone())?;
        let budget = memory::budget(doc, &mut plan.sources);
        if let Some(o) = &env.observer {
            let nodes: Vec<&str> = plan.nodes.iter().map(|n| n.name.as_str()).collect();
            let plugins: Vec<_> = plan.plugins.values().cloned().collect();
            o.started(&nodes, &plugins);
        }
        let clock = match env.clock {
            ClockKind::Wall => ClockName::Wall,
            ClockKind::Virtual => ClockName::Virtual,
        };
        let ops = plan.nodes.iter().map(|n| (n.name.as_str(), n.op.as_ref()));
        let mut checkpointer = checkpointer_for(doc, ops, clock, &env.checkpoint)?;
        let receivers: Vec<String> = plan
            .sources
            .iter()
            .filter(|(_, s)| matches!(s, SourceSpec::Receiver(_)))
            .map(|(n, _)| n.clone())
            .collect();
        let store = match checkpointer.as_mut() {
            Some(c) => c.block_store(&receivers)?,
            None => None,
        };
        let store: Arc<dyn BlockStore> = store.unwrap_or_else(|| Arc::new(NoBlockStore));
        let job = &doc.file.job;
        let backpressure = Backpressure::new(
            job.backpressure,
            job.backpressure_initial_rate,
            plan.sources.len(),
            plan.batch_ms,
        );
        let resumed = checkpointer.as_ref().and_then(|c| c.resumed());
        let zero_time = match (resumed, env.clock) {
            (Some((_, _, zero)), _) => zero,
            (None, ClockKind::Virtual) => 0,
            (None, ClockKind::Wall) => {
                first_wall_batch(now_ms(), plan.batch_ms, plan.block_ms) - plan.batch_ms
            }
        };
        let mut job = Job::assemble(plan, env, store, backpressure, zero_time, checkpointer);
        job.budget = budget;
        job.running.done = resumed.map_or(0, |(index, _, _)| index);
        if let Some(c) = job.checkpointer.as_mut() {
            c.resume(&mut job.running)?;
            if resumed.is_none() {
                // Checkpoint 0 pins the zero time and where the sources start, so that a
                // crash before the first periodic checkpoint still resumes on the same
                // batch times.
                c.barrier(&mut job.running, true)?;
            }
        }
        Ok(job)
    }

    /// Starts the sources (receivers on `env.io`) and puts the job together.
    fn assemble(
        plan: Plan,
        env: &JobEnv,
        store: Arc<dyn BlockStore>,
        backpressure: Backpressure,
        zero_time: BatchTime,
        checkpointer: Option<Checkpointer>,
    ) -> Job {
        let block = Duration::from_millis(plan.block_ms as u64);
        let ended: InputEnded = env
            .input_ended
            .clone()
            .unwrap_or_else(|| Arc::new(|_: &str| {}));
        let mut sources: Vec<(String, SourceHandle)> = plan
            .sources
            .into_iter()
            .map(|(name, spec)| {
                let handle = match spec {
                    SourceSpec::Direct(d) => SourceHandle::Direct(d),
                    SourceSpec::Receiver(r) => SourceHandle::Receiver(start_receiver(
                        r,
                        &env.io,
                        store.clone(),
                        block,
                        plan.receiver_partitions,
                        backpressure.initial_rate(),
                        ended.clone(),
                    )),
                };
                (name, handle)
            })
            .collect();
        backpressure.start(&mut sources);
        let settings = ExecSettings {
            policy: plan.policy,
            batch_ms: plan.batch_ms,
            zero_time,
            default_partitions: plan.default_partitions,
        };
        let names = sources.iter().map(|(n, _)| n.clone()).collect();
        let executor = Executor::new(names, plan.nodes, plan.sinks, plan.dead_letter, settings);
        Job {
            name: plan.name,
            batch_ms: plan.batch_ms,
            clock: env.clock,
            running: Running {
                executor,
                sources,
                done: 0,
                last_time: zero_time,
                zero_time,
            },
            checkpointer,
            backpressure,
            pool: env.pool.clone(),
            reports: VecDeque::new(),
            stepped: 0,
            io: env.io.clone(),
            drained: false,
            budget: None,
            observer: env.observer.clone(),
        }
    }

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

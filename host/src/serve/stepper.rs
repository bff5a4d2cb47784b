//! A server job as a [`Steppable`]: the steppable job runtime ([`Job`]) driven by the
//! shared pool. Its first step starts it (plugins, checkpoint recovery, receivers on the
//! server's I/O runtime), each further step is one batch at its batch time, and finishing
//! it runs the final batch of a stop, flushes the sinks and writes a checkpoint; all of
//! it on the slot that runs the step, so its CPU time is read on that thread.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use super::sched::cpu::CpuMeter;
use super::sched::{Finish, Steppable, Stepped};
use super::status::{JobState, JobStatus};
use super::store::relative_to_job;
use crate::exec::{ExecError, Job, JobEnv};
use crate::job::JobDocument;

/// What a [`ServeJob`] runs.
pub struct JobRun {
    /// The confined job.
    pub doc: JobDocument,
    /// Its directory (paths in messages are shown relative to it).
    pub dir: PathBuf,
    /// What it shares with the server (wall clock, checkpoints in its directory).
    pub env: JobEnv,
    /// Stop after this many batches of its whole life.
    pub batches: Option<u64>,
    /// Filled as it runs.
    pub status: Arc<JobStatus>,
    /// Raised when the server stops: the job is paused, not stopped.
    pub stopping: Arc<AtomicBool>,
}

/// How a job ended by itself.
enum Ended {
    /// Its `batches` are done.
    Limit,
    /// It could not start, or a batch failed.
    Error(String),
}

/// One job of the server, stepped by the scheduler.
pub struct ServeJob {
    run: JobRun,
    job: Option<Job>,
    ended: Option<Ended>,
    batches_run: u64,
}

impl ServeJob {
    /// A job to be started by its first step.
    pub fn new(run: JobRun) -> ServeJob {
        ServeJob {
            run,
            job: None,
            ended: None,
            batches_run: 0,
        }
    }

    fn error(&self, e: &ExecError) -> String {
        relative_to_job(&e.to_string(), &self.run.dir)
    }

    /// The first step: start the job.
    fn start(&mut self) -> bool {
        match Job::start(&self.run.doc, &self.run.env) {
            Ok(job) => {
                self.run
                    .status
                    .log("job started (resumes from its checkpoint if it has one)");
                self.job = Some(job);
                true
            }
            Err(e) => {
                self.ended = Some(Ended::Error(self.error(&e)));
                false
            }
        }
    }
}

impl Steppable for ServeJob {
    fn due_ms(&self) -> Option<i64> {
        match (&self.ended, &self.job) {
            (Some(_), _) | (None, None) => Some(i64::MIN),
            (None, Some(job)) => Some(job.next_batch_time()),
        }
    }

    fn step(&mut self) -> Stepped {
        let meter = CpuMeter::start();
        let mut stepped = Stepped::default();
        if self.job.is_none() {
            stepped.ended = !self.start();
        } else if let Some(job) = self.job.as_mut() {
            if self.run.batches.is_some_and(|n| job.batches_done() >= n) {
                self.ended = Some(Ended::Limit);
                stepped.ended = true;
            } else {
                match job.step() {
                    Ok(report) => {
                        self.batches_run += 1;
                        stepped.batch = true;
                        stepped.state_bytes = report.state_bytes;
                        stepped.cpu = meter.elapsed().0;
                        self.run.status.batch_done(&report, stepped.cpu);
                        return stepped;
                    }
                    Err(e) => {
                        self.ended = Some(Ended::Error(self.error(&e)));
                        stepped.ended = true;
                    }
                }
            }
        }
        stepped.cpu = meter.elapsed().0;
        stepped
    }

    fn finish(mut self: Box<Self>, how: Finish) {
        let meter = CpuMeter::start();
        let finished = match (self.job.take(), &self.ended) {
            // A failed job is dropped without further steps.
            (Some(_), Some(Ended::Error(_))) | (None, _) => Ok(None),
            (Some(job), Some(Ended::Limit)) => job.end().map(|_| None),
            (Some(job), None) => job.finish().map(|r| r.final_batch),
        };
        match finished {
            Ok(Some(report)) => {
                self.batches_run += 1;
                self.run.status.batch_done(&report, meter.elapsed().0);
            }
            Ok(None) => {}
            Err(e) => {
                let message = self.error(&e);
                self.ended.get_or_insert(Ended::Error(message));
            }
        }
        self.record(how);
    }
}

impl ServeJob {
    /// Records how the job ended: paused (server stopping), stopped, finished or failed.
    fn record(&self, how: Finish) {
        let status = &self.run.status;
        let (state, reason) = match (how, &self.ended) {
            (Finish::Fail(reason), _) => (JobState::Failed, reason),
            (_, Some(Ended::Error(e))) => (JobState::Failed, e.clone()),
            _ if self.run.stopping.load(Ordering::SeqCst) => {
                status.log(&format!(
                    "job paused after {} batches: the server is stopping; it resumes when the server starts",
                    self.batches_run
                ));
                return;
            }
            (_, Some(Ended::Limit)) => (
                JobState::Stopped,
                format!(
                    "finished: ran its {} batches",
                    self.run.batches.unwrap_or(self.batches_run)
                ),
            ),
            (_, None) => (JobState::Stopped, "stopped on request".to_owned()),
        };
        let word = match state {
            JobState::Running => "running",
            JobState::Stopped => "stopped",
            JobState::Failed => "failed",
        };
        status.log(&format!("job {word}: {reason}"));
        if status.record().state == JobState::Running || state == JobState::Failed {
            if let Err(e) = status.set_state(state, Some(reason)) {
                tracing::error!(error = %e, "Cannot record a job's end.");
            }
        }
    }
}

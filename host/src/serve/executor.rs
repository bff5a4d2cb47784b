//! Runs the server's jobs. For now each job runs on its own thread through `exec::run`
//! (wall clock, checkpoints on, a stop signal, a per-batch hook feeding its status); the
//! shared-pool scheduler replaces this module behind the same interface: submit a job,
//! stop it, and its status (reports, log, failure reason) filled as it runs.

use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::status::{JobState, JobStatus};
use super::store::relative_to_job;
use super::ServeError;
use crate::checkpoint::CheckpointFlags;
use crate::exec::{self, BatchHook, ClockKind, RunOptions, StopSignal};
use crate::job::JobDocument;

/// A job ready to run: confined, its plugins resolved to their pinned files.
pub struct Submission {
    /// The job.
    pub doc: JobDocument,
    /// The job's directory (for error messages: paths are shown relative to it).
    pub dir: PathBuf,
    /// Where its checkpoints go.
    pub checkpoint_dir: PathBuf,
    /// Stop after this many batches of the job's whole life.
    pub batches: Option<u64>,
    /// Filled as it runs.
    pub status: Arc<JobStatus>,
}

/// Starts jobs; knows whether the server is stopping.
#[derive(Debug, Default)]
pub struct Executor {
    stopping: Arc<AtomicBool>,
}

/// A running job.
#[derive(Debug)]
pub struct JobHandle {
    stop: StopSignal,
    thread: Option<JoinHandle<()>>,
}

impl Executor {
    /// An executor.
    pub fn new() -> Executor {
        Executor::default()
    }

    /// Starts the job on its own thread.
    ///
    /// # Errors
    /// [`ServeError::Setup`] when the thread cannot be started.
    pub fn submit(&self, job: Submission) -> Result<JobHandle, ServeError> {
        let stop = StopSignal::new();
        let thread_stop = stop.clone();
        let stopping = self.stopping.clone();
        let id = job.status.record().id;
        let thread = std::thread::Builder::new()
            .name(format!("job-{id}"))
            .spawn(move || run_job(job, thread_stop, &stopping))
            .map_err(|e| ServeError::Setup(format!("cannot start a job thread: {e}")))?;
        Ok(JobHandle {
            stop,
            thread: Some(thread),
        })
    }

    /// From now on, jobs that end are paused (resumed at the next start), not stopped.
    pub fn begin_shutdown(&self) {
        self.stopping.store(true, Ordering::SeqCst);
    }
}

impl JobHandle {
    /// Asks the job to stop after its current batch (it flushes and checkpoints).
    pub fn stop(&self) {
        self.stop.raise();
    }

    /// Waits up to `timeout` for the job to end; returns whether it ended.
    pub fn wait(&mut self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while self.thread.as_ref().is_some_and(|t| !t.is_finished()) {
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        true
    }
}

fn run_job(job: Submission, stop: StopSignal, stopping: &AtomicBool) {
    let status = job.status.clone();
    let hook_status = status.clone();
    let options = RunOptions {
        clock: ClockKind::Wall,
        batches: job.batches,
        quiet: true,
        stop: stop.clone(),
        handle_signals: false,
        checkpoint: CheckpointFlags {
            dir: Some(job.checkpoint_dir.clone()),
            allow_plugin_change: false,
        },
        on_batch: Some(BatchHook(Arc::new(move |r| hook_status.batch_done(r)))),
        ..RunOptions::default()
    };
    status.log("job started (resumes from its checkpoint if it has one)");
    let result = std::panic::catch_unwind(AssertUnwindSafe(|| exec::run(&job.doc, &options)));
    let (batches, _) = status.batches();
    let outcome = match result {
        _ if stopping.load(Ordering::SeqCst) => {
            status.log(&format!(
                "job paused after {batches} batches: the server is stopping; it resumes when the server starts"
            ));
            return;
        }
        Ok(Ok(_)) if stop.is_raised() => (JobState::Stopped, "stopped on request".to_owned()),
        Ok(Ok(summary)) => (
            JobState::Stopped,
            format!(
                "finished: ran its {} batches",
                job.batches.unwrap_or(summary.batches)
            ),
        ),
        Ok(Err(e)) => (JobState::Failed, relative_to_job(&e.to_string(), &job.dir)),
        Err(panic) => {
            let what = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_default();
            (JobState::Failed, format!("internal error: {what}"))
        }
    };
    let (state, reason) = outcome;
    status.log(&format!("job {}: {reason}", state_word(state)));
    if status.record().state == JobState::Running || state == JobState::Failed {
        if let Err(e) = status.set_state(state, Some(reason)) {
            tracing::error!(error = %e, "Cannot record a job's end.");
        }
    }
}

fn state_word(state: JobState) -> &'static str {
    match state {
        JobState::Running => "running",
        JobState::Stopped => "stopped",
        JobState::Failed => "failed",
    }
}

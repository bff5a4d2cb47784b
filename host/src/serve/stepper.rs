//! A server job as a [`Steppable`] for the shared pool. Until the job runtime is
//! steppable (issue 11: `start → step → finish` called on the slot itself), the job runs
//! `exec::run` on its own thread and its own one-thread rayon pool, and each batch, once
//! due, waits at a gate until the scheduler gives it a slot: the slot's step opens the
//! gate and waits for the batch's report, so at most `workers` batches run at once and
//! each one's CPU time is read on the one thread that ran it.

use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use super::sched::cpu::CpuMeter;
use super::sched::{Finish, Steppable, Stepped};
use super::status::{JobState, JobStatus};
use super::store::relative_to_job;
use crate::checkpoint::CheckpointFlags;
use crate::exec::{
    self, BatchGate, BatchHook, BatchReport, ClockKind, ExecError, RunOptions, RunSummary,
    StopSignal,
};
use crate::job::JobDocument;
use crate::record::BatchTime;

/// How often a batch waiting at the gate looks at the stop signal.
const GATE_POLL: Duration = Duration::from_millis(20);

type Outcome = std::thread::Result<Result<RunSummary, ExecError>>;

/// Between the job's thread and the slot that steps it.
#[derive(Default)]
struct Gate {
    /// The batch waiting at the gate.
    waiting: Option<BatchTime>,
    /// The last batch run.
    last: Option<BatchTime>,
    /// A slot opened the gate.
    open: bool,
    /// Started when the gate opened, on the job's thread.
    meter: Option<CpuMeter>,
    /// The batch's report and CPU time, for the slot.
    done: Option<(BatchReport, Duration)>,
    /// `exec::run` returned.
    ended: bool,
}

#[derive(Default)]
struct Link {
    gate: Mutex<Gate>,
    cv: Condvar,
}

impl Link {
    fn lock(&self) -> MutexGuard<'_, Gate> {
        self.gate.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// One job of the server, stepped by the scheduler.
pub struct ServeJob {
    link: Arc<Link>,
    thread: Option<JoinHandle<Outcome>>,
    stop: StopSignal,
    interval_ms: i64,
    status: Arc<JobStatus>,
    dir: PathBuf,
    batches: Option<u64>,
    stopping: Arc<AtomicBool>,
}

/// What a [`ServeJob`] runs.
pub struct JobRun {
    /// The confined job.
    pub doc: JobDocument,
    /// Its directory (paths in messages are shown relative to it).
    pub dir: PathBuf,
    /// Where its checkpoints go.
    pub checkpoint_dir: PathBuf,
    /// Stop after this many batches of its whole life.
    pub batches: Option<u64>,
    /// Filled as it runs.
    pub status: Arc<JobStatus>,
    /// Raised when the server stops: the job is paused, not stopped.
    pub stopping: Arc<AtomicBool>,
}

impl ServeJob {
    /// Starts the job's thread; its first batch waits for a slot.
    ///
    /// # Errors
    /// A message when the thread cannot be started.
    pub fn start(run: JobRun) -> Result<ServeJob, String> {
        let link = Arc::new(Link::default());
        let stop = StopSignal::new();
        let options = RunOptions {
            clock: ClockKind::Wall,
            batches: run.batches,
            quiet: true,
            stop: stop.clone(),
            handle_signals: false,
            checkpoint: CheckpointFlags {
                dir: Some(run.checkpoint_dir.clone()),
                allow_plugin_change: false,
            },
            on_batch: Some(report_hook(&link)),
            before_batch: Some(gate_hook(&link, &stop)),
        };
        let interval_ms = run.doc.file.job.batch_interval.get_ref().0;
        let id = run.status.record().id;
        let (doc, thread_link) = (run.doc, link.clone());
        let thread = std::thread::Builder::new()
            .name(format!("job-{id}"))
            .spawn(move || {
                let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| {
                    // The job's partitions run on this one thread, where its CPU is read.
                    match rayon::ThreadPoolBuilder::new().num_threads(1).build() {
                        Ok(pool) => pool.install(|| exec::run(&doc, &options)),
                        Err(e) => Err(ExecError::Setup(format!("cannot start a job pool: {e}"))),
                    }
                }));
                thread_link.lock().ended = true;
                thread_link.cv.notify_all();
                outcome
            })
            .map_err(|e| format!("cannot start a job thread: {e}"))?;
        run.status
            .log("job started (resumes from its checkpoint if it has one)");
        Ok(ServeJob {
            link,
            thread: Some(thread),
            stop,
            interval_ms,
            status: run.status,
            dir: run.dir,
            batches: run.batches,
            stopping: run.stopping,
        })
    }
}

/// Holds each due batch until a slot opens the gate. Once the job is stopped, its final
/// batch (what the receivers still held) runs at once: the slot finishing the job waits
/// for it.
fn gate_hook(link: &Arc<Link>, stop: &StopSignal) -> BatchGate {
    let (link, stop) = (link.clone(), stop.clone());
    BatchGate(Arc::new(move |time| {
        let mut g = link.lock();
        g.waiting = Some(time);
        link.cv.notify_all();
        while !g.open {
            if stop.is_raised() {
                break;
            }
            g = link
                .cv
                .wait_timeout(g, GATE_POLL)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        g.open = false;
        g.waiting = None;
        g.meter = Some(CpuMeter::start());
        true
    }))
}

/// Hands each batch's report and CPU time to the slot waiting for it.
fn report_hook(link: &Arc<Link>) -> BatchHook {
    let link = link.clone();
    BatchHook(Arc::new(move |report| {
        let mut g = link.lock();
        let cpu = g.meter.take().map_or(report.processing, |m| m.elapsed().0);
        g.last = Some(report.time);
        g.done = Some((report.clone(), cpu));
        link.cv.notify_all();
    }))
}

impl Steppable for ServeJob {
    fn due_ms(&self) -> Option<i64> {
        let g = self.link.lock();
        if g.ended {
            return Some(i64::MIN);
        }
        g.waiting.or(g.last.map(|t| t + self.interval_ms))
    }

    fn step(&mut self) -> Stepped {
        let mut g = self.link.lock();
        g.open = true;
        self.link.cv.notify_all();
        while g.done.is_none() && !g.ended {
            g = self.link.cv.wait(g).unwrap_or_else(|e| e.into_inner());
        }
        let done = g.done.take();
        drop(g);
        match done {
            Some((report, cpu)) => {
                self.status.batch_done(&report, cpu);
                Stepped {
                    cpu,
                    state_bytes: report.state_bytes,
                    ended: false,
                }
            }
            None => Stepped {
                ended: true,
                ..Stepped::default()
            },
        }
    }

    fn finish(mut self: Box<Self>, how: Finish) {
        if how != Finish::Ended {
            self.stop.raise();
            self.link.cv.notify_all();
        }
        let outcome: Outcome = match self.thread.take() {
            Some(t) => t.join().unwrap_or_else(Err),
            None => Err(Box::new("the job thread is gone")),
        };
        // The final batch of a stop ran while this slot waited.
        if let Some((report, cpu)) = self.link.lock().done.take() {
            self.status.batch_done(&report, cpu);
        }
        self.record(how, outcome);
    }
}

impl ServeJob {
    /// Records how the job ended: paused (server stopping), stopped, finished or failed.
    fn record(&self, how: Finish, outcome: Outcome) {
        let status = &self.status;
        let (batches, _) = status.batches();
        if self.stopping.load(Ordering::SeqCst) && !matches!(how, Finish::Fail(_)) {
            status.log(&format!(
                "job paused after {batches} batches: the server is stopping; it resumes when the server starts"
            ));
            return;
        }
        let (state, reason) = match (how, outcome) {
            (Finish::Fail(reason), _) => (JobState::Failed, reason),
            (_, Ok(Ok(_))) if self.stop.is_raised() => {
                (JobState::Stopped, "stopped on request".to_owned())
            }
            (_, Ok(Ok(summary))) => (
                JobState::Stopped,
                format!(
                    "finished: ran its {} batches",
                    self.batches.unwrap_or(summary.batches)
                ),
            ),
            (_, Ok(Err(e))) => (JobState::Failed, relative_to_job(&e.to_string(), &self.dir)),
            (_, Err(panic)) => {
                let what = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                    .unwrap_or_default();
                (JobState::Failed, format!("internal error: {what}"))
            }
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

//! Runs the server's jobs on the shared worker pool ([`super::sched`]): submit a job
//! (its guest memory reserved against its tenant's `max_memory`), stop it, read its CPU
//! time and memory; its status (reports, log, failure reason) is filled as it runs.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use super::config::TenantConfig;
use super::sched::pool::{JobUsage, TenantQuota};
use super::sched::{Scheduler, TenantUsage, Ticket};
use super::status::JobStatus;
use super::stepper::{JobRun, ServeJob};
use super::ServeError;
use crate::checkpoint::CheckpointFlags;
use crate::exec::{ClockKind, JobEnv};
use crate::job::JobDocument;
use crate::observe::ServeObservers;
use crate::wasm::{Limits, WasmRuntime};

/// Plugin instances a job holds at once: its batch runs on one slot thread, so each
/// plugin has at most one instance in a call (and no second one idle beside it).
pub const INSTANCES_PER_PLUGIN: u64 = 1;

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

/// Starts jobs on the pool; knows whether the server is stopping.
pub struct Executor {
    stopping: Arc<AtomicBool>,
    scheduler: Scheduler,
    wasm: Arc<WasmRuntime>,
    io: tokio::runtime::Handle,
    /// The jobs' metrics and recent history (`/metrics`, the UI).
    observers: Arc<ServeObservers>,
}

/// A job on the pool.
pub struct JobHandle {
    ticket: Ticket,
}

/// The guest memory a job reserves: each plugin's memory limit (`limits.memory`, else
/// the runtime's default) times [`INSTANCES_PER_PLUGIN`].
pub fn reserved_memory(doc: &JobDocument) -> u64 {
    let default = Limits::default().memory_bytes;
    doc.file
        .plugins
        .values()
        .map(|p| p.get_ref().limits.memory.map_or(default, |m| m.0))
        .fold(0u64, |sum, m| {
            sum.saturating_add(m.saturating_mul(INSTANCES_PER_PLUGIN))
        })
}

impl Executor {
    /// The pool: `workers` slots shared by `tenants` by their `cpu_weight`; jobs share
    /// `wasm` and run their receivers and broker I/O on `io`.
    ///
    /// # Errors
    /// [`ServeError::Setup`] when its threads cannot be started.
    pub fn new(
        tenants: &BTreeMap<String, TenantConfig>,
        workers: usize,
        wasm: Arc<WasmRuntime>,
        io: tokio::runtime::Handle,
    ) -> Result<Executor, ServeError> {
        let quotas = tenants
            .iter()
            .map(|(name, t)| TenantQuota {
                name: name.clone(),
                weight: t.cpu_weight,
                max_memory: t.max_memory.0,
            })
            .collect();
        let scheduler = Scheduler::start(quotas, workers).map_err(ServeError::Setup)?;
        Ok(Executor {
            stopping: Arc::new(AtomicBool::new(false)),
            scheduler,
            wasm,
            io,
            observers: Arc::new(ServeObservers::new()),
        })
    }

    /// The jobs' observers (metrics, recent batches, plugin errors).
    pub fn observers(&self) -> &Arc<ServeObservers> {
        &self.observers
    }

    /// Whether `doc`, a new job of `tenant`, fits in the tenant's `max_memory`.
    ///
    /// # Errors
    /// [`ServeError::Quota`] `max_memory` with the limit, what is in use and what the job
    /// would reserve.
    pub fn admit(&self, tenant: &str, doc: &JobDocument) -> Result<(), ServeError> {
        self.scheduler
            .admit(tenant, reserved_memory(doc))
            .map_err(|r| ServeError::Quota {
                quota: "max_memory",
                limit: r.limit,
                in_use: r.in_use,
                requested: r.requested,
            })
    }

    /// Puts the job on the pool: a free slot starts it, then runs each batch when due.
    pub fn submit(&self, job: Submission) -> JobHandle {
        let record = job.status.record();
        let tenant = record.tenant;
        let reserved = reserved_memory(&job.doc);
        let observer = self.observers.observe(&tenant, &record.id, &job.doc);
        let env = JobEnv {
            wasm: self.wasm.clone(),
            io: self.io.clone(),
            clock: ClockKind::Wall,
            checkpoint: CheckpointFlags {
                dir: Some(job.checkpoint_dir),
                allow_plugin_change: false,
            },
            // The slot's own pool, installed around every step.
            pool: None,
            input_ended: None,
            observer: Some(observer),
            plugin_log: Some(job.status.plugin_log()),
        };
        let run = JobRun {
            doc: job.doc,
            dir: job.dir,
            env,
            batches: job.batches,
            status: job.status,
            stopping: self.stopping.clone(),
        };
        let ticket = self
            .scheduler
            .submit(&tenant, reserved, Box::new(ServeJob::new(run)));
        JobHandle { ticket }
    }

    /// From now on, jobs that end are paused (resumed at the next start), not stopped.
    pub fn begin_shutdown(&self) {
        self.stopping.store(true, Ordering::SeqCst);
    }

    /// Every tenant's CPU time, slots and memory.
    pub fn usage(&self) -> Vec<TenantUsage> {
        self.scheduler.usage()
    }
}

impl JobHandle {
    /// Asks the job to stop after its current batch (it flushes and checkpoints).
    pub fn stop(&self) {
        self.ticket.stop();
    }

    /// Waits up to `timeout` for the job to end; returns whether it ended.
    pub fn wait(&mut self, timeout: Duration) -> bool {
        self.ticket.wait(timeout)
    }

    /// The job's CPU time and memory.
    pub fn usage(&self) -> JobUsage {
        self.ticket.usage()
    }
}

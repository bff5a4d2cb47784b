//! The shared worker pool of `sluice serve`: every job's batches run on `[server] workers`
//! slots, handed out weighted-fair by tenant, with each tenant's CPU time and memory
//! accounted.
//!
//! - [`Steppable`]: what the scheduler drives (when the next step is due, run one batch,
//!   finish); [`crate::serve::stepper`] implements it for a server job;
//! - [`fair`]: the choice of the next step (virtual time per tenant, slot caps);
//! - [`memory`]: `max_memory` (reserved guest memory plus keyed state);
//! - [`cpu`]: a thread's CPU time; [`pool`]: the scheduler, its slots and dispatcher
//!   (`slots.rs`) and their shared state (`state.rs`).
//!
//! A step runs entirely on one slot, whose own one-thread rayon pool runs the job's
//! partitions: one tenant's partitions never queue ahead of another's on a shared rayon
//! thread, and a plugin spinning to its deadline holds only its slot. Parallelism comes
//! from running jobs side by side. See `docs/serve.md` ("Scheduling and quotas").

pub mod cpu;
pub mod fair;
pub mod memory;
pub mod pool;
mod slots;
mod state;

use std::time::Duration;

pub use memory::MemoryRefusal;
pub use pool::{Scheduler, TenantUsage, Ticket};

/// What one step did.
#[derive(Debug, Clone, Copy, Default)]
pub struct Stepped {
    /// CPU time of the step on the thread that ran it (wall time when unmeasurable).
    pub cpu: Duration,
    /// Keyed-state bytes the job holds after the step.
    pub state_bytes: u64,
    /// The job ended by itself (its batches ran, or it failed): finish it.
    pub ended: bool,
    /// The step ran a batch (not only started the job): its duration predicts the next.
    pub batch: bool,
}

/// Why the scheduler finishes a job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finish {
    /// The job ended by itself (a [`Stepped::ended`]); it knows how.
    Ended,
    /// A stop was asked (`DELETE /v1/jobs/ID`, or the server stopping).
    Stop,
    /// The scheduler fails it (a quota), with this reason.
    Fail(String),
}

/// A job the scheduler drives one batch at a time.
pub trait Steppable: Send {
    /// When the next step is due, ms since the Unix epoch; `None` while unknown (the
    /// job is starting). A job that ended answers a time in the past.
    fn due_ms(&self) -> Option<i64>;

    /// Runs one batch on the calling thread (a slot's, inside its rayon pool).
    fn step(&mut self) -> Stepped;

    /// Ends the job: flush, final checkpoint, its final state recorded.
    fn finish(self: Box<Self>, how: Finish);
}

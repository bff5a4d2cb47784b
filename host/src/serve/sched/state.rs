//! The scheduler's shared state: the jobs on the pool (each home or on a slot), the
//! tenants' shares and memory, and the work handed to a slot.

use std::collections::BTreeMap;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Duration;

use super::fair::Fair;
use super::memory::Memory;
use super::{Finish, Steppable};

/// A tenant as the scheduler knows it.
#[derive(Debug, Clone)]
pub struct TenantQuota {
    /// Its name.
    pub name: String,
    /// `cpu_weight`.
    pub weight: u32,
    /// `max_memory`, bytes.
    pub max_memory: u64,
}

/// A tenant's use of the pool, for the API.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TenantUsage {
    /// The tenant.
    pub tenant: String,
    /// `cpu_weight`.
    pub cpu_weight: u32,
    /// CPU time its steps used since the server started, ms.
    pub cpu_ms: f64,
    /// Slots its steps hold now, and the most it may hold while others have jobs.
    pub slots: usize,
    /// See `slots`.
    pub slot_cap: usize,
    /// Jobs on the pool.
    pub jobs: usize,
    /// `max_memory`, bytes.
    pub max_memory: u64,
    /// Guest memory its jobs reserve, bytes.
    pub memory_reserved: u64,
    /// Keyed state its jobs hold, bytes.
    pub state_bytes: u64,
}

/// One job's use, for the API.
#[derive(Debug, Clone, Copy, Default)]
pub struct JobUsage {
    /// CPU time of its steps since the server started it.
    pub cpu: Duration,
    /// Guest memory it reserves, bytes.
    pub memory_reserved: u64,
    /// Keyed state after its last step, bytes.
    pub state_bytes: u64,
}

pub(super) struct Entry {
    pub(super) tenant: usize,
    /// `None` while on a slot.
    pub(super) job: Option<Box<dyn Steppable>>,
    pub(super) stop: Option<Finish>,
    /// How long its steps are expected to take: the last step, or more if the ones
    /// before were longer (decaying); infinite before the first.
    pub(super) expected_ms: f64,
    pub(super) cpu: Duration,
}

pub(super) struct Inner {
    pub(super) fair: Fair,
    pub(super) memory: Memory,
    pub(super) tenants: Vec<TenantQuota>,
    pub(super) jobs: BTreeMap<u64, Entry>,
    pub(super) ended: BTreeMap<u64, JobUsage>,
    pub(super) free: usize,
    pub(super) next_id: u64,
}

pub(super) struct Shared {
    pub(super) inner: Mutex<Inner>,
    /// Wakes the dispatcher (a slot freed, a job arrived or is to stop).
    pub(super) wake: Condvar,
    /// Wakes those waiting for a job to end.
    pub(super) ended: Condvar,
}

pub(super) struct Work {
    pub(super) id: u64,
    pub(super) job: Box<dyn Steppable>,
    pub(super) finish: Option<Finish>,
}

pub(super) fn lock(shared: &Shared) -> MutexGuard<'_, Inner> {
    shared.inner.lock().unwrap_or_else(|e| e.into_inner())
}

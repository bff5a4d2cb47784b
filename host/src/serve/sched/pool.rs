//! [`Scheduler`]: starts `workers` slot threads, each with its own one-thread rayon pool,
//! and the dispatcher ([`super::slots`]); takes jobs on and answers their use.

use std::collections::BTreeMap;
use std::sync::mpsc::channel;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use super::fair::Fair;
use super::memory::{Memory, MemoryRefusal, TenantMemory};
use super::slots::{dispatch_loop, slot_loop};
use super::state::{lock, Entry, Inner, Shared, Work};
pub use super::state::{JobUsage, TenantQuota, TenantUsage};
use super::{Finish, Steppable};

/// The shared pool.
pub struct Scheduler {
    shared: Arc<Shared>,
}

/// A job on the pool: stop it, wait for its end, read its use.
pub struct Ticket {
    id: u64,
    shared: Arc<Shared>,
}

impl Scheduler {
    /// Starts `workers` slots and the dispatcher for `tenants`.
    ///
    /// # Errors
    /// A message when a thread cannot be started.
    pub fn start(tenants: Vec<TenantQuota>, workers: usize) -> Result<Scheduler, String> {
        let workers = workers.max(1);
        let weights: Vec<u32> = tenants.iter().map(|t| t.weight).collect();
        let limits: Vec<u64> = tenants.iter().map(|t| t.max_memory).collect();
        let shared = Arc::new(Shared {
            inner: Mutex::new(Inner {
                fair: Fair::new(&weights, workers),
                memory: Memory::new(&limits),
                tenants,
                jobs: BTreeMap::new(),
                ended: BTreeMap::new(),
                free: workers,
                next_id: 1,
            }),
            wake: Condvar::new(),
            ended: Condvar::new(),
        });
        let (tx, rx) = channel::<Work>();
        let rx = Arc::new(Mutex::new(rx));
        for slot in 0..workers {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(1)
                .thread_name(move |_| format!("sluice-slot-{slot}"))
                .build()
                .map_err(|e| format!("cannot start worker slot {slot}: {e}"))?;
            let (shared, rx) = (shared.clone(), rx.clone());
            std::thread::Builder::new()
                .name(format!("sluice-slot-{slot}-feed"))
                .spawn(move || slot_loop(&shared, &rx, &pool))
                .map_err(|e| format!("cannot start worker slot {slot}: {e}"))?;
        }
        let d = shared.clone();
        std::thread::Builder::new()
            .name("sluice-dispatch".into())
            .spawn(move || dispatch_loop(&d, &tx))
            .map_err(|e| format!("cannot start the dispatcher: {e}"))?;
        Ok(Scheduler { shared })
    }

    fn tenant_index(inner: &mut Inner, tenant: &str) -> usize {
        if let Some(i) = inner.tenants.iter().position(|t| t.name == tenant) {
            return i;
        }
        // A job of a tenant no longer in the config (resumed at start): weight 1, no
        // memory limit beyond what it was admitted with.
        inner.tenants.push(TenantQuota {
            name: tenant.to_owned(),
            weight: 1,
            max_memory: u64::MAX,
        });
        inner.fair.shares.push(super::fair::Share::new(1));
        inner.memory.tenants.push(TenantMemory {
            limit: u64::MAX,
            ..TenantMemory::default()
        });
        inner.tenants.len() - 1
    }

    /// Whether a job of `tenant` reserving `requested` bytes fits in its `max_memory`.
    ///
    /// # Errors
    /// A [`MemoryRefusal`] with the limit, what is in use and what was asked.
    pub fn admit(&self, tenant: &str, requested: u64) -> Result<(), MemoryRefusal> {
        let mut inner = lock(&self.shared);
        let t = Self::tenant_index(&mut inner, tenant);
        inner.memory.admit(t, requested)
    }

    /// Puts `job` of `tenant`, reserving `reserved` bytes of guest memory, on the pool.
    pub fn submit(&self, tenant: &str, reserved: u64, job: Box<dyn Steppable>) -> Ticket {
        let mut inner = lock(&self.shared);
        let t = Self::tenant_index(&mut inner, tenant);
        let id = inner.next_id;
        inner.next_id += 1;
        inner.fair.job_added(t);
        inner.memory.add(id, t, reserved);
        inner.jobs.insert(
            id,
            Entry {
                tenant: t,
                job: Some(job),
                stop: None,
                expected_ms: f64::INFINITY,
                cpu: Duration::ZERO,
            },
        );
        self.shared.wake.notify_all();
        Ticket {
            id,
            shared: self.shared.clone(),
        }
    }

    /// Every tenant's use of the pool.
    pub fn usage(&self) -> Vec<TenantUsage> {
        let inner = lock(&self.shared);
        inner
            .tenants
            .iter()
            .enumerate()
            .map(|(t, q)| {
                let s = &inner.fair.shares[t];
                let m = inner.memory.tenants[t];
                TenantUsage {
                    tenant: q.name.clone(),
                    cpu_weight: q.weight,
                    cpu_ms: s.cpu_ns as f64 / 1e6,
                    slots: s.running,
                    slot_cap: inner.fair.cap(t),
                    jobs: s.jobs,
                    max_memory: m.limit,
                    memory_reserved: m.reserved,
                    state_bytes: m.state,
                }
            })
            .collect()
    }
}

impl Ticket {
    /// Asks the job to stop: it is finished on a slot once its current step is done.
    pub fn stop(&self) {
        let mut inner = lock(&self.shared);
        if let Some(e) = inner.jobs.get_mut(&self.id) {
            e.stop.get_or_insert(Finish::Stop);
            self.shared.wake.notify_all();
        }
    }

    /// Waits up to `timeout` for the job to be finished; returns whether it was.
    pub fn wait(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut inner = lock(&self.shared);
        while inner.jobs.contains_key(&self.id) {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            inner = self
                .shared
                .ended
                .wait_timeout(inner, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        true
    }

    /// The job's CPU time and memory.
    pub fn usage(&self) -> JobUsage {
        let inner = lock(&self.shared);
        if let Some(u) = inner.ended.get(&self.id) {
            return *u;
        }
        let (memory_reserved, state_bytes) = inner.memory.of_job(self.id);
        JobUsage {
            cpu: inner.jobs.get(&self.id).map_or(Duration::ZERO, |e| e.cpu),
            memory_reserved,
            state_bytes,
        }
    }
}

//! [`Scheduler`]: `workers` slot threads, each with its own one-thread rayon pool, and a
//! dispatcher that gives a free slot to the due step [`fair`](super::fair) picks, then
//! charges the step's CPU time to its tenant and checks the tenant's `max_memory`.

use std::collections::BTreeMap;
use std::panic::AssertUnwindSafe;
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::cpu::CpuMeter;
use super::fair::{Candidate, Fair};
use super::memory::{Memory, MemoryRefusal, TenantMemory};
use super::{Finish, Steppable, Stepped};
use crate::serve::status::now_ms;

/// The dispatcher looks again at least this often (jobs learn their first due time by
/// themselves).
const POLL: Duration = Duration::from_millis(5);

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

struct Entry {
    tenant: usize,
    /// `None` while on a slot.
    job: Option<Box<dyn Steppable>>,
    stop: Option<Finish>,
    expected_ms: f64,
    cpu: Duration,
}

struct Inner {
    fair: Fair,
    memory: Memory,
    tenants: Vec<TenantQuota>,
    jobs: BTreeMap<u64, Entry>,
    ended: BTreeMap<u64, JobUsage>,
    free: usize,
    next_id: u64,
}

struct Shared {
    inner: Mutex<Inner>,
    /// Wakes the dispatcher (a slot freed, a job arrived or is to stop).
    wake: Condvar,
    /// Wakes those waiting for a job to end.
    ended: Condvar,
}

struct Work {
    id: u64,
    job: Box<dyn Steppable>,
    finish: Option<Finish>,
}

/// The shared pool.
pub struct Scheduler {
    shared: Arc<Shared>,
}

/// A job on the pool: stop it, wait for its end, read its use.
pub struct Ticket {
    id: u64,
    shared: Arc<Shared>,
}

fn lock(shared: &Shared) -> MutexGuard<'_, Inner> {
    shared.inner.lock().unwrap_or_else(|e| e.into_inner())
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
                expected_ms: 0.0,
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

/// Hands free slots to stops first, then to the steps [`Fair::pick`] chooses.
fn dispatch_loop(shared: &Shared, tx: &Sender<Work>) {
    let mut inner = lock(shared);
    loop {
        let now = now_ms();
        let mut wait = POLL;
        while inner.free > 0 {
            match next_work(&mut inner, now, &mut wait) {
                Some(work) => {
                    inner.free -= 1;
                    if tx.send(work).is_err() {
                        return;
                    }
                }
                None => break,
            }
        }
        inner = shared
            .wake
            .wait_timeout(inner, wait)
            .unwrap_or_else(|e| e.into_inner())
            .0;
    }
}

/// The next work for a free slot, taken out of its entry; lowers `wait` to the time
/// until the next known due step.
fn next_work(inner: &mut Inner, now: i64, wait: &mut Duration) -> Option<Work> {
    let stopping = inner
        .jobs
        .iter()
        .find(|(_, e)| e.job.is_some() && e.stop.is_some())
        .map(|(&id, _)| id);
    if let Some(id) = stopping {
        let e = inner.jobs.get_mut(&id)?;
        let (job, finish) = (e.job.take()?, e.stop.clone());
        let t = e.tenant;
        inner.fair.started(t);
        return Some(Work { id, job, finish });
    }
    let mut ids = Vec::new();
    let mut due = Vec::new();
    let mut next_due: Vec<Option<i64>> = vec![None; inner.tenants.len()];
    for (&id, e) in &inner.jobs {
        let Some(at) = e.job.as_ref().and_then(|j| j.due_ms()) else {
            continue;
        };
        if at <= now {
            ids.push(id);
            due.push(Candidate {
                tenant: e.tenant,
                due_ms: at,
                expected_ms: e.expected_ms,
            });
        } else {
            let n = &mut next_due[e.tenant];
            *n = Some(n.map_or(at, |n| n.min(at)));
            *wait = (*wait).min(Duration::from_millis((at - now) as u64));
        }
    }
    let i = inner.fair.pick(now, &due, &next_due)?;
    let id = ids[i];
    let e = inner.jobs.get_mut(&id)?;
    let job = e.job.take()?;
    let t = e.tenant;
    inner.fair.started(t);
    Some(Work {
        id,
        job,
        finish: None,
    })
}

fn slot_loop(shared: &Shared, rx: &Mutex<Receiver<Work>>, pool: &rayon::ThreadPool) {
    loop {
        let work = {
            let rx = rx.lock().unwrap_or_else(|e| e.into_inner());
            match rx.recv() {
                Ok(w) => w,
                Err(_) => return,
            }
        };
        let Work {
            id,
            mut job,
            finish,
        } = work;
        let how = match finish {
            Some(how) => how,
            None => match run_step(shared, pool, id, &mut job) {
                Some(how) => how,
                None => {
                    let mut inner = lock(shared);
                    if let Some(e) = inner.jobs.get_mut(&id) {
                        e.job = Some(job);
                    }
                    inner.free += 1;
                    shared.wake.notify_all();
                    continue;
                }
            },
        };
        let meter = CpuMeter::start();
        let finished =
            std::panic::catch_unwind(AssertUnwindSafe(|| pool.install(|| job.finish(how))));
        if finished.is_err() {
            tracing::error!(job = id, "A job panicked while finishing.");
        }
        end_job(shared, id, meter.elapsed().0);
    }
}

/// Runs one step and charges it; answers how to finish the job when it must end.
fn run_step(
    shared: &Shared,
    pool: &rayon::ThreadPool,
    id: u64,
    job: &mut Box<dyn Steppable>,
) -> Option<Finish> {
    let started = Instant::now();
    let stepped = std::panic::catch_unwind(AssertUnwindSafe(|| pool.install(|| job.step())));
    let wall = started.elapsed();
    let mut inner = lock(shared);
    let (stepped, panicked) = match stepped {
        Ok(s) => (s, false),
        Err(_) => (
            Stepped {
                cpu: wall,
                ..Stepped::default()
            },
            true,
        ),
    };
    let t = inner.jobs.get(&id).map(|e| e.tenant)?;
    inner.fair.finished(t, stepped.cpu.as_nanos() as u64);
    // The finish (if any) holds the slot again.
    inner.fair.started(t);
    let over = inner.memory.set_state(id, stepped.state_bytes);
    let name = inner.tenants[t].name.clone();
    // Over `max_memory`: the tenant's job with the most keyed state fails (this one, or
    // another that the dispatcher finishes next).
    let culprit = over.and_then(|_| inner.memory.largest_state(t));
    let over = match (over, culprit) {
        (Some(m), Some(c)) if c != id => {
            if let Some(other) = inner.jobs.get_mut(&c) {
                other.stop = Some(Finish::Fail(over_quota(&name, &m)));
            }
            None
        }
        (over, _) => over,
    };
    let e = inner.jobs.get_mut(&id)?;
    e.cpu += stepped.cpu;
    e.expected_ms = wall.as_secs_f64() * 1e3;
    let how = if panicked {
        Some(Finish::Fail("internal error: a step panicked".into()))
    } else if stepped.ended {
        Some(Finish::Ended)
    } else if let Some(m) = over {
        Some(Finish::Fail(over_quota(&name, &m)))
    } else {
        e.stop.take()
    };
    if how.is_none() {
        inner.fair.finished(t, 0);
    }
    how
}

fn over_quota(tenant: &str, m: &TenantMemory) -> String {
    format!(
        "quota `max_memory` of tenant `{tenant}` exceeded: limit {} bytes, in use {} bytes \
         (guest memory reserved by its jobs {} + keyed state {})",
        m.limit,
        m.in_use(),
        m.reserved,
        m.state
    )
}

fn end_job(shared: &Shared, id: u64, cpu: Duration) {
    let mut inner = lock(shared);
    if let Some(e) = inner.jobs.remove(&id) {
        inner.fair.finished(e.tenant, cpu.as_nanos() as u64);
        inner.fair.job_removed(e.tenant);
        let (memory_reserved, state_bytes) = inner.memory.of_job(id);
        inner.memory.remove(id);
        inner.ended.insert(
            id,
            JobUsage {
                cpu: e.cpu + cpu,
                memory_reserved,
                state_bytes,
            },
        );
    }
    inner.free += 1;
    shared.wake.notify_all();
    shared.ended.notify_all();
}

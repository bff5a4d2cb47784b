//! The dispatcher and the slot threads: a free slot goes to a stop first, then to the due
//! step [`Fair::pick`](super::fair::Fair::pick) chooses; a slot runs the step in its rayon pool, charges its CPU
//! time to the tenant and checks the tenant's `max_memory`.

use std::panic::AssertUnwindSafe;
use std::sync::mpsc::{Receiver, Sender};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::cpu::CpuMeter;
use super::fair::Candidate;
use super::memory::TenantMemory;
use super::state::{lock, Inner, JobUsage, Shared, Work};
use super::{Finish, Steppable, Stepped};
use crate::base::now_ms;

/// The dispatcher looks again at least this often (jobs learn their first due time by
/// themselves).
const POLL: Duration = Duration::from_millis(5);

/// Hands free slots to stops first, then to the steps [`super::fair::Fair::pick`] chooses.
pub(super) fn dispatch_loop(shared: &Shared, tx: &Sender<Work>) {
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

pub(super) fn slot_loop(shared: &Shared, rx: &Mutex<Receiver<Work>>, pool: &rayon::ThreadPool) {
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
    let last = wall.as_secs_f64() * 1e3;
    if stepped.batch {
        e.expected_ms = if e.expected_ms.is_finite() {
            last.max(0.8 * e.expected_ms)
        } else {
            last
        };
    }
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

//! Weighted-fair queueing by tenant: which due step gets the next free worker slot.
//!
//! Each tenant has a virtual time, the CPU it used divided by its `cpu_weight`; the next
//! step is the due step of the tenant with the smallest virtual time (ties: the earliest
//! due). A tenant whose first job arrives starts at the smallest virtual time of the
//! tenants with jobs (no credit banked while it had none). While more than one tenant
//! has jobs, a tenant holds at most `max(1, floor(workers × weight / Σ weights))` slots,
//! so that long steps (a plugin spinning to its deadline) cannot take every slot; it may
//! borrow one more only when its step is expected to end before any tenant under its
//! share has a step due.

/// One tenant's share and use of the pool.
#[derive(Debug, Clone)]
pub struct Share {
    /// `cpu_weight`.
    pub weight: u32,
    /// CPU ns used / weight.
    pub vtime: f64,
    /// CPU used, ns.
    pub cpu_ns: u64,
    /// Slots it holds now.
    pub running: usize,
    /// Jobs it has (stepping, due or waiting for their time).
    pub jobs: usize,
}

impl Share {
    /// A tenant with no jobs yet.
    pub fn new(weight: u32) -> Share {
        Share {
            weight: weight.max(1),
            vtime: 0.0,
            cpu_ns: 0,
            running: 0,
            jobs: 0,
        }
    }
}

/// A step that could run now.
#[derive(Debug, Clone, Copy)]
pub struct Candidate {
    /// The tenant (an index into the shares).
    pub tenant: usize,
    /// When it was due, ms.
    pub due_ms: i64,
    /// How long its step is expected to take, ms (infinite before its first: it never
    /// borrows a slot).
    pub expected_ms: f64,
}

/// The shares of every tenant and the number of slots.
#[derive(Debug, Clone)]
pub struct Fair {
    /// By tenant index.
    pub shares: Vec<Share>,
    /// Worker slots.
    pub workers: usize,
}

impl Fair {
    /// Tenants with `weights`, on `workers` slots.
    pub fn new(weights: &[u32], workers: usize) -> Fair {
        Fair {
            shares: weights.iter().map(|&w| Share::new(w)).collect(),
            workers: workers.max(1),
        }
    }

    /// The most slots tenant `t` may hold while others have jobs.
    pub fn cap(&self, t: usize) -> usize {
        let present = self.shares.iter().filter(|s| s.jobs > 0 || s.running > 0);
        let (count, total) =
            present.fold((0usize, 0u64), |(n, w), s| (n + 1, w + u64::from(s.weight)));
        if count <= 1 || total == 0 {
            return self.workers;
        }
        let w = u64::from(self.shares[t].weight);
        ((self.workers as u64 * w / total) as usize).max(1)
    }

    /// A job of tenant `t` arrives; a tenant without jobs starts at the smallest virtual
    /// time of those with jobs.
    pub fn job_added(&mut self, t: usize) {
        if self.shares[t].jobs == 0 && self.shares[t].running == 0 {
            let floor = self
                .shares
                .iter()
                .filter(|s| s.jobs > 0 || s.running > 0)
                .map(|s| s.vtime)
                .fold(f64::INFINITY, f64::min);
            if floor.is_finite() {
                let s = &mut self.shares[t];
                s.vtime = s.vtime.max(floor);
            }
        }
        self.shares[t].jobs += 1;
    }

    /// A job of tenant `t` ended.
    pub fn job_removed(&mut self, t: usize) {
        let s = &mut self.shares[t];
        s.jobs = s.jobs.saturating_sub(1);
    }

    /// A step of tenant `t` took a slot.
    pub fn started(&mut self, t: usize) {
        self.shares[t].running += 1;
    }

    /// A step of tenant `t` gave its slot back after using `cpu_ns`.
    pub fn finished(&mut self, t: usize, cpu_ns: u64) {
        let s = &mut self.shares[t];
        s.running = s.running.saturating_sub(1);
        s.cpu_ns += cpu_ns;
        s.vtime += cpu_ns as f64 / f64::from(s.weight);
    }

    /// The candidate to run on a free slot, if any: the smallest virtual time among
    /// tenants under their cap (ties: earliest due); else one that may borrow a slot
    /// because its expected step ends before `next_due[t']` of every tenant `t'` under
    /// its cap (`next_due`: by tenant, its earliest step not yet due).
    pub fn pick(&self, now_ms: i64, due: &[Candidate], next_due: &[Option<i64>]) -> Option<usize> {
        let key = |c: &Candidate| (self.shares[c.tenant].vtime, c.due_ms);
        let best = |it: &mut dyn Iterator<Item = (usize, &Candidate)>| {
            it.min_by(|(_, a), (_, b)| {
                key(a)
                    .partial_cmp(&key(b))
                    .unwrap_or(std::cmp::Ordering::Equal)
            })
            .map(|(i, _)| i)
        };
        let under = |t: usize| self.shares[t].running < self.cap(t);
        if let Some(i) = best(&mut due.iter().enumerate().filter(|(_, c)| under(c.tenant))) {
            return Some(i);
        }
        let guard = (0..self.shares.len())
            .filter(|&t| t < next_due.len() && under(t))
            .filter_map(|t| next_due[t])
            .min();
        best(&mut due.iter().enumerate().filter(|(_, c)| match guard {
            None => true,
            Some(g) => now_ms as f64 + c.expected_ms < g as f64,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cand(tenant: usize, due_ms: i64) -> Candidate {
        Candidate {
            tenant,
            due_ms,
            expected_ms: 0.0,
        }
    }

    #[test]
    fn the_tenant_with_less_cpu_per_weight_goes_first() {
        let mut f = Fair::new(&[1, 2], 4);
        f.job_added(0);
        f.job_added(1);
        f.started(0);
        f.finished(0, 100);
        f.started(1);
        f.finished(1, 150); // vtime 75 < 100
        let due = [cand(0, 5), cand(1, 9)];
        assert_eq!(f.pick(10, &due, &[None, None]), Some(1));
        // Equal virtual times: the earliest due.
        f.started(0);
        f.finished(0, 50); // 150
        f.started(1);
        f.finished(1, 150); // 150
        assert_eq!(f.pick(10, &due, &[None, None]), Some(0));
    }

    #[test]
    fn a_tenant_holds_at_most_its_share_of_slots_while_others_have_jobs() {
        let mut f = Fair::new(&[1, 1, 2], 4);
        f.job_added(0);
        assert_eq!(f.cap(0), 4, "alone, it may use every slot");
        f.job_added(1);
        assert_eq!(f.cap(0), 2);
        f.job_added(2);
        assert_eq!((f.cap(0), f.cap(1), f.cap(2)), (1, 1, 2));
        f.started(0);
        // Tenant 0 is at its cap: tenant 1 gets the slot although 0 is earlier and
        // has used less.
        f.shares[1].vtime = 1e9;
        let due = [cand(0, 1), cand(1, 2)];
        assert_eq!(f.pick(10, &due, &[None; 3]), Some(1));
        // Only tenant 0 due, at its cap, and tenant 2 has a step due at 50: tenant 0
        // borrows only if its step is expected to end before then.
        let mut long = cand(0, 1);
        long.expected_ms = 100.0;
        assert_eq!(f.pick(10, &[long], &[None, None, Some(50)]), None);
        long.expected_ms = 20.0;
        assert_eq!(f.pick(10, &[long], &[None, None, Some(50)]), Some(0));
    }

    #[test]
    fn a_tenant_arriving_late_starts_at_the_smallest_virtual_time() {
        let mut f = Fair::new(&[1, 1], 2);
        f.job_added(0);
        f.started(0);
        f.finished(0, 1_000_000);
        f.job_added(1);
        assert_eq!(
            f.shares[1].vtime, 1_000_000.0,
            "no credit for the time without jobs"
        );
        // A second job of a tenant that has jobs keeps its virtual time.
        f.shares[1].vtime = 10.0;
        f.job_added(1);
        assert_eq!(f.shares[1].vtime, 10.0);
    }
}

//! `max_memory`: per tenant, the guest memory reserved by its jobs (each plugin's memory
//! limit times the instances a job holds at once) plus the keyed-state bytes its jobs
//! reported after their last step.

use std::collections::BTreeMap;

/// A job that does not fit in its tenant's `max_memory`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryRefusal {
    /// `max_memory`.
    pub limit: u64,
    /// What the tenant's jobs hold now.
    pub in_use: u64,
    /// What the new job reserves.
    pub requested: u64,
}

/// One tenant's memory.
#[derive(Debug, Clone, Copy, Default)]
pub struct TenantMemory {
    /// `max_memory`.
    pub limit: u64,
    /// Guest memory reserved by its jobs.
    pub reserved: u64,
    /// Keyed state of its jobs.
    pub state: u64,
}

impl TenantMemory {
    /// Reserved plus state.
    pub fn in_use(&self) -> u64 {
        self.reserved.saturating_add(self.state)
    }
}

/// Every tenant's memory, by tenant index.
#[derive(Debug, Clone, Default)]
pub struct Memory {
    /// By tenant index.
    pub tenants: Vec<TenantMemory>,
    /// Each job's (tenant, reserved, state), by job id.
    jobs: BTreeMap<u64, (usize, u64, u64)>,
}

impl Memory {
    /// Tenants with these limits.
    pub fn new(limits: &[u64]) -> Memory {
        Memory {
            tenants: limits
                .iter()
                .map(|&limit| TenantMemory {
                    limit,
                    ..TenantMemory::default()
                })
                .collect(),
            jobs: BTreeMap::new(),
        }
    }

    /// Whether a job reserving `requested` fits in tenant `t`'s limit now.
    ///
    /// # Errors
    /// A [`MemoryRefusal`] with the numbers when it does not.
    pub fn admit(&self, t: usize, requested: u64) -> Result<(), MemoryRefusal> {
        let m = self.tenants[t];
        if m.in_use().saturating_add(requested) > m.limit {
            return Err(MemoryRefusal {
                limit: m.limit,
                in_use: m.in_use(),
                requested,
            });
        }
        Ok(())
    }

    /// Job `id` of tenant `t` reserves `reserved` bytes.
    pub fn add(&mut self, id: u64, t: usize, reserved: u64) {
        self.tenants[t].reserved += reserved;
        self.jobs.insert(id, (t, reserved, 0));
    }

    /// Job `id` holds `state` bytes of keyed state; answers its tenant's memory when
    /// the total is over the limit.
    pub fn set_state(&mut self, id: u64, state: u64) -> Option<TenantMemory> {
        let (t, _, old) = self.jobs.get_mut(&id)?;
        let m = &mut self.tenants[*t];
        m.state = m.state - *old + state;
        *old = state;
        (m.in_use() > m.limit).then_some(*m)
    }

    /// The job of tenant `t` holding the most keyed state (the one that outgrew the limit).
    pub fn largest_state(&self, t: usize) -> Option<u64> {
        self.jobs
            .iter()
            .filter(|(_, &(jt, _, _))| jt == t)
            .max_by_key(|(_, &(_, _, state))| state)
            .map(|(&id, _)| id)
    }

    /// Job `id` ended: its memory is free.
    pub fn remove(&mut self, id: u64) {
        if let Some((t, reserved, state)) = self.jobs.remove(&id) {
            let m = &mut self.tenants[t];
            m.reserved -= reserved;
            m.state -= state;
        }
    }

    /// Job `id`'s (reserved, state) bytes.
    pub fn of_job(&self, id: u64) -> (u64, u64) {
        self.jobs.get(&id).map_or((0, 0), |&(_, r, s)| (r, s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reservations_and_state_count_against_the_limit() {
        let mut m = Memory::new(&[100]);
        m.add(1, 0, 60);
        assert_eq!(
            m.admit(0, 50),
            Err(MemoryRefusal {
                limit: 100,
                in_use: 60,
                requested: 50
            })
        );
        m.admit(0, 40).unwrap();
        assert!(m.set_state(1, 30).is_none());
        assert_eq!(m.admit(0, 20).unwrap_err().in_use, 90);
        let over = m.set_state(1, 41).expect("over the limit");
        assert_eq!((over.reserved, over.state), (60, 41));
        m.add(2, 0, 0);
        assert!(m.set_state(2, 5).is_some(), "still over");
        assert_eq!(m.largest_state(0), Some(1), "job 1 holds the state");
        m.remove(1);
        m.remove(2);
        m.admit(0, 100).unwrap();
    }
}

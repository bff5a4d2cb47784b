//! [`MemoryBudget`]: a job's `[job] max_memory` at run time. It counts the input its
//! receivers hold, the input of the batch in process and the keyed state after the last
//! batch; receivers stop reading (the path `max_buffered` and backpressure use) while
//! these reach half the budget, the other half being left to the batch's processing
//! (plugin instances, shuffle buffers, output).

use std::sync::atomic::{AtomicU64, Ordering};

/// The memory budget of one job, shared by its receivers and its driver.
#[derive(Debug)]
pub struct MemoryBudget {
    limit: u64,
    /// Bytes received by the job's receivers and not yet taken into a batch.
    waiting: AtomicU64,
    /// Input bytes of the batch in process.
    in_process: AtomicU64,
    /// Keyed-state bytes after the last batch.
    state: AtomicU64,
}

impl MemoryBudget {
    /// A budget of `limit` bytes.
    pub fn new(limit: u64) -> Self {
        MemoryBudget {
            limit,
            waiting: AtomicU64::new(0),
            in_process: AtomicU64::new(0),
            state: AtomicU64::new(0),
        }
    }

    /// `max_memory`, bytes.
    pub fn limit(&self) -> u64 {
        self.limit
    }

    /// What input and state may hold together: half the budget.
    pub fn input_share(&self) -> u64 {
        self.limit / 2
    }

    /// Bytes the receivers may still read before they wait.
    pub fn room(&self) -> u64 {
        let held = self.waiting.load(Ordering::Relaxed)
            + self.in_process.load(Ordering::Relaxed)
            + self.state.load(Ordering::Relaxed);
        self.input_share().saturating_sub(held)
    }

    /// A receiver received `bytes`.
    pub fn received(&self, bytes: u64) {
        self.waiting.fetch_add(bytes, Ordering::Relaxed);
    }

    /// A batch took `bytes` a receiver held.
    pub fn taken(&self, bytes: u64) {
        let _ = self
            .waiting
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |w| {
                Some(w.saturating_sub(bytes))
            });
    }

    /// The batch in process holds `bytes` of input (0 once it is done).
    pub fn set_in_process(&self, bytes: u64) {
        self.in_process.store(bytes, Ordering::Relaxed);
    }

    /// The keyed state holds `bytes` after a batch.
    pub fn set_state(&self, bytes: u64) {
        self.state.store(bytes, Ordering::Relaxed);
    }

    /// Whether keyed state of `bytes` leaves room for input: less than the input share.
    pub fn state_fits(&self, bytes: u64) -> bool {
        bytes < self.input_share()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_and_state_share_half_the_budget() {
        let b = MemoryBudget::new(100);
        assert_eq!(b.room(), 50);
        b.received(30);
        assert_eq!(b.room(), 20);
        b.taken(30);
        b.set_in_process(30);
        b.received(10);
        assert_eq!(b.room(), 10);
        b.set_in_process(0);
        b.set_state(45);
        assert_eq!(b.room(), 0, "10 waiting + 45 of state");
        assert!(b.state_fits(45) && !b.state_fits(50));
        b.taken(1000);
        assert_eq!(b.room(), 5, "taking more than waits leaves 0 waiting");
    }
}

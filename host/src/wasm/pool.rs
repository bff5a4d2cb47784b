//! [`InstancePool`]: idle instances of one plugin, reused across calls.
//!
//! A call takes an idle instance (or the caller creates one) and gives it back only when
//! the call left it healthy and its memory stayed under the high-water mark
//! ([`worth_keeping`]); anything else is dropped, and the next call gets a fresh instance.
//! An instance's memory never shrinks, so an idle instance holds the most its calls ever
//! needed; dropping it returns that memory (the pooling allocator decommits the slot,
//! keeping 1 MiB resident).

use std::sync::Mutex;

/// How far calls may grow an instance's memory past its size when it was ready before
/// the instance is dropped after the call instead of kept idle.
pub const MAX_KEPT_GROWTH: u64 = 64 << 20;

/// Whether an instance whose memory reached `high_water` bytes, `growth` of them in its
/// calls, under a memory limit of `limit`, goes back to the pool: at most half the limit,
/// and grown by at most [`MAX_KEPT_GROWTH`].
pub(crate) fn worth_keeping(high_water: u64, growth: u64, limit: u64) -> bool {
    high_water <= limit / 2 && growth <= MAX_KEPT_GROWTH
}

/// Idle instances of one plugin (core module instances or component instances).
pub(crate) struct InstancePool<I> {
    idle: Mutex<Vec<I>>,
    max_idle: usize,
}

impl<I> InstancePool<I> {
    /// A pool keeping at most `max_idle` idle instances.
    pub(crate) fn new(max_idle: usize) -> Self {
        InstancePool {
            idle: Mutex::new(Vec::new()),
            max_idle,
        }
    }

    /// A pool sized for the machine: two idle instances per core (rayon workers).
    pub(crate) fn for_this_machine() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Self::new((2 * cores).max(4))
    }

    /// Takes the most recently used idle instance, if any.
    pub(crate) fn take(&self) -> Option<I> {
        self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop()
    }

    /// Returns an instance for reuse; drops it when the pool is full.
    pub(crate) fn give_back(&self, instance: I) {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        if idle.len() < self.max_idle {
            idle.push(instance);
        }
    }

    /// The number of idle instances.
    pub(crate) fn idle(&self) -> usize {
        self.idle.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

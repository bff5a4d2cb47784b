//! Per-plugin [`Limits`] and the [`MemoryLimiter`] that enforces the memory limit.

use std::time::Duration;

use wasmtime::ResourceLimiter;

/// Limits applied to every call of a plugin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Wall-clock deadline per call (epoch interruption).
    pub timeout: Duration,
    /// Maximum linear memory per instance, in bytes.
    pub memory_bytes: u64,
    /// Maximum size of one output document, in bytes.
    pub output_bytes: u64,
    /// Fuel per call, when metering is wanted.
    pub fuel: Option<u64>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            timeout: Duration::from_secs(5),
            memory_bytes: 256 << 20,
            output_bytes: 64 << 20,
            fuel: None,
        }
    }
}

/// Table elements an instance may grow its tables to (function pointers of C and Rust).
const MAX_TABLE_ELEMENTS: usize = 1 << 20;

/// The error a memory growth past the limit raises; it traps the guest and is recognised
/// by the call to report [`crate::wasm::CallError::MemoryLimit`].
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("memory limit of {limit} bytes exceeded (asked for {requested} bytes)")]
pub(crate) struct MemoryLimitExceeded {
    pub(crate) limit: u64,
    pub(crate) requested: u64,
}

/// Enforces [`Limits::memory_bytes`] on one store (one instance).
///
/// Growth past the limit raises [`MemoryLimitExceeded`] instead of returning -1 from
/// `memory.grow`: the call fails with a message naming the limit, rather than with
/// whatever a guest's allocator does on failure.
#[derive(Debug)]
pub(crate) struct MemoryLimiter {
    limit: u64,
    /// The largest size the memory has reached, in bytes.
    high_water: u64,
}

impl MemoryLimiter {
    pub(crate) fn new(limit: u64) -> Self {
        MemoryLimiter {
            limit,
            high_water: 0,
        }
    }

    /// The largest size the instance's memory has reached, in bytes.
    pub(crate) fn high_water(&self) -> u64 {
        self.high_water
    }
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let desired = desired as u64;
        if desired > self.limit {
            return Err(wasmtime::Error::new(MemoryLimitExceeded {
                limit: self.limit,
                requested: desired,
            }));
        }
        self.high_water = self.high_water.max(desired);
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= MAX_TABLE_ELEMENTS)
    }

    fn instances(&self) -> usize {
        1
    }

    fn tables(&self) -> usize {
        4
    }

    fn memories(&self) -> usize {
        1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limiter_refuses_growth_past_the_limit_and_tracks_high_water() {
        let mut l = MemoryLimiter::new(1 << 20);
        assert!(l.memory_growing(0, 65536, None).unwrap());
        assert!(l.memory_growing(65536, 1 << 20, None).unwrap());
        let err = l.memory_growing(1 << 20, 2 << 20, None).unwrap_err();
        let e = err.downcast_ref::<MemoryLimitExceeded>().unwrap();
        assert_eq!((e.limit, e.requested), (1 << 20, 2 << 20));
        assert_eq!(l.high_water(), 1 << 20);
    }
}

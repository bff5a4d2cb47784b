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

/// Parses a duration as users write it: `5s`, `250ms`, `1.5s`, `2m`, `100us`.
///
/// # Errors
/// A sentence saying what is wrong with `text`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .ok_or_else(|| format!("`{text}` has no unit (write e.g. `5s` or `250ms`)"))?;
    let (num, unit) = t.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| format!("`{text}` does not start with a number"))?;
    let secs = match unit.trim() {
        "us" | "µs" => n / 1e6,
        "ms" => n / 1e3,
        "s" => n,
        "m" | "min" => n * 60.0,
        "h" => n * 3600.0,
        other => {
            return Err(format!(
                "`{text}`: unknown unit `{other}` (us, ms, s, m, h)"
            ))
        }
    };
    Duration::try_from_secs_f64(secs).map_err(|_| format!("`{text}` is out of range"))
}

/// Parses a size as users write it: `256MiB`, `64 KiB`, `1GiB`, `4096` (bytes); `KB`/`MB`/
/// `GB` are decimal.
///
/// # Errors
/// A sentence saying what is wrong with `text`.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("`{text}` does not start with a whole number"))?;
    let mult: u64 = match unit.trim() {
        "" | "B" => 1,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        "KB" | "kB" => 1_000,
        "MB" => 1_000_000,
        "GB" => 1_000_000_000,
        other => {
            return Err(format!(
                "`{text}`: unknown unit `{other}` (B, KiB, MiB, GiB, KB, MB, GB)"
            ))
        }
    };
    n.checked_mul(mult)
        .ok_or_else(|| format!("`{text}` is out of range"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_durations() {
        assert_eq!(parse_duration("5s"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert!(parse_duration("5").unwrap_err().contains("no unit"));
        assert!(parse_duration("5 days")
            .unwrap_err()
            .contains("unknown unit"));
    }

    #[test]
    fn parses_sizes() {
        assert_eq!(parse_size("256MiB"), Ok(256 << 20));
        assert_eq!(parse_size("64 KiB"), Ok(64 << 10));
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size("1MB"), Ok(1_000_000));
        assert!(parse_size("lots").is_err());
        assert!(parse_size("99999999999GiB").unwrap_err().contains("range"));
    }

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

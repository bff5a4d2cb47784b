//! The ground floor under every other module: durable file writes, the wall clock in
//! milliseconds, and file-system-safe names. Imports nothing of the crate.

mod fs;

pub use fs::{dir_name, sync_dir, write_atomically};

/// Milliseconds since the Unix epoch (0 if the clock is before it).
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

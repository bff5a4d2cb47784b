//! CPU time of the calling thread, from `/proc/thread-self/schedstat` (its first field is
//! the nanoseconds the thread has run on a CPU), with the wall clock where that file
//! cannot be read (not Linux, or `/proc` not mounted).

use std::time::{Duration, Instant};

/// The calling thread's CPU time so far, or `None` when the system does not tell.
pub fn thread_cpu() -> Option<Duration> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: u64 = text.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(ns))
}

/// Measures the CPU time the calling thread spends from [`CpuMeter::start`] to
/// [`CpuMeter::elapsed`]; wall time when the CPU time cannot be read.
#[derive(Debug, Clone, Copy)]
pub struct CpuMeter {
    cpu: Option<Duration>,
    wall: Instant,
}

impl CpuMeter {
    /// Starts measuring on the calling thread.
    pub fn start() -> CpuMeter {
        CpuMeter {
            cpu: thread_cpu(),
            wall: Instant::now(),
        }
    }

    /// The CPU time used since the start (on the same thread), and whether it is CPU
    /// time (`false`: wall time, the fallback).
    pub fn elapsed(&self) -> (Duration, bool) {
        match (self.cpu, thread_cpu()) {
            (Some(a), Some(b)) => (b.saturating_sub(a), true),
            _ => (self.wall.elapsed(), false),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spinning_counts_and_sleeping_does_not() {
        let Some(_) = thread_cpu() else {
            return; // no /proc here: the wall-time fallback is all there is
        };
        let m = CpuMeter::start();
        let wall = Instant::now();
        let mut x = 0u64;
        // Spin until 30 ms of CPU (however loaded the machine is, within 10 s).
        while m.elapsed().0 < Duration::from_millis(30) && wall.elapsed() < Duration::from_secs(10)
        {
            for _ in 0..10_000 {
                x = std::hint::black_box(x.wrapping_add(1));
            }
        }
        let (spun, measured) = m.elapsed();
        assert!(measured);
        assert!(spun >= Duration::from_millis(30), "{spun:?}");
        assert!(
            spun <= wall.elapsed(),
            "CPU time cannot exceed the wall time"
        );
        std::thread::sleep(Duration::from_millis(100));
        let slept = m.elapsed().0 - spun;
        assert!(
            slept < Duration::from_millis(10),
            "sleeping used {slept:?} of CPU"
        );
    }
}

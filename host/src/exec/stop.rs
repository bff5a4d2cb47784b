//! [`StopSignal`]: asks the driver to stop after the current batch (Ctrl-C, SIGTERM, tests).

use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

/// A flag with a condition variable, so that a driver waiting for the next batch time
/// wakes up at once when asked to stop.
#[derive(Debug, Clone, Default)]
pub struct StopSignal {
    inner: Arc<(Mutex<bool>, Condvar)>,
}

impl StopSignal {
    /// A signal that is not raised.
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks to stop.
    pub fn raise(&self) {
        let (m, c) = &*self.inner;
        *m.lock().unwrap_or_else(|e| e.into_inner()) = true;
        c.notify_all();
    }

    /// Whether stopping was asked.
    pub fn is_raised(&self) -> bool {
        *self.inner.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits up to `timeout`; returns whether stopping was asked.
    pub fn wait(&self, timeout: Duration) -> bool {
        let (m, c) = &*self.inner;
        let guard = m.lock().unwrap_or_else(|e| e.into_inner());
        let (guard, _) = c
            .wait_timeout_while(guard, timeout, |raised| !*raised)
            .unwrap_or_else(|e| e.into_inner());
        *guard
    }
}

//! [`StopSignal`]: asks the driver to stop after the current batch (Ctrl-C, SIGTERM, tests),
//! and [`on_signals`]: a first Ctrl-C or SIGTERM raises it, a second one exits at once.

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

/// The exit status after a second Ctrl-C or SIGTERM (128 + SIGINT, as shells report it).
pub const SECOND_INTERRUPT_STATUS: i32 = 130;

/// Raises `stop` on the first Ctrl-C or SIGTERM; on the second, says so and exits the
/// process with [`SECOND_INTERRUPT_STATUS`] without finishing the current batch (with
/// checkpoints this is a crash, recovered like one).
pub(super) async fn on_signals(stop: StopSignal) {
    let mut signals = Signals::new();
    signals.next().await;
    tracing::info!(
        "Stop requested: receivers stop reading, what they received goes into a final batch, \
         then the sinks flush. Press Ctrl-C again to stop at once."
    );
    stop.raise();
    signals.next().await;
    eprintln!("second interrupt: stopping now, the current batch is not finished");
    std::process::exit(SECOND_INTERRUPT_STATUS);
}

/// Ctrl-C and (on Unix) SIGTERM, listened to from creation on, so that none is missed
/// between two waits.
struct Signals {
    #[cfg(unix)]
    streams: Option<(tokio::signal::unix::Signal, tokio::signal::unix::Signal)>,
}

impl Signals {
    fn new() -> Self {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            let streams = signal(SignalKind::interrupt())
                .and_then(|int| Ok((int, signal(SignalKind::terminate())?)))
                .map_err(|e| tracing::warn!(error = %e, "Cannot listen to SIGINT/SIGTERM."))
                .ok();
            Signals { streams }
        }
        #[cfg(not(unix))]
        Signals {}
    }

    async fn next(&mut self) {
        #[cfg(unix)]
        match &mut self.streams {
            Some((int, term)) => {
                tokio::select! {
                    _ = int.recv() => {}
                    _ = term.recv() => {}
                }
            }
            None => std::future::pending().await,
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

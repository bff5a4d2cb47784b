//! Errors of the plugin runtime: [`PluginError`] at load, [`CallError`] per call.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// Errors creating the runtime or loading a plugin.
#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    /// The runtime itself could not be created (engine, cache directory).
    #[error("plugin runtime: {0}")]
    Runtime(String),
    /// The module file could not be read.
    #[error("{}: cannot read plugin module: {cause}", path.display())]
    Io {
        path: PathBuf,
        cause: std::io::Error,
    },
    /// The module is not a valid Sluice plugin; `message` says what is wrong.
    #[error("{}: {message}", path.display())]
    Invalid { path: PathBuf, message: String },
    /// `sluice_init` (or `_initialize`) failed; the plugin is refused.
    #[error("{}: plugin `{plugin}` refused to start: {message}", path.display())]
    Init {
        path: PathBuf,
        plugin: String,
        message: String,
    },
}

/// A failed call; every variant names the plugin and the function.
///
/// After any of these the instance that ran the call is discarded (except for
/// [`CallError::Guest`], a clean whole-call error), and the next call on the same plugin
/// runs on a healthy instance.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// Anything not covered below (no such function, instantiation failure, ...).
    #[error("plugin `{plugin}` function `{function}`: {message}")]
    Failed {
        plugin: String,
        function: String,
        message: String,
    },
    /// The guest trapped (`unreachable`, out-of-bounds access, stack overflow, ...).
    #[error("plugin `{plugin}` function `{function}`: trapped: {message}")]
    Trap {
        plugin: String,
        function: String,
        message: String,
    },
    /// The call ran past its wall-clock deadline.
    #[error("plugin `{plugin}` function `{function}`: deadline of {} exceeded", DisplayDuration(*.timeout))]
    Deadline {
        plugin: String,
        function: String,
        timeout: Duration,
    },
    /// The instance tried to grow its memory past the limit.
    #[error("plugin `{plugin}` function `{function}`: memory limit of {} exceeded (the instance asked for {})", DisplayBytes(*.limit), DisplayBytes(*.requested))]
    MemoryLimit {
        plugin: String,
        function: String,
        limit: u64,
        requested: u64,
    },
    /// The call used up its fuel.
    #[error("plugin `{plugin}` function `{function}`: fuel limit of {fuel} exhausted")]
    OutOfFuel {
        plugin: String,
        function: String,
        fuel: u64,
    },
    /// The guest broke the ABI: a bad buffer from `sluice_alloc`, an output buffer out of
    /// bounds, over the cap or overlapping the input, a malformed document, a wrong count.
    #[error("plugin `{plugin}` function `{function}`: {message}")]
    BadOutput {
        plugin: String,
        function: String,
        message: String,
    },
    /// The guest reported an error for the whole call (an error with index nil).
    #[error("plugin `{plugin}` function `{function}`: {message}")]
    Guest {
        plugin: String,
        function: String,
        message: String,
    },
    /// The guest called WASI `proc_exit`.
    #[error("plugin `{plugin}` function `{function}`: exited with code {code} (proc_exit)")]
    Exit {
        plugin: String,
        function: String,
        code: i32,
    },
}

impl CallError {
    /// The plugin's name in the job.
    pub fn plugin(&self) -> &str {
        self.names().0
    }

    /// The function that was called.
    pub fn function(&self) -> &str {
        self.names().1
    }

    fn names(&self) -> (&str, &str) {
        match self {
            CallError::Failed {
                plugin, function, ..
            }
            | CallError::Trap {
                plugin, function, ..
            }
            | CallError::Deadline {
                plugin, function, ..
            }
            | CallError::MemoryLimit {
                plugin, function, ..
            }
            | CallError::OutOfFuel {
                plugin, function, ..
            }
            | CallError::BadOutput {
                plugin, function, ..
            }
            | CallError::Guest {
                plugin, function, ..
            }
            | CallError::Exit {
                plugin, function, ..
            } => (plugin, function),
        }
    }
}

/// What went wrong in a call, before the plugin and function names are attached.
#[derive(Debug, Clone)]
pub(crate) enum Failure {
    Other(String),
    Trap(String),
    Deadline(Duration),
    MemoryLimit { limit: u64, requested: u64 },
    OutOfFuel(u64),
    BadOutput(String),
    Guest(String),
    Exit(i32),
}

impl Failure {
    /// Attaches the names.
    pub(crate) fn into_call_error(self, plugin: &str, function: &str) -> CallError {
        let (plugin, function) = (plugin.to_owned(), function.to_owned());
        match self {
            Failure::Other(message) => CallError::Failed {
                plugin,
                function,
                message,
            },
            Failure::Trap(message) => CallError::Trap {
                plugin,
                function,
                message,
            },
            Failure::Deadline(timeout) => CallError::Deadline {
                plugin,
                function,
                timeout,
            },
            Failure::MemoryLimit { limit, requested } => CallError::MemoryLimit {
                plugin,
                function,
                limit,
                requested,
            },
            Failure::OutOfFuel(fuel) => CallError::OutOfFuel {
                plugin,
                function,
                fuel,
            },
            Failure::BadOutput(message) => CallError::BadOutput {
                plugin,
                function,
                message,
            },
            Failure::Guest(message) => CallError::Guest {
                plugin,
                function,
                message,
            },
            Failure::Exit(code) => CallError::Exit {
                plugin,
                function,
                code,
            },
        }
    }

    /// Whether the instance may still be used after this failure.
    pub(crate) fn instance_is_healthy(&self) -> bool {
        matches!(self, Failure::Guest(_))
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Reuse CallError's wording without the names.
        let text = self.clone().into_call_error("", "").to_string();
        let text = text
            .strip_prefix("plugin `` function ``: ")
            .unwrap_or(&text);
        f.write_str(text)
    }
}

/// Formats a duration the way users write it: `5s`, `250ms`, `1.5s`.
#[derive(Debug, Clone, Copy)]
pub struct DisplayDuration(pub Duration);

impl fmt::Display for DisplayDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.0.as_millis();
        if ms >= 1000 && ms.is_multiple_of(1000) {
            write!(f, "{}s", ms / 1000)
        } else if ms >= 1000 {
            write!(f, "{}s", self.0.as_secs_f64())
        } else if ms > 0 {
            write!(f, "{ms}ms")
        } else {
            write!(f, "{}us", self.0.as_micros())
        }
    }
}

/// Formats a byte count with a binary unit when it is a whole number of them: `256 MiB`.
#[derive(Debug, Clone, Copy)]
pub struct DisplayBytes(pub u64);

impl fmt::Display for DisplayBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0;
        for (shift, unit) in [(30, "GiB"), (20, "MiB"), (10, "KiB")] {
            if b >= 1 << shift && b.is_multiple_of(1 << shift) {
                return write!(f, "{} {unit}", b >> shift);
            }
        }
        if b >= 1 << 30 {
            write!(f, "{:.1} GiB", b as f64 / f64::from(1 << 30))
        } else if b >= 1 << 20 {
            write!(f, "{:.1} MiB", b as f64 / f64::from(1 << 20))
        } else if b >= 1 << 10 {
            write!(f, "{:.1} KiB", b as f64 / f64::from(1 << 10))
        } else {
            write!(f, "{b} bytes")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_sizes_read_naturally() {
        assert_eq!(DisplayDuration(Duration::from_secs(5)).to_string(), "5s");
        assert_eq!(
            DisplayDuration(Duration::from_millis(250)).to_string(),
            "250ms"
        );
        assert_eq!(
            DisplayDuration(Duration::from_millis(1500)).to_string(),
            "1.5s"
        );
        assert_eq!(DisplayBytes(256 << 20).to_string(), "256 MiB");
        assert_eq!(DisplayBytes(64 << 10).to_string(), "64 KiB");
        assert_eq!(DisplayBytes(100).to_string(), "100 bytes");
        assert_eq!(DisplayBytes(106080).to_string(), "103.6 KiB");
        assert_eq!(DisplayBytes(u64::from(u32::MAX)).to_string(), "4.0 GiB");
    }

    #[test]
    fn call_errors_name_plugin_and_function() {
        let e = Failure::Deadline(Duration::from_secs(5)).into_call_error("words", "split");
        assert_eq!(
            e.to_string(),
            "plugin `words` function `split`: deadline of 5s exceeded"
        );
        assert_eq!((e.plugin(), e.function()), ("words", "split"));
        let e = Failure::MemoryLimit {
            limit: 256 << 20,
            requested: 512 << 20,
        };
        assert_eq!(
            e.to_string(),
            "memory limit of 256 MiB exceeded (the instance asked for 512 MiB)"
        );
    }
}

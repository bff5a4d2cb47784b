//! Which log lines reach stderr: `--log-level`, `--quiet`, `RUST_LOG`, in that order.

use clap::ValueEnum;
use tracing_subscriber::EnvFilter;

/// The default filter: Sluice's own messages from `info`, other crates' from `warn`.
const DEFAULT: &str = "warn,sluice=info";

/// `--log-level`: the most detailed level of Sluice's own messages (and its plugins').
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogLevel {
    Error,
    Warn,
    Info,
    Debug,
    Trace,
}

impl LogLevel {
    fn name(self) -> &'static str {
        match self {
            LogLevel::Error => "error",
            LogLevel::Warn => "warn",
            LogLevel::Info => "info",
            LogLevel::Debug => "debug",
            LogLevel::Trace => "trace",
        }
    }
}

/// The filter directives: `--log-level` wins (other crates stay at `warn`, or `error` with
/// `--log-level error`), then `--quiet` (warnings and errors only), then `RUST_LOG`, then
/// [`DEFAULT`]. The second value is a warning to log once logging is up.
fn filter(level: Option<LogLevel>, quiet: bool, env: Option<&str>) -> (EnvFilter, Option<String>) {
    if let Some(level) = level {
        let others = if level == LogLevel::Error {
            "error"
        } else {
            "warn"
        };
        return (
            EnvFilter::new(format!("{others},sluice={}", level.name())),
            None,
        );
    }
    if quiet {
        return (EnvFilter::new("warn"), None);
    }
    match env.map(str::trim).filter(|v| !v.is_empty()) {
        None => (EnvFilter::new(DEFAULT), None),
        Some(v) => match EnvFilter::builder().parse(v) {
            Ok(f) => (f, None),
            Err(e) => (
                EnvFilter::new(DEFAULT),
                Some(format!(
                    "RUST_LOG={v:?} is not a valid filter ({e}); using {DEFAULT}"
                )),
            ),
        },
    }
}

/// Sends logs to stderr, filtered as [`filter`] says.
pub fn init(level: Option<LogLevel>, quiet: bool) {
    let env = std::env::var("RUST_LOG").ok();
    let (filter, warning) = filter(level, quiet, env.as_deref());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    if let Some(w) = warning {
        tracing::warn!("{w}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn directives(level: Option<LogLevel>, quiet: bool, env: Option<&str>) -> String {
        filter(level, quiet, env).0.to_string()
    }

    #[test]
    fn the_flag_wins_then_quiet_then_the_environment() {
        let debug = Some(LogLevel::Debug);
        assert_eq!(directives(debug, true, Some("trace")), "sluice=debug,warn");
        assert_eq!(
            directives(Some(LogLevel::Error), false, None),
            "sluice=error,error"
        );
        assert_eq!(directives(None, true, Some("debug")), "warn");
        assert_eq!(
            directives(None, false, Some("sluice=trace")),
            "sluice=trace"
        );
        assert_eq!(directives(None, false, Some(" ")), "sluice=info,warn");
        let (f, warning) = filter(None, false, Some("sluice=loud"));
        assert_eq!(f.to_string(), "sluice=info,warn");
        assert!(warning.unwrap().contains("RUST_LOG=\"sluice=loud\""));
    }
}

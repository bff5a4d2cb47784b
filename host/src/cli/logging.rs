//! Which log lines reach stderr: `--log-level`, else `RUST_LOG`; `--quiet` removes the
//! per-batch ones.

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

/// What `--quiet` filters out: the per-batch notes and the plugins' logs below `warn`.
const QUIET: &str = "sluice::per_batch=warn,sluice::plugin=warn";

/// The filter directives: `--log-level` if given (other crates stay at `warn`, or `error`
/// with `--log-level error`), else `RUST_LOG`, else [`DEFAULT`]; without `--log-level`,
/// `--quiet` adds [`QUIET`]. The second value is a warning to log once logging is up.
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
    let (base, warning) = match env.map(str::trim).filter(|v| !v.is_empty()) {
        None => (DEFAULT.to_owned(), None),
        Some(v) => match EnvFilter::builder().parse(v) {
            Ok(_) => (v.to_owned(), None),
            Err(e) => (
                DEFAULT.to_owned(),
                Some(format!(
                    "RUST_LOG={v:?} is not a valid filter ({e}); using {DEFAULT}"
                )),
            ),
        },
    };
    let directives = if quiet {
        format!("{base},{QUIET}")
    } else {
        base
    };
    (EnvFilter::new(directives), warning)
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
    fn the_flag_wins_then_the_environment_and_quiet_trims_either() {
        let debug = Some(LogLevel::Debug);
        assert_eq!(directives(debug, true, Some("trace")), "sluice=debug,warn");
        assert_eq!(
            directives(Some(LogLevel::Error), false, None),
            "sluice=error,error"
        );
        assert_eq!(directives(None, false, None), "sluice=info,warn");
        assert_eq!(
            directives(None, false, Some("sluice=trace")),
            "sluice=trace"
        );
        assert_eq!(directives(None, false, Some(" ")), "sluice=info,warn");
        let quiet = directives(None, true, Some("debug"));
        assert!(quiet.contains("sluice::per_batch=warn"), "{quiet}");
        assert!(quiet.contains("sluice::plugin=warn"), "{quiet}");
        assert!(quiet.contains("debug"), "{quiet}");
        let (f, warning) = filter(None, false, Some("sluice=loud"));
        assert_eq!(f.to_string(), "sluice=info,warn");
        assert!(warning.unwrap().contains("RUST_LOG=\"sluice=loud\""));
    }
}

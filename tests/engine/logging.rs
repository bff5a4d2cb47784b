//! What `sluice run` prints on stderr: `--quiet` removes the per-batch lines (progress,
//! `Checkpoint written.`) but not warnings, `--log-level` wins over `RUST_LOG` and over
//! `--quiet`'s filtering, and a job that falls behind its schedule is warned about once.

use std::process::{Command, Output};

use crate::support::{plugin_wasm, JobDir};

/// Skips a line that is too long (a warning per batch) and checkpoints every batch (an
/// info line per checkpoint).
const CHATTY: &str = r#"
[job]
name = "chatty"
error_policy = "skip"

[checkpoint]
dir = "ck"
every_batches = 1

[sources.in]
kind = "files"
path = "in"
max_line_length = "8B"

[sinks.out]
from = "in"
kind = "files"
path = "out"
"#;

fn chatty_job() -> JobDir {
    let job = JobDir::new(CHATTY);
    std::fs::create_dir(job.path("in")).unwrap();
    std::fs::write(job.path("in/a.txt"), "ok\nthis line is too long\n").unwrap();
    job
}

/// Runs `sluice run JOB --clock virtual --batches 3 ARGS` with `RUST_LOG` set to
/// `rust_log` (or unset) and returns stderr.
fn stderr_of(rust_log: Option<&str>, args: &[&str]) -> String {
    let job = chatty_job();
    let path = job.job().display().to_string();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sluice"));
    cmd.args(["run", &path, "--clock", "virtual", "--batches", "3"])
        .args(args);
    match rust_log {
        Some(v) => cmd.env("RUST_LOG", v),
        None => cmd.env_remove("RUST_LOG"),
    };
    let out: Output = cmd.output().expect("run sluice");
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(out.status.success(), "{err}");
    err
}

/// How many lines of `stderr` contain `needle`.
fn lines_with(stderr: &str, needle: &str) -> usize {
    stderr.lines().filter(|l| l.contains(needle)).count()
}

#[test]
fn by_default_progress_info_and_warnings() {
    let err = stderr_of(None, &[]);
    assert_eq!(lines_with(&err, "[chatty] batch "), 3, "{err}");
    assert!(lines_with(&err, " INFO Checkpoint written.") >= 3, "{err}");
    assert_eq!(
        lines_with(&err, " WARN Skipped rejected records."),
        1,
        "{err}"
    );
    // RUST_LOG is honoured when no flag says otherwise.
    let err = stderr_of(Some("warn"), &[]);
    assert_eq!(lines_with(&err, "[chatty] batch "), 3, "{err}");
    assert_eq!(lines_with(&err, " INFO "), 0, "{err}");
    assert_eq!(
        lines_with(&err, " WARN Skipped rejected records."),
        1,
        "{err}"
    );
}

#[test]
fn quiet_removes_the_per_batch_lines_whatever_rust_log_says() {
    for rust_log in [None, Some("info")] {
        for flag in ["-q", "--quiet"] {
            let err = stderr_of(rust_log, &[flag]);
            let lines: Vec<&str> = err.lines().collect();
            assert_eq!(lines.len(), 1, "{rust_log:?} {flag}:\n{err}");
            assert!(
                lines[0].contains(" WARN Skipped rejected records."),
                "{err}"
            );
        }
    }
    // Debug lines asked for stay, the per-batch ones go.
    let err = stderr_of(Some("debug"), &["-q"]);
    assert_eq!(lines_with(&err, "DEBUG Job stopped."), 1, "{err}");
    assert_eq!(lines_with(&err, "Checkpoint written."), 0, "{err}");
    assert_eq!(lines_with(&err, "[chatty] batch "), 0, "{err}");
    assert_eq!(
        lines_with(&err, " WARN Skipped rejected records."),
        1,
        "{err}"
    );
}

#[test]
fn log_level_wins_over_quiet_and_rust_log() {
    // Errors only: the progress lines stay (they are not log lines), nothing else.
    let err = stderr_of(Some("debug"), &["--log-level", "error"]);
    assert_eq!(lines_with(&err, "[chatty] batch "), 3, "{err}");
    assert_eq!(err.lines().count(), 3, "{err}");
    // Debug, although RUST_LOG and --quiet ask for less.
    let err = stderr_of(Some("error"), &["--log-level", "debug", "-q"]);
    assert_eq!(lines_with(&err, "[chatty] batch "), 0, "{err}");
    assert!(lines_with(&err, " INFO Checkpoint written.") >= 3, "{err}");
    assert!(lines_with(&err, "DEBUG Job stopped.") == 1, "{err}");
    // The flag is global: it may come before the subcommand.
    let job = chatty_job();
    let out = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args([
            "--log-level",
            "warn",
            "validate",
            job.job().to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let out = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["run", job.job().to_str().unwrap(), "--log-level", "loud"])
        .output()
        .unwrap();
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("invalid value 'loud' for '--log-level <LEVEL>'")
            && err.contains("error, warn, info, debug, trace"),
        "{err}"
    );
}

#[test]
fn a_job_that_falls_behind_is_warned_about_once() {
    // One partition of 10 records per 50 ms batch through `busy.spin`, each record
    // 10 million mixing rounds: every batch takes several batch intervals (measured: about
    // 220 ms of CPU per batch, 4 intervals on an idle core; 750 ms at a load of 12 on 2).
    let job = JobDir::new(&format!(
        r#"
[job]
name = "slow"
batch_interval = "50ms"
block_interval = "50ms"

[plugins.busy]
path = {busy:?}
params = {{ rounds = 10000000 }}
limits = {{ timeout = "60s" }}

[sources.in]
kind = "generator"
rate = 200
partitions = 1

[streams.slow]
from = "in"
op = "map"
fn = "busy.spin"

[sinks.out]
from = "slow"
kind = "files"
path = "out"
"#,
        busy = plugin_wasm("busy").display().to_string()
    ));
    let out = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["run", job.job().to_str().unwrap(), "--batches", "7", "-q"])
        .env_remove("RUST_LOG")
        .output()
        .expect("run sluice");
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(out.status.success(), "{err}");
    assert_eq!(err.lines().count(), 1, "one warning, nothing else:\n{err}");
    for part in [
        " WARN Falling behind: the scheduling delay grew 5 batches in a row",
        "for a 50 ms batch interval",
        "enable backpressure (`[job] backpressure = true`)",
        "add partitions",
        "job=\"slow\"",
    ] {
        assert!(err.contains(part), "`{part}` missing:\n{err}");
    }
}

#[test]
fn quiet_keeps_the_one_off_lines() {
    let job = JobDir::new(
        "[job]\nname = \"in\"\n[sources.in]\nkind = \"stdin\"\n\
         [sinks.out]\nfrom = \"in\"\nkind = \"files\"\npath = \"out\"\n",
    );
    let mut child = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["run", job.job().to_str().unwrap(), "-q"])
        .env_remove("RUST_LOG")
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start sluice");
    use std::io::Write;
    child.stdin.take().unwrap().write_all(b"a\nb\n").unwrap();
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(out.status.success(), "{err}");
    assert_eq!(lines_with(&err, "[in] batch "), 0, "{err}");
    assert_eq!(lines_with(&err, " INFO Standard input ended"), 1, "{err}");
    assert_eq!(
        lines_with(&err, " INFO Stopped: the final batch took every record"),
        1,
        "{err}"
    );
}

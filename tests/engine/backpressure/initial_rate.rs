//! `[job] backpressure_initial_rate`: until the PID estimator has its first rate, every
//! source takes in at most that many records per second. A TCP receiver with the default
//! 64 MiB `max_buffered` in front of the slow `busy.spin` stage keeps its first batches at
//! about rate × interval records (without the initial rate they hold whatever the sender
//! got through, and one plugin call can pass its 5 s deadline); the generator's first
//! batch is cut the same way; the key is checked by `sluice validate`.

use std::time::Duration;

use super::harness::{observe, sink_records, PacedWriter, OFFERED};
use crate::support::{err_stderr, plugin_wasm, sluice, JobDir};

/// Records per second until the first rate.
const INITIAL: u64 = 1000;
/// The batch interval, ms.
const BATCH_MS: u64 = 500;

fn slow_job(source: &str, initial_rate: &str) -> JobDir {
    JobDir::new(&slow_job_text(source, initial_rate))
}

fn slow_job_text(source: &str, initial_rate: &str) -> String {
    format!(
        r#"
[job]
name = "slow"
batch_interval = "{BATCH_MS}ms"
backpressure = true
{initial_rate}

[plugins.busy]
path = {busy:?}
params = {{ rounds = 100000 }}

{source}

[streams.slow]
from = "in"
op = "map"
fn = "busy.spin"

[sinks.out]
from = "slow"
kind = "files"
path = "out"
"#,
        busy = plugin_wasm("busy").display().to_string(),
    )
}

#[test]
fn the_initial_rate_caps_a_receivers_first_batches() {
    let (sender, port) = PacedWriter::tcp_server();
    // The default max_buffered (64 MiB): only the initial rate bounds the first batches.
    let source = format!(
        "[sources.in]\nkind = \"tcp\"\nhost = \"127.0.0.1\"\nport = {port}\nformat = \"json\""
    );
    let job = slow_job(&source, &format!("backpressure_initial_rate = {INITIAL}"));
    let seen = observe(&job, Duration::from_secs(7), false);
    drop(sender);
    let why = seen.summary();
    eprintln!("{why}");
    let p = &seen.progress;
    assert!(p.len() >= 4, "{why}");
    // A batch runs under the initial rate when the progress line before it (if any)
    // still shows it: the estimator has no rate yet.
    let initial = INITIAL as f64;
    let under_initial: Vec<u64> = (0..p.len())
        .filter(|&i| i == 0 || p[i - 1].rate_limit == Some(initial))
        .map(|i| p[i].records_in)
        .collect();
    assert_eq!(p[0].rate_limit.map(|_| ()), Some(()), "{why}");
    assert!(
        under_initial.iter().any(|&n| n > 0),
        "no batch with records ran under the initial rate\n{why}"
    );
    // Rate × interval, plus the limiter's 100 ms of idle credit and some timer slack.
    let bound = INITIAL * BATCH_MS / 1000 * 3 / 2;
    assert!(
        under_initial.iter().all(|&n| n <= bound),
        "batches under the initial rate {under_initial:?}, more than {bound}\n{why}"
    );
    // Then the estimator took over and the job kept up with no call past its deadline
    // (`observe` asserts a clean exit): each batch far below what was offered.
    assert!(
        p.iter()
            .all(|b| b.records_in < OFFERED * BATCH_MS / 1000 / 4),
        "{why}"
    );
    assert!(
        p.last().unwrap().rate_limit.is_some_and(|r| r != initial),
        "the estimator never set a rate\n{why}"
    );
    let counted: u64 = p.iter().map(|b| b.records_in).sum();
    assert_eq!(
        sink_records(&job.path("out")).len() as u64,
        counted,
        "{why}"
    );
}

#[test]
fn the_initial_rate_cuts_the_generators_first_batch() {
    // 20,000 records/s offered: 10,000 a batch; the initial rate allows 500.
    let source = "[sources.in]\nkind = \"generator\"\nrate = 20000\nformat = \"json\"";
    let job = slow_job(source, "backpressure_initial_rate = 1000");
    let out = sluice(&[
        "run",
        job.job().to_str().unwrap(),
        "--clock",
        "virtual",
        "--batches",
        "1",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{stderr}");
    let first = stderr
        .lines()
        .find(|l| l.contains(" records in"))
        .unwrap_or_else(|| panic!("no progress line\n{stderr}"));
    assert!(
        first.contains(": 500 records in") && first.contains("rate limit"),
        "{stderr}"
    );
    let ids: Vec<u64> = sink_records(&job.path("out"))
        .iter()
        .map(|v| v["id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids, (0..500).collect::<Vec<_>>());
}

#[test]
fn the_initial_rate_is_validated() {
    let source = "[sources.in]\nkind = \"generator\"";
    let off = JobDir::new(
        &slow_job_text(source, "backpressure_initial_rate = 100")
            .replace("backpressure = true", "backpressure = false"),
    );
    let err = err_stderr(&sluice(&["validate", off.job().to_str().unwrap()]));
    assert!(
        err.contains("backpressure_initial_rate needs `backpressure = true`"),
        "{err}"
    );
    let zero = slow_job(source, "backpressure_initial_rate = 0");
    let err = err_stderr(&sluice(&["validate", zero.job().to_str().unwrap()]));
    assert!(err.contains("at least 1 record per second"), "{err}");
}

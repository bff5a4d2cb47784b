//! NATS exactly-once under failures: a job killed (SIGKILL) at seeded times and restarted
//! on its checkpoint counts every message once; a job rides out a nats-server restart;
//! the sink's `Nats-Msg-Id`s make a replayed batch land once.

use std::process::Stdio;
use std::time::Duration;

use crate::jobs::{all_records, assert_ok, sluice_run, spawn_quiet, stderr};
use crate::nats::{ack_floor, produce, source};
use crate::nats_server::NatsServer;
use crate::recovery::{crash_and_recover, job, RECORDS, WORDS};

/// Kill delays in milliseconds from a fixed seed (a linear congruential sequence), so a
/// failure can be reproduced.
fn kill_delays(seed: u64, n: usize) -> Vec<u64> {
    let mut x = seed;
    (0..n)
        .map(|_| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            700 + (x >> 33) % 1100
        })
        .collect()
}

#[test]
fn a_nats_job_killed_at_seeded_times_counts_every_message_once() {
    let server = NatsServer::start();
    server.create_stream("EVENTS", &["events.>"]);
    produce(&server, 0..RECORDS, WORDS);
    let dir = tempfile::tempdir().unwrap();
    let job = job(&source(&server, "max_rate = 1500\nack_wait = \"2s\""));
    // SLUICE_TEST_SEED picks other kill instants.
    let seed = std::env::var("SLUICE_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_261_126);
    let delays = kill_delays(seed, 3);
    eprintln!("seed {seed}: kills at the first output, then after {delays:?} ms");
    // Counts per batch and per word, and the restored keyed state, hold every message once.
    crash_and_recover(dir.path(), &job, &delays);
    // The final run's last checkpoint acknowledged every message.
    assert_eq!(
        ack_floor(&server, "sluice-in"),
        RECORDS as u64,
        "seed {seed}"
    );
}

#[test]
fn a_nats_job_waits_while_the_server_restarts_and_resumes() {
    let mut server = NatsServer::start();
    server.create_stream("EVENTS", &["events.>"]);
    produce(&server, 0..1000, 10);
    let dir = tempfile::tempdir().unwrap();
    let job = format!(
        r#"
[job]
name = "natsoutage"
batch_interval = "200ms"
[checkpoint]
dir = "ckpt"
every_batches = 4
{}
[streams.n]
from = "in"
op = "count"
[sinks.n]
from = "n"
kind = "files"
path = "out"
"#,
        source(&server, "max_rate = 500")
    );
    std::fs::write(dir.path().join("job.toml"), job).unwrap();
    let child = sluice_run(dir.path(), 45)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1200));
    server.kill();
    std::thread::sleep(Duration::from_millis(1200));
    server.restart();
    produce(&server, 1000..2000, 10);
    let out = child.wait_with_output().unwrap();
    assert_ok(&out);
    let err = stderr(&out);
    assert!(err.contains("NATS is unreachable"), "{err}");
    assert!(
        err.contains("NATS is reachable again; resuming after stream sequence"),
        "{err}"
    );
    let n: i64 = all_records(&dir.path().join("out"))
        .iter()
        .map(|v| v.as_i64().unwrap())
        .sum();
    assert_eq!(n, 2000, "{err}");
    assert_eq!(server.messages("EVENTS"), 2000);
}

/// A generator job publishing every record to NATS, killed after its first checkpoint and
/// restarted: the batches after the checkpoint are published again with the same
/// `Nats-Msg-Id`s, and the stream keeps one copy of each.
#[test]
fn the_nats_sink_lands_each_record_once_across_a_crash() {
    let server = NatsServer::start();
    server.create_stream("OUT", &["out.>"]);
    let dir = tempfile::tempdir().unwrap();
    let job = format!(
        r#"
[job]
name = "natssink"
batch_interval = "200ms"
[checkpoint]
dir = "ckpt"
every_batches = 4
[sources.in]
kind = "generator"
rate = 250
words_per_line = 2
vocabulary = 10
seed = 7
partitions = 2
[sinks.out]
from = "in"
kind = "nats"
url = "{}"
subject = "out.lines"
"#,
        server.url()
    );
    std::fs::write(dir.path().join("job.toml"), &job).unwrap();
    let mut child = spawn_quiet(dir.path(), 20);
    // Kill about two batches after the start-up checkpoint 0, before the first periodic
    // one (batch 4), so that the batches already published are published again.
    crate::harness::wait_until("checkpoint 0", Duration::from_secs(30), || {
        std::fs::read_dir(dir.path().join("ckpt")).is_ok_and(|d| {
            d.filter_map(Result::ok)
                .any(|e| e.file_name().to_string_lossy().starts_with("checkpoint-"))
        })
    });
    std::thread::sleep(Duration::from_millis(500));
    child.kill().unwrap();
    child.wait().unwrap();
    let before = server.messages("OUT");
    let out = sluice_run(dir.path(), 20)
        .env("RUST_LOG", "info")
        .output()
        .unwrap();
    assert_ok(&out);
    let err = stderr(&out);
    // 250 records/s × 200 ms = 50 records per batch, 20 batches.
    assert_eq!(
        server.messages("OUT"),
        20 * 50,
        "{before} before the restart\n{err}"
    );
    assert!(
        err.contains("were already in the stream"),
        "{before} before the restart\n{err}"
    );
}

#[test]
fn a_nats_job_started_while_the_server_is_down_waits_for_it() {
    let mut server = NatsServer::start();
    server.create_stream("EVENTS", &["events.>"]);
    server.kill();
    let dir = tempfile::tempdir().unwrap();
    let job = format!(
        r#"
[job]
name = "natslate"
batch_interval = "200ms"
{}
[streams.n]
from = "in"
op = "count"
[sinks.n]
from = "n"
kind = "files"
path = "out"
"#,
        source(&server, "")
    );
    std::fs::write(dir.path().join("job.toml"), job).unwrap();
    let log = dir.path().join("stderr.txt");
    let mut child = sluice_run(dir.path(), 25)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let read_log = || std::fs::read_to_string(&log).unwrap_or_default();
    crate::harness::wait_until("the job to find NATS down", Duration::from_secs(30), || {
        read_log().contains("NATS is unreachable")
    });
    server.restart();
    produce(&server, 0..500, 10);
    let status = child.wait().unwrap();
    let err = read_log();
    assert!(status.success(), "{status}\n{err}");
    assert_eq!(err.matches("NATS is unreachable").count(), 1, "{err}");
    assert!(
        err.contains("NATS is reachable again; resuming after stream sequence 0."),
        "{err}"
    );
    let n: i64 = all_records(&dir.path().join("out"))
        .iter()
        .map(|v| v.as_i64().unwrap())
        .sum();
    assert_eq!(n, 500, "{err}");
}

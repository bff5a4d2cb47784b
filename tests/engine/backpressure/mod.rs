//! Backpressure end to end through the real `sluice` binary: a TCP sender on 127.0.0.1
//! (or a writer into standard input) offering far more than a deliberately slow plugin
//! stage (`busy.spin`) can process. With `backpressure = true` the receiver's rate limit
//! falls, the scheduling delay stops growing, the RSS stays bounded and, with the
//! write-ahead log, nothing received is lost; with it off the delay grows batch after
//! batch. Also the generator (a direct source) under backpressure.

mod harness;
mod initial_rate;
mod memory;

use std::time::Duration;

use crate::support::{plugin_wasm, JobDir};
use harness::{
    assert_first_records_in_order, kernel_buffer_max, observe, sink_records, PacedWriter,
    LINE_BYTES, OFFERED,
};

/// A TCP source into `busy.spin` (about 0.4 ms of CPU per record on the 2-core development
/// machine), every record to a files sink. Blocks waiting for a batch are capped at
/// 256 KiB (about 2,500 records, a second or more of work), so that the first batches,
/// before the estimator has a rate, stay small.
fn slow_tcp_job(port: u16, backpressure: bool, wal: bool) -> JobDir {
    let checkpoint = if wal {
        "[checkpoint]\ndir = \"ckpt\"\nevery_batches = 5\nwrite_ahead_log = true\nwal_fsync = \"never\"\n"
    } else {
        ""
    };
    JobDir::new(&format!(
        r#"
[job]
name = "slow"
batch_interval = "250ms"
block_interval = "50ms"
backpressure = {backpressure}

[plugins.busy]
path = {busy:?}
params = {{ rounds = 100000 }}

[sources.lines]
kind = "tcp"
host = "127.0.0.1"
port = {port}
format = "json"
max_buffered = "256KiB"

[streams.slow]
from = "lines"
op = "map"
fn = "busy.spin"

[sinks.out]
from = "slow"
kind = "files"
path = "out"
{checkpoint}"#,
        busy = plugin_wasm("busy").display().to_string(),
    ))
}

#[test]
fn tcp_receiver_slows_down_under_backpressure_and_loses_nothing() {
    let (sender, port) = PacedWriter::tcp_server();
    let job = slow_tcp_job(port, true, true);
    let seen = observe(&job, Duration::from_secs(14), false);
    let written = sender.finish();
    let why = format!("sender wrote {written} records\n{}", seen.summary());
    eprintln!("{why}");

    // The rate limit fell far below the offered load and stays there.
    let limits = seen.limits();
    assert!(
        limits.len() >= 5,
        "rate limits in the progress lines\n{why}"
    );
    let last = limits[limits.len().saturating_sub(4)..].to_vec();
    assert!(
        last.iter().all(|&l| l < OFFERED / 4),
        "last rate limits {last:?} vs {OFFERED} offered\n{why}"
    );

    // The scheduling delay stopped growing: once the first, unlimited batches are
    // worked off, batches wait little (without backpressure the delay of this job grows
    // by over half a second every batch, see the next test).
    let delays = seen.delays();
    assert!(delays.len() >= 8, "{why}");
    assert_delay_settles(&delays, &why);

    // The RSS stays bounded: no growth in the second half beyond noise.
    let rss = &seen.rss_kib;
    assert!(rss.len() >= 8, "{why}");
    let first_half_max = *rss[..rss.len() / 2].iter().max().unwrap();
    let second_half_max = *rss[rss.len() / 2..].iter().max().unwrap();
    assert!(
        second_half_max <= first_half_max + 32 * 1024,
        "RSS grew from {first_half_max} to {second_half_max} KiB\n{why}"
    );
    assert!(second_half_max < 512 * 1024, "{why}");

    // Nothing lost: the job processed exactly the first records the sender wrote, each
    // once and in order, as many as the progress lines counted.
    let counted = assert_first_records_in_order(&job.path("out"), &seen, &why);
    // The rest is in the socket buffers (flow control held the sender back) or waits in
    // the receiver (at most its cap, plus the write-ahead log's copy): the job did not
    // read ahead of what it processed.
    let unprocessed = (written - counted) * LINE_BYTES as u64;
    let bound = kernel_buffer_max() + 2 * (256 << 10) + (1 << 20);
    assert!(
        unprocessed <= bound,
        "{unprocessed} bytes written and not processed, more than the {bound} bytes the \
         socket buffers and the receiver can hold\n{why}"
    );
    assert!(written < OFFERED * 14 / 2, "{why}");
}

/// The second half of the run: a median delay under a second and no delay over 4 s.
fn assert_delay_settles(delays: &[u64], why: &str) {
    let mut late = delays[delays.len() / 2..].to_vec();
    late.sort_unstable();
    let median = late[late.len() / 2];
    let worst = *late.last().unwrap();
    assert!(
        median < 1000 && worst < 4000,
        "second half: median delay {median} ms, worst {worst} ms\n{why}"
    );
}

#[test]
fn stdin_receiver_slows_down_and_blocks_the_writer() {
    let job = JobDir::new(&format!(
        r#"
[job]
name = "slow"
batch_interval = "250ms"
block_interval = "50ms"
backpressure = true

[plugins.busy]
path = {busy:?}
params = {{ rounds = 100000 }}

[sources.lines]
kind = "stdin"
format = "json"
max_buffered = "256KiB"

[streams.slow]
from = "lines"
op = "map"
fn = "busy.spin"

[sinks.out]
from = "slow"
kind = "files"
path = "out"
"#,
        busy = plugin_wasm("busy").display().to_string(),
    ));
    let seen = observe(&job, Duration::from_secs(10), true);
    let written = seen.stdin_written.unwrap();
    let why = format!("wrote {written} records to stdin\n{}", seen.summary());
    eprintln!("{why}");
    let limits = seen.limits();
    assert!(
        limits.len() >= 5 && limits[limits.len() - 3..].iter().all(|&l| l < OFFERED / 4),
        "{why}"
    );
    assert_delay_settles(&seen.delays(), &why);
    let records = sink_records(&job.path("out"));
    let counted: u64 = seen.progress.iter().map(|p| p.records_in).sum();
    assert_eq!(records.len() as u64, counted, "{why}");
    assert!(
        records
            .iter()
            .enumerate()
            .all(|(i, r)| r["n"].as_u64() == Some(i as u64)),
        "{why}"
    );
    // The writer was blocked by the full pipe: what it wrote beyond what the job
    // processed fits in the pipe (at most 1 MiB) and the receiver's cap.
    let unprocessed = (written - counted) * LINE_BYTES as u64;
    assert!(
        unprocessed <= (1 << 20) + 2 * (256 << 10) + (256 << 10),
        "{unprocessed} bytes written and not processed\n{why}"
    );
}

#[test]
fn without_backpressure_the_scheduling_delay_keeps_growing() {
    let (sender, port) = PacedWriter::tcp_server();
    let job = slow_tcp_job(port, false, false);
    let seen = observe(&job, Duration::from_secs(12), false);
    drop(sender);
    let why = seen.summary();
    eprintln!("{why}");
    assert!(seen.limits().is_empty(), "no rate limit without one\n{why}");
    let delays = seen.delays();
    assert!(delays.len() >= 4, "{why}");
    // Each batch takes the whole 64 KiB buffer, longer to process than the interval.
    let last = *delays.last().unwrap();
    assert!(last >= delays[1] + 2000, "{why}");
    assert!(
        delays.windows(2).skip(1).all(|w| w[1] + 200 >= w[0]),
        "the delay never recovers\n{why}"
    );
}

#[test]
fn generator_batches_shrink_under_backpressure() {
    // 5,000 records per 250 ms batch offered; `busy.spin` processes a few thousand per
    // second, so each full batch takes over a second.
    let job = JobDir::new(&format!(
        r#"
[job]
name = "slow"
batch_interval = "250ms"
backpressure = true

[plugins.busy]
path = {busy:?}
params = {{ rounds = 100000 }}

[sources.g]
kind = "generator"
rate = 20000
format = "json"
partitions = 2

[streams.slow]
from = "g"
op = "map"
fn = "busy.spin"

[sinks.out]
from = "slow"
kind = "files"
path = "out"
"#,
        busy = plugin_wasm("busy").display().to_string(),
    ));
    let seen = observe(&job, Duration::from_secs(10), false);
    let why = seen.summary();
    eprintln!("{why}");
    let counts: Vec<u64> = seen.progress.iter().map(|p| p.records_in).collect();
    assert!(counts.len() >= 6, "{why}");
    assert_eq!(counts[0], 5000, "{why}");
    let late = &counts[counts.len() / 2..];
    assert!(
        late.iter().all(|&n| n < 2500),
        "late batches {late:?} not below half of 5000\n{why}"
    );
    let limits = seen.limits();
    assert!(
        limits.last().is_some_and(|&l| l < 10_000),
        "rate limit {limits:?}\n{why}"
    );
    // Ids continue across the shrunken batches: every record once, none skipped.
    let ids: Vec<u64> = sink_records(&job.path("out"))
        .iter()
        .map(|v| v["id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids.len() as u64, counts.iter().sum::<u64>(), "{why}");
    let mut sorted = ids.clone();
    sorted.sort_unstable();
    assert!(
        sorted.iter().enumerate().all(|(i, &id)| id == i as u64),
        "{why}"
    );
}

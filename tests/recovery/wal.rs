//! The write-ahead log of a TCP source: a job killed at random instants and restarted
//! loses nothing it had logged as received, and duplicates nothing.

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::common::{outputs, run_and_kill, run_cmd, run_ok, Rng};
use sluice::wal::{list_segments, read_segment, WalRecord};

const TOTAL: u64 = 2000;
const BATCHES: u64 = 50;

/// Serves lines `"r<i>"` to whoever connects, continuing where the previous connection
/// stopped; records each connection's range `[start, end)` of lines written.
fn serve(listener: TcpListener, ranges: Arc<Mutex<Vec<(u64, u64)>>>) {
    let mut next = 0u64;
    for conn in listener.incoming() {
        let Ok(mut conn) = conn else { continue };
        let start = next;
        while next < TOTAL {
            let end = (next + 20).min(TOTAL);
            let text: String = (next..end).map(|i| format!("r{i}\n")).collect();
            if conn.write_all(text.as_bytes()).is_err() {
                break;
            }
            next = end;
            std::thread::sleep(Duration::from_millis(20));
        }
        ranges.lock().unwrap().push((start, next));
        let mut sink = [0u8; 64];
        while matches!(conn.read(&mut sink), Ok(n) if n > 0) {}
    }
}

/// Every record in the write-ahead log's blocks.
fn logged(ckpt: &Path) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (_, seg) in list_segments(&ckpt.join("wal/lines")).unwrap() {
        for payload in read_segment(&seg).unwrap().records {
            if let Ok(WalRecord::Block { records, .. }) = WalRecord::decode(&payload) {
                for r in records.iter() {
                    out.insert(sluice::record::msgpack_to_json(r).unwrap().to_string());
                }
            }
        }
    }
    out
}

#[test]
fn tcp_input_logged_before_a_crash_is_processed_exactly_once() {
    let mut rng = Rng::from_env("tcp_wal");
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let ranges = Arc::new(Mutex::new(Vec::new()));
    {
        let ranges = ranges.clone();
        std::thread::spawn(move || serve(listener, ranges));
    }
    let root = tempfile::tempdir().unwrap();
    let job = root.path().join("job.toml");
    std::fs::write(
        &job,
        format!(
            r#"
[job]
name = "tcp"
batch_interval = "100ms"
block_interval = "50ms"

[sources.lines]
kind = "tcp"
host = "127.0.0.1"
port = {port}

[sinks.out]
kind = "files"
from = "lines"
path = "out"

[checkpoint]
dir = "ckpt"
every_batches = 5
wal_fsync = "block"
"#
        ),
    )
    .unwrap();
    let ckpt = root.path().join("ckpt");
    let mut persisted = BTreeSet::new();
    // The first kill comes as soon as the first batch is in the sink: before the first
    // periodic checkpoint (batch 5), when only the start-up checkpoint 0 pins the clock.
    // The second comes at a random instant.
    let out = root.path().join("out");
    let mut first = run_cmd(&job, BATCHES, &[]);
    first.stderr(std::process::Stdio::null());
    let mut first = first.spawn().unwrap();
    let give_up = std::time::Instant::now() + Duration::from_secs(30);
    while outputs(&out).values().all(String::is_empty) {
        assert!(std::time::Instant::now() < give_up, "no output within 30 s");
        std::thread::sleep(Duration::from_millis(1));
    }
    first.kill().unwrap();
    first.wait().unwrap();
    persisted.extend(logged(&ckpt));
    let after = Duration::from_millis(300 + rng.below(1200));
    assert!(!run_and_kill(run_cmd(&job, BATCHES, &[]), after));
    persisted.extend(logged(&ckpt));
    run_ok(run_cmd(&job, BATCHES, &[]));
    let mut seen = BTreeSet::new();
    let mut total = 0;
    for text in outputs(&root.path().join("out")).values() {
        for line in text.lines() {
            total += 1;
            assert!(seen.insert(line.to_owned()), "{line} was output twice");
        }
    }
    let missing: Vec<&String> = persisted.difference(&seen).collect();
    assert!(missing.is_empty(), "logged but lost: {missing:?}");
    let ranges = ranges.lock().unwrap().clone();
    let &(start, end) = ranges.last().expect("the final run connected");
    assert_eq!(end, TOTAL, "the server finished: {ranges:?}");
    for i in start..end {
        assert!(
            seen.contains(&format!("\"r{i}\"")),
            "r{i} of the final connection is missing"
        );
    }
    println!(
        "{total} records out of {TOTAL} sent; {} were in the log at the kills; connections {ranges:?}",
        persisted.len()
    );
}

//! Backpressure end to end through the real `sluice` binary: a TCP sender on 127.0.0.1
//! offering far more than a deliberately slow plugin stage (`busy.spin`) can process.
//! With `backpressure = true` the receiver's rate limit falls, the scheduling delay stops
//! growing, the RSS stays bounded and, with the write-ahead log, nothing received is
//! lost; with it off the delay grows batch after batch. Also the generator (a direct
//! source) under backpressure.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{plugin_wasm, read_jsonl, JobDir};

/// Records per second the sender tries to write: far beyond what the job processes.
const OFFERED: u64 = 100_000;

/// Bytes of each line the sender writes (newline included).
const LINE_BYTES: usize = 100;

/// Line `i`: a JSON record `{"n": i, "pad": "xx..."}` of [`LINE_BYTES`] bytes.
fn line(i: u64, out: &mut String) {
    let head = format!("{{\"n\":{i},\"pad\":\"");
    out.push_str(&head);
    out.extend(std::iter::repeat_n('x', LINE_BYTES - head.len() - 3));
    out.push_str("\"}\n");
}

/// One progress line of `sluice run`.
#[derive(Debug, Clone)]
struct Progress {
    records_in: u64,
    delay_ms: u64,
    rate_limit: Option<f64>,
}

/// Parses `[job] batch T ms: N records in, M out, processing P ms, scheduling delay D ms
/// [, rate limit R records/s]`.
fn parse_progress(line: &str) -> Option<Progress> {
    let rest = line.split_once(" ms: ")?.1;
    let records_in = rest.split(' ').next()?.parse().ok()?;
    let delay_ms = rest
        .split_once("scheduling delay ")?
        .1
        .split(' ')
        .next()?
        .parse()
        .ok()?;
    let rate_limit = rest
        .split_once(", rate limit ")
        .and_then(|(_, r)| r.split(' ').next()?.parse().ok());
    Some(Progress {
        records_in,
        delay_ms,
        rate_limit,
    })
}

/// A TCP server writing lines `{"n":0,...}`, `{"n":1,...}`, ... to the one client it accepts, paced to
/// [`OFFERED`] records per second, with blocking writes (so a receiver that stops reading
/// holds it back through TCP flow control).
struct Sender {
    port: u16,
    written: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Sender {
    fn start() -> Sender {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let written = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (written, stop) = (written.clone(), stop.clone());
            std::thread::spawn(move || {
                let Ok((mut conn, _)) = listener.accept() else {
                    return;
                };
                let started = Instant::now();
                let mut next = 0u64;
                let mut text = String::new();
                while !stop.load(Ordering::Relaxed) {
                    let due = (started.elapsed().as_secs_f64() * OFFERED as f64) as u64;
                    if next >= due {
                        std::thread::sleep(Duration::from_millis(5));
                        continue;
                    }
                    text.clear();
                    let n = (due - next).min(1000);
                    for i in next..next + n {
                        line(i, &mut text);
                    }
                    if conn.write_all(text.as_bytes()).is_err() {
                        return;
                    }
                    next += n;
                    written.store(next, Ordering::Relaxed);
                }
            })
        };
        Sender {
            port,
            written,
            stop,
            thread: Some(thread),
        }
    }

    fn written(&self) -> u64 {
        self.written.load(Ordering::Relaxed)
    }
}

impl Drop for Sender {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // A sender blocked in a write is released when the job's socket closes.
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The resident set of a process, KiB, from `/proc/PID/status`.
fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// What a run of `sluice` printed and how big it got.
struct Observed {
    progress: Vec<Progress>,
    rss_kib: Vec<u64>,
    stderr: String,
}

impl Observed {
    fn delays(&self) -> Vec<u64> {
        self.progress.iter().map(|p| p.delay_ms).collect()
    }

    fn limits(&self) -> Vec<u64> {
        self.progress
            .iter()
            .filter_map(|p| p.rate_limit.map(|r| r as u64))
            .collect()
    }

    fn summary(&self) -> String {
        format!(
            "records in {:?}\nscheduling delays ms {:?}\nrate limits {:?}\nRSS KiB {:?}\n{}",
            self.progress
                .iter()
                .map(|p| p.records_in)
                .collect::<Vec<_>>(),
            self.delays(),
            self.limits(),
            self.rss_kib,
            self.stderr
        )
    }
}

/// Runs `job` on the wall clock for `run_for`, sampling its RSS, then stops it with
/// SIGTERM and waits for it to finish.
fn observe(job: &JobDir, run_for: Duration) -> Observed {
    let mut child: Child = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["run", job.job().to_str().unwrap()])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = Arc::new(Mutex::new(Vec::<String>::new()));
    let reader = {
        let lines = lines.clone();
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                lines.lock().unwrap().push(line);
            }
        })
    };
    let started = Instant::now();
    let mut rss = Vec::new();
    while started.elapsed() < run_for {
        std::thread::sleep(Duration::from_millis(250));
        match rss_kib(child.id()) {
            Some(kib) => rss.push(kib),
            None => break,
        }
    }
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let status = child.wait().unwrap();
    reader.join().unwrap();
    let lines = std::mem::take(&mut *lines.lock().unwrap());
    let stderr = lines.join("\n");
    assert!(status.success(), "{status}\n{stderr}");
    Observed {
        progress: lines.iter().filter_map(|l| parse_progress(l)).collect(),
        rss_kib: rss,
        stderr,
    }
}

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

/// Every record the files sink wrote, in batch order.
fn sink_records(dir: &std::path::Path) -> Vec<Value> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map(|d| d.filter_map(|e| Some(e.ok()?.path())).collect())
        .unwrap_or_default();
    files.sort();
    files.iter().flat_map(|f| read_jsonl(f)).collect()
}

#[test]
fn tcp_receiver_slows_down_under_backpressure_and_loses_nothing() {
    let sender = Sender::start();
    let job = slow_tcp_job(sender.port, true, true);
    let seen = observe(&job, Duration::from_secs(14));
    let written = sender.written();
    drop(sender);
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

    // The scheduling delay stopped growing: the last batches wait no longer than the
    // worst batch of the first half, and not long at all.
    let delays = seen.delays();
    assert!(delays.len() >= 8, "{why}");
    let half = delays.len() / 2;
    let early_peak = *delays[..half].iter().max().unwrap();
    let late = &delays[delays.len() - 3..];
    assert!(
        late.iter().all(|&d| d <= early_peak.max(1000) && d < 4000),
        "late delays {late:?}, early peak {early_peak}\n{why}"
    );

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
    let records: Vec<u64> = sink_records(&job.path("out"))
        .iter()
        .map(|v| v["n"].as_u64().unwrap())
        .collect();
    let counted: u64 = seen.progress.iter().map(|p| p.records_in).sum();
    assert_eq!(records.len() as u64, counted, "{why}");
    assert!(
        records.iter().enumerate().all(|(i, &r)| r == i as u64),
        "not the first {} records in order\n{why}",
        records.len()
    );
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

/// The most a TCP connection's kernel buffers can hold: the largest receive buffer plus
/// the largest send buffer (`net.ipv4.tcp_rmem` and `tcp_wmem`, third field).
fn kernel_buffer_max() -> u64 {
    ["tcp_rmem", "tcp_wmem"]
        .iter()
        .map(|f| {
            let text = std::fs::read_to_string(format!("/proc/sys/net/ipv4/{f}")).unwrap();
            text.split_whitespace()
                .nth(2)
                .unwrap()
                .parse::<u64>()
                .unwrap()
        })
        .sum()
}

#[test]
fn without_backpressure_the_scheduling_delay_keeps_growing() {
    let sender = Sender::start();
    let job = slow_tcp_job(sender.port, false, false);
    let seen = observe(&job, Duration::from_secs(12));
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
    let seen = observe(&job, Duration::from_secs(10));
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

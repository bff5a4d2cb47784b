//! The three TCP jobs of issue 14 through the real `sluice` binary, each fed by a sender in
//! this process (lines of 10 words from a 10,000-word vocabulary, as fast as the socket
//! allows or at a fixed rate), 1 s batches, backpressure on:
//!
//! - `wordcount`: `flat_map words.split_pairs`, `reduce_by_key sum`;
//! - `state`: the same pairs into `update_state_by_key sum` (running counts);
//! - `window`: the same pairs into `reduce_by_key_and_window sum` with inverse `sub`,
//!   window 10 s, slide 2 s.
//!
//! Per job it prints the sustained lines/s, batch time (processing) p50/p99, scheduling
//! delay p50/p99, the process's peak RSS (`VmHWM`) with the guest/host split of the
//! resident memory at its highest sample, the largest batch's input bytes and the issue's
//! budget (2.5 × that + 64 MiB); and a native Rust word count on 2 threads measured in the
//! same run, as the ratio's anchor.
//!
//! `cargo bench -p sluice --bench tcp_jobs`. Knobs: `SLUICE_BENCH_SECONDS` (batches per
//! job, default 15; the first 3 are warm-up), `SLUICE_BENCH_RATE` (lines/s, default 0: as
//! fast as the socket allows), `SLUICE_BENCH_JOBS` (default `wordcount,state,window`),
//! `SLUICE_BENCH_JOB_EXTRA` / `SLUICE_BENCH_SOURCE_EXTRA` (TOML lines added to `[job]` /
//! the source, e.g. `max_buffered = "1GiB"`), `SLUICE_BIN` (another `sluice` binary, to
//! compare builds).

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{env_or, make_lines, native_lines_per_s, repo, rss_split_kib, status_kib};

const WARMUP: usize = 3;

fn streams(job: &str) -> &'static str {
    match job {
        "wordcount" => "op = \"reduce_by_key\"\nfn = \"sum\"",
        "state" => "op = \"update_state_by_key\"\nfn = \"sum\"",
        "window" => {
            "op = \"reduce_by_key_and_window\"\nfn = \"sum\"\ninv_fn = \"sub\"\nwindow = \"10s\"\nslide = \"2s\""
        }
        other => panic!("unknown job {other} (wordcount, state, window)"),
    }
}

fn job_toml(job: &str, port: u16) -> String {
    let wasm = repo().join("plugins/dist/words.wasm");
    let job_extra = std::env::var("SLUICE_BENCH_JOB_EXTRA").unwrap_or_default();
    let source_extra = std::env::var("SLUICE_BENCH_SOURCE_EXTRA").unwrap_or_default();
    format!(
        r#"
[job]
name = "{job}"
batch_interval = "1s"
block_interval = "200ms"
backpressure = true
{job_extra}
[plugins.words]
path = {wasm:?}
[sources.lines]
kind = "tcp"
host = "127.0.0.1"
port = {port}
{source_extra}
[streams.pairs]
from = "lines"
op = "flat_map"
fn = "words.split_pairs"
[streams.counts]
from = "pairs"
{ops}
[sinks.out]
from = "counts"
kind = "print"
num = 0
"#,
        wasm = wasm.display().to_string(),
        ops = streams(job),
    )
}

/// Accepts one connection and writes lines until it closes: the whole of `text` per
/// write (as fast as the socket allows) or `rate` lines per second in 10 ms ticks.
fn sender(listener: TcpListener, lines: Arc<Vec<Vec<u8>>>, rate: usize) -> Arc<AtomicU64> {
    let sent = Arc::new(AtomicU64::new(0));
    let counter = sent.clone();
    std::thread::spawn(move || {
        let Ok((mut conn, _)) = listener.accept() else {
            return;
        };
        if rate == 0 {
            let text: Vec<u8> = lines.concat();
            while conn.write_all(&text).is_ok() {
                counter.fetch_add(lines.len() as u64, Ordering::Relaxed);
            }
            return;
        }
        let per_tick = (rate / 100).max(1);
        let start = Instant::now();
        let (mut i, mut ticks) = (0usize, 0u32);
        let mut chunk = Vec::new();
        loop {
            chunk.clear();
            for k in 0..per_tick {
                chunk.extend_from_slice(&lines[(i + k) % lines.len()]);
            }
            if conn.write_all(&chunk).is_err() {
                return;
            }
            i += per_tick;
            ticks += 1;
            counter.fetch_add(per_tick as u64, Ordering::Relaxed);
            let due = start + Duration::from_millis(10) * ticks;
            std::thread::sleep(due.saturating_duration_since(Instant::now()));
        }
    });
    sent
}

/// A progress line's (records in, processing ms, scheduling delay ms).
fn parse_progress(line: &str) -> Option<(u64, f64, f64)> {
    let rest = line.split("ms: ").nth(1)?;
    let records = rest.split(' ').next()?.parse().ok()?;
    let field = |name: &str| -> Option<f64> {
        rest.split(name)
            .nth(1)?
            .split([' ', ','])
            .next()?
            .parse()
            .ok()
    };
    Some((records, field("processing ")?, field("scheduling delay ")?))
}

/// Peak memory of a running process: `VmHWM` (KiB) and the (guest, other) split of the
/// resident memory at its highest sample.
fn watch(pid: u32, done: Arc<AtomicBool>) -> std::thread::JoinHandle<(u64, (u64, u64))> {
    std::thread::spawn(move || {
        let (mut hwm, mut top, mut split) = (0, 0, (0, 0));
        let mut tick = 0u32;
        while !done.load(Ordering::Relaxed) {
            hwm = hwm.max(status_kib(pid, "VmHWM"));
            let rss = status_kib(pid, "VmRSS");
            if rss > top && tick.is_multiple_of(5) {
                top = rss;
                split = rss_split_kib(pid);
            }
            tick += 1;
            std::thread::sleep(Duration::from_millis(20));
        }
        (hwm, split)
    })
}

fn percentile(v: &mut [f64], p: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    v[((v.len() - 1) as f64 * p).round() as usize]
}

struct Outcome {
    lines_per_s: f64,
    processing: (f64, f64),
    delay: (f64, f64),
    peak_mib: f64,
    guest_other_mib: (f64, f64),
    batch_mib: f64,
    sent: u64,
    processed: u64,
}

fn run_job(job: &str, lines: &Arc<Vec<Vec<u8>>>, rate: usize, batches: usize) -> Outcome {
    let dir = tempfile::tempdir().unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let file = dir.path().join("job.toml");
    std::fs::write(&file, job_toml(job, port)).unwrap();
    let sent = sender(listener, lines.clone(), rate);
    let bin = std::env::var("SLUICE_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_sluice").into());
    let mut child = Command::new(bin)
        .arg("run")
        .arg(&file)
        .args(["--batches", &batches.to_string()])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn sluice");
    let done = Arc::new(AtomicBool::new(false));
    let watcher = watch(child.id(), done.clone());
    let (mut processing, mut delay) = (Vec::new(), Vec::new());
    let (mut counted, mut processed, mut largest) = (0u64, 0u64, 0u64);
    let (mut first_at, mut last_at) = (None, Instant::now());
    let stderr = BufReader::new(child.stderr.take().unwrap());
    for (i, line) in stderr.lines().map(Result::unwrap).enumerate() {
        let Some((records, p, d)) = parse_progress(&line) else {
            eprintln!("{line}");
            continue;
        };
        processed += records;
        largest = largest.max(records);
        if i < WARMUP {
            first_at = Some(Instant::now());
            continue;
        }
        counted += records;
        last_at = Instant::now();
        processing.push(p);
        delay.push(d);
    }
    let status = child.wait().unwrap();
    done.store(true, Ordering::Relaxed);
    let (hwm, (guest, other)) = watcher.join().unwrap();
    assert!(status.success(), "sluice failed: {status}");
    let span = last_at - first_at.expect("no warm-up batch");
    let line_bytes = lines.iter().map(Vec::len).sum::<usize>() as f64 / lines.len() as f64;
    Outcome {
        lines_per_s: counted as f64 / span.as_secs_f64().max(1e-9),
        processing: (
            percentile(&mut processing, 0.5),
            percentile(&mut processing, 0.99),
        ),
        delay: (percentile(&mut delay, 0.5), percentile(&mut delay, 0.99)),
        peak_mib: hwm as f64 / 1024.0,
        guest_other_mib: (guest as f64 / 1024.0, other as f64 / 1024.0),
        batch_mib: largest as f64 * line_bytes / f64::from(1 << 20),
        sent: sent.load(Ordering::Relaxed),
        processed,
    }
}

fn main() {
    let batches = env_or("SLUICE_BENCH_SECONDS", 15).max(WARMUP + 2);
    let rate = env_or("SLUICE_BENCH_RATE", 0);
    let jobs =
        std::env::var("SLUICE_BENCH_JOBS").unwrap_or_else(|_| "wordcount,state,window".into());
    let status = Command::new(repo().join("plugins/build.sh"))
        .arg("--quiet")
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "plugins/build.sh failed");
    let text = make_lines(200_000, 7);
    let lines: Arc<Vec<Vec<u8>>> =
        Arc::new(text.iter().map(|l| format!("{l}\n").into_bytes()).collect());
    let native = native_lines_per_s(&text, 5);
    let offered = if rate == 0 {
        "socket".to_owned()
    } else {
        format!("{rate}/s")
    };
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "TCP jobs, 1 s batches, {batches} batches ({WARMUP} warm-up), offered {offered}, load average {}",
        load.split(' ').take(3).collect::<Vec<_>>().join(" ")
    );
    println!("| job | lines/s | / native | batch p50 / p99 | delay p50 / p99 | peak RSS | guest / other at peak | largest batch input | 2.5x + 64 MiB |");
    println!("|---|---|---|---|---|---|---|---|---|");
    for job in jobs.split(',').map(str::trim).filter(|j| !j.is_empty()) {
        let o = run_job(job, &lines, rate, batches);
        let budget = 2.5 * o.batch_mib + 64.0;
        println!(
            "| {job} | {:.0} k | {:.3} | {:.0} / {:.0} ms | {:.0} / {:.0} ms | {:.0} MiB | {:.0} / {:.0} MiB | {:.1} MiB | {:.0} MiB{} |",
            o.lines_per_s / 1e3,
            o.lines_per_s / native,
            o.processing.0,
            o.processing.1,
            o.delay.0,
            o.delay.1,
            o.peak_mib,
            o.guest_other_mib.0,
            o.guest_other_mib.1,
            o.batch_mib,
            budget,
            if o.peak_mib <= budget { "" } else { " (over)" }
        );
        eprintln!("{job}: {} lines sent, {} processed", o.sent, o.processed);
    }
    println!(
        "native Rust word count (2 threads, HashMap): {:.0} k lines/s",
        native / 1e3
    );
}

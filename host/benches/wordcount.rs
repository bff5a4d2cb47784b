//! End-to-end word count: lines of 10 words from a 10,000-word vocabulary, `split_pairs`
//! (WebAssembly) then `reduce_by_key sum`, 1 s batches, through the real `sluice` binary —
//! from the generator (virtual clock, batches back to back) and from a TCP socket (wall
//! clock) — and the same pipeline as a plain native Rust program, for a ratio.
//!
//! `cargo bench -p sluice --bench wordcount`. Knobs: `SLUICE_BENCH_LINES` (lines per
//! batch, default 200000), `SLUICE_BENCH_BATCHES` (default 8), `SLUICE_BENCH_PLUGINS`
//! (plugins of `plugins/dist` whose `split_pairs` the generator run uses, comma-separated,
//! default `words`; e.g. `words,py-words,js-words` compares the Rust, Python and
//! JavaScript plugins in one run), `SLUICE_BENCH_JOBS` (the keyed stage of the generator
//! runs, comma-separated, default `wordcount`: `wordcount` is `reduce_by_key sum`,
//! `stateful` `update_state_by_key sum`, `windowed` `reduce_by_key_and_window sum` with
//! the inverse `sub` over 10 s sliding by 2 s), `SLUICE_BENCH_HINT` (`on`, `off` or
//! `on,off`, default `on`: whether the plugin's calls carry the combine hint of
//! docs/abi.md, i.e. `combine_hint` of the plugin), `SLUICE_BENCH_PARTITIONS` (generator
//! partitions per batch, default 32), `SLUICE_BENCH_OBSERVE_PAIRS` (generator runs with and
//! without `--ui`, alternating, for the cost of metrics; default 3), `SLUICE_BENCH_BASELINE`
//! (a `sluice` binary built from a commit without the observability code, run alternately
//! with those, for the cost of what is always on).
//! Prints sustained words/s, time from launch to the first batch, and peak RSS.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[allow(dead_code, reason = "each bench uses a part of it")]
mod common;

use common::{
    env_or, make_lines, native_lines_per_s, repo, status_kib, VOCABULARY, WORDS_PER_LINE,
};

/// The keyed stage of each job of `SLUICE_BENCH_JOBS`.
fn keyed_stage(name: &str) -> &'static str {
    match name {
        "wordcount" => "op = \"reduce_by_key\"\nfn = \"sum\"",
        "stateful" => "op = \"update_state_by_key\"\nfn = \"sum\"",
        "windowed" => "op = \"reduce_by_key_and_window\"\nfn = \"sum\"\ninv_fn = \"sub\"\nwindow = \"10s\"\nslide = \"2s\"",
        other => panic!("unknown job `{other}` in SLUICE_BENCH_JOBS (wordcount, stateful, windowed)"),
    }
}

fn job(source: &str, plugin: &str) -> String {
    job_with(source, plugin, "wordcount", true)
}

fn job_with(source: &str, plugin: &str, keyed: &str, hint: bool) -> String {
    format!(
        r#"
[job]
name = "bench"
batch_interval = "1s"
block_interval = "200ms"
[plugins.words]
path = {wasm:?}
combine_hint = {hint}
[sources.lines]
{source}
[streams.pairs]
from = "lines"
op = "flat_map"
fn = "words.split_pairs"
[streams.counts]
from = "pairs"
{stage}
[sinks.out]
from = "counts"
kind = "print"
num = 0
"#,
        stage = keyed_stage(keyed),
        wasm = repo()
            .join(format!("plugins/dist/{plugin}.wasm"))
            .display()
            .to_string()
    )
}

/// One progress line: (records in, processing ms).
fn parse_progress(line: &str) -> Option<(u64, f64)> {
    let rest = line.split("ms: ").nth(1)?;
    let records: u64 = rest.split(' ').next()?.parse().ok()?;
    let processing: f64 = rest
        .split("processing ")
        .nth(1)?
        .split(' ')
        .next()?
        .parse()
        .ok()?;
    Some((records, processing))
}

/// Peak RSS of a running process in KiB (VmHWM), polled until it exits.
fn watch_rss(pid: u32, done: Arc<AtomicBool>) -> std::thread::JoinHandle<u64> {
    std::thread::spawn(move || {
        let mut peak = 0;
        while !done.load(Ordering::Relaxed) {
            if let Ok(s) = std::fs::read_to_string(format!("/proc/{pid}/status")) {
                for l in s.lines() {
                    if let Some(v) = l.strip_prefix("VmHWM:") {
                        let kb: u64 = v.trim().trim_end_matches(" kB").trim().parse().unwrap_or(0);
                        peak = peak.max(kb);
                    }
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        peak
    })
}

struct Run {
    words_per_s: f64,
    first_batch: Duration,
    peak_rss_mib: f64,
    max_processing_ms: f64,
}

/// Runs `sluice` on a job file and reads its progress lines.
fn run_sluice(job_file: &Path, args: &[&str], during: impl FnMut(&Child)) -> Run {
    run_binary(
        Path::new(env!("CARGO_BIN_EXE_sluice")),
        job_file,
        args,
        during,
    )
}

/// [`run_sluice`] with another `sluice` binary (a baseline build).
fn run_binary(
    binary: &Path,
    job_file: &Path,
    args: &[&str],
    mut during: impl FnMut(&Child),
) -> Run {
    let launched = Instant::now();
    let mut child = Command::new(binary)
        .arg("run")
        .arg(job_file)
        .args(args)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn sluice");
    let done = Arc::new(AtomicBool::new(false));
    let rss = watch_rss(child.id(), done.clone());
    during(&child);
    let stderr = BufReader::new(child.stderr.take().unwrap());
    let mut first_batch = None;
    let mut first_at = None;
    let (mut words, mut max_processing) = (0u64, 0f64);
    let mut last_at = launched;
    for line in stderr.lines() {
        let line = line.unwrap();
        let Some((records, processing)) = parse_progress(&line) else {
            eprintln!("{line}");
            continue;
        };
        let now = Instant::now();
        max_processing = max_processing.max(processing);
        if first_batch.is_none() {
            first_batch = Some(now - launched);
            first_at = Some(now);
            continue; // warm-up: compilation, first instances
        }
        words += records * WORDS_PER_LINE as u64;
        last_at = now;
    }
    let status = child.wait().unwrap();
    done.store(true, Ordering::Relaxed);
    assert!(status.success(), "sluice failed: {status}");
    let span = last_at - first_at.expect("no batch ran");
    Run {
        words_per_s: words as f64 / span.as_secs_f64().max(1e-9),
        first_batch: first_batch.unwrap(),
        peak_rss_mib: rss.join().unwrap() as f64 / 1024.0,
        max_processing_ms: max_processing,
    }
}

/// Resident memory of this process, in KiB.
fn rss_kib() -> u64 {
    status_kib(std::process::id(), "VmRSS")
}

/// A plugin's start-up costs: file size, the first load (compile or cache), then the mean
/// time and resident memory of one more instance (a `Plugin::load` of the same file
/// reuses the compiled code, so it costs linking, instantiation, `functions` and `init`).
fn instance_costs(plugin: &str) {
    use sluice::wasm::{Limits, Plugin, RuntimeConfig, WasmRuntime};
    let path = repo().join(format!("plugins/dist/{plugin}.wasm"));
    let size = std::fs::metadata(&path).map_or(0, |m| m.len());
    let runtime = WasmRuntime::new(RuntimeConfig::from_env()).unwrap();
    let params = serde_json::json!({});
    let start = Instant::now();
    let first = Plugin::load(&runtime, plugin, &path, &params, Limits::default()).unwrap();
    let first_load = start.elapsed();
    const N: u32 = 8;
    let before = rss_kib();
    let start = Instant::now();
    let more: Vec<Plugin> = (0..N)
        .map(|_| Plugin::load(&runtime, plugin, &path, &params, Limits::default()).unwrap())
        .collect();
    let each = start.elapsed() / N;
    let mib = (rss_kib().saturating_sub(before)) as f64 / 1024.0 / f64::from(N);
    println!(
        "| {plugin}.wasm | {:.1} MiB | {:.0} ms | {:.1} ms | {mib:.1} MiB |",
        size as f64 / f64::from(1 << 20),
        first_load.as_secs_f64() * 1e3,
        each.as_secs_f64() * 1e3
    );
    drop((first, more));
}

fn main() {
    let lines_per_batch = env_or("SLUICE_BENCH_LINES", 200_000);
    let batches = env_or("SLUICE_BENCH_BATCHES", 8);
    let status = Command::new(repo().join("plugins/build.sh"))
        .arg("--quiet")
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "plugins/build.sh failed");
    let dir = tempfile::tempdir().unwrap();
    let plugins = std::env::var("SLUICE_BENCH_PLUGINS").unwrap_or_else(|_| "words".into());
    println!("Plugin start-up (first load: compile or disk cache; then per extra instance)");
    println!("| plugin | size | first load | one more instance | resident memory per instance |");
    println!("|---|---|---|---|---|");
    for plugin in plugins.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        instance_costs(plugin);
    }

    // 1. Generator, virtual clock: batches back to back, so words/s is the processing rate;
    // once per plugin.
    let b = batches.to_string();
    let mut by_plugin = Vec::new();
    for plugin in plugins.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let gen = dir.path().join(format!("gen-{plugin}.toml"));
        std::fs::write(
            &gen,
            job(
                &format!(
                    "kind = \"generator\"\nrate = {lines_per_batch}\nwords_per_line = {WORDS_PER_LINE}\nvocabulary = {VOCABULARY}\npartitions = 32"
                ),
                plugin,
            ),
        )
        .unwrap();
        let run = run_sluice(&gen, &["--clock", "virtual", "--batches", &b], |_| {});
        by_plugin.push((plugin.to_owned(), run));
    }
    let g = &by_plugin[0].1;
    let keyed = keyed_runs(dir.path(), lines_per_batch, &b);

    // 1b. The cost of metrics: the same run with `--ui` (the observer, the metrics and the
    // UI server) against runs without, alternating, in the same process of measuring.
    let pairs = env_or("SLUICE_BENCH_OBSERVE_PAIRS", 3);
    let gen = dir.path().join(format!("gen-{}.toml", by_plugin[0].0));
    let baseline = std::env::var_os("SLUICE_BENCH_BASELINE").map(PathBuf::from);
    let (mut plain, mut observed, mut base) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..pairs {
        if let Some(bin) = &baseline {
            let args = ["--clock", "virtual", "--batches", &b];
            base.push(run_binary(bin, &gen, &args, |_| {}).words_per_s);
        }
        plain.push(run_sluice(&gen, &["--clock", "virtual", "--batches", &b], |_| {}).words_per_s);
        let ui = ["--clock", "virtual", "--batches", &b, "--ui", "127.0.0.1:0"];
        observed.push(run_sluice(&gen, &ui, |_| {}).words_per_s);
    }

    // 2. TCP socket, wall clock: a server writes lines as fast as the receiver reads them.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let tcp = dir.path().join("tcp.toml");
    std::fs::write(
        &tcp,
        job(
            &format!(
            "kind = \"tcp\"\nhost = \"127.0.0.1\"\nport = {port}\nrate_limit = {lines_per_batch}"
        ),
            "words",
        ),
    )
    .unwrap();
    let mut text = make_lines(lines_per_batch, 7).join("\n");
    text.push('\n');
    let writer = std::thread::spawn(move || {
        let Ok((mut conn, _)) = listener.accept() else {
            return;
        };
        while conn.write_all(text.as_bytes()).is_ok() {}
    });
    let t = run_sluice(&tcp, &["--batches", &b], |_| {});
    drop(writer); // the server thread ends when the socket closes

    // 3. Native.
    let lines = make_lines(lines_per_batch, 7);
    let n = native_lines_per_s(&lines, batches) * WORDS_PER_LINE as f64;

    println!("End-to-end word count ({lines_per_batch} lines x {WORDS_PER_LINE} words per 1 s batch, vocabulary {VOCABULARY}, {batches} batches)");
    println!("| run | words/s | first batch after launch | peak RSS | slowest batch |");
    println!("|---|---|---|---|---|");
    let mut rows: Vec<(String, &Run)> = by_plugin
        .iter()
        .map(|(p, r)| (format!("generator (virtual clock), {p}.wasm"), r))
        .collect();
    rows.push(("TCP socket (wall clock), words.wasm".into(), &t));
    for (name, r) in rows {
        println!(
            "| {name} | {:.2} M | {:.0} ms | {:.0} MiB | {:.0} ms |",
            r.words_per_s / 1e6,
            r.first_batch.as_secs_f64() * 1e3,
            r.peak_rss_mib,
            r.max_processing_ms
        );
    }
    println!(
        "| native Rust (2 threads, HashMap) | {:.2} M | - | - | - |",
        n / 1e6
    );
    println!("generator / native = {:.2}", g.words_per_s / n);
    for (p, r) in &by_plugin[1..] {
        println!(
            "{p} / {} = {:.3}",
            by_plugin[0].0,
            r.words_per_s / g.words_per_s
        );
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    if pairs > 0 {
        let (p, o) = (median(&mut plain), median(&mut observed));
        println!(
            "metrics (--ui) vs none, median of {pairs} alternating runs: {:.2} M vs {:.2} M words/s, ratio {:.3} ({:+.1} %)",
            o / 1e6,
            p / 1e6,
            o / p,
            (o / p - 1.0) * 100.0
        );
        if !base.is_empty() {
            let m = median(&mut base);
            println!(
                "baseline binary, median of {pairs}: {:.2} M words/s; this build without --ui {:.3}, with --ui {:.3} of it",
                m / 1e6,
                p / m,
                o / m
            );
        }
    }
    if !keyed.is_empty() {
        println!("Generator runs by keyed stage and combine hint (words.wasm; lines/s = words/s / {WORDS_PER_LINE})");
        println!(
            "| job | combine hint | lines/s | words/s | x native | peak RSS | slowest batch |"
        );
        println!("|---|---|---|---|---|---|---|");
    }
    for (name, hint, r) in &keyed {
        println!(
            "| {name} | {} | {:.2} M | {:.2} M | {:.2} | {:.0} MiB | {:.0} ms |",
            if *hint { "on" } else { "off" },
            r.words_per_s / 1e6 / WORDS_PER_LINE as f64,
            r.words_per_s / 1e6,
            r.words_per_s / n,
            r.peak_rss_mib,
            r.max_processing_ms
        );
    }
}

/// The generator runs of `SLUICE_BENCH_JOBS` × `SLUICE_BENCH_HINT` (none when both are
/// unset: the default run is the one above), hint settings alternating per job.
fn keyed_runs(dir: &Path, lines_per_batch: usize, batches: &str) -> Vec<(String, bool, Run)> {
    if std::env::var_os("SLUICE_BENCH_JOBS").is_none()
        && std::env::var_os("SLUICE_BENCH_HINT").is_none()
    {
        return Vec::new();
    }
    let jobs = std::env::var("SLUICE_BENCH_JOBS").unwrap_or_else(|_| "wordcount".into());
    let hints = std::env::var("SLUICE_BENCH_HINT").unwrap_or_else(|_| "on".into());
    let partitions = env_or("SLUICE_BENCH_PARTITIONS", 32);
    let mut runs = Vec::new();
    for name in jobs.split(',').map(str::trim).filter(|j| !j.is_empty()) {
        for hint in hints.split(',').map(|h| h.trim() == "on") {
            let file = dir.join(format!("{name}-{hint}.toml"));
            let source = format!(
                "kind = \"generator\"\nrate = {lines_per_batch}\nwords_per_line = {WORDS_PER_LINE}\nvocabulary = {VOCABULARY}\npartitions = {partitions}"
            );
            std::fs::write(&file, job_with(&source, "words", name, hint)).unwrap();
            let run = run_sluice(&file, &["--clock", "virtual", "--batches", batches], |_| {});
            runs.push((name.to_owned(), hint, run));
        }
    }
    runs
}

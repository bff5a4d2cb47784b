//! Noisy neighbour: tenant B runs a steady word count (1 s batches) on `sluice serve`;
//! B's batch processing time and scheduling delay are measured alone, then while tenant A
//! runs jobs whose plugin spins through every batch (steps longer than the interval, so
//! they always want CPU) and one whose plugin grows its memory to its limit at every
//! call. Equal `cpu_weight`s. Drives the real binary over HTTP.
//!
//! `cargo bench -p sluice --bench noisy_neighbour`. Knobs: `NOISY_WORKERS` (default 2),
//! `NOISY_B_RATE` (B's lines/s, default 600000), `NOISY_BATCHES` (measured batches per
//! phase, default 20), `NOISY_SPINNERS` (A's spinning jobs, default 3).
//!
//! On a machine busy with other work, run it in its own session and scheduling group at a
//! higher priority, so that its wall times are not the other work's (docs/performance.md):
//! `setsid bash -c 'echo -15 > /proc/self/autogroup; nice -n -15 cargo bench …'`.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use sha2::{Digest, Sha256};

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn digest(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

struct Server {
    child: Child,
    url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(dir: &Path, workers: u64) -> Server {
    let config = format!(
        "[server]\nlisten = \"127.0.0.1:0\"\ndata_dir = \"data\"\nworkers = {workers}\n\
         [tenants.a]\ntoken_sha256 = \"{}\"\nmax_jobs = 8\ncpu_weight = 1\nmax_memory = \"512MiB\"\n\
         [tenants.b]\ntoken_sha256 = \"{}\"\ncpu_weight = 1\n\
         [admin]\ntoken_sha256 = \"{}\"\n",
        digest("a-token"),
        digest("b-token"),
        digest("admin-token")
    );
    std::fs::write(dir.join("serve.toml"), config).unwrap();
    let log = std::fs::File::create(dir.join("server.log")).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["serve", "--config"])
        .arg(dir.join("serve.toml"))
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::from(log))
        .spawn()
        .expect("start sluice serve");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .expect("address")
        .to_owned();
    Server { child, url }
}

fn call(server: &Server, token: &str, method: &str, path: &str, body: &[u8]) -> Value {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let url = format!("{}{path}", server.url);
    let auth = format!("Bearer {token}");
    let r = match method {
        "GET" => agent.get(&url).header("Authorization", &auth).call(),
        "PUT" => agent.put(&url).header("Authorization", &auth).send(body),
        _ => agent.post(&url).header("Authorization", &auth).send(body),
    };
    let mut r = r.expect("request");
    let status = r.status().as_u16();
    let text = r.body_mut().read_to_string().unwrap_or_default();
    assert!(status < 300, "{method} {path}: {status} {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

/// `wat-count` made to grow its memory to `pages` 64 KiB pages (and touch each) at every
/// call: an instance that allocates up to its memory limit.
fn hog_wat(pages: u32) -> String {
    let wat = std::fs::read_to_string(repo().join("plugins/wat-count/count.wat")).unwrap();
    let head = "(func (export \"count\") (param $ptr i32) (param $len i32) (result i64)\n    \
                (local $end i32) (local $h i32) (local $items i32) (local $out i32) (local $w i32)\n";
    assert!(wat.contains(head), "count.wat changed");
    let grow = format!(
        "{head}    (local $old i32) (local $p i32)\n    \
         (local.set $old (memory.size))\n    \
         (if (i32.lt_u (local.get $old) (i32.const {pages}))\n      \
         (then (drop (memory.grow (i32.sub (i32.const {pages}) (local.get $old))))))\n    \
         (local.set $p (i32.mul (local.get $old) (i32.const 65536)))\n    \
         (block $done (loop $touch\n      \
         (br_if $done (i32.ge_u (local.get $p) (i32.mul (memory.size) (i32.const 65536))))\n      \
         (i32.store8 (local.get $p) (i32.const 1))\n      \
         (local.set $p (i32.add (local.get $p) (i32.const 65536)))\n      \
         (br $touch)))\n"
    );
    wat.replace(head, &grow)
}

fn wordcount(rate: u64) -> String {
    format!(
        "[job]\nname = \"b-wordcount\"\nbatch_interval = \"1s\"\n\
         [plugins.words]\nname = \"words\"\nlimits = {{ memory = \"64MiB\" }}\n\
         [sources.lines]\nkind = \"generator\"\nrate = {rate}\nwords_per_line = 10\npartitions = 8\n\
         [streams.pairs]\nfrom = \"lines\"\nop = \"flat_map\"\nfn = \"words.split_pairs\"\n\
         [streams.counts]\nfrom = \"pairs\"\nop = \"reduce_by_key\"\nfn = \"sum\"\n\
         [sinks.out]\nfrom = \"counts\"\nkind = \"files\"\npath = \"out\"\n"
    )
}

const SPIN: &str = "[job]\nname = \"a-spin\"\nbatch_interval = \"1s\"\n\
    [plugins.busy]\nname = \"busy\"\nparams = { rounds = 1000000 }\n\
    limits = { memory = \"16MiB\", timeout = \"60s\" }\n\
    [sources.g]\nkind = \"generator\"\nrate = 2000\npartitions = 2\n\
    [streams.s]\nfrom = \"g\"\nop = \"map\"\nfn = \"busy.spin\"\n\
    [streams.n]\nfrom = \"s\"\nop = \"count\"\n\
    [sinks.out]\nfrom = \"n\"\nkind = \"files\"\npath = \"out\"\n";

const HOG: &str = "[job]\nname = \"a-hog\"\nbatch_interval = \"1s\"\n\
    [plugins.hog]\nname = \"hog\"\nlimits = { memory = \"64MiB\" }\n\
    [sources.g]\nkind = \"generator\"\nrate = 100\npartitions = 4\n\
    [streams.n]\nfrom = \"g\"\nop = \"map_partitions\"\nfn = \"hog.count\"\n\
    [sinks.out]\nfrom = \"n\"\nkind = \"files\"\npath = \"out\"\n";

/// B's batches (time, processing ms, delay ms, cpu ms) until `n` new ones after `after`.
fn collect(server: &Server, id: &str, after: i64, n: usize) -> Vec<(i64, f64, f64, f64)> {
    let mut seen: Vec<(i64, f64, f64, f64)> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60 + 3 * n as u64);
    while seen.len() < n && Instant::now() < deadline {
        let s = call(server, "b-token", "GET", &format!("/v1/jobs/{id}"), b"");
        for b in s["last_batches"].as_array().into_iter().flatten() {
            let t = b["time_ms"].as_i64().unwrap();
            if t > after && !seen.iter().any(|x| x.0 == t) {
                let f = |k: &str| b[k].as_f64().unwrap_or(0.0);
                seen.push((t, f("processing_ms"), f("scheduling_delay_ms"), f("cpu_ms")));
            }
        }
        seen.sort_by_key(|x| x.0);
        std::thread::sleep(Duration::from_secs(2));
    }
    seen.truncate(n);
    seen
}

fn pct(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v.get(i).copied().unwrap_or(f64::NAN)
}

fn cpu_of(server: &Server, tenant: &str) -> f64 {
    let u = call(server, "admin-token", "GET", "/v1/usage", b"");
    u.as_array()
        .and_then(|a| a.iter().find(|x| x["tenant"] == tenant))
        .and_then(|x| x["cpu_ms"].as_f64())
        .unwrap_or(0.0)
}

fn report(label: &str, batches: &[(i64, f64, f64, f64)]) -> (f64, f64) {
    let mut proc: Vec<f64> = batches.iter().map(|b| b.1).collect();
    let mut delay: Vec<f64> = batches.iter().map(|b| b.2).collect();
    let mut cpu: Vec<f64> = batches.iter().map(|b| b.3).collect();
    let (p50, p99) = (pct(&mut proc, 0.5), pct(&mut proc, 0.99));
    let (d50, d99, dmax) = (
        pct(&mut delay, 0.5),
        pct(&mut delay, 0.99),
        pct(&mut delay, 1.0),
    );
    println!(
        "| {label} | {} | {p50:.0} | {p99:.0} | {d50:.0} | {d99:.0} | {dmax:.0} | {:.0} |",
        batches.len(),
        pct(&mut cpu, 0.5)
    );
    (p50, d99)
}

fn main() {
    let workers = env_or("NOISY_WORKERS", 2);
    let rate = env_or("NOISY_B_RATE", 600_000);
    let n = env_or("NOISY_BATCHES", 20) as usize;
    let spinners = env_or("NOISY_SPINNERS", 3);
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), workers);
    let dist = repo().join("plugins/dist");
    call(
        &server,
        "b-token",
        "PUT",
        "/v1/plugins/words",
        &std::fs::read(dist.join("words.wasm")).unwrap(),
    );
    call(
        &server,
        "a-token",
        "PUT",
        "/v1/plugins/busy",
        &std::fs::read(dist.join("busy.wasm")).unwrap(),
    );
    call(
        &server,
        "a-token",
        "PUT",
        "/v1/plugins/hog",
        hog_wat(1000).as_bytes(),
    );
    let b = call(
        &server,
        "b-token",
        "POST",
        "/v1/jobs",
        wordcount(rate).as_bytes(),
    );
    let b = b["id"].as_str().unwrap().to_owned();
    // Warm up (compilation, first instances), then B alone.
    let warm = collect(&server, &b, 0, 5);
    let (cpu0, wall0) = (cpu_of(&server, "b"), Instant::now());
    let alone = collect(&server, &b, warm.last().map_or(0, |x| x.0), n);
    let b_share_alone =
        (cpu_of(&server, "b") - cpu0) / (wall0.elapsed().as_secs_f64() * 1e3 * workers as f64);
    for _ in 0..spinners {
        call(&server, "a-token", "POST", "/v1/jobs", SPIN.as_bytes());
    }
    call(&server, "a-token", "POST", "/v1/jobs", HOG.as_bytes());
    std::thread::sleep(Duration::from_secs(5));
    let (a0, b0, wall1) = (cpu_of(&server, "a"), cpu_of(&server, "b"), Instant::now());
    let under = collect(&server, &b, alone.last().map_or(0, |x| x.0) + 5000, n);
    let window = wall1.elapsed().as_secs_f64() * 1e3;
    let (a1, b1) = (cpu_of(&server, "a"), cpu_of(&server, "b"));
    println!("\nworkers = {workers}, B: {rate} lines/s x 10 words, 1 s batches; A: {spinners} spinning jobs + 1 growing its memory to 64 MiB at every call\n");
    println!("| B | batches | processing p50 ms | p99 ms | scheduling delay p50 ms | p99 ms | max ms | CPU p50 ms |");
    println!("|---|---|---|---|---|---|---|---|");
    let (p_alone, _) = report("alone", &alone);
    let (p_under, d_under) = report("under A", &under);
    let slots = window * workers as f64;
    println!(
        "\nB alone: {:.0} % of the pool's CPU. Under A: A {:.0} %, B {:.0} % of the pool ({workers} slots x {:.1} s); A's share of what was used: {:.0} %.",
        100.0 * b_share_alone,
        100.0 * (a1 - a0) / slots,
        100.0 * (b1 - b0) / slots,
        window / 1e3,
        100.0 * (a1 - a0) / ((a1 - a0) + (b1 - b0)).max(1e-9),
    );
    println!(
        "B's processing p50 {:+.0} % under A (aim: at most +20 %); scheduling delay p99 {d_under:.0} ms (aim: under 1000 ms).",
        100.0 * (p_under / p_alone - 1.0)
    );
    let a_jobs = call(&server, "a-token", "GET", "/v1/jobs", b"");
    for j in a_jobs.as_array().into_iter().flatten() {
        println!(
            "A job {} {}: {} {}",
            j["id"], j["name"], j["state"], j["reason"]
        );
    }
}

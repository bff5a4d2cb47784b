//! Helpers: a job with a slow stage and a plugin that rejects records, started with
//! `--ui 127.0.0.1:0`; plain HTTP GETs; finding optional tools.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A built plugin (plugins/build.sh runs once per test binary).
pub fn plugin_wasm(name: &str) -> PathBuf {
    static BUILT: std::sync::OnceLock<()> = std::sync::OnceLock::new();
    BUILT.get_or_init(|| {
        let status = Command::new(repo_root().join("plugins/build.sh"))
            .arg("--quiet")
            .status()
            .expect("run plugins/build.sh");
        assert!(status.success(), "plugins/build.sh failed");
    });
    repo_root()
        .join("plugins/dist")
        .join(format!("{name}.wasm"))
}

/// The job every test watches: generated lines through a deliberately slow stage
/// (`slow`, plugin `busy.spin`, about 0.4 ms of CPU per record) into a count, and a
/// queue whose first batch holds one malformed JSON line that `json.parse` rejects
/// (error policy `dead_letter`).
pub fn watched_job(dir: &Path, batch_interval: &str) -> PathBuf {
    let text = format!(
        r#"
[job]
name = "watched"
batch_interval = "{batch_interval}"
error_policy = "dead_letter"
dead_letter = {{ path = "dead" }}

[plugins.busy]
path = {busy:?}
params = {{ rounds = 100000 }}

[plugins.json]
path = {json:?}

[sources.lines]
kind = "generator"
rate = 200
words_per_line = 4
vocabulary = 50

[sources.events]
kind = "queue"
data = '[["{{\"id\": 1}}", "not json {{", "{{\"id\": 2}}"]]'

[streams.slow]
from = "lines"
op = "map"
fn = "busy.spin"

[streams.counted]
from = "slow"
op = "count"

[streams.parsed]
from = "events"
op = "map"
fn = "json.parse"

[sinks.counts]
from = "counted"
kind = "files"
path = "counts"

[sinks.events]
from = "parsed"
kind = "files"
path = "events"
"#,
        busy = plugin_wasm("busy").display().to_string(),
        json = plugin_wasm("json").display().to_string(),
    );
    let path = dir.join("job.toml");
    std::fs::write(&path, text).expect("write job");
    path
}

/// A running `sluice run JOB --ui 127.0.0.1:0`, killed on drop.
pub struct Running {
    pub child: Child,
    pub addr: SocketAddr,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the job with the UI on a free port and `extra` arguments; returns once the
/// address is known.
pub fn start_with_ui(job: &Path, extra: &[&str]) -> Running {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .arg("run")
        .arg(job)
        .args(["--ui", "127.0.0.1:0"])
        .args(extra)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start sluice");
    let stderr = Arc::new(Mutex::new(String::new()));
    let (tx, rx) = mpsc::channel();
    let pipe = child.stderr.take().expect("stderr");
    let log = stderr.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines().map_while(Result::ok) {
            if let Some(addr) = line
                .strip_prefix("UI on http://")
                .and_then(|r| r.strip_suffix('/'))
            {
                let _ = tx.send(addr.parse::<SocketAddr>().expect("address"));
            }
            let mut log = log.lock().unwrap();
            log.push_str(&line);
            log.push('\n');
        }
    });
    let addr = rx
        .recv_timeout(Duration::from_secs(60))
        .unwrap_or_else(|_| panic!("no UI address; stderr:\n{}", stderr.lock().unwrap()));
    Running { child, addr }
}

/// `GET path` with an `Accept` header: (status, content type, body).
pub fn get(addr: SocketAddr, path: &str, accept: &str) -> (u16, String, String) {
    let mut s = TcpStream::connect(addr).expect("connect to the UI");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAccept: {accept}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).expect("read the response");
    let text = String::from_utf8(raw).expect("utf-8 response");
    let (head, body) = text.split_once("\r\n\r\n").expect("headers");
    let status = head[9..12].parse().expect("status");
    let header = |name: &str| {
        head.lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
            })
            .unwrap_or_default()
    };
    let body = if header("transfer-encoding") == "chunked" {
        dechunk(body)
    } else {
        body.to_owned()
    };
    (status, header("content-type"), body)
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 {
            break;
        }
        out.push_str(&rest[..n]);
        body = &rest[n + 2..];
    }
    out
}

/// `GET path` parsed as JSON.
pub fn get_json(addr: SocketAddr, path: &str) -> serde_json::Value {
    let (status, _, body) = get(addr, path, "application/json");
    assert_eq!(status, 200, "GET {path}: {body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {path}: {e}: {body}"))
}

/// Polls `check` every 200 ms until it returns `Some`, for at most `limit`.
pub fn wait_for<T>(limit: Duration, what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The path of an installed program, or `None` after printing one line saying the test
/// is skipped (scripts/setup.sh installs them).
pub fn tool(name: &str, test: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        eprintln!("{test}: skipped: `{name}` is not installed (scripts/setup.sh installs it)");
    }
    found
}

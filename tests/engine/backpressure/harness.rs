//! The harness of the backpressure tests: a paced line writer (TCP server or a child's
//! standard input), a run of `sluice` observed from outside (progress lines, RSS from
//! `/proc/PID/status`), and readers of what the job wrote.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{read_jsonl, JobDir};

/// Records per second the sender tries to write: far beyond what the job processes.
pub const OFFERED: u64 = 100_000;

/// Bytes of each line the sender writes (newline included).
pub const LINE_BYTES: usize = 100;

/// Line `i`: a JSON record `{"n": i, "pad": "xx..."}` of [`LINE_BYTES`] bytes.
pub fn line(i: u64, out: &mut String) {
    let head = format!("{{\"n\":{i},\"pad\":\"");
    out.push_str(&head);
    out.extend(std::iter::repeat_n('x', LINE_BYTES - head.len() - 3));
    out.push_str("\"}\n");
}

/// One progress line of `sluice run`.
#[derive(Debug, Clone)]
pub struct Progress {
    pub records_in: u64,
    pub delay_ms: u64,
    pub rate_limit: Option<f64>,
}

/// Parses `[job] batch T ms: N records in, M out, processing P ms, scheduling delay D ms
/// [, rate limit R records/s]`.
pub fn parse_progress(line: &str) -> Option<Progress> {
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

/// Writes lines `{"n":0,...}`, `{"n":1,...}`, ... paced to [`OFFERED`] records per
/// second, with blocking writes: a reader that stops reading holds it back (TCP flow
/// control, a full pipe).
pub struct PacedWriter {
    written: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl PacedWriter {
    /// Starts writing to what `open` returns (on the writer's thread).
    pub fn start<W: Write>(open: impl FnOnce() -> Option<W> + Send + 'static) -> PacedWriter {
        let written = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (written, stop) = (written.clone(), stop.clone());
            std::thread::spawn(move || {
                let Some(mut out) = open() else {
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
                    // Counted line by line as they enter the pipe or socket: at a clean
                    // stop the job processes every line it read, the last ones of a
                    // chunk that was only partly written too.
                    let bytes = text.as_bytes();
                    let mut off = 0;
                    while off < bytes.len() {
                        match out.write(&bytes[off..]) {
                            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                            Ok(0) | Err(_) => return,
                            Ok(k) => off += k,
                        }
                        written.store(next + (off / LINE_BYTES) as u64, Ordering::Relaxed);
                    }
                    next += n;
                }
            })
        };
        PacedWriter {
            written,
            stop,
            thread: Some(thread),
        }
    }

    /// A TCP server on 127.0.0.1 writing to the one client it accepts, and its port.
    pub fn tcp_server() -> (PacedWriter, u16) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let writer = PacedWriter::start(move || listener.accept().ok().map(|(c, _)| c));
        (writer, port)
    }

    /// Stops writing and returns the records written (whole lines in the pipe or
    /// socket), once the writer's last write returned: after the job exited, a write it
    /// was blocked in may have put lines in that the job read and processed.
    pub fn finish(mut self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        self.written.load(Ordering::Relaxed)
    }
}

impl Drop for PacedWriter {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // A writer blocked in a write is released when the job's socket or pipe closes.
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The resident set of a process, KiB, from `/proc/PID/status`.
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// What a run of `sluice` printed and how big it got.
pub struct Observed {
    /// The progress lines.
    pub progress: Vec<Progress>,
    /// RSS samples, every 250 ms.
    pub rss_kib: Vec<u64>,
    /// Everything on stderr.
    pub stderr: String,
    /// Records written to standard input, when it was fed.
    pub stdin_written: Option<u64>,
}

impl Observed {
    pub fn delays(&self) -> Vec<u64> {
        self.progress.iter().map(|p| p.delay_ms).collect()
    }

    pub fn limits(&self) -> Vec<u64> {
        self.progress
            .iter()
            .filter_map(|p| p.rate_limit.map(|r| r as u64))
            .collect()
    }

    pub fn summary(&self) -> String {
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
/// SIGTERM and waits for it to finish. With `feed_stdin`, a [`PacedWriter`] writes to the
/// job's standard input.
pub fn observe(job: &JobDir, run_for: Duration, feed_stdin: bool) -> Observed {
    let mut child: Child = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["run", job.job().to_str().unwrap()])
        .env("RUST_LOG", "warn")
        .stdin(if feed_stdin {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdin = child.stdin.take();
    let writer = stdin.map(|s| PacedWriter::start(move || Some(s)));
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
    let stdin_written = writer.map(PacedWriter::finish);
    reader.join().unwrap();
    let lines = std::mem::take(&mut *lines.lock().unwrap());
    let stderr = lines.join("\n");
    assert!(status.success(), "{status}\n{stderr}");
    Observed {
        progress: lines.iter().filter_map(|l| parse_progress(l)).collect(),
        rss_kib: rss,
        stderr,
        stdin_written,
    }
}

/// Every record the files sink wrote, in batch order.
pub fn sink_records(dir: &std::path::Path) -> Vec<Value> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map(|d| d.filter_map(|e| Some(e.ok()?.path())).collect())
        .unwrap_or_default();
    files.sort();
    files.iter().flat_map(|f| read_jsonl(f)).collect()
}

/// Asserts that the files sink in `out` holds exactly the first records the sender wrote
/// (their field `n`), each once and in order, as many as the progress lines counted;
/// returns that count.
pub fn assert_first_records_in_order(out: &std::path::Path, seen: &Observed, why: &str) -> u64 {
    let records: Vec<u64> = sink_records(out)
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
    counted
}

/// The most a TCP connection's kernel buffers can hold: the largest receive buffer plus
/// the largest send buffer (`net.ipv4.tcp_rmem` and `tcp_wmem`, third field).
pub fn kernel_buffer_max() -> u64 {
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

//! A clean stop through the binary: SIGTERM puts everything a TCP receiver read into a
//! final batch (with and without checkpoints), `stdin` at its end finishes the job (or
//! keeps it running with `keep_running`), and a second SIGTERM stops at once.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{plugin_table, read_jsonl, JobDir};

/// A job reading `source` into a files sink `out`, one file per batch.
fn lines_job(source: &str, batch: &str, extra: &str) -> JobDir {
    JobDir::new(&format!(
        r#"
[job]
name = "stop"
batch_interval = "{batch}"
block_interval = "100ms"
{extra}
[sources.lines]
{source}

[sinks.out]
from = "lines"
kind = "files"
path = "out"
"#
    ))
}

/// Every record the files sink wrote, in batch order.
fn written(job: &JobDir) -> Vec<String> {
    let dir = job.path("out");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut files: Vec<(i64, std::path::PathBuf)> = entries
        .filter_map(|e| {
            let path = e.ok()?.path();
            let name = path.file_name()?.to_str()?;
            let t = name.strip_prefix("batch-")?.strip_suffix(".jsonl")?;
            Some((t.parse().ok()?, path))
        })
        .collect();
    files.sort();
    files
        .iter()
        .flat_map(|(_, p)| read_jsonl(p))
        .map(|v| v.as_str().expect("string record").to_owned())
        .collect()
}

fn spawn(job: &JobDir, extra: &[&str], stdin: Stdio) -> Child {
    Command::new(env!("CARGO_BIN_EXE_sluice"))
        .arg("run")
        .arg(job.job())
        .args(extra)
        .env("RUST_LOG", "info")
        .stdin(stdin)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start sluice")
}

fn sigterm(child: &Child) {
    let ok = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("run kill")
        .success();
    assert!(ok, "kill -TERM {}", child.id());
}

/// Waits for `child` at most `limit`; returns its status and stderr (`None`: still running,
/// then killed).
fn wait_at_most(mut child: Child, limit: Duration) -> (Option<std::process::ExitStatus>, String) {
    let started = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break Some(s);
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    (status, err)
}

/// Sends `n` lines at 2,000 lines/s and keeps the connection open.
fn send_steadily(conn: &mut TcpStream, from: usize, n: usize) -> Vec<String> {
    let sent: Vec<String> = (from..from + n).map(|i| format!("line {i}")).collect();
    for chunk in sent.chunks(20) {
        conn.write_all(format!("{}\n", chunk.join("\n")).as_bytes())
            .unwrap();
        std::thread::sleep(Duration::from_millis(10));
    }
    sent
}

/// A TCP job stopped by SIGTERM right after 800 lines: all of them are in the output.
fn sigterm_after_steady_input(
    extra_args: &[&str],
    listener: &TcpListener,
    job: &JobDir,
    from: usize,
) -> (Vec<String>, String) {
    let child = spawn(job, extra_args, Stdio::null());
    let (mut conn, _) = listener.accept().unwrap();
    let sent = send_steadily(&mut conn, from, 800);
    std::thread::sleep(Duration::from_millis(100));
    sigterm(&child);
    let (status, err) = wait_at_most(child, Duration::from_secs(20));
    assert!(status.is_some_and(|s| s.success()), "{status:?}\n{err}");
    (sent, err)
}

#[test]
fn sigterm_puts_everything_received_into_a_final_batch() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let source = format!("kind = \"tcp\"\nhost = \"127.0.0.1\"\nport = {port}");
    let job = lines_job(&source, "2s", "");
    let (sent, err) = sigterm_after_steady_input(&[], &listener, &job, 0);
    assert_eq!(
        written(&job),
        sent,
        "every line sent before the stop, once\n{err}"
    );
    assert!(
        err.lines()
            .any(|l| l.contains("records in") && l.contains("final batch")),
        "a progress line for the final batch\n{err}"
    );
    assert!(err.contains("Stopped: the final batch"), "{err}");
}

#[test]
fn sigterm_with_the_write_ahead_log_loses_and_repeats_nothing() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let source = format!("kind = \"tcp\"\nhost = \"127.0.0.1\"\nport = {port}");
    let job = lines_job(&source, "2s", "");
    let ckpt = job.path("ckpt");
    let args = ["--checkpoint-dir", ckpt.to_str().unwrap()];
    let (mut sent, err) = sigterm_after_steady_input(&args, &listener, &job, 0);
    assert_eq!(written(&job), sent, "first run\n{err}");
    // The restart resumes after the final batch: it replays nothing and adds the new lines.
    let (more, err) = sigterm_after_steady_input(&args, &listener, &job, 800);
    sent.extend(more);
    assert_eq!(written(&job), sent, "after a restart\n{err}");
}

#[test]
fn stdin_at_its_end_finishes_the_job_with_every_line() {
    let job = lines_job("kind = \"stdin\"", "300ms", "");
    let mut child = spawn(&job, &[], Stdio::piped());
    let sent: Vec<String> = (0..5000).map(|i| format!("line {i}")).collect();
    let mut stdin = child.stdin.take().unwrap();
    stdin
        .write_all(format!("{}\n", sent.join("\n")).as_bytes())
        .unwrap();
    drop(stdin);
    let (status, err) = wait_at_most(child, Duration::from_secs(20));
    assert!(
        status.is_some_and(|s| s.success()),
        "exits 0 by itself: {status:?}\n{err}"
    );
    assert_eq!(written(&job), sent, "{err}");
}

#[test]
fn stdin_with_keep_running_goes_on_after_its_end() {
    let job = lines_job("kind = \"stdin\"\nkeep_running = true", "300ms", "");
    let mut child = spawn(&job, &[], Stdio::piped());
    child.stdin.take().unwrap().write_all(b"a\nb\n").unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    assert!(child.try_wait().unwrap().is_none(), "still running");
    sigterm(&child);
    let (status, err) = wait_at_most(child, Duration::from_secs(20));
    assert!(status.is_some_and(|s| s.success()), "{status:?}\n{err}");
    assert_eq!(written(&job), ["a", "b"], "{err}");
}

#[test]
fn a_second_sigterm_stops_a_long_batch_at_once() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let job = JobDir::new(&format!(
        r#"
[job]
name = "long"
batch_interval = "300ms"
block_interval = "100ms"
{busy}params = {{ rounds = 50000000 }}

[sources.lines]
kind = "tcp"
host = "127.0.0.1"
port = {port}

[streams.slow]
from = "lines"
op = "map"
fn = "busy.spin"

[sinks.out]
from = "slow"
kind = "files"
path = "out"
"#,
        busy = plugin_table("busy", "busy"),
    ));
    let child = spawn(&job, &[], Stdio::null());
    let (mut conn, _) = listener.accept().unwrap();
    conn.write_all("x\n".repeat(200).as_bytes()).unwrap();
    // The first batch with the lines is running (it takes far longer than this test).
    std::thread::sleep(Duration::from_millis(1500));
    sigterm(&child);
    std::thread::sleep(Duration::from_millis(300));
    assert!(child.id() > 0);
    sigterm(&child);
    let second = Instant::now();
    let (status, err) = wait_at_most(child, Duration::from_secs(30));
    let took = second.elapsed();
    assert!(
        took < Duration::from_secs(3),
        "exited {took:?} after the second SIGTERM\n{err}"
    );
    assert_eq!(status.and_then(|s| s.code()), Some(130), "{err}");
    assert!(
        err.contains("second interrupt: stopping now, the current batch is not finished"),
        "{err}"
    );
}

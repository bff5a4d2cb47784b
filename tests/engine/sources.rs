//! Sources against real things: a TCP socket, a directory fed while the job runs, files
//! with malformed lines under each error policy, and a stop by SIGTERM.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::support::{
    count_words, err_stderr, ok_stdout, read_jsonl, sorted, words_plugin, JobDir,
};

/// Batch files of a files sink, by batch time.
fn batches(dir: &std::path::Path) -> Vec<(i64, Vec<Value>)> {
    let mut out: Vec<(i64, Vec<Value>)> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| {
            let name = e.ok()?.file_name().into_string().ok()?;
            let t = name
                .strip_prefix("batch-")?
                .strip_suffix(".jsonl")?
                .parse()
                .ok()?;
            Some((t, read_jsonl(&dir.join(&name))))
        })
        .collect();
    out.sort_by_key(|(t, _)| *t);
    out
}

/// Checks that every batch's counts equal the counts of that batch's lines, and returns
/// all lines seen in order.
fn check_counts_per_batch(job: &JobDir) -> Vec<String> {
    let lines = batches(&job.path("lines"));
    let counts = batches(&job.path("counts"));
    assert_eq!(lines.len(), counts.len());
    let mut all = Vec::new();
    for ((t, ls), (t2, cs)) in lines.iter().zip(&counts) {
        assert_eq!(t, t2);
        let texts: Vec<&str> = ls.iter().map(|l| l.as_str().unwrap()).collect();
        assert_eq!(
            sorted(cs.clone()),
            count_words(texts.iter().copied()),
            "batch {t}"
        );
        all.extend(texts.iter().map(|s| s.to_string()));
    }
    all
}

fn pipeline(source: &str, extra_job: &str) -> String {
    format!(
        r#"
[job]
name = "src"
batch_interval = "400ms"
block_interval = "100ms"
{extra_job}
{plugin}
[sources.lines]
{source}

[streams.pairs]
from = "lines"
op = "flat_map"
fn = "words.split_pairs"

[streams.counts]
from = "pairs"
op = "reduce_by_key"
fn = "sum"

[sinks.lines]
from = "lines"
kind = "files"
path = "lines"

[sinks.counts]
from = "counts"
kind = "files"
path = "counts"
"#,
        plugin = words_plugin()
    )
}

fn text_line(i: usize) -> String {
    format!("w{} w{} common line{}", i % 7, i % 13, i % 3)
}

#[test]
fn tcp_socket_batches_count_like_an_independent_count() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let job = JobDir::new(&pipeline(
        &format!("kind = \"tcp\"\nhost = \"127.0.0.1\"\nport = {port}"),
        "",
    ));
    let child = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args([
            "run",
            job.job().to_str().unwrap(),
            "--batches",
            "10",
            "--quiet",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (mut conn, _) = listener.accept().unwrap();
    let sent: Vec<String> = (0..600).map(text_line).collect();
    for chunk in sent.chunks(200) {
        let mut text = chunk.join("\n");
        text.push('\n');
        conn.write_all(text.as_bytes()).unwrap();
        std::thread::sleep(Duration::from_millis(450));
    }
    drop(conn);
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seen = check_counts_per_batch(&job);
    assert_eq!(seen, sent, "every line once, in order");
    let spread = batches(&job.path("lines"))
        .iter()
        .filter(|(_, l)| !l.is_empty())
        .count();
    assert!(spread >= 2, "lines arrived over several batches");
}

#[test]
fn directory_fed_while_the_job_runs() {
    let job = JobDir::new(&pipeline("kind = \"files\"\npath = \"in\"", ""));
    std::fs::create_dir(job.path("in")).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args([
            "run",
            job.job().to_str().unwrap(),
            "--batches",
            "8",
            "--quiet",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut sent = Vec::new();
    for f in 0..3 {
        let lines: Vec<String> = (f * 50..f * 50 + 50).map(text_line).collect();
        let tmp = job.path(&format!("tmp-{f}"));
        std::fs::write(&tmp, lines.join("\n")).unwrap();
        std::fs::rename(&tmp, job.path(&format!("in/part-{f}.txt"))).unwrap();
        sent.extend(lines);
        std::thread::sleep(Duration::from_millis(700));
    }
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        check_counts_per_batch(&job),
        sent,
        "each file read once, in order"
    );
}

fn malformed_job(policy: &str) -> JobDir {
    let job = JobDir::new(&format!(
        r#"
[job]
name = "bad"
error_policy = "{policy}"
dead_letter = {{ path = "dead" }}
[sources.in]
kind = "files"
path = "in"
max_line_length = "64B"
[sinks.lines]
from = "in"
kind = "files"
path = "lines"
"#
    ));
    std::fs::create_dir(job.path("in")).unwrap();
    let mut bytes = b"good one\nbad \xff byte\n".to_vec();
    bytes.extend(std::iter::repeat_n(b'x', 100));
    bytes.extend(b"\ngood two\n");
    std::fs::write(job.path("in/a.txt"), bytes).unwrap();
    job
}

#[test]
fn malformed_input_follows_each_error_policy() {
    let job = malformed_job("fail");
    let err = err_stderr(&job.run_virtual(1));
    let file = job.path("in/a.txt").display().to_string();
    assert_eq!(
        err,
        format!("error: batch 1000 ms: source `in`: malformed input: {file}:2: invalid UTF-8 at byte 4 of the line\n")
    );

    for policy in ["skip", "dead_letter"] {
        let job = malformed_job(policy);
        ok_stdout(&job.run_virtual(1));
        let file = job.path("in/a.txt").display().to_string();
        assert_eq!(
            read_jsonl(&job.path("lines/batch-1000.jsonl")),
            vec![json!("good one"), json!("good two")]
        );
        let dead = job.path("dead/dead-1000.jsonl");
        if policy == "skip" {
            assert!(!dead.exists());
            continue;
        }
        let letters = read_jsonl(&dead);
        let reasons: Vec<&str> = letters
            .iter()
            .map(|l| l["reason"].as_str().unwrap())
            .collect();
        assert_eq!(
            reasons,
            vec![
                format!("{file}:2: invalid UTF-8 at byte 4 of the line"),
                format!("{file}:3: line of 100 bytes is longer than `max_line_length` (64 bytes)"),
            ]
        );
        assert_eq!(letters[0]["stream"], json!("in"));
        assert_eq!(letters[0]["record"], json!("bad \u{fffd} byte"));
    }
}

#[test]
fn sigterm_finishes_the_batch_and_exits_zero() {
    let job = JobDir::new(
        r#"
[job]
name = "term"
batch_interval = "200ms"
[sources.g]
kind = "generator"
rate = 1000
[streams.n]
from = "g"
op = "count"
[sinks.n]
from = "n"
kind = "files"
path = "n"
"#,
    );
    let mut child = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["run", job.job().to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let started = Instant::now();
    let mut progress = 0;
    let mut line = String::new();
    while progress < 2 {
        line.clear();
        assert!(
            stderr.read_line(&mut line).unwrap() > 0,
            "sluice ended early"
        );
        if line.contains("records in") {
            assert!(line.starts_with("[term] batch "), "{line}");
            assert!(
                line.contains(" 200 records in, 1 out, processing "),
                "{line}"
            );
            progress += 1;
        }
        assert!(started.elapsed() < Duration::from_secs(20));
    }
    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "{status}: {rest}");
    let files = batches(&job.path("n"));
    assert!(files.len() >= 2);
    assert!(files.iter().all(|(_, v)| v == &vec![json!(200)]));
    let times: Vec<i64> = files.iter().map(|(t, _)| *t).collect();
    assert!(times.windows(2).all(|w| w[1] - w[0] == 200), "{times:?}");
    assert!(times.iter().all(|t| t % 200 == 0), "{times:?}");
}

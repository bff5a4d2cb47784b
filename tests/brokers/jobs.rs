//! Jobs with Kafka and Redis sources and sinks, through the real `sluice` binary.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use serde_json::Value;
use sluice::brokers::KafkaReader;
use sluice::job::KafkaStart;

use crate::harness::{RedisServer, Tansu};
use crate::kafka_client::{reader_config, writer};

/// `sluice run DIR/job.toml --batches N` with `RUST_LOG=warn`; callers add arguments,
/// redirect its output and run or spawn it.
pub fn sluice_run(dir: &Path, batches: u64) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_sluice"));
    c.arg("run")
        .arg(dir.join("job.toml"))
        .args(["--batches", &batches.to_string()])
        .env("RUST_LOG", "warn");
    c
}

/// Starts the job in `dir` with `--quiet` and its output discarded (to be killed).
pub fn spawn_quiet(dir: &Path, batches: u64) -> Child {
    sluice_run(dir, batches)
        .arg("--quiet")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start sluice")
}

/// Writes `job.toml` into `dir` and runs `sluice run job.toml --batches N`.
pub fn run_job(dir: &Path, job: &str, batches: u64) -> Output {
    std::fs::write(dir.join("job.toml"), job).unwrap();
    sluice_run(dir, batches).output().expect("run sluice")
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

pub fn assert_ok(out: &Output) {
    assert!(
        out.status.success(),
        "sluice failed: {}\n{}",
        out.status,
        stderr(out)
    );
}

/// Every record of every batch file of a files sink.
pub fn all_records(dir: &Path) -> Vec<Value> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in entries {
        let text = std::fs::read_to_string(e.unwrap().path()).unwrap();
        out.extend(
            text.lines()
                .map(|l| serde_json::from_str::<Value>(l).unwrap()),
        );
    }
    out
}

/// Sums `[key, n]` pairs by key.
pub fn sum_by_key(pairs: impl IntoIterator<Item = (String, i64)>) -> BTreeMap<String, i64> {
    let mut m = BTreeMap::new();
    for (k, n) in pairs {
        *m.entry(k).or_insert(0) += n;
    }
    m
}

fn pairs(records: &[Value]) -> Vec<(String, i64)> {
    records
        .iter()
        .map(|r| (r[0].as_str().unwrap().to_owned(), r[1].as_i64().unwrap()))
        .collect()
}

/// `n` records `id-<i>` keyed by word `w<i % words>`.
fn produce_words(bootstrap: &str, topic: &str, n: usize, words: usize) {
    let w = writer(bootstrap, topic);
    let records: Vec<(Vec<u8>, Vec<u8>)> = (0..n)
        .map(|i| {
            (
                format!("w{}", i % words).into_bytes(),
                format!("id-{i}").into_bytes(),
            )
        })
        .collect();
    w.send_all(
        records
            .iter()
            .map(|(k, v)| (Some(k.as_slice()), v.as_slice())),
    )
    .unwrap();
}

#[test]
fn kafka_word_count_to_files_and_kafka_counts_every_record_once() {
    let broker = Tansu::start();
    broker.create_topic("words", 3);
    broker.create_topic("counts", 1);
    produce_words(&broker.bootstrap(), "words", 3000, 100);
    let dir = tempfile::tempdir().unwrap();
    let job = format!(
        r#"
[job]
name = "kafka-wc"
batch_interval = "300ms"

[sources.words]
kind = "kafka"
bootstrap_servers = "{b}"
topics = ["words"]
start = "earliest"
key = true

[streams.counts]
from = "words"
op = "reduce_by_key"
fn = "count"

[streams.n]
from = "words"
op = "count"

[sinks.files]
from = "counts"
kind = "files"
path = "out/counts"

[sinks.n]
from = "n"
kind = "files"
path = "out/n"

[sinks.kafka]
from = "counts"
kind = "kafka"
bootstrap_servers = "{b}"
topic = "counts"
"#,
        b = broker.bootstrap()
    );
    let out = run_job(dir.path(), &job, 10);
    assert_ok(&out);
    let n: i64 = all_records(&dir.path().join("out/n"))
        .iter()
        .map(|v| v.as_i64().unwrap())
        .sum();
    assert_eq!(n, 3000, "{}", stderr(&out));
    let counts = sum_by_key(pairs(&all_records(&dir.path().join("out/counts"))));
    assert_eq!(counts.len(), 100);
    assert!(counts.values().all(|&c| c == 30), "{counts:?}");

    // The same counts went to the `counts` topic: key = word, payload = count as JSON.
    let mut r = KafkaReader::open(
        reader_config(&broker.bootstrap(), &["counts"], "check"),
        KafkaStart::Earliest,
    )
    .unwrap();
    let mut from_kafka = Vec::new();
    crate::harness::wait_until("the counts topic", Duration::from_secs(10), || {
        r.read(0, u64::MAX, |_, k, v| {
            let k = String::from_utf8(k.unwrap().to_vec()).unwrap();
            from_kafka.push((
                k,
                std::str::from_utf8(v.unwrap())
                    .unwrap()
                    .parse::<i64>()
                    .unwrap(),
            ));
        })
        .unwrap();
        from_kafka.iter().map(|(_, n)| n).sum::<i64>() >= 3000
    });
    assert_eq!(sum_by_key(from_kafka), counts);

    // Offsets were committed to the group after the batches (for monitoring tools).
    let committed = KafkaReader::open(
        reader_config(&broker.bootstrap(), &["words"], "sluice-words"),
        KafkaStart::Committed,
    )
    .unwrap();
    assert_eq!(committed.offsets().iter().sum::<i64>(), 3000);
}

#[test]
fn a_job_on_a_missing_topic_fails_naming_it() {
    let broker = Tansu::start();
    let dir = tempfile::tempdir().unwrap();
    let job = format!(
        r#"
[job]
name = "missing"
batch_interval = "200ms"
[sources.in]
kind = "kafka"
bootstrap_servers = "{}"
topics = ["no-such-topic"]
[sinks.out]
from = "in"
kind = "stdout"
"#,
        broker.bootstrap()
    );
    let out = run_job(dir.path(), &job, 2);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("source `in`") && err.contains("Kafka topic `no-such-topic` does not exist"),
        "{err}"
    );
}

#[test]
fn max_rate_per_partition_caps_batches_and_shows_in_the_progress_line() {
    let broker = Tansu::start();
    broker.create_topic("fast", 1);
    produce_words(&broker.bootstrap(), "fast", 1000, 10);
    let dir = tempfile::tempdir().unwrap();
    let job = format!(
        r#"
[job]
name = "capped"
batch_interval = "200ms"
[sources.in]
kind = "kafka"
bootstrap_servers = "{}"
topics = ["fast"]
start = "earliest"
max_rate_per_partition = 1000
[streams.n]
from = "in"
op = "count"
[sinks.n]
from = "n"
kind = "files"
path = "out"
"#,
        broker.bootstrap()
    );
    let out = run_job(dir.path(), &job, 8);
    assert_ok(&out);
    let err = stderr(&out);
    let per_batch: Vec<i64> = all_records(&dir.path().join("out"))
        .iter()
        .map(|v| v.as_i64().unwrap())
        .collect();
    assert!(per_batch.iter().all(|&n| n <= 200), "{per_batch:?}");
    assert!(per_batch.iter().sum::<i64>() >= 800, "{per_batch:?}\n{err}");
    assert!(err.contains(", rate limit 1000 records/s"), "{err}");
}

#[test]
fn redis_count_to_files_and_a_stream_acknowledges_everything() {
    let server = RedisServer::start();
    let mut con = server.connection();
    for s in ["s1", "s2"] {
        let mut pipe = redis::pipe();
        for i in 0..500 {
            pipe.cmd("XADD")
                .arg(s)
                .arg("*")
                .arg("key")
                .arg(format!("w{}", i % 50))
                .arg("value")
                .arg(format!("\"{s}-{i}\""))
                .ignore();
        }
        pipe.query::<()>(&mut con).unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let job = format!(
        r#"
[job]
name = "redis-wc"
batch_interval = "200ms"
[sources.events]
kind = "redis"
url = "{u}"
streams = ["s1", "s2"]
format = "json"
key = true
max_rate_per_stream = 2000
[streams.counts]
from = "events"
op = "reduce_by_key"
fn = "count"
[sinks.files]
from = "counts"
kind = "files"
path = "out"
[sinks.stream]
from = "counts"
kind = "redis"
url = "{u}"
stream = "counts"
"#,
        u = server.url()
    );
    let out = run_job(dir.path(), &job, 6);
    assert_ok(&out);
    let counts = sum_by_key(pairs(&all_records(&dir.path().join("out"))));
    assert_eq!(counts.len(), 50);
    assert!(
        counts.values().all(|&c| c == 20),
        "{counts:?}\n{}",
        stderr(&out)
    );
    // Every entry was acknowledged once its batch completed.
    for s in ["s1", "s2"] {
        let v: redis::Value = redis::cmd("XPENDING")
            .arg(s)
            .arg("sluice-events")
            .query(&mut con)
            .unwrap();
        let redis::Value::Array(items) = v else {
            panic!("{v:?}")
        };
        assert_eq!(items[0], redis::Value::Int(0), "stream {s}");
    }
    // The counts stream holds one entry per (batch, word): key and count.
    let entries: redis::streams::StreamRangeReply = redis::cmd("XRANGE")
        .arg("counts")
        .arg("-")
        .arg("+")
        .query(&mut con)
        .unwrap();
    let from_stream = sum_by_key(entries.ids.iter().map(|e| {
        let k: String = e.get("key").unwrap();
        let n: String = e.get("value").unwrap();
        (k, n.parse::<i64>().unwrap())
    }));
    assert_eq!(from_stream, counts);
}

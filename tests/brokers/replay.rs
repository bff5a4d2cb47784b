//! Replayed broker batches keep their original boundaries: a job copying Kafka or Redis
//! Streams records to a `files` sink while records keep arriving is SIGKILLed (first right
//! after the first batch's output, before the first periodic checkpoint, then at seeded
//! random instants) and restarted on its checkpoint. Every batch file seen at a kill is
//! byte for byte the same at the end (a batch re-cut at the restart would hold more or
//! fewer records), and the output, read in batch order, is the input: every record
//! once, in order per key.

use std::collections::BTreeMap;
use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

use crate::harness::{RedisServer, Tansu};
use crate::jobs::{assert_ok, sluice_run, spawn_quiet, stderr};
use crate::kafka_client::writer;

/// Records the producer adds, in chunks of `CHUNK` every 70 ms.
pub const TOTAL: usize = 3000;
pub const CHUNK: usize = 50;
const KEYS: usize = 7;
const KILLS: usize = 4;
/// 15 s of 200 ms batches: the kills end well before, so the last run reads live.
const BATCHES: u64 = 75;

/// A small seeded generator (64-bit LCG): the kill instants of a run can be reproduced.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }
}

fn seed() -> u64 {
    std::env::var("SLUICE_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_261_126)
}

fn job(source: &str) -> String {
    format!(
        r#"
[job]
name = "replay"
batch_interval = "200ms"

[checkpoint]
dir = "ckpt"
every_batches = 4

{source}

[sinks.out]
from = "in"
kind = "files"
path = "out"
"#
    )
}

/// `(key, value)` of record `i`.
pub fn record(i: usize) -> (String, String) {
    (format!("k{}", i % KEYS), format!("id-{i}"))
}

/// Batch files by name (`batch-<ms>.jsonl`).
fn outputs(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return BTreeMap::new();
    };
    entries
        .map(|e| e.unwrap())
        .filter(|e| e.file_name().to_string_lossy().starts_with("batch-"))
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect()
}

fn batch_ms(name: &str) -> i64 {
    name.trim_start_matches("batch-")
        .trim_end_matches(".jsonl")
        .parse()
        .unwrap()
}

/// Whether `ckpt` holds a periodic checkpoint (index 1 or more), not only checkpoint 0,
/// which the job writes at start-up.
pub fn has_periodic_checkpoint(ckpt: &Path) -> bool {
    std::fs::read_dir(ckpt).is_ok_and(|mut d| {
        d.any(|e| {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            name.strip_prefix("checkpoint-")
                .and_then(|n| n.strip_suffix(".meta"))
                .and_then(|n| n.parse::<u64>().ok())
                .is_some_and(|index| index > 0)
        })
    })
}

/// Waits until `has_output()` (polling every millisecond), then SIGKILLs `child`; the job
/// must still be running. Returns whether a periodic checkpoint existed at the kill.
pub fn kill_at_first_output(
    child: &mut std::process::Child,
    ckpt: &Path,
    mut has_output: impl FnMut() -> bool,
) -> bool {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !has_output() {
        assert!(Instant::now() < deadline, "no output within 30 s");
        assert!(child.try_wait().unwrap().is_none(), "the job exited");
        thread::sleep(Duration::from_millis(1));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    has_periodic_checkpoint(ckpt)
}

/// Runs the job in `dir` through `KILLS` SIGKILLs while `produce(chunk)` adds records in
/// chunks, calling `at_kill(round)` after each: the first as soon as `has_output()` (right
/// after the first batch's output, before the first periodic checkpoint, when only the
/// start-up checkpoint 0 pins the batch times), the others at seeded random instants.
/// Then joins the producer and runs the job to its end. Returns the seed and the last
/// run's output.
pub fn run_with_random_kills(
    dir: &Path,
    job: &str,
    mut produce: impl FnMut(usize) + Send + 'static,
    mut has_output: impl FnMut() -> bool,
    mut at_kill: impl FnMut(usize),
) -> (u64, std::process::Output) {
    std::fs::write(dir.join("job.toml"), job).unwrap();
    let producer = thread::spawn(move || {
        for chunk in 0..TOTAL / CHUNK {
            produce(chunk);
            thread::sleep(Duration::from_millis(70));
        }
    });
    let seed = seed();
    let mut rng = Lcg(seed);
    for round in 0..KILLS {
        let mut child = spawn_quiet(dir, BATCHES);
        if round == 0 {
            let late = kill_at_first_output(&mut child, &dir.join("ckpt"), &mut has_output);
            assert!(
                !late,
                "the first kill came after the first periodic checkpoint"
            );
            at_kill(round);
            continue;
        }
        let delay = 150 + rng.below(1200);
        thread::sleep(Duration::from_millis(delay));
        let finished = child.try_wait().unwrap();
        assert!(
            finished.is_none(),
            "round {round}: ended early: {finished:?}"
        );
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        at_kill(round);
    }
    producer.join().unwrap();
    let out = sluice_run(dir, BATCHES).arg("--quiet").output().unwrap();
    assert_ok(&out);
    (seed, out)
}

/// Kills the job at random (see [`run_with_random_kills`]) and checks the files output.
fn kill_at_random_and_compare(job: &str, produce: impl FnMut(usize) + Send + 'static) {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let seed = seed();
    let mut seen: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let mut replayed = 0;
    let out_dir = dir.join("out");
    let has_output = || outputs(&out_dir).values().any(|b| !b.is_empty());
    let (_, out) = run_with_random_kills(dir, job, produce, has_output, |round| {
        for (name, bytes) in outputs(&dir.join("out")) {
            if let Some(before) = seen.get(&name) {
                replayed += 1;
                assert_eq!(
                    String::from_utf8_lossy(before),
                    String::from_utf8_lossy(&bytes),
                    "seed {seed}, round {round}: {name} was re-cut on replay"
                );
            }
            seen.insert(name, bytes);
        }
    });
    let last = outputs(&dir.join("out"));
    for (name, bytes) in &seen {
        assert_eq!(
            Some(String::from_utf8_lossy(bytes)),
            last.get(name).map(|b| String::from_utf8_lossy(b)),
            "seed {seed}: {name} was re-cut on replay\n{}",
            stderr(&out)
        );
    }
    // In batch order, the output is the input: every record once, in order per key.
    let mut files: Vec<(&String, &Vec<u8>)> = last.iter().collect();
    files.sort_by_key(|(name, _)| batch_ms(name));
    let mut per_key: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (_, bytes) in files {
        for line in String::from_utf8_lossy(bytes).lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            let id = v[1].as_str().unwrap();
            let i: usize = id.trim_start_matches("id-").parse().unwrap();
            assert_eq!(v[0].as_str(), Some(record(i).0.as_str()), "{line}");
            per_key.entry(record(i).0).or_default().push(i);
        }
    }
    let count: usize = per_key.values().map(Vec::len).sum();
    assert_eq!(count, TOTAL, "seed {seed}: records in the output");
    for (key, ids) in &per_key {
        let want: Vec<usize> = (0..TOTAL).filter(|i| record(*i).0 == *key).collect();
        assert_eq!(ids, &want, "seed {seed}: records of {key} in batch order");
    }
    eprintln!(
        "seed {seed}: {} batch files, {replayed} seen again after a kill",
        last.len()
    );
}

#[test]
fn kafka_batches_replayed_after_random_kills_keep_their_boundaries() {
    let broker = Tansu::start();
    broker.create_topic("events", 3);
    let bootstrap = broker.bootstrap();
    let w = writer(&bootstrap, "events");
    let source = format!(
        r#"[sources.in]
kind = "kafka"
bootstrap_servers = "{bootstrap}"
topics = ["events"]
start = "earliest"
key = true"#
    );
    kill_at_random_and_compare(&job(&source), move |chunk| {
        let records: Vec<(String, String)> =
            (chunk * CHUNK..(chunk + 1) * CHUNK).map(record).collect();
        w.send_all(
            records
                .iter()
                .map(|(k, v)| (Some(k.as_bytes()), v.as_bytes())),
        )
        .unwrap();
    });
}

#[test]
fn redis_batches_replayed_after_random_kills_keep_their_boundaries() {
    let server = RedisServer::start();
    let mut con = server.connection();
    let source = format!(
        r#"[sources.in]
kind = "redis"
url = "{}"
streams = ["a", "b"]
key = true"#,
        server.url()
    );
    kill_at_random_and_compare(&job(&source), move |chunk| {
        let mut pipe = redis::pipe();
        for i in chunk * CHUNK..(chunk + 1) * CHUNK {
            let (k, v) = record(i);
            // Keys k0..k2 go to stream a, the others to b: order per key is order per stream.
            let stream = if i % KEYS < 3 { "a" } else { "b" };
            pipe.cmd("XADD")
                .arg(stream)
                .arg("*")
                .arg("key")
                .arg(k)
                .arg("value")
                .arg(v)
                .ignore();
        }
        pipe.query::<()>(&mut con).unwrap();
    });
}

//! Exactly-once through crashes: a queue job killed with SIGKILL at random instants
//! (including in the middle of checkpoint writes) and restarted on the same checkpoint
//! directory gives, record for record, the output of a run that never crashed.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::common::{assert_same_output, outputs, run_and_kill, run_cmd, run_ok, Rng};

/// Batches of every job here.
pub const BATCHES: u64 = 120;

/// The job: a queue of `[key, value]` pairs, per-batch sums and counts, and (in `STATEFUL`)
/// the stateful operators under test, each written to a files sink.
pub fn job_text() -> String {
    format!(
        r#"
[job]
name = "totals"
batch_interval = "1s"

[sources.events]
kind = "queue"
path = "events.json"
input_partitions = 2

[streams.sums]
op = "reduce_by_key"
from = "events"
fn = "sum"

[streams.n]
op = "count"
from = "events"

[sinks.sums]
kind = "files"
from = "sums"
path = "out/sums"

[sinks.n]
kind = "files"
from = "n"
path = "out/n"
{STATEFUL}
[checkpoint]
dir = "ckpt"
every_batches = 4
keep = 3
"#
    )
}

/// The stateful streams under test (keyed state with deltas, an incremental window), and
/// their sinks.
const STATEFUL: &str = r#"
[streams.totals]
op = "update_state_by_key"
from = "events"
fn = "sum"

[streams.windowed]
op = "reduce_by_key_and_window"
from = "events"
fn = "sum"
inv_fn = "sub"
window = "5s"
slide = "2s"

[sinks.totals]
kind = "files"
from = "totals"
path = "out/totals"

[sinks.windowed]
kind = "files"
from = "windowed"
path = "out/windowed"
"#;

/// Every sink of the job.
pub const SINKS: [&str; 4] = ["sums", "n", "totals", "windowed"];

/// Writes the job and its queue (seeded, so every directory gets the same input) into
/// `dir`; returns the job file.
pub fn write_job(dir: &Path, text: &str) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let mut rng = Rng::new(0x5eed_1234);
    let batches: Vec<serde_json::Value> = (0..BATCHES)
        .map(|_| {
            let n = 20 + rng.below(20);
            (0..n)
                .map(|_| serde_json::json!([format!("k{}", rng.below(40)), rng.below(9) + 1]))
                .collect()
        })
        .collect();
    std::fs::write(
        dir.join("events.json"),
        serde_json::to_vec(&batches).unwrap(),
    )
    .unwrap();
    let job = dir.join("job.toml");
    std::fs::write(&job, text).unwrap();
    job
}

/// Runs the job uninterrupted in a fresh directory; returns the directory and how long
/// it took.
pub fn reference(root: &Path) -> (PathBuf, Duration) {
    let dir = root.join("reference");
    let job = write_job(&dir, &job_text());
    let started = Instant::now();
    run_ok(run_cmd(&job, BATCHES, &["--clock", "virtual"]));
    (dir, started.elapsed())
}

#[test]
fn random_kills_give_the_output_of_an_uninterrupted_run() {
    let mut rng = Rng::from_env("random_kills");
    let root = tempfile::tempdir().unwrap();
    let (reference, took) = reference(root.path());
    let expected = outputs(&reference.join("out/sums"));
    assert_eq!(expected.len() as u64, BATCHES);
    let dir = root.path().join("crashed");
    let job = write_job(&dir, &job_text());
    // Short lives: each run gets a little further (or not) before it is killed.
    let span = took.as_millis() as u64 / 3 + 20;
    let mut kills = 0;
    for _ in 0..12 {
        let mut cmd = run_cmd(&job, BATCHES, &["--clock", "virtual"]);
        if rng.below(2) == 0 {
            // Widen the window between the state files and the metadata commit.
            cmd.env("SLUICE_TEST_SLOW_CHECKPOINT", "15");
        }
        let after = Duration::from_millis(20 + rng.below(span));
        if run_and_kill(cmd, after) {
            break;
        }
        kills += 1;
    }
    println!("killed {kills} times (reference took {took:?})");
    run_ok(run_cmd(&job, BATCHES, &["--clock", "virtual"]));
    for sink in SINKS {
        assert_same_output(
            &outputs(&reference.join("out").join(sink)),
            &outputs(&dir.join("out").join(sink)),
        );
    }
}

#[test]
fn a_corrupt_newest_checkpoint_falls_back_to_the_previous_one() {
    let root = tempfile::tempdir().unwrap();
    let (reference, _) = reference(root.path());
    let dir = root.path().join("corrupt");
    let job = write_job(&dir, &job_text());
    // Stop early, then damage the newest checkpoint and truncate the one before it.
    run_ok(run_cmd(&job, BATCHES - 10, &["--clock", "virtual"]));
    let ckpt = dir.join("ckpt");
    let mut metas: Vec<PathBuf> = std::fs::read_dir(&ckpt)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "meta"))
        .collect();
    metas.sort();
    assert_eq!(metas.len(), 3, "{metas:?}");
    let newest = metas.pop().unwrap();
    let mut bytes = std::fs::read(&newest).unwrap();
    bytes[40] ^= 0x55;
    std::fs::write(&newest, bytes).unwrap();
    let second = metas.pop().unwrap();
    let len = std::fs::metadata(&second).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&second)
        .unwrap()
        .set_len(len - 7)
        .unwrap();
    let out = run_ok(run_cmd(&job, BATCHES, &["--clock", "virtual"]));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("Corrupt checkpoint") && stderr.contains("checksum"),
        "{stderr}"
    );
    assert!(stderr.contains("truncated"), "{stderr}");
    for sink in SINKS {
        assert_same_output(
            &outputs(&reference.join("out").join(sink)),
            &outputs(&dir.join("out").join(sink)),
        );
    }
}

#[test]
fn a_changed_job_is_refused_with_what_changed() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("changed");
    let job = write_job(&dir, &job_text());
    run_ok(run_cmd(&job, 8, &["--clock", "virtual"]));
    let changed = job_text().replace(
        "op = \"reduce_by_key\"\nfrom = \"events\"\nfn = \"sum\"",
        "op = \"count\"\nfrom = \"events\"",
    );
    std::fs::write(&job, changed).unwrap();
    let out = run_cmd(&job, 16, &["--clock", "virtual"]).output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("stream `sums` changed op from reduce_by_key to count"),
        "{stderr}"
    );
    assert!(stderr.contains("sluice checkpoint reset"), "{stderr}");
    // The wall clock cannot resume a virtual-clock checkpoint either.
    std::fs::write(&job, job_text()).unwrap();
    let out = run_cmd(&job, 16, &[]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && stderr.contains("--clock virtual"),
        "{stderr}"
    );
    // Reset, and the job starts over.
    let reset = std::process::Command::new(crate::common::sluice())
        .args(["checkpoint", "reset", "--yes"])
        .arg(dir.join("ckpt"))
        .output()
        .unwrap();
    assert!(reset.status.success());
    run_ok(run_cmd(&job, 4, &["--clock", "virtual"]));
}

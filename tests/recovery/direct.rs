//! The direct batch log: a `files` directory job killed with SIGKILL after batches
//! completed past its checkpoint, with more files added before the restart, rewrites
//! those batches byte for byte (they are cut at their logged ends, not from what is
//! there at the restart), and reads the new files in later batches.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::common::{outputs, run_cmd, run_ok};

fn add(dir: &Path, name: &str, lines: &[&str]) {
    // Written elsewhere, then renamed in, as the files source asks.
    let tmp = dir.join(format!(".{name}"));
    std::fs::write(&tmp, lines.join("\n") + "\n").unwrap();
    std::fs::rename(&tmp, dir.join(name)).unwrap();
}

#[test]
fn replayed_files_batches_are_cut_where_they_ended_before_the_crash() {
    let root = tempfile::tempdir().unwrap();
    let (input, out) = (root.path().join("in"), root.path().join("out"));
    std::fs::create_dir_all(&input).unwrap();
    let job = root.path().join("job.toml");
    std::fs::write(
        &job,
        r#"
[job]
name = "files"
batch_interval = "1s"

[sources.lines]
kind = "files"
path = "in"

[sinks.out]
kind = "files"
from = "lines"
path = "out"

[checkpoint]
dir = "ckpt"
every_batches = 1000000
"#,
    )
    .unwrap();
    let virt = ["--clock", "virtual"];
    add(&input, "a.txt", &["a1", "a2"]);
    add(&input, "b.txt", &["b1"]);
    // Two batches and a clean stop: the checkpoint is at batch 2 (time 2000).
    run_ok(run_cmd(&job, 2, &virt));
    add(&input, "c.txt", &["c1", "c2"]);
    // Killed once batch 3 (time 3000, file c) is written: past the checkpoint.
    let mut child = run_cmd(&job, 1_000_000, &virt)
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !out.join("batch-3000.jsonl").exists() {
        assert!(Instant::now() < deadline, "batch 3 was never written");
        assert!(child.try_wait().unwrap().is_none(), "sluice exited early");
        std::thread::sleep(Duration::from_millis(1));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let before = outputs(&out);
    assert_eq!(before["batch-3000.jsonl"], "\"c1\"\n\"c2\"\n");
    // A file that a batch re-cut from what is there now would take into batch 3.
    add(&input, "d.txt", &["d1"]);
    run_ok(run_cmd(&job, 300, &virt));
    let after = outputs(&out);
    for (name, text) in &before {
        assert_eq!(Some(text), after.get(name), "{name} changed on replay");
    }
    let later: Vec<&String> = after
        .iter()
        .filter(|(n, t)| !before.contains_key(*n) && !t.is_empty())
        .map(|(_, t)| t)
        .collect();
    assert_eq!(later, ["\"d1\"\n"], "d.txt is read once, in a later batch");
}

#[test]
fn a_batch_log_without_a_checkpoint_does_not_cut_a_fresh_run() {
    let root = tempfile::tempdir().unwrap();
    let (input, out) = (root.path().join("in"), root.path().join("out"));
    std::fs::create_dir_all(&input).unwrap();
    let job = root.path().join("job.toml");
    std::fs::write(
        &job,
        "[job]\nname = \"files\"\nbatch_interval = \"1s\"\n\n[sources.lines]\nkind = \
         \"files\"\npath = \"in\"\n\n[sinks.out]\nkind = \"files\"\nfrom = \"lines\"\npath = \
         \"out\"\n\n[checkpoint]\ndir = \"ckpt\"\n",
    )
    .unwrap();
    let virt = ["--clock", "virtual"];
    add(&input, "a.txt", &["a1"]);
    run_ok(run_cmd(&job, 1, &virt));
    assert_eq!(outputs(&out)["batch-1000.jsonl"], "\"a1\"\n");
    // The checkpoints go (deleted by hand); the direct batch log of batch 1000 stays.
    let ckpt = root.path().join("ckpt");
    for e in std::fs::read_dir(&ckpt).unwrap() {
        let path = e.unwrap().path();
        if path.extension().is_some_and(|x| x == "meta") {
            std::fs::remove_file(path).unwrap();
        }
    }
    assert!(ckpt.join("wal-direct").exists());
    add(&input, "b.txt", &["b1"]);
    // A fresh run reads both files in its first batch, not the old log's end (a only).
    let run = run_ok(run_cmd(&job, 1, &virt));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        stderr.contains("Removing a direct batch log without a checkpoint"),
        "{stderr}"
    );
    let mut lines: Vec<String> = outputs(&out)["batch-1000.jsonl"]
        .lines()
        .map(str::to_owned)
        .collect();
    lines.sort();
    assert_eq!(lines, ["\"a1\"", "\"b1\""]);
}

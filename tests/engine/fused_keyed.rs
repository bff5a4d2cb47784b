//! The `flat_map` in front of `update_state_by_key` and `reduce_by_key_and_window` runs
//! inside their map-side combine (one input partition at a time, so the batch of pairs
//! never exists whole), with the same results as counting the words independently.

use std::process::Command;

use crate::support::{count_words, read_jsonl, sorted, words_plugin, JobDir};

#[test]
fn flat_map_fuses_into_running_counts_and_incremental_windows() {
    let job = JobDir::new(&format!(
        r#"
[job]
name = "fused"
{plugin}
[sources.lines]
kind = "queue"
data = '[["to be or not to be", "that is the question"], ["be quick", "or be slow"]]'
input_partitions = 2

[streams.pairs]
from = "lines"
op = "flat_map"
fn = "words.split_pairs"

[streams.running]
from = "pairs"
op = "update_state_by_key"
fn = "sum"

[streams.pairs2]
from = "lines"
op = "flat_map"
fn = "words.split_pairs"

[streams.windowed]
from = "pairs2"
op = "reduce_by_key_and_window"
fn = "sum"
inv_fn = "sub"
window = "2s"
slide = "1s"

[sinks.running]
from = "running"
kind = "files"
path = "running"

[sinks.windowed]
from = "windowed"
kind = "files"
path = "windowed"
"#,
        plugin = words_plugin()
    ));
    let out = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["run", job.job().to_str().unwrap(), "--clock", "virtual"])
        .args(["--batches", "2", "--quiet"])
        .env("RUST_LOG", "sluice=debug")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(
        stderr
            .matches("Fused narrow operations into the keyed operator's map side.")
            .count(),
        2,
        "{stderr}"
    );
    let first = ["to be or not to be", "that is the question"];
    let both = [first[0], first[1], "be quick", "or be slow"];
    for dir in ["running", "windowed"] {
        let got = |t: u32| sorted(read_jsonl(&job.path(&format!("{dir}/batch-{t}.jsonl"))));
        assert_eq!(got(1000), count_words(first), "{dir} at 1000");
        assert_eq!(got(2000), count_words(both), "{dir} at 2000");
    }
}

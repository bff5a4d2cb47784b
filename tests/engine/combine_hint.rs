//! The combine hint (docs/abi.md): a plugin call whose output only a built-in `sum`,
//! `min` or `max` keyed reduce reads carries it, and the Rust SDK merges the plugin's
//! `[key, n]` pairs per key. The job's outputs are the same with the hint as without it
//! (`combine_hint = false` on the plugin), and the plugin's output shrinks.

use crate::support::{err_stderr, ok_stdout, plugin_wasm, read_jsonl, JobDir};

/// Word count, running counts, a windowed count with an inverse and a running max over
/// the generator's lines (each `flat_map` read only by its reduce, so each is hinted).
fn jobs_text(combine_hint: bool) -> String {
    format!(
        r#"
[job]
name = "hint"
batch_interval = "1s"

[plugins.words]
path = {wasm:?}
combine_hint = {combine_hint}

[sources.lines]
kind = "generator"
rate = 3000
partitions = 3
vocabulary = 50

[streams.pairs]
from = "lines"
op = "flat_map"
fn = "words.split_pairs"
[streams.counts]
from = "pairs"
op = "reduce_by_key"
fn = "sum"

[streams.pairs2]
from = "lines"
op = "flat_map"
fn = "words.split_pairs"
[streams.running]
from = "pairs2"
op = "update_state_by_key"
fn = "sum"

[streams.pairs3]
from = "lines"
op = "flat_map"
fn = "words.split_pairs"
[streams.windowed]
from = "pairs3"
op = "reduce_by_key_and_window"
fn = "sum"
inv_fn = "sub"
window = "3s"

[streams.words]
from = "lines"
op = "flat_map"
fn = "words.split"
[streams.lengths]
from = "words"
op = "map"
fn = "words.pair_with_one"
[streams.most]
from = "lengths"
op = "reduce_by_key"
fn = "max"

[sinks.counts]
from = "counts"
kind = "files"
path = "counts"
[sinks.running]
from = "running"
kind = "files"
path = "running"
[sinks.windowed]
from = "windowed"
kind = "files"
path = "windowed"
[sinks.most]
from = "most"
kind = "files"
path = "most"
"#,
        wasm = plugin_wasm("words").display().to_string()
    )
}

#[test]
fn outputs_are_byte_for_byte_the_same_with_and_without_the_hint() {
    let with = JobDir::new(&jobs_text(true));
    let without = JobDir::new(&jobs_text(false));
    ok_stdout(&with.run_virtual(5));
    ok_stdout(&without.run_virtual(5));
    for sink in ["counts", "running", "windowed", "most"] {
        for t in (1..=5).map(|i| i * 1000) {
            let file = format!("{sink}/batch-{t}.jsonl");
            let a = std::fs::read(with.path(&file)).unwrap();
            let b = std::fs::read(without.path(&file)).unwrap();
            assert!(!a.is_empty(), "{file} is empty");
            assert_eq!(
                String::from_utf8_lossy(&a),
                String::from_utf8_lossy(&b),
                "{file}"
            );
        }
    }
    // The counts are right: 3000 lines of 10 words per batch.
    let total: i64 = read_jsonl(&with.path("counts/batch-1000.jsonl"))
        .iter()
        .map(|p| p[1].as_i64().unwrap())
        .sum();
    assert_eq!(total, 30_000);
}

/// 3,000 lines of 10 words from 5 words, one partition: 30,000 `[word, 1]` pairs (about
/// 8 bytes each) without the hint, 5 with it; the output cap is 16 KiB.
fn capped_job(combine_hint: bool, reduce: &str) -> JobDir {
    JobDir::new(&format!(
        r#"
[job]
name = "capped"
batch_interval = "1s"

[plugins.words]
path = {wasm:?}
combine_hint = {combine_hint}
limits = {{ output = "16KiB" }}

[sources.lines]
kind = "generator"
rate = 3000
partitions = 1
vocabulary = 5

[streams.pairs]
from = "lines"
op = "flat_map"
fn = "words.split_pairs"
[streams.counts]
from = "pairs"
{reduce}

[sinks.counts]
from = "counts"
kind = "files"
path = "counts"
"#,
        wasm = plugin_wasm("words").display().to_string()
    ))
}

#[test]
fn the_plugin_returns_one_pair_per_word_under_the_hint() {
    for reduce in [
        "op = \"reduce_by_key\"\nfn = \"sum\"",
        "op = \"update_state_by_key\"\nfn = \"sum\"",
        "op = \"reduce_by_key_and_window\"\nfn = \"sum\"\ninv_fn = \"sub\"\nwindow = \"2s\"",
    ] {
        let job = capped_job(true, reduce);
        ok_stdout(&job.run_virtual(2));
        let counts = read_jsonl(&job.path("counts/batch-1000.jsonl"));
        assert_eq!(counts.len(), 5, "{reduce}: {counts:?}");
        let total: i64 = counts.iter().map(|p| p[1].as_i64().unwrap()).sum();
        assert_eq!(total, 30_000, "{reduce}");
        // Without the hint the same call returns every pair, over the cap.
        let err = err_stderr(&capped_job(false, reduce).run_virtual(2));
        assert!(
            err.contains("plugin `words` function `split_pairs`")
                && err.contains("exceeds the cap"),
            "{reduce}: {err}"
        );
    }
}

#[test]
fn count_and_a_second_reader_get_no_hint() {
    // `count` counts records: merged pairs would be counted once. A stream read by a
    // sink as well as the reduce must keep every pair.
    let count = capped_job(true, "op = \"reduce_by_key\"\nfn = \"count\"");
    let err = err_stderr(&count.run_virtual(1));
    assert!(err.contains("exceeds the cap"), "{err}");
    let text = std::fs::read_to_string(count.job()).unwrap()
        + "[sinks.pairs]\nfrom = \"pairs\"\nkind = \"files\"\npath = \"pairs\"\n";
    let two_readers = JobDir::new(&text.replace("fn = \"count\"", "fn = \"sum\""));
    let err = err_stderr(&two_readers.run_virtual(1));
    assert!(err.contains("exceeds the cap"), "{err}");
}

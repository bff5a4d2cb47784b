//! Jobs with Python and JavaScript component plugins, through the real binary: the same
//! job file with `words` pointing at the Rust, Python or JavaScript plugin gives the same
//! files, and records a Python function rejects go to the dead-letter directory.
//! A plugin whose toolchain is missing is skipped with one line.

use serde_json::json;

use crate::support::{
    count_words, ok_stdout, plugin_wasm_if_built, read_jsonl, sluice, sorted, JobDir,
};

fn job(plugin: &std::path::Path, policy: &str) -> JobDir {
    JobDir::new(&format!(
        r#"
[job]
name = "wc"
error_policy = "{policy}"
dead_letter = {{ path = "dead" }}

[plugins.words]
path = {path:?}

[sources.lines]
kind = "queue"
data = '[["to be or not to be", "that is the question", 7], ["be quick", ""]]'
input_partitions = 2

[streams.pairs]
from = "lines"
op = "flat_map"
fn = "words.split_pairs"

[streams.counts]
from = "pairs"
op = "reduce_by_key"
fn = "words.sum"
partitions = 2

[streams.totals]
from = "pairs"
op = "update_state_by_key"
fn = "words.running_sum"

[sinks.counts]
from = "counts"
kind = "files"
path = "counts"

[sinks.totals]
from = "totals"
kind = "files"
path = "totals"
"#,
        path = plugin.display().to_string()
    ))
}

#[test]
fn python_and_javascript_word_counts_match_the_expected_counts() {
    for name in ["py-words", "js-words"] {
        let Some(plugin) = plugin_wasm_if_built(name) else {
            continue;
        };
        let job = job(&plugin, "dead_letter");
        ok_stdout(&job.run_virtual(2));
        let first = ["to be or not to be", "that is the question"];
        assert_eq!(
            sorted(read_jsonl(&job.path("counts/batch-1000.jsonl"))),
            count_words(first),
            "{name}"
        );
        assert_eq!(
            sorted(read_jsonl(&job.path("counts/batch-2000.jsonl"))),
            count_words(["be quick"]),
            "{name}"
        );
        let totals = sorted(read_jsonl(&job.path("totals/batch-2000.jsonl")));
        let be = totals.iter().find(|p| p[0] == json!("be")).expect("be");
        assert_eq!(be[1], json!(3), "{name}: running sum of `be`");
        let letters = read_jsonl(&job.path("dead/dead-1000.jsonl"));
        assert_eq!(letters.len(), 1, "{name}");
        assert_eq!(letters[0]["record"], json!(7));
        let reason = letters[0]["reason"].as_str().unwrap();
        assert!(
            reason.starts_with("plugin `words` function `split_pairs`: "),
            "{name}: {reason}"
        );
    }
}

#[test]
fn plugin_test_and_inspect_work_on_components() {
    let Some(plugin) = plugin_wasm_if_built("py-words") else {
        return;
    };
    let path = plugin.to_str().unwrap();
    let out = ok_stdout(&sluice(&["plugin", "inspect", path]));
    assert!(
        out.contains("kind:        component (world sluice:plugin/plugin@1.0.0)\n"),
        "{out}"
    );
    assert!(
        out.contains("functions:   running_sum, split, split_pairs, sum\n"),
        "{out}"
    );
    let input = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(input.path(), "\"a b a\"\n\n3\n").unwrap();
    let out = sluice(&[
        "plugin",
        "test",
        path,
        "split_pairs",
        "--input",
        input.path().to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "[\"a\",1]\n[\"b\",1]\n[\"a\",1]\n"
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(":3: AttributeError: 'int' object has no attribute 'split'"),
        "{err}"
    );
}

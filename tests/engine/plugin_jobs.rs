//! Jobs with the words plugin: fused narrow chains, plugin and built-in reducers, and
//! records a plugin rejects under each error policy.

use serde_json::json;

use crate::support::{
    count_words, err_stderr, ok_stdout, read_jsonl, sorted, words_plugin, JobDir,
};

const LINES: &str = r#"[["to be or not to be", "that is the question"], ["be quick", ""], null]"#;

fn lines() -> Vec<Vec<&'static str>> {
    vec![
        vec!["to be or not to be", "that is the question"],
        vec!["be quick", ""],
    ]
}

#[test]
fn fused_chain_and_plugin_reducer_count_words() {
    let job = JobDir::new(&format!(
        r#"
[job]
name = "wc"
{plugin}
[sources.lines]
kind = "queue"
data = '{LINES}'
input_partitions = 2

[streams.words]
from = "lines"
op = "flat_map"
fn = "words.split"

[streams.pairs]
from = "words"
op = "map"
fn = "words.pair_with_one"

[streams.counts]
from = "pairs"
op = "reduce_by_key"
fn = "words.sum"
partitions = 3

[streams.builtin]
from = "pairs"
op = "reduce_by_key"
fn = "sum"

[sinks.counts]
from = "counts"
kind = "files"
path = "counts"

[sinks.builtin]
from = "builtin"
kind = "files"
path = "builtin"
"#,
        plugin = words_plugin()
    ));
    ok_stdout(&job.run_virtual(4));
    for (i, batch) in lines().iter().enumerate() {
        let t = (i as i64 + 1) * 1000;
        let expected = count_words(batch.iter().copied());
        for dir in ["counts", "builtin"] {
            let got = sorted(read_jsonl(&job.path(&format!("{dir}/batch-{t}.jsonl"))));
            assert_eq!(got, expected, "{dir} at {t}");
        }
    }
    assert!(
        !job.path("counts/batch-3000.jsonl").exists(),
        "null batch has no RDD"
    );
    assert_eq!(
        read_jsonl(&job.path("counts/batch-4000.jsonl")),
        Vec::<serde_json::Value>::new()
    );
}

/// Lines with a number among them: `split_pairs` rejects it ("expected a string").
fn policy_job(policy: &str) -> JobDir {
    JobDir::new(&format!(
        r#"
[job]
name = "policy"
error_policy = "{policy}"
dead_letter = {{ path = "dead" }}
{plugin}
[sources.lines]
kind = "queue"
data = '[["a b", 42, "b c"]]'

[streams.pairs]
from = "lines"
op = "flat_map"
fn = "words.split_pairs"

[streams.counts]
from = "pairs"
op = "reduce_by_key"
fn = "sum"

[sinks.counts]
from = "counts"
kind = "files"
path = "counts"
"#,
        plugin = words_plugin()
    ))
}

#[test]
fn rejected_record_fails_the_job_naming_stream_plugin_and_function() {
    let job = policy_job("fail");
    let err = err_stderr(&job.run_virtual(1));
    assert!(
        err.contains("batch 1000 ms: stream `pairs`: record rejected: plugin `words` function `split_pairs`: expected a string"),
        "{err}"
    );
    assert!(!job.path("counts/batch-1000.jsonl").exists());
}

#[test]
fn rejected_record_is_skipped_or_dead_lettered() {
    for policy in ["skip", "dead_letter"] {
        let job = policy_job(policy);
        ok_stdout(&job.run_virtual(1));
        let got = sorted(read_jsonl(&job.path("counts/batch-1000.jsonl")));
        assert_eq!(got, count_words(["a b", "b c"]), "{policy}");
        let dead = job.path("dead/dead-1000.jsonl");
        if policy == "skip" {
            assert!(!dead.exists());
            continue;
        }
        let letters = read_jsonl(&dead);
        assert_eq!(letters.len(), 1);
        assert_eq!(letters[0]["stream"], json!("pairs"));
        assert_eq!(letters[0]["record"], json!(42));
        assert_eq!(letters[0]["time"], json!(1000));
        let reason = letters[0]["reason"].as_str().unwrap();
        assert!(
            reason.starts_with("plugin `words` function `split_pairs`: expected a string"),
            "{reason}"
        );
    }
}

#[test]
fn missing_function_is_reported_at_its_line() {
    let job = JobDir::new(&format!(
        "[job]\nname = \"m\"\n{plugin}[sources.l]\nkind = \"queue\"\ndata = \"[]\"\n[streams.w]\nfrom = \"l\"\nop = \"flat_map\"\nfn = \"words.splt\"\n",
        plugin = words_plugin()
    ));
    let err = err_stderr(&crate::support::sluice(&[
        "validate",
        job.job().to_str().unwrap(),
    ]));
    assert_eq!(
        err,
        format!(
            "error: {}:11:6: stream `w`: plugin `words` has no function `splt`\n",
            job.job().display()
        )
    );
}

#[test]
fn pair_and_partition_operations_with_spark_builtins() {
    let job = JobDir::new(&format!(
        r#"
[job]
name = "narrow"
{plugin}
[sources.pairs]
kind = "queue"
data = '[[["a", 1], ["b", -20], ["c", 3]]]'
input_partitions = 2

[sources.nums]
kind = "queue"
data = '[[1, 2, 3], [4]]'
input_partitions = 2

[streams.plus10]
from = "pairs"
op = "map_values"
fn = "sb.add_10"

[streams.dup]
from = "plus10"
op = "flat_map_values"
fn = "sb.dup_plus_10"

[streams.positive]
from = "dup"
op = "filter"
fn = "sb.value_positive"

[streams.sums]
from = "nums"
op = "map_partitions"
fn = "sb.sum_partition"

[sinks.positive]
from = "positive"
kind = "files"
path = "positive"

[sinks.sums]
from = "sums"
kind = "files"
path = "sums"
"#,
        plugin = crate::support::plugin_table("sb", "spark-builtins")
    ));
    ok_stdout(&job.run_virtual(3));
    assert_eq!(
        read_jsonl(&job.path("positive/batch-1000.jsonl")),
        vec![
            json!(["a", 11]),
            json!(["a", 21]),
            json!(["b", 0]),
            json!(["c", 13]),
            json!(["c", 23])
        ]
        .into_iter()
        .filter(|p| p[1].as_i64().unwrap() > 0)
        .collect::<Vec<_>>()
    );
    // map_partitions runs on every partition, empty ones too: [1] | [2, 3], then [] | [4].
    assert_eq!(
        read_jsonl(&job.path("sums/batch-1000.jsonl")),
        vec![json!(1), json!(5)]
    );
    assert_eq!(
        read_jsonl(&job.path("sums/batch-2000.jsonl")),
        vec![json!(0), json!(4)]
    );
    assert_eq!(
        read_jsonl(&job.path("sums/batch-3000.jsonl")),
        vec![json!(0), json!(0)]
    );
}

//! Queue-source jobs with built-in operators and expected batches, through the binary.

use serde_json::json;

use crate::support::{ok_stdout, read_jsonl, sorted, JobDir};

const PAIRS: &str = r#"
[job]
name = "pairs"
batch_interval = "1s"

[sources.pairs]
kind = "queue"
data = '[[["a",1],["b",2],["a",3]], null, [["b",5],["c",-1],["c",1.5]]]'
input_partitions = 2

[streams.sums]
from = "pairs"
op = "reduce_by_key"
fn = "sum"

[streams.n]
from = "pairs"
op = "count"

[sinks.sums]
from = "sums"
kind = "files"
path = "out/sums"

[sinks.n]
from = "n"
kind = "files"
path = "out/n"
"#;

#[test]
fn reduce_by_key_and_count_follow_spark_batches() {
    let job = JobDir::new(PAIRS);
    ok_stdout(&job.run_virtual(4));
    let sums = |t: i64| sorted(read_jsonl(&job.path(&format!("out/sums/batch-{t}.jsonl"))));
    assert_eq!(sums(1000), vec![json!(["a", 4]), json!(["b", 2])]);
    // A `null` batch is "no RDD": output operators do not run, so no file.
    assert!(!job.path("out/sums/batch-2000.jsonl").exists());
    assert_eq!(sums(3000), vec![json!(["b", 5]), json!(["c", 0.5])]);
    // After the input ends, batches are empty, not missing.
    assert_eq!(sums(4000), Vec::<serde_json::Value>::new());
    let n = |t: i64| read_jsonl(&job.path(&format!("out/n/batch-{t}.jsonl")));
    assert_eq!(n(1000), vec![json!(3)]);
    assert_eq!(n(3000), vec![json!(3)]);
    assert_eq!(n(4000), vec![json!(0)]);
}

#[test]
fn print_sink_shows_header_first_records_and_ellipsis() {
    let records: Vec<i64> = (1..=12).collect();
    let job = JobDir::new(&format!(
        r#"
[job]
name = "p"
[sources.nums]
kind = "queue"
data = '{}'
[streams.same]
from = "nums"
op = "glom"
[sinks.all]
from = "nums"
kind = "print"
"#,
        json!([records])
    ));
    let out = ok_stdout(&job.run_virtual(2));
    let rule = "-------------------------------------------";
    let mut expected = format!("{rule}\nTime: 1000 ms\n{rule}\n");
    for i in 1..=10 {
        expected.push_str(&format!("{i}\n"));
    }
    expected.push_str(&format!("...\n\n{rule}\nTime: 2000 ms\n{rule}\n\n"));
    assert_eq!(out, expected);
}

#[test]
fn min_max_and_count_reducers_and_glom_partitions() {
    let job = JobDir::new(
        r#"
[job]
name = "mm"
[sources.p]
kind = "queue"
data = '[[["x",3],["y",1],["x",-2],["x",7],["y",1]]]'
input_partitions = 2
[streams.lo]
from = "p"
op = "reduce_by_key"
fn = "min"
[streams.hi]
from = "p"
op = "reduce_by_key"
fn = "max"
partitions = 3
[streams.n]
from = "p"
op = "reduce_by_key"
fn = "count"
[streams.parts]
from = "p"
op = "glom"
[sinks.lo]
from = "lo"
kind = "files"
path = "lo"
[sinks.hi]
from = "hi"
kind = "files"
path = "hi"
[sinks.n]
from = "n"
kind = "files"
path = "n"
[sinks.parts]
from = "parts"
kind = "files"
path = "parts"
"#,
    );
    ok_stdout(&job.run_virtual(1));
    let read = |d: &str| sorted(read_jsonl(&job.path(&format!("{d}/batch-1000.jsonl"))));
    assert_eq!(read("lo"), vec![json!(["x", -2]), json!(["y", 1])]);
    assert_eq!(read("hi"), vec![json!(["x", 7]), json!(["y", 1])]);
    assert_eq!(read("n"), vec![json!(["x", 3]), json!(["y", 2])]);
    // ParallelCollectionRDD split of 5 records in 2: [0, 2) and [2, 5).
    assert_eq!(
        read_jsonl(&job.path("parts/batch-1000.jsonl")),
        vec![
            json!([["x", 3], ["y", 1]]),
            json!([["x", -2], ["x", 7], ["y", 1]])
        ]
    );
}

#[test]
fn window_and_union_follow_spark_timing() {
    let job = JobDir::new(
        r#"
[job]
name = "w"
[sources.a]
kind = "queue"
data = '[[0], [1], [2], [3]]'
[sources.b]
kind = "queue"
data = '[[10], [11]]'
[streams.both]
inputs = ["a", "b"]
op = "union"
[streams.tumbling]
from = "both"
op = "window"
window = "2s"
slide = "2s"
[sinks.both]
from = "both"
kind = "files"
path = "both"
[sinks.w]
from = "tumbling"
kind = "files"
path = "w"
"#,
    );
    ok_stdout(&job.run_virtual(6));
    let read = |d: &str, t: i64| read_jsonl(&job.path(&format!("{d}/batch-{t}.jsonl")));
    assert_eq!(read("both", 1000), vec![json!(0), json!(10)]);
    assert_eq!(read("both", 3000), vec![json!(2)]);
    // Output only at multiples of the slide; the window is (t - 2s, t], oldest first.
    assert!(!job.path("w/batch-1000.jsonl").exists());
    assert_eq!(
        read("w", 2000),
        vec![json!(0), json!(10), json!(1), json!(11)]
    );
    assert_eq!(read("w", 4000), vec![json!(2), json!(3)]);
    assert_eq!(read("w", 6000), Vec::<serde_json::Value>::new());
}

#[test]
fn a_window_over_a_windowed_stream_slides_with_its_parent() {
    // Spark's `window(length)` slides with its parent: `ww` has batches every 2 s, as `w`.
    let job = JobDir::new(
        r#"
[job]
name = "ww"

[sources.n]
kind = "queue"
data = '[[1], [2], [3], [4], [5], [6]]'

[streams.w]
from = "n"
op = "window"
window = "2s"
slide = "2s"

[streams.ww]
from = "w"
op = "window"
window = "4s"

[sinks.out]
from = "ww"
kind = "files"
path = "out"
"#,
    );
    ok_stdout(&job.run_virtual(8));
    let at = |t: i64| read_jsonl(&job.path(&format!("out/batch-{t}.jsonl")));
    assert_eq!(at(2000), vec![json!(1), json!(2)]);
    assert_eq!(at(4000), vec![json!(1), json!(2), json!(3), json!(4)]);
    assert_eq!(at(6000), vec![json!(3), json!(4), json!(5), json!(6)]);
    assert_eq!(at(8000), vec![json!(5), json!(6)]);
    for odd in [1000, 3000, 5000, 7000] {
        assert!(
            !job.path(&format!("out/batch-{odd}.jsonl")).exists(),
            "{odd}"
        );
    }
}

//! The real plugins of `plugins/dist` (built once per test binary by `plugins/build.sh`).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use sluice::record::{json_to_msgpack, msgpack_to_json};
use sluice::wasm::{inspect, CallError, Limits, Plugin};
use sluice_abi::{Shape, ABI_VERSION};

use crate::common::*;

/// `plugins/dist`, after running `plugins/build.sh` once for this test binary.
pub fn dist() -> &'static Path {
    static DIST: OnceLock<PathBuf> = OnceLock::new();
    DIST.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let status = std::process::Command::new("bash")
            .arg(root.join("plugins/build.sh"))
            .arg("--quiet")
            .status()
            .expect("run plugins/build.sh");
        assert!(status.success(), "plugins/build.sh failed");
        root.join("plugins/dist")
    })
}

fn words() -> Plugin {
    Plugin::load(
        &runtime(),
        "words",
        &dist().join("words.wasm"),
        &serde_json::json!({}),
        Limits::default(),
    )
    .expect("load words.wasm")
}

fn encode(values: &[serde_json::Value]) -> Vec<u8> {
    let mut out = Vec::new();
    for v in values {
        json_to_msgpack(v, &mut out);
    }
    out
}

fn decode(p: &sluice::record::Partition) -> Vec<serde_json::Value> {
    p.iter().map(|r| msgpack_to_json(r).unwrap()).collect()
}

#[test]
fn every_built_plugin_is_a_valid_abi_v1_plugin() {
    let mut seen = Vec::new();
    for entry in std::fs::read_dir(dist()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "wasm") {
            let info = inspect(&runtime(), &path).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(info.abi_version, ABI_VERSION);
            assert!(
                !info.functions.is_empty(),
                "{} has no functions",
                path.display()
            );
            seen.push(path.file_stem().unwrap().to_string_lossy().into_owned());
        }
    }
    assert!(seen.contains(&"words".to_owned()), "{seen:?}");
}

#[test]
fn words_split_flat_maps_lines_into_words() {
    let p = words();
    let lines = [
        serde_json::json!("to be  or"),
        serde_json::json!(""),
        serde_json::json!("not"),
    ];
    let out = p
        .call("split", Shape::Transform, 3, &encode(&lines), &ctx(0, 0))
        .unwrap();
    assert_eq!(decode(&out.items), ["to", "be", "or", "not"]);
    assert!(out.errors.is_empty());
}

#[test]
fn words_split_pairs_matches_the_host_encoding() {
    let p = words();
    let lines = [serde_json::json!("a bb a")];
    let out = p
        .call(
            "split_pairs",
            Shape::Transform,
            1,
            &encode(&lines),
            &ctx(0, 0),
        )
        .unwrap();
    let expected = encode(&[
        serde_json::json!(["a", 1]),
        serde_json::json!(["bb", 1]),
        serde_json::json!(["a", 1]),
    ]);
    assert_eq!(out.items.bytes(), &expected[..]);
}

#[test]
fn words_sum_reduces_groups_in_order() {
    let p = words();
    let groups = [
        serde_json::json!(["a", [1, 2, 3]]),
        serde_json::json!(["b", [40]]),
        serde_json::json!(["c", [-1, 1]]),
    ];
    let out = p
        .call("sum", Shape::Reduce, 3, &encode(&groups), &ctx(0, 0))
        .unwrap();
    assert_eq!(decode(&out.items), [6, 40, 0]);
}

#[test]
fn words_reports_bad_records_by_index_and_keeps_serving() {
    let p = words();
    let lines = [serde_json::json!("ok line"), serde_json::json!(5)];
    let out = p
        .call("split", Shape::Transform, 2, &encode(&lines), &ctx(0, 0))
        .unwrap();
    assert_eq!(decode(&out.items), ["ok", "line"]);
    assert_eq!(out.errors.len(), 1);
    assert_eq!(out.errors[0].index, Some(1));
    // A wrong count for a reduce (a transform function used as reduce) is refused.
    let err = p
        .call(
            "split",
            Shape::Reduce,
            1,
            &encode(&[serde_json::json!("a b")]),
            &ctx(0, 0),
        )
        .unwrap_err();
    assert!(matches!(err, CallError::BadOutput { .. }), "{err}");
    let out = p
        .call(
            "split",
            Shape::Transform,
            1,
            &encode(&[serde_json::json!("x")]),
            &ctx(0, 0),
        )
        .unwrap();
    assert_eq!(decode(&out.items), ["x"]);
}

#[test]
fn words_handles_a_large_partition_with_one_instance() {
    let p = words();
    let lines: Vec<serde_json::Value> = (0..5000)
        .map(|i| serde_json::json!(format!("w{} w{} w{}", i % 7, i % 11, i % 13)))
        .collect();
    let out = p
        .call(
            "split_pairs",
            Shape::Transform,
            5000,
            &encode(&lines),
            &ctx(0, 0),
        )
        .unwrap();
    assert_eq!(out.items.len(), 15000);
    assert_eq!(p.idle_instances(), 1);
}

fn load_dist(name: &str) -> Plugin {
    Plugin::load(
        &runtime(),
        name,
        &dist().join(format!("{name}.wasm")),
        &serde_json::json!({}),
        Limits::default(),
    )
    .unwrap_or_else(|e| panic!("load {name}.wasm: {e}"))
}

#[test]
fn the_c_plugin_runs_on_wasi_and_its_stdout_reaches_the_log() {
    let mut plugin = None;
    let log = crate::host_io::capture_log(|| plugin = Some(load_dist("c-upper")));
    assert!(log.contains("c-upper: ready (ABI v1)"), "{log}");
    assert!(log.contains("_initialize"), "{log}");
    let p = plugin.unwrap();
    let input = encode(&[
        serde_json::json!("hello"),
        serde_json::json!(7),
        serde_json::json!("Mixed Case x"),
    ]);
    let out = p
        .call("upper", Shape::Transform, 3, &input, &ctx(0, 0))
        .unwrap();
    assert_eq!(decode(&out.items), ["HELLO", "MIXED CASE X"]);
    assert_eq!(out.errors.len(), 1);
    assert_eq!(out.errors[0].index, Some(1));
    assert!(
        out.errors[0].message.contains("expected a string"),
        "{:?}",
        out.errors
    );
}

#[test]
fn the_wat_plugin_counts_records_and_does_not_grow() {
    let p = load_dist("wat-count");
    for n in [0u32, 1, 1000] {
        let input = encode(&vec![serde_json::json!("x"); n as usize]);
        let out = p
            .call("count", Shape::Transform, n, &input, &ctx(0, 0))
            .unwrap();
        assert_eq!(decode(&out.items), [n]);
    }
    assert_eq!(p.idle_instances(), 1);
}

#[test]
fn spark_builtins_inverse_reduce_and_update_state() {
    let p = load_dist("spark-builtins");
    let items = encode(&[
        serde_json::json!(["a", 10, 3]),
        serde_json::json!(["b", 5, 5]),
    ]);
    let out = p
        .call("sub", Shape::InverseReduce, 2, &items, &ctx(0, 0))
        .unwrap();
    assert_eq!(decode(&out.items), [7, 0]);
    // [key, [values], state_opt, timing_out] -> [state_opt, [emitted]]; [] removes.
    let entries = encode(&[
        serde_json::json!(["a", [1, 2], [], false]),
        serde_json::json!(["b", [5], [10], false]),
    ]);
    let out = p
        .call(
            "update_sum_drop_above_12",
            Shape::UpdateState,
            2,
            &entries,
            &ctx(0, 0),
        )
        .unwrap();
    assert_eq!(
        decode(&out.items),
        [serde_json::json!([[3], []]), serde_json::json!([[], []])]
    );
}

//! The golden fixtures of docs/abi.md through real modules: each `<shape>_input` gives
//! `<shape>_output` (docs/abi/fixtures/README.md names the function).

use serde_json::json;
use sluice_abi::{doc, Shape};

use crate::support::{call_doc, fixture, load, try_load};

fn check(plugin: &str, function: &str, shape: Shape, fixture_shape: &str) {
    let p = load(plugin);
    let out = call_doc(
        &p,
        function,
        shape,
        &fixture(&format!("{fixture_shape}_input")),
    );
    assert_eq!(
        out,
        fixture(&format!("{fixture_shape}_output")),
        "{plugin}.{function} on {fixture_shape}_input"
    );
}

/// Items must match exactly; errors only by index (messages are the guest's own words).
fn check_indices(plugin: &str, function: &str, shape: Shape, fixture_shape: &str) {
    let p = load(plugin);
    let out = call_doc(
        &p,
        function,
        shape,
        &fixture(&format!("{fixture_shape}_input")),
    );
    let got = doc::read_output(&out).unwrap();
    let want_bytes = fixture(&format!("{fixture_shape}_output"));
    let want = doc::read_output(&want_bytes).unwrap();
    assert_eq!(got.items.bytes, want.items.bytes, "{plugin}.{function}");
    let idx = |v: &doc::OutputView<'_>| v.errors.iter().map(|e| e.index).collect::<Vec<_>>();
    assert_eq!(
        idx(&got),
        idx(&want),
        "{plugin}.{function}: {:?}",
        got.errors
    );
}

#[test]
fn transform() {
    check("words", "split_pairs", Shape::Transform, "transform");
    // The same SDK code built for wasm32-wasip1 (importing WASI from Rust's std).
    check("words-wasip1", "split_pairs", Shape::Transform, "transform");
    check_indices("c-upper", "upper", Shape::Transform, "transform_errors");
    // With the combine hint the SDK merges the pairs per key (docs/abi.md 4.1).
    check("words", "split_pairs", Shape::Transform, "combine");
    check("words-wasip1", "split_pairs", Shape::Transform, "combine");
}

#[test]
fn reduce_fold_and_inverse() {
    check_indices("spark-builtins", "sum", Shape::Reduce, "reduce");
    check(
        "spark-builtins",
        "combine_str_concat_merge_value",
        Shape::Reduce,
        "fold",
    );
    check(
        "spark-builtins",
        "sub",
        Shape::InverseReduce,
        "inverse_reduce",
    );
}

#[test]
fn update_state_and_map_with_state() {
    check(
        "spark-builtins",
        "update_sum_drop_above_12",
        Shape::UpdateState,
        "update_state",
    );
    check(
        "spark-builtins",
        "mws_running_sum_emit_key_sum",
        Shape::UpdateState,
        "map_with_state",
    );
}

#[test]
fn transform_with() {
    check(
        "spark-builtins",
        "rdd_join",
        Shape::Transform,
        "transform_with",
    );
}

#[test]
fn extended_input_reads_as_v1_in_every_language() {
    let input = fixture("extended_input");
    let p = load("wat-count");
    let out = call_doc(&p, "count", Shape::Transform, &input);
    assert_eq!(out, [0x92, 0x91, 0x01, 0x90]);
    let p = load("c-upper");
    let out = call_doc(&p, "upper", Shape::Transform, &input);
    assert_eq!(out, [0x92, 0x91, 0xa1, b'X', 0x90]);
    let p = load("words");
    let out = call_doc(&p, "split", Shape::Transform, &input);
    assert_eq!(out, [0x92, 0x91, 0xa1, b'x', 0x90]);
}

#[test]
fn init_params_accept_or_refuse_the_plugin() {
    // init_input's params load json; params it does not know refuse it, naming them.
    let params = json!({"fields": ["ts", "msg"], "where": {"equals": "error", "field": "level"}});
    try_load("json", params).unwrap();
    let err = try_load("json", json!({"wher": {}}))
        .unwrap_err()
        .to_string();
    assert!(err.contains("unknown field `wher`"), "{err}");
    assert!(err.contains("json"), "{err}");
}

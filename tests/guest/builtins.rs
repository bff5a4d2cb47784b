//! spark-builtins through the runtime: every builtin of the conformance cases is exported,
//! and each shape works on dynamic values.

use std::path::PathBuf;

use serde_json::{json, Value};
use sluice_abi::Shape;

use crate::support::{call, json_out, load, ok_items, repo};

/// Every export `plugins/README.md` lists for spark-builtins.
const EXPORTS: &[&str] = &[
    "to_string",
    "add_4",
    "add_8",
    "pair_with_one",
    "pair_with_x",
    "pair_with_length",
    "str_length",
    "swap",
    "pair_value",
    "dup_and_double",
    "split_chars",
    "length_char_pairs",
    "key_chars_with_value",
    "is_even",
    "contains_a",
    "key_contains_a",
    "value_nonzero",
    "value_positive",
    "add_10",
    "to_upper",
    "state_counter",
    "dup_plus_10",
    "append_1_2",
    "sum_partition",
    "upper_concat_partition",
    "swap_each",
    "sum",
    "sub",
    "combine_sum_create",
    "combine_sum_merge_value",
    "combine_sum_merge_combiners",
    "combine_str_concat_create",
    "combine_str_concat_merge_value",
    "combine_str_concat_merge_combiners",
    "rdd_map_to_string",
    "rdd_add_2",
    "rdd_sort_by_key",
    "rdd_keys",
    "rdd_cartesian_self",
    "rdd_sort",
    "rdd_join",
    "rdd_union_all",
    "rdd_union_2_3_1",
    "rdd_union12_selfpair_join3",
    "update_sum",
    "update_append",
    "update_add_batch_time_if_values",
    "update_counter_expire_after_2_idle",
    "update_sum_drop_above_12",
    "mws_running_sum_emit_sum",
    "mws_running_sum_emit_key_twice",
    "mws_running_sum_emit_key_sum",
    "mws_running_sum_emit_nothing",
    "mws_remove_if_exists_else_set",
    "mws_set_one_emit_key_on_timeout",
];

/// `shared/conformance/spark_cases.json`, beside the repository (CI) or its worktree.
fn spark_cases() -> Option<PathBuf> {
    let rel = "conformance/spark_cases.json";
    let mut candidates: Vec<PathBuf> = std::env::var_os("SLUICE_SHARED")
        .map(|d| PathBuf::from(d).join(rel))
        .into_iter()
        .collect();
    for up in ["../shared", "../../shared", "../../../shared"] {
        candidates.push(repo().join(up).join(rel));
    }
    candidates.into_iter().find(|p| p.exists())
}

#[test]
fn every_builtin_is_exported() {
    let p = load("spark-builtins");
    for name in EXPORTS {
        assert!(
            p.has_function(name),
            "spark-builtins does not export {name}"
        );
    }
    // The names come from the conformance file: check the list is complete when it is
    // there (combine_by_key builtins are three exports each).
    if let Some(path) = spark_cases() {
        let cases: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        for name in cases["builtins"].as_object().unwrap().keys() {
            if name.starts_with('_') {
                continue;
            }
            let covered = EXPORTS.contains(&name.as_str())
                || EXPORTS.contains(&format!("{name}_merge_value").as_str());
            assert!(
                covered,
                "builtin {name} of {} has no export",
                path.display()
            );
        }
    }
}

#[test]
fn element_wise_builtins() {
    let p = load("spark-builtins");
    let t = Shape::Transform;
    assert_eq!(
        ok_items(&p, "to_string", t, json!([1, -2])),
        json!(["1", "-2"])
    );
    assert_eq!(ok_items(&p, "add_4", t, json!([1, 2.5])), json!([5, 6.5]));
    assert_eq!(ok_items(&p, "dup_and_double", t, json!([3])), json!([3, 6]));
    assert_eq!(
        ok_items(&p, "is_even", t, json!([1, 2, 3, 4])),
        json!([2, 4])
    );
    assert_eq!(
        ok_items(&p, "add_10", t, json!([["a", 1], [[1, 2], 5]])),
        json!([["a", 11], [[1, 2], 15]])
    );
    assert_eq!(
        ok_items(&p, "append_1_2", t, json!([["k", "v"]])),
        json!([["k", "v1"], ["k", "v2"]])
    );
    assert_eq!(ok_items(&p, "sum_partition", t, json!([])), json!([0]));
    assert_eq!(
        ok_items(
            &p,
            "upper_concat_partition",
            t,
            json!(["giants", "dodgers"])
        ),
        json!(["GIANTSDODGERS"])
    );
    assert_eq!(
        ok_items(&p, "combine_str_concat_create", t, json!([1, "a"])),
        json!(["1", "a"])
    );
    // A value of the wrong type is a per-record error.
    let out = call(&p, "add_4", t, json!([1, "x"]), 0).unwrap();
    let (items, errors) = json_out(&out);
    assert_eq!(items, json!([5]));
    assert_eq!(
        errors,
        vec![(Some(1), "expected a number, found a string".into())]
    );
}

#[test]
fn whole_rdd_builtins() {
    let p = load("spark-builtins");
    let t = Shape::Transform;
    assert_eq!(
        ok_items(&p, "rdd_sort", t, json!([3, "b", [1, 2], -1, "a", [1]])),
        json!([-1, 3, "a", "b", [1], [1, 2]])
    );
    assert_eq!(
        ok_items(
            &p,
            "rdd_sort_by_key",
            t,
            json!([["b", 1], ["a", 2], ["b", 0]])
        ),
        json!([["a", 2], ["b", 1], ["b", 0]])
    );
    assert_eq!(
        ok_items(&p, "rdd_union_2_3_1", t, json!([[1], [2, 2], [3]])),
        json!([2, 2, 3, 1])
    );
    assert_eq!(
        ok_items(
            &p,
            "rdd_union12_selfpair_join3",
            t,
            json!([[1], [3], [[1, "x"], [2, "y"]]])
        ),
        json!([[1, [1, "x"]]])
    );
    // The wrong number of inputs fails the whole call, naming the function.
    let err = call(&p, "rdd_join", t, json!([[]]), 0)
        .unwrap_err()
        .to_string();
    assert!(err.contains("rdd_join takes 2 inputs, got 1"), "{err}");
}

#[test]
fn keyed_and_stateful_builtins() {
    let p = load("spark-builtins");
    assert_eq!(
        ok_items(
            &p,
            "combine_sum_merge_combiners",
            Shape::Reduce,
            json!([["k", [1, 2, 3]]])
        ),
        json!([6])
    );
    let entries = json!([["a", [1], [5], false], ["b", [], [], false]]);
    let out = call(
        &p,
        "update_add_batch_time_if_values",
        Shape::UpdateState,
        entries,
        3000,
    )
    .unwrap();
    assert_eq!(json_out(&out).0, json!([[[3005], []], [[0], []]]));
    assert_eq!(
        ok_items(
            &p,
            "update_counter_expire_after_2_idle",
            Shape::UpdateState,
            json!([["a", [], [[3, 1]], false], ["b", [2], [[3, 1]], false]])
        ),
        json!([[[], []], [[[5, 0]], []]])
    );
    assert_eq!(
        ok_items(
            &p,
            "mws_set_one_emit_key_on_timeout",
            Shape::UpdateState,
            json!([["a", [7, 8], [], false], ["b", [], [1], true]])
        ),
        json!([[[1], []], [[], ["b"]]])
    );
    assert_eq!(
        ok_items(
            &p,
            "mws_remove_if_exists_else_set",
            Shape::UpdateState,
            json!([["k", [4, 5, 6], [], false]])
        ),
        json!([[[6], ["k"]]])
    );
}

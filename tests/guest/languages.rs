//! The plugins in each language: words and json (Rust with the SDK), c-upper (C against
//! wasi-libc, no SDK), wat-count (hand-written WAT).

use serde_json::{json, Value};
use sluice_abi::Shape;

use crate::support::{call, json_out, load, ok_items, try_load};

#[test]
fn words_split_and_the_fused_pairs_agree() {
    let p = load("words");
    let lines = json!(["to be  or", "", "not\tto be", "naïve\u{3000}café x"]);
    let words = ok_items(&p, "split", Shape::Transform, lines.clone());
    assert_eq!(
        words,
        json!(["to", "be", "or", "not", "to", "be", "naïve", "café", "x"])
    );
    let pairs: Vec<Value> = words
        .as_array()
        .unwrap()
        .iter()
        .map(|w| json!([w, 1]))
        .collect();
    for f in ["split_pairs", "pair_with_one"] {
        assert_eq!(
            ok_items(&p, f, Shape::Transform, lines.clone()),
            json!(pairs)
        );
    }
    let sums = ok_items(
        &p,
        "sum",
        Shape::Reduce,
        json!([["a", [1, 2, 3]], ["b", [5]]]),
    );
    assert_eq!(sums, json!([6, 5]));
}

#[test]
fn words_report_bad_records_without_trapping() {
    let p = load("words");
    let out = call(&p, "split_pairs", Shape::Transform, json!(["a", 7, "b"]), 0).unwrap();
    let (items, errors) = json_out(&out);
    assert_eq!(items, json!([["a", 1], ["b", 1]]));
    assert_eq!(
        errors,
        vec![(Some(1), "expected a string, found integer".into())]
    );
    let big = i64::MAX;
    let out = call(&p, "sum", Shape::Reduce, json!([["k", [big, 1]]]), 0).unwrap();
    let (items, errors) = json_out(&out);
    assert_eq!(items, json!([null]));
    assert_eq!(errors[0].0, Some(0));
    assert!(errors[0].1.contains("overflows"), "{}", errors[0].1);
}

#[test]
fn json_selects_by_params() {
    let params = json!({"where": {"field": "level", "equals": "error"}, "fields": ["ts", "msg"]});
    let p = try_load("json", params).unwrap();
    let input = json!([
        r#"{"ts": 1, "level": "error", "msg": "disk full", "host": "a"}"#,
        {"ts": 2, "level": "info", "msg": "ok"},
        {"ts": 3, "level": "error", "msg": "again"},
        "{\"ts\": 4,",
    ]);
    let out = call(&p, "select", Shape::Transform, input, 0).unwrap();
    let (items, errors) = json_out(&out);
    assert_eq!(
        items,
        json!([{"ts": 1, "msg": "disk full"}, {"ts": 3, "msg": "again"}])
    );
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].0, Some(3));
    assert!(
        errors[0].1.starts_with("malformed JSON: "),
        "{}",
        errors[0].1
    );
    // Without params every record passes, parsed.
    let p = load("json");
    let parsed = ok_items(&p, "parse", Shape::Transform, json!([r#"{"a": [1, 2]}"#]));
    assert_eq!(parsed, json!([{"a": [1, 2]}]));
}

#[test]
fn c_plugin_upper_cases_and_drops_empty_strings() {
    let p = load("c-upper");
    let out = call(
        &p,
        "upper",
        Shape::Transform,
        json!(["abc", "", 7, "héllo", ["x"]]),
        0,
    )
    .unwrap();
    let (items, errors) = json_out(&out);
    assert_eq!(items, json!(["ABC", "HéLLO"]));
    assert_eq!(
        errors,
        vec![
            (Some(2), "expected a string, found an integer".into()),
            (Some(4), "expected a string, found an array".into()),
        ]
    );
}

#[test]
fn wat_plugin_counts_and_reuses_its_memory() {
    let p = load("wat-count");
    for n in [0usize, 1, 200, 70_000] {
        let records: Vec<Value> = (0..n).map(|i| json!(i)).collect();
        let counted = ok_items(&p, "count", Shape::Transform, Value::Array(records));
        assert_eq!(counted, json!([n]));
    }
    // The bump allocator resets once the host has freed both buffers, so many calls with
    // 1 MiB inputs stay within the default memory limit.
    let big = "x".repeat(1 << 20);
    for _ in 0..300 {
        let counted = ok_items(&p, "count", Shape::Transform, json!([big]));
        assert_eq!(counted, json!([1]));
    }
}

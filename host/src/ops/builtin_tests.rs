//! One set of built-ins: `sum`, `count`, `min` and `max` give the same result in every
//! operation that takes them — `reduce_by_key`, `reduce`, `reduce_by_key_and_window`,
//! `reduce_by_window`, `update_state_by_key` and `map_with_state` — on the same input
//! (integers, floats, integer/float mixes, strings for min/max). The semantics are
//! Spark's, written down in docs/operators.md: an int plus an int stays an int, a float
//! on either side gives a float, min/max order strings (byte order) and return the
//! chosen value as it is.

use serde_json::{json, Value};

use super::builtin::Builtin;
use super::functions::ReduceFn;
use super::map_with_state::{MapWithState, MapWithStateConfig};
use super::reduce::Reduce;
use super::reduce_by_key::{ReduceByKey, Reducer};
use super::reduce_window::ReduceByKeyAndWindow;
use super::testutil::{json as to_json, rdd, Harness};
use super::update_fn::UpdateFn;
use super::update_state::UpdateStateByKey;
use super::window::WindowSpec;
use super::Operator;

/// Every operation's result for one built-in over `values` (all under key `k`), as the
/// value it computed: `[k, r]` outputs give `r`.
fn results(b: Builtin, values: &[Value]) -> Vec<(&'static str, Value)> {
    let pairs: Vec<Value> = values.iter().map(|v| json!(["k", v])).collect();
    let spec = || WindowSpec::new("s", 1000, None, 1000).unwrap();
    let mut by_key: Vec<(&'static str, Box<dyn Operator>)> = vec![
        (
            "reduce_by_key",
            Box::new(ReduceByKey::new(Reducer::Builtin(b), Some(2))),
        ),
        (
            "reduce_by_key_and_window",
            Box::new(ReduceByKeyAndWindow::new(
                spec(),
                ReduceFn::Builtin(b),
                None,
                None,
                Some(2),
            )),
        ),
        (
            "update_state_by_key",
            Box::new(UpdateStateByKey::new(UpdateFn::Builtin(b), Some(2), None)),
        ),
        (
            "map_with_state",
            Box::new(MapWithState::new(MapWithStateConfig {
                f: UpdateFn::Builtin(b),
                partitions: Some(2),
                timeout_ms: None,
                scan_interval_ms: None,
                initial: None,
            })),
        ),
    ];
    let mut whole: Vec<(&'static str, Box<dyn Operator>)> = vec![
        (
            "reduce",
            Box::new(Reduce {
                f: ReduceFn::Builtin(b),
            }),
        ),
        (
            "reduce_by_window",
            Box::new(ReduceByKeyAndWindow::reduce_by_window(
                spec(),
                ReduceFn::Builtin(b),
                None,
            )),
        ),
    ];
    let h = Harness::new(1000);
    let mut out = Vec::new();
    for (name, op) in &mut by_key {
        let v = op.on_batch(&[rdd(json!(pairs), 2)], &h.cx(1000)).unwrap();
        let recs = to_json(&v).unwrap();
        assert_eq!(recs.len(), 1, "{name}: {recs:?}");
        out.push((*name, recs[0][1].clone()));
    }
    for (name, op) in &mut whole {
        let v = op.on_batch(&[rdd(json!(values), 2)], &h.cx(1000)).unwrap();
        let recs = to_json(&v).unwrap();
        assert_eq!(recs.len(), 1, "{name}: {recs:?}");
        out.push((*name, recs[0].clone()));
    }
    out
}

/// Asserts that every operation gives `expected` (compared as JSON, so `5` and `5.0`
/// differ).
fn check(b: Builtin, values: Value, expected: Value) {
    let values = values.as_array().unwrap().clone();
    for (op, got) in results(b, &values) {
        assert_eq!(
            got.to_string(),
            expected.to_string(),
            "`{}` in {op} over {values:?}",
            b.name()
        );
    }
}

#[test]
fn integers() {
    check(Builtin::Sum, json!([3, -5, 7]), json!(5));
    check(Builtin::Count, json!([3, -5, 7]), json!(3));
    check(Builtin::Min, json!([3, -5, 7]), json!(-5));
    check(Builtin::Max, json!([3, -5, 7]), json!(7));
}

#[test]
fn floats() {
    check(Builtin::Sum, json!([1.5, -2.25, 0.5]), json!(-0.25));
    check(Builtin::Count, json!([1.5, -2.25, 0.5]), json!(3));
    check(Builtin::Min, json!([1.5, -2.25, 0.5]), json!(-2.25));
    check(Builtin::Max, json!([1.5, -2.25, 0.5]), json!(1.5));
}

#[test]
fn integer_float_mixes() {
    check(Builtin::Sum, json!([2, 0.5, 3]), json!(5.5));
    check(Builtin::Count, json!([2, 0.5, 3]), json!(3));
    // The chosen value is returned as it is: an integer stays an integer.
    check(Builtin::Min, json!([2, 0.5, 3]), json!(0.5));
    check(Builtin::Max, json!([2, 0.5, 3]), json!(3));
    check(Builtin::Max, json!([2.0, 1, 2.5]), json!(2.5));
    check(Builtin::Min, json!([2.0, 1, 2.5]), json!(1));
}

#[test]
fn strings_for_min_and_max() {
    check(
        Builtin::Min,
        json!(["pear", "apple", "fig"]),
        json!("apple"),
    );
    check(Builtin::Max, json!(["pear", "apple", "fig"]), json!("pear"));
    check(Builtin::Count, json!(["pear", "apple", "fig"]), json!(3));
}

//! Tests of update_state_by_key with the built-in running sum (Spark's `update_sum`).

use serde_json::{json, Value};

use super::*;
use crate::ops::builtin::Builtin;
use crate::ops::testutil::{batch, drive, expect};

fn pairs(keys: &[&str]) -> Value {
    json!(keys.iter().map(|k| json!([k, 1])).collect::<Vec<_>>())
}

fn input() -> Vec<Value> {
    vec![
        pairs(&["a"]),
        pairs(&["a", "b"]),
        pairs(&["a", "b", "c"]),
        pairs(&["a", "b"]),
        pairs(&["a"]),
        pairs(&[]),
    ]
}

fn times() -> Vec<i64> {
    (1..=6).map(|i| i * 1000).collect()
}

#[test]
fn emits_whole_state_every_batch() {
    let mut op = UpdateStateByKey::new(UpdateFn::Builtin(Builtin::Sum), None, None);
    let want = json!([
        [["a", 1]],
        [["a", 2], ["b", 1]],
        [["a", 3], ["b", 2], ["c", 1]],
        [["a", 4], ["b", 3], ["c", 1]],
        [["a", 5], ["b", 3], ["c", 1]],
        [["a", 5], ["b", 3], ["c", 1]]
    ]);
    assert_eq!(drive(&mut op, &input(), 6), expect(&times(), want));
}

#[test]
fn initial_state_joins_at_the_first_rdd() {
    let initial = batch(json!([["a", 1], ["c", 2]]), 1);
    let mut op = UpdateStateByKey::new(UpdateFn::Builtin(Builtin::Sum), Some(3), Some(initial));
    let mut inputs = vec![Value::Null];
    inputs.extend(input());
    let out = drive(&mut op, &inputs, 3);
    // No RDD and no state yet: no output at all at 1000.
    assert_eq!(out[0], (1000, vec![]));
    let want = json!([[["a", 2], ["c", 2]], [["a", 3], ["b", 1], ["c", 2]]]);
    assert_eq!(out[1..].to_vec(), expect(&[2000, 3000], want));
}

#[test]
fn no_rdd_before_any_state_gives_no_rdd() {
    let h = crate::ops::testutil::Harness::new(1000);
    let mut op = UpdateStateByKey::new(UpdateFn::Builtin(Builtin::Sum), None, None);
    let v = op.on_batch(&[StreamValue::NoRdd], &h.cx(1000)).unwrap();
    assert!(matches!(v, StreamValue::NoRdd));
    op.on_batch(&[crate::ops::testutil::rdd(pairs(&["a"]), 1)], &h.cx(2000))
        .unwrap();
    let v = op.on_batch(&[StreamValue::NoRdd], &h.cx(3000)).unwrap();
    assert_eq!(
        crate::ops::testutil::json(&v).unwrap(),
        vec![json!(["a", 1])]
    );
}

#[test]
fn snapshots_and_deltas_restore_the_state() {
    let mut op = UpdateStateByKey::new(UpdateFn::Builtin(Builtin::Sum), Some(4), None);
    let inputs = input();
    drive(&mut op, &inputs[..2], 2);
    let full = op.snapshot().unwrap();
    let _ = op.snapshot_delta();
    let h = crate::ops::testutil::Harness::new(1000);
    op.on_batch(&[crate::ops::testutil::rdd(pairs(&["c"]), 2)], &h.cx(3000))
        .unwrap();
    let delta = op.snapshot_delta().unwrap();
    assert!(delta.len() < full.len(), "a delta of one key is small");

    let mut back = UpdateStateByKey::new(UpdateFn::Builtin(Builtin::Sum), Some(4), None);
    back.restore(&full).unwrap();
    back.restore_delta(&delta).unwrap();
    let v = back.on_batch(&[StreamValue::NoRdd], &h.cx(4000)).unwrap();
    let mut got = crate::ops::testutil::json(&v).unwrap();
    got.sort_by_key(|x| x.to_string());
    assert_eq!(got, vec![json!(["a", 2]), json!(["b", 1]), json!(["c", 1])]);
    assert!(back.restore(&delta).is_err());
}

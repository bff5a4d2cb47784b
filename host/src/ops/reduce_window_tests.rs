//! Tests of windowed reductions against WindowOperationsSuite's vectors.

use serde_json::{json, Value};

use super::*;
use crate::ops::builtin::Builtin;
use crate::ops::testutil::{drive, expect};

fn spec(w: i64, s: i64) -> WindowSpec {
    WindowSpec::new("w", w, Some(s), 1000).unwrap()
}

fn sum() -> ReduceFn {
    ReduceFn::Builtin(Builtin::Sum)
}

fn sub() -> Option<InverseFn> {
    Some(InverseFn::Builtin(Builtin::Sum))
}

fn big_input() -> Vec<Value> {
    let b = |keys: &[&str]| json!(keys.iter().map(|k| json!([k, 1])).collect::<Vec<_>>());
    let half = [
        b(&["a"]),
        b(&["a", "b"]),
        b(&["a", "b", "c"]),
        b(&["a", "b"]),
        b(&["a"]),
        b(&[]),
    ];
    half.iter().chain(half.iter()).cloned().collect()
}

fn times(n: i64) -> Vec<i64> {
    (1..=n).map(|i| i * 1000).collect()
}

#[test]
fn big_test_without_inverse() {
    let mut op = ReduceByKeyAndWindow::new(spec(2000, 1000), sum(), None, None, None);
    let out = drive(&mut op, &big_input(), 12);
    let want = json!([
        [["a", 1]],
        [["a", 2], ["b", 1]],
        [["a", 2], ["b", 2], ["c", 1]],
        [["a", 2], ["b", 2], ["c", 1]],
        [["a", 2], ["b", 1]],
        [["a", 1]],
        [["a", 1]],
        [["a", 2], ["b", 1]],
        [["a", 2], ["b", 2], ["c", 1]],
        [["a", 2], ["b", 2], ["c", 1]],
        [["a", 2], ["b", 1]],
        [["a", 1]]
    ]);
    assert_eq!(out, expect(&times(12), want));
}

#[test]
fn big_test_with_inverse_keeps_zero_keys() {
    let mut op = ReduceByKeyAndWindow::new(spec(2000, 1000), sum(), sub(), None, None);
    let out = drive(&mut op, &big_input(), 12);
    let want = json!([
        [["a", 1]],
        [["a", 2], ["b", 1]],
        [["a", 2], ["b", 2], ["c", 1]],
        [["a", 2], ["b", 2], ["c", 1]],
        [["a", 2], ["b", 1], ["c", 0]],
        [["a", 1], ["b", 0], ["c", 0]],
        [["a", 1], ["b", 0], ["c", 0]],
        [["a", 2], ["b", 1], ["c", 0]],
        [["a", 2], ["b", 2], ["c", 1]],
        [["a", 2], ["b", 2], ["c", 1]],
        [["a", 2], ["b", 1], ["c", 0]],
        [["a", 1], ["b", 0], ["c", 0]]
    ]);
    assert_eq!(out, expect(&times(12), want));
}

#[test]
fn filter_on_the_merged_result_matches_the_naive_output() {
    let filter = Some(FilterFn::NonZero);
    let mut op = ReduceByKeyAndWindow::new(spec(2000, 1000), sum(), sub(), filter, Some(3));
    let mut naive = ReduceByKeyAndWindow::new(spec(2000, 1000), sum(), None, None, None);
    assert_eq!(
        drive(&mut op, &big_input(), 14),
        drive(&mut naive, &big_input(), 14)
    );
}

#[test]
fn larger_slide_uses_old_and_new_batches() {
    // 10 - (1 + 2) + (5 + 6) = 18.
    let input: Vec<Value> = (1..=6).map(|i| json!([["a", i]])).collect();
    let mut op = ReduceByKeyAndWindow::new(spec(4000, 2000), sum(), sub(), None, None);
    let out = drive(&mut op, &input, 10);
    let want = json!([
        [["a", 3]],
        [["a", 10]],
        [["a", 18]],
        [["a", 11]],
        [["a", 0]]
    ]);
    assert_eq!(out, expect(&[2000, 4000, 6000, 8000, 10000], want));
}

#[test]
fn reduce_and_count_by_window() {
    let input = vec![json!([1, 2, 3]), json!([4, 5, 6]), json!([7, 8, 9])];
    let mut inv = ReduceByKeyAndWindow::reduce_by_window(spec(2000, 1000), sum(), sub());
    let mut naive = ReduceByKeyAndWindow::reduce_by_window(spec(2000, 1000), sum(), None);
    let want = json!([[6], [21], [39], [24], [0], [0]]);
    assert_eq!(drive(&mut inv, &input, 6), expect(&times(6), want));
    let want = json!([[6], [21], [39], [24], [], []]);
    assert_eq!(drive(&mut naive, &input, 6), expect(&times(6), want));

    let mut count = ReduceByKeyAndWindow::count_by_window(spec(2000, 1000));
    let want = json!([[], [3], [3], [0], [0]]);
    let input = vec![json!([]), json!([1, 2, 3])];
    assert_eq!(drive(&mut count, &input, 5), expect(&times(5), want));
}

#[test]
fn count_by_value_and_window_drops_zero_counts() {
    let input = vec![
        json!(["hello", "world"]),
        json!(["hello", "moon"]),
        json!(["hello"]),
    ];
    let mut op = ReduceByKeyAndWindow::count_by_value_and_window(spec(2000, 1000), None);
    let want = json!([
        [["hello", 1], ["world", 1]],
        [["hello", 2], ["world", 1], ["moon", 1]],
        [["hello", 2], ["moon", 1]],
        [["hello", 1]],
        []
    ]);
    assert_eq!(drive(&mut op, &input, 5), expect(&times(5), want));
}

#[test]
fn snapshot_restores_mid_window() {
    let mut a = ReduceByKeyAndWindow::new(spec(3000, 1000), sum(), sub(), None, None);
    let input = big_input();
    let first = drive(&mut a, &input[..4], 4);
    let snap = a.snapshot().unwrap();
    let mut b = ReduceByKeyAndWindow::new(spec(3000, 1000), sum(), sub(), None, None);
    b.restore(&snap).unwrap();
    let mut whole = ReduceByKeyAndWindow::new(spec(3000, 1000), sum(), sub(), None, None);
    let all = drive(&mut whole, &input, 4);
    assert_eq!(first, all);
    assert!(b.restore(&snap[..snap.len() - 1]).is_err());
    assert_eq!(b.snapshot().unwrap(), snap);
}

#[test]
fn the_state_size_follows_the_window() {
    // With an inverse: the keys of the previous output (zero counts kept).
    let mut op = ReduceByKeyAndWindow::new(spec(2000, 1000), sum(), sub(), None, None);
    assert_eq!(op.state_keys(), Some(0));
    drive(&mut op, &big_input()[..3], 3);
    assert_eq!(op.state_keys(), Some(3));
    assert!(op.state_bytes() > 0);
    // Without: the entries of the batches kept for the next window (`a, b, c` of the
    // last batch; the one before it left the window).
    let mut op = ReduceByKeyAndWindow::new(spec(2000, 1000), sum(), None, None, None);
    drive(&mut op, &big_input()[..3], 3);
    assert_eq!(op.state_keys(), Some(3));
}

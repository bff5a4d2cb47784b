//! Tests of map_with_state with the built-in running sum (emits `[key, sum]` per key).

use serde_json::json;

use super::*;
use crate::ops::builtin::Builtin;
use crate::ops::testutil::{batch, json, rdd, sort, Harness};

fn config() -> MapWithStateConfig {
    MapWithStateConfig {
        f: UpdateFn::Builtin(Builtin::Sum),
        partitions: Some(3),
        timeout_ms: None,
        scan_interval_ms: None,
        initial: None,
    }
}

fn sorted(v: Option<Vec<serde_json::Value>>) -> Vec<serde_json::Value> {
    let mut v = v.unwrap();
    v.sort_by_key(|x| x.to_string());
    v
}

#[test]
fn touched_keys_only_and_snapshots_list_all() {
    let h = Harness::new(1000);
    let mut c = config();
    c.initial = Some(batch(json!([["z", 10]]), 1));
    let mut op = MapWithState::new(c);
    let mut snaps = op.snapshots();
    let out = op
        .on_batch(
            &[rdd(json!([["a", 1], ["b", 2], ["a", 3]]), 2)],
            &h.cx(1000),
        )
        .unwrap();
    assert_eq!(sorted(json(&out)), sort(json!([["a", 4], ["b", 2]])));
    let s = snaps.on_batch(&[out], &h.cx(1000)).unwrap();
    assert_eq!(
        sorted(json(&s)),
        sort(json!([["a", 4], ["b", 2], ["z", 10]]))
    );
    let out = op
        .on_batch(&[rdd(json!([["z", 1]]), 2)], &h.cx(2000))
        .unwrap();
    assert_eq!(json(&out).unwrap(), vec![json!(["z", 11])]);
    // No RDD: an empty batch for map_with_state.
    let out = op.on_batch(&[StreamValue::NoRdd], &h.cx(3000)).unwrap();
    assert_eq!(json(&out).unwrap(), Vec::<serde_json::Value>::new());
    assert!(!snaps
        .on_batch(&[StreamValue::NotValid], &h.cx(3000))
        .unwrap()
        .is_valid());
}

#[test]
fn idle_keys_time_out_on_full_scans_only() {
    let h = Harness::new(1000);
    let mut c = config();
    c.timeout_ms = Some(2000);
    c.scan_interval_ms = Some(4000);
    let mut op = MapWithState::new(c);
    let snaps = op.snapshots();
    let mut snaps = snaps;
    op.on_batch(&[rdd(json!([["a", 1], ["b", 1]]), 1)], &h.cx(1000))
        .unwrap();
    for t in [2000, 3000] {
        let v = op.on_batch(&[rdd(json!([["b", 1]]), 1)], &h.cx(t)).unwrap();
        snaps.on_batch(&[v], &h.cx(t)).unwrap();
    }
    // 4000 is a full scan: a (updated at 1000 < 4000 - 2000) times out; b does not.
    let v = op.on_batch(&[rdd(json!([]), 1)], &h.cx(4000)).unwrap();
    let s = snaps.on_batch(&[v], &h.cx(4000)).unwrap();
    assert_eq!(json(&s).unwrap(), vec![json!(["b", 3])]);
    // 7000: b idle since 3000, but only found at the next full scan (8000).
    for t in [5000, 6000, 7000] {
        let v = op.on_batch(&[rdd(json!([]), 1)], &h.cx(t)).unwrap();
        let s = snaps.on_batch(&[v], &h.cx(t)).unwrap();
        assert_eq!(json(&s).unwrap().len(), 1);
    }
    let v = op.on_batch(&[rdd(json!([]), 1)], &h.cx(8000)).unwrap();
    let s = snaps.on_batch(&[v], &h.cx(8000)).unwrap();
    assert_eq!(json(&s).unwrap().len(), 0);
}

#[test]
fn snapshot_and_delta_round_trip() {
    let h = Harness::new(1000);
    let mut op = MapWithState::new(config());
    op.on_batch(&[rdd(json!([["a", 1], ["b", 1]]), 1)], &h.cx(1000))
        .unwrap();
    let full = op.snapshot().unwrap();
    op.snapshot_delta();
    op.on_batch(&[rdd(json!([["b", 5]]), 1)], &h.cx(2000))
        .unwrap();
    let delta = op.snapshot_delta().unwrap();
    let mut back = MapWithState::new(config());
    back.restore(&full).unwrap();
    back.restore_delta(&delta).unwrap();
    let mut snaps = back.snapshots();
    let s = snaps.on_batch(&[StreamValue::NoRdd], &h.cx(3000)).unwrap();
    assert_eq!(sorted(json(&s)), sort(json!([["a", 1], ["b", 6]])));
}

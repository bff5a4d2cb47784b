//! Tests of event-time windows: watermark, lateness, sliding assignment, reduce.

use serde_json::{json, Value};

use super::*;
use crate::ops::builtin::Builtin;
use crate::ops::testutil::{json, rdd, Harness};
use crate::ops::ErrorPolicy;

fn config(slide: Option<i64>, reduce: Option<ReduceFn>) -> EventTimeConfig {
    EventTimeConfig {
        time_field: "ts".into(),
        size_ms: 10_000,
        slide_ms: slide,
        allowed_lateness_ms: 2_000,
        reduce,
    }
}

fn ev(ts: i64, v: &str) -> Value {
    json!({"ts": ts, "v": v})
}

#[test]
fn tumbling_windows_close_on_the_watermark_and_reject_late_records() {
    let mut h = Harness::new(1000);
    h.policy = ErrorPolicy::Skip;
    let mut op = EventTimeWindow::new(config(None, None));
    let out = op
        .on_batch(
            &[rdd(
                json!([ev(1_000, "a"), ev(9_000, "b"), ev(11_000, "c")]),
                1,
            )],
            &h.cx(1000),
        )
        .unwrap();
    // Watermark 9000: window [0, 10000) is still open.
    assert_eq!(json(&out).unwrap(), Vec::<Value>::new());
    let out = op
        .on_batch(
            &[rdd(json!([ev(12_500, "d"), ev(8_000, "e")]), 1)],
            &h.cx(2000),
        )
        .unwrap();
    // 8000 was accepted (watermark 9000 < window end); now the watermark is 10500.
    assert_eq!(
        json(&out).unwrap(),
        vec![
            json!({"start": 0, "end": 10_000, "records": [ev(1_000, "a"), ev(9_000, "b"), ev(8_000, "e")]})
        ]
    );
    op.on_batch(
        &[rdd(json!([ev(5_000, "late"), json!({"x": 1})]), 1)],
        &h.cx(3000),
    )
    .unwrap();
    let rejected = h.rejected.lock().unwrap();
    assert_eq!(rejected.len(), 2);
    assert!(
        rejected[0]
            .reason
            .contains("late record: event time 5000 ms"),
        "{}",
        rejected[0].reason
    );
    assert!(rejected[1].reason.contains("field `ts` is missing"));
}

#[test]
fn sliding_windows_reduce_per_key_and_survive_a_restore() {
    let h = Harness::new(1000);
    let count = Some(ReduceFn::Builtin(Builtin::Count));
    let mut op = EventTimeWindow::new(config(Some(5_000), count.clone()));
    let pair = |k: &str, ts: i64| json!([k, {"ts": ts}]);
    op.on_batch(
        &[rdd(json!([pair("a", 6_000), pair("b", 7_000)]), 1)],
        &h.cx(1000),
    )
    .unwrap();
    let mut back = EventTimeWindow::new(config(Some(5_000), count));
    back.restore(&op.snapshot().unwrap()).unwrap();
    let out = back
        .on_batch(&[rdd(json!([pair("a", 12_500)]), 1)], &h.cx(2000))
        .unwrap();
    // Watermark 10500 closes [0, 10000) (a at 6000, b at 7000); [5000, 15000) stays open.
    let mut got = json(&out).unwrap();
    got.sort_by_key(|x| x.to_string());
    assert_eq!(
        got,
        vec![
            json!({"start": 0, "end": 10_000, "key": "a", "value": 1}),
            json!({"start": 0, "end": 10_000, "key": "b", "value": 1}),
        ]
    );
    assert_eq!(
        back.windows_of(12_500).collect::<Vec<_>>(),
        vec![5_000, 10_000]
    );
}

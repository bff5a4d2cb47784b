//! Test helpers: contexts, batches from JSON, and batches back to JSON.

use std::sync::{Arc, Mutex};

use serde_json::Value;

use super::{ErrorPolicy, OpContext, StreamValue};

use crate::record::{json_to_msgpack, msgpack_to_json, Batch, Partition};
use crate::record::{BatchTime, DeadLetter};

/// Owns what an [`OpContext`] borrows.
pub struct Harness {
    pub rejected: Mutex<Vec<DeadLetter>>,
    pub batch_ms: i64,
    pub policy: ErrorPolicy,
    pub partitions: usize,
}

impl Harness {
    pub fn new(batch_ms: i64) -> Self {
        Harness {
            rejected: Mutex::new(Vec::new()),
            batch_ms,
            policy: ErrorPolicy::Fail,
            partitions: 2,
        }
    }

    pub fn cx(&self, time: BatchTime) -> OpContext<'_> {
        OpContext {
            stream: "s",
            time,
            zero_time: 0,
            batch_ms: self.batch_ms,
            default_partitions: self.partitions,
            policy: self.policy,
            rejected: &self.rejected,
        }
    }
}

/// A batch of JSON records split into `n` partitions like Spark's ParallelCollectionRDD.
pub fn batch(records: Value, n: usize) -> Arc<Batch> {
    let items = records.as_array().cloned().unwrap_or_default();
    let len = items.len();
    let parts = (0..n)
        .map(|i| {
            let mut p = Partition::new();
            for item in &items[i * len / n..(i + 1) * len / n] {
                p.push_with(|b| json_to_msgpack(item, b));
            }
            p
        })
        .collect();
    Batch::new(parts)
}

/// An RDD value from JSON records.
pub fn rdd(records: Value, n: usize) -> StreamValue {
    StreamValue::Rdd(batch(records, n))
}

/// The records of a value as JSON (`None` for NotValid / NoRdd).
pub fn json(v: &StreamValue) -> Option<Vec<Value>> {
    v.rdd()
        .map(|b| b.records().map(|r| msgpack_to_json(r).unwrap()).collect())
}

/// The records sorted by their JSON text, for order-insensitive comparisons.
pub fn sorted(v: &StreamValue) -> Option<Vec<Value>> {
    json(v).map(|mut r| {
        r.sort_by_key(|x| x.to_string());
        r
    })
}

/// Sorts a JSON array by JSON text.
pub fn sort(v: Value) -> Vec<Value> {
    let mut r = v.as_array().cloned().unwrap_or_default();
    r.sort_by_key(|x| x.to_string());
    r
}

/// Runs a one-parent operator over batches 1..=n at 1 s (JSON inputs, `null` for no RDD,
/// then empty batches); returns `(time, records)` at every valid time.
pub fn drive(op: &mut dyn super::Operator, inputs: &[Value], n: usize) -> Vec<(i64, Vec<Value>)> {
    let h = Harness::new(1000);
    let mut out = Vec::new();
    for i in 1..=n {
        let input = inputs.get(i - 1).cloned().unwrap_or(serde_json::json!([]));
        let t = i as i64 * 1000;
        let v = if input.is_null() {
            StreamValue::NoRdd
        } else {
            rdd(input, 2)
        };
        let v = op.on_batch(&[v], &h.cx(t)).unwrap();
        if v.is_valid() {
            let mut recs = json(&v).unwrap_or_default();
            recs.sort_by_key(|x| x.to_string());
            out.push((t, recs));
        }
    }
    out
}

/// `drive`'s expected form: JSON arrays of records, each sorted.
pub fn expect(times: &[i64], batches: Value) -> Vec<(i64, Vec<Value>)> {
    times
        .iter()
        .zip(batches.as_array().unwrap())
        .map(|(t, b)| (*t, sort(b.clone())))
        .collect()
}

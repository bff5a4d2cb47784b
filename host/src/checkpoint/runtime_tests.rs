//! Tests of the checkpoint barrier with a real keyed operator on real files: full
//! snapshots, deltas, compaction, and a restore that gives back the same state.

use std::sync::Mutex;

use serde_json::json;

use super::*;
use crate::checkpoint::{layout_of, CheckpointSettings};
use crate::job::CheckpointConfig;
use crate::ops::Builtin;
use crate::ops::UpdateFn;
use crate::ops::UpdateStateByKey;
use crate::ops::{ErrorPolicy, OpContext, StreamValue};
use crate::record::{json_to_msgpack, Batch, BatchTime, Partition};

fn feed(op: &mut Box<dyn Operator>, time: i64, keys: &[&str]) {
    let mut p = Partition::new();
    for k in keys {
        p.push_with(|b| json_to_msgpack(&json!([k, 1]), b));
    }
    let rejected = Mutex::new(Vec::new());
    let cx = OpContext {
        stream: "totals",
        time,
        zero_time: 0,
        batch_ms: 1000,
        default_partitions: 2,
        policy: ErrorPolicy::Fail,
        rejected: &rejected,
    };
    op.on_batch(&[StreamValue::Rdd(Batch::new(vec![p]))], &cx)
        .unwrap();
}

/// A job of one operator and no sources, as the barrier sees it.
struct OneOp {
    index: u64,
    op: Box<dyn Operator>,
    sources: Vec<(String, SourceHandle)>,
}

impl CheckpointedJob for OneOp {
    fn progress(&self) -> (u64, BatchTime, BatchTime) {
        (self.index, self.index as i64 * 1000, 0)
    }

    fn operators(&mut self) -> Vec<(&str, &mut Box<dyn Operator>)> {
        vec![("totals", &mut self.op)]
    }

    fn sources(&mut self) -> &mut [(String, SourceHandle)] {
        &mut self.sources
    }
}

fn new_op() -> Box<dyn Operator> {
    Box::new(UpdateStateByKey::new(
        UpdateFn::Builtin(Builtin::Sum),
        Some(2),
        None,
    ))
}

fn open(dir: &std::path::Path, op: &dyn Operator) -> Checkpointer {
    let config: CheckpointConfig = toml::from_str("every_batches = 1\nmax_deltas = 2").unwrap();
    let mut fp = Fingerprint::default();
    fp.layouts.insert("totals".into(), layout_of(op).unwrap());
    Checkpointer::open(
        CheckpointSettings::new(&config, dir.to_owned()),
        "t",
        fp,
        ClockName::Virtual,
        false,
    )
    .unwrap()
}

#[test]
fn deltas_follow_changed_keys_compact_and_restore() {
    let dir = tempfile::tempdir().unwrap();
    let mut job = OneOp {
        index: 0,
        op: new_op(),
        sources: Vec::new(),
    };
    let mut ck = open(dir.path(), job.op.as_ref());
    assert!(ck.resumed().is_none());
    let keys: Vec<String> = (0..500).map(|i| format!("key-{i}")).collect();
    let all: Vec<&str> = keys.iter().map(String::as_str).collect();
    let mut kinds = Vec::new();
    for i in 1..=5 {
        feed(&mut job.op, i * 1000, if i == 1 { &all } else { &all[..3] });
        job.index = i as u64;
        ck.barrier(&mut job, false).unwrap();
        let s = ck.last_stats.clone().unwrap();
        kinds.push((s.full, s.deltas, s.bytes));
    }
    let k: Vec<(usize, usize)> = kinds.iter().map(|(f, d, _)| (*f, *d)).collect();
    assert_eq!(k, vec![(1, 0), (0, 1), (0, 1), (1, 0), (0, 1)], "{kinds:?}");
    assert!(
        kinds[1].2 * 20 < kinds[0].2,
        "a delta of 3 keys is small: {kinds:?}"
    );
    let expected = job.op.snapshot().unwrap();

    drop(ck); // the job stops and releases the directory
    let mut back = OneOp {
        index: 5,
        op: new_op(),
        sources: Vec::new(),
    };
    let mut ck = open(dir.path(), back.op.as_ref());
    assert_eq!(ck.resumed(), Some((5, 5000, 0)));
    ck.resume(&mut back).unwrap();
    let mut a = expected;
    let mut b = back.op.snapshot().unwrap();
    // Same state; entries may be listed in another order, so compare sorted bytes.
    a.sort_unstable();
    b.sort_unstable();
    assert_eq!(a, b);
}

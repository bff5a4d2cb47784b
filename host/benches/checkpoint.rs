//! Checkpoint and restore cost of `update_state_by_key` with 1,000,000 keys: a full
//! snapshot, a delta after 1% of the keys changed, and a restore of full + delta, each
//! written to (and read from) a real checkpoint directory with fsync.
//!
//! Run: `cargo bench -p sluice --bench checkpoint` (`SLUICE_BENCH_KEYS` changes the size).

use std::sync::Mutex;
use std::time::Instant;

use serde_json::json;
use sluice::checkpoint::{CheckpointMeta, CheckpointStore, ClockName, Fingerprint, StateBlob};
use sluice::ops::Builtin;
use sluice::ops::UpdateFn;
use sluice::ops::UpdateStateByKey;
use sluice::ops::{ErrorPolicy, OpContext, Operator, StreamValue};
use sluice::record::{json_to_msgpack, Batch, Partition};

const PARTITIONS: usize = 8;

fn batch(keys: impl Iterator<Item = usize> + Clone) -> StreamValue {
    let mut parts: Vec<Partition> = (0..PARTITIONS).map(|_| Partition::new()).collect();
    for (i, k) in keys.enumerate() {
        parts[i % PARTITIONS].push_with(|b| json_to_msgpack(&json!([format!("key-{k}"), 1]), b));
    }
    StreamValue::Rdd(Batch::new(parts))
}

fn run(op: &mut UpdateStateByKey, time: i64, input: StreamValue) {
    let rejected = Mutex::new(Vec::new());
    let cx = OpContext {
        stream: "totals",
        time,
        zero_time: 0,
        batch_ms: 1000,
        default_partitions: PARTITIONS,
        policy: ErrorPolicy::Fail,
        rejected: &rejected,
    };
    op.on_batch(&[input], &cx).expect("the batch runs");
}

fn meta(index: u64, operators: Vec<sluice::checkpoint::OperatorState>) -> CheckpointMeta {
    CheckpointMeta {
        job: "bench".into(),
        index,
        batch_time: index as i64 * 1000,
        zero_time: 0,
        clock: ClockName::Virtual,
        written_at_ms: 0,
        in_flight: Vec::new(),
        fingerprint: Fingerprint::default(),
        sources: Default::default(),
        operators,
    }
}

fn main() {
    let keys: usize = std::env::var("SLUICE_BENCH_KEYS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let changed = keys / 100;
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = CheckpointStore::open(dir.path(), 3).expect("the checkpoint directory");
    let mut op = UpdateStateByKey::new(UpdateFn::Builtin(Builtin::Sum), Some(PARTITIONS), None);
    run(&mut op, 1000, batch(0..keys));

    let t = Instant::now();
    let _ = op.snapshot_delta(); // what the checkpointer does: the next delta starts here
    let clear = t.elapsed();
    let full = op.snapshot().expect("state");
    let snap = t.elapsed() - clear;
    let full_len = full.len();
    let blob = |delta, data| StateBlob {
        stream: "totals".into(),
        kind: "update_state_by_key".into(),
        delta,
        data,
    };
    let m1 = store
        .write(meta(1, vec![]), vec![blob(false, full)])
        .expect("write");
    let full_total = t.elapsed();

    run(&mut op, 2000, batch((0..keys).step_by(100)));
    let t = Instant::now();
    let delta = op.snapshot_delta().expect("state");
    let delta_len = delta.len();
    store
        .write(meta(2, m1.operators.clone()), vec![blob(true, delta)])
        .expect("write");
    let delta_total = t.elapsed();

    let t = Instant::now();
    let loaded = store.load_latest().expect("load").expect("a checkpoint");
    let read = t.elapsed();
    let mut back = UpdateStateByKey::new(UpdateFn::Builtin(Builtin::Sum), Some(PARTITIONS), None);
    back.restore(&loaded.states[0].full).expect("restore");
    for d in &loaded.states[0].deltas {
        back.restore_delta(d).expect("restore delta");
    }
    let restore_total = t.elapsed();
    assert_eq!(
        back.snapshot().map(|s| s.len()),
        op.snapshot().map(|s| s.len())
    );

    println!("update_state_by_key, {keys} keys, {PARTITIONS} state partitions");
    println!(
        "full checkpoint:  {:>9} bytes  clear changed keys {:>7.1} ms  snapshot {:>7.1} ms  \
         total with write+fsync {:>7.1} ms",
        full_len,
        clear.as_secs_f64() * 1e3,
        snap.as_secs_f64() * 1e3,
        full_total.as_secs_f64() * 1e3
    );
    println!(
        "delta ({changed} keys): {:>9} bytes  snapshot+write+fsync {:>7.1} ms",
        delta_len,
        delta_total.as_secs_f64() * 1e3
    );
    println!(
        "restore full+delta: read+check {:>7.1} ms  total {:>7.1} ms",
        read.as_secs_f64() * 1e3,
        restore_total.as_secs_f64() * 1e3
    );
}

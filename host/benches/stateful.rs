//! Stateful operator benchmark: running word counts with `update_state_by_key`,
//! `map_with_state` over a million keys of which a few are touched per batch, and
//! `reduce_by_key_and_window` with an inverse at growing window lengths; each against a
//! plain native Rust hash-map running count measured in the same run.
//!
//! Input: lines of 10 words from a 10,000-word vocabulary, 1 s batches, already split
//! into pair records `[word, 1]` (what the upstream `flat_map` stage hands over); only the
//! stateful operator's `on_batch` is timed. Run: `cargo bench -p sluice --bench stateful`
//! (`SLUICE_BENCH_WORDS=N` words per batch, default 2,000,000).

use std::collections::HashMap;
use std::hint::black_box;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sluice::ops::Builtin;
use sluice::ops::ReduceByKeyAndWindow;
use sluice::ops::UpdateFn;
use sluice::ops::UpdateStateByKey;
use sluice::ops::WindowSpec;
use sluice::ops::{ErrorPolicy, OpContext, Operator, StreamValue};
use sluice::ops::{InverseFn, ReduceFn};
use sluice::ops::{MapWithState, MapWithStateConfig};
use sluice::record::{write_pair, Batch, Partition};
use sluice::source::vocabulary_word;

const PARTITIONS: usize = 4;
const BATCH_MS: i64 = 1000;

/// A deterministic xorshift generator.
struct Rng(u64);

impl Rng {
    fn next(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

/// `lines` lines of 10 words: the words (for the baseline) and the batch of `[word, 1]`.
fn make_batch(vocab: &[String], words: usize, rng: &mut Rng) -> (Vec<usize>, Arc<Batch>) {
    let ids: Vec<usize> = (0..words).map(|_| rng.next(vocab.len())).collect();
    let per = words.div_ceil(PARTITIONS);
    let parts = ids
        .chunks(per.max(1))
        .map(|chunk| {
            let mut p = Partition::with_capacity(chunk.len(), chunk.len() * 10);
            for &i in chunk {
                let mut key = Vec::with_capacity(12);
                sluice_abi::msgpack::write_str(&mut key, &vocab[i]);
                p.push_with(|out| write_pair(out, &key, &[1]));
            }
            p
        })
        .collect();
    (ids, Batch::new(parts))
}

struct Ctx {
    rejected: Mutex<Vec<sluice::record::DeadLetter>>,
}

impl Ctx {
    fn cx(&self, time: i64) -> OpContext<'_> {
        OpContext {
            stream: "bench",
            time,
            zero_time: 0,
            batch_ms: BATCH_MS,
            default_partitions: PARTITIONS,
            policy: ErrorPolicy::Fail,
            rejected: &self.rejected,
        }
    }
}

/// Runs `op` over the batches (cycling) for `n` batches; returns the time of the batches
/// after `warmup`.
fn drive(op: &mut dyn Operator, batches: &[Arc<Batch>], n: usize, warmup: usize) -> Duration {
    let ctx = Ctx {
        rejected: Mutex::new(Vec::new()),
    };
    let mut measured = Duration::ZERO;
    for i in 0..n {
        let input = [StreamValue::Rdd(batches[i % batches.len()].clone())];
        let t0 = Instant::now();
        let out = op
            .on_batch(&input, &ctx.cx((i as i64 + 1) * BATCH_MS))
            .expect("batch");
        if i >= warmup {
            measured += t0.elapsed();
        }
        black_box(out);
    }
    measured
}

fn rate(words: usize, d: Duration) -> f64 {
    words as f64 / d.as_secs_f64()
}

fn main() {
    let words: usize = std::env::var("SLUICE_BENCH_WORDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000_000);
    let vocab: Vec<String> = (0..10_000).map(vocabulary_word).collect();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let data: Vec<(Vec<usize>, Arc<Batch>)> = (0..3)
        .map(|_| make_batch(&vocab, words, &mut rng))
        .collect();
    let batches: Vec<Arc<Batch>> = data.iter().map(|(_, b)| b.clone()).collect();
    println!(
        "stateful benchmark: {words} words per 1 s batch, {PARTITIONS} partitions, {} threads",
        rayon::current_num_threads()
    );

    // Baseline: a plain native hash-map running count over the same words.
    let n_batches = 6;
    let mut counts: HashMap<&str, u64> = HashMap::new();
    let t0 = Instant::now();
    for i in 0..n_batches {
        for &w in &data[i % data.len()].0 {
            *counts.entry(vocab[w].as_str()).or_insert(0) += 1;
        }
    }
    let baseline = rate(words * n_batches, t0.elapsed());
    black_box(&counts);
    println!(
        "{:<58} {:>12.0} words/s",
        "baseline: native HashMap running count", baseline
    );
    let report = |name: &str, r: f64| {
        println!(
            "{name:<58} {r:>12.0} words/s  ({:.2}x baseline)",
            r / baseline
        );
    };

    // 1. update_state_by_key, running counts (built-in sum).
    let mut op = UpdateStateByKey::new(UpdateFn::Builtin(Builtin::Sum), None, None);
    let d = drive(&mut op, &batches, n_batches + 1, 1);
    report(
        "update_state_by_key (running count)",
        rate(words * n_batches, d),
    );

    // 2. map_with_state over 1,000,000 keys, 1% (then 10%) touched per batch.
    let keys = 1_000_000usize;
    let mut mws = MapWithState::new(MapWithStateConfig {
        f: UpdateFn::Builtin(Builtin::Sum),
        partitions: None,
        timeout_ms: None,
        scan_interval_ms: None,
        initial: None,
    });
    let key_batch = |ids: &mut dyn Iterator<Item = usize>| {
        let mut p = Partition::new();
        for i in ids {
            let mut key = Vec::new();
            sluice_abi::msgpack::write_int(&mut key, i as i64);
            p.push_with(|out| write_pair(out, &key, &[1]));
        }
        Batch::new(vec![p])
    };
    let all = key_batch(&mut (0..keys));
    drive(&mut mws, &[all], 1, 1);
    for pct in [1usize, 10] {
        let touched = keys * pct / 100;
        let bs: Vec<Arc<Batch>> = (0..3)
            .map(|_| key_batch(&mut (0..touched).map(|_| rng.next(keys))))
            .collect();
        let d = drive(&mut mws, &bs, 5, 0);
        let per_batch = d / 5;
        report(
            &format!("map_with_state, 1M keys, {pct}% touched ({per_batch:.1?}/batch)"),
            rate(touched * 5, d),
        );
    }

    // 3. reduce_by_key_and_window with an inverse, slide 2 s, windows of 10x..1000x.
    let small: Vec<Arc<Batch>> = (0..3)
        .map(|_| make_batch(&vocab, words / 20, &mut rng).1)
        .collect();
    for w in [10i64, 100, 1000] {
        let spec =
            WindowSpec::new("bench", w * BATCH_MS, Some(2 * BATCH_MS), BATCH_MS).expect("window");
        let mut op = ReduceByKeyAndWindow::new(
            spec,
            ReduceFn::Builtin(Builtin::Sum),
            Some(InverseFn::Builtin(Builtin::Sum)),
            None,
            None,
        );
        let steady = 10;
        let n = w as usize + steady;
        let d = drive(&mut op, &small, n, w as usize);
        report(
            &format!(
                "reduce_by_key_and_window + inverse, window {w}x ({:.1?}/batch)",
                d / steady as u32
            ),
            rate(words / 20 * steady, d),
        );
    }
}

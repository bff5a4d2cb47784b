//! `reduce_by_key_and_window` and the window reductions built on it (`reduce_by_window`,
//! `count_by_window`, `count_by_value_and_window`).
//!
//! Each batch is reduced by key once, when it arrives, and kept (hash-partitioned) for the
//! window. At a valid time:
//! - without an inverse, the window's per-batch results are merged again (Spark's
//!   `reduceByKey -> window -> reduceByKey`): a key is present only while it has data;
//! - with an inverse (Spark's `ReducedWindowedDStream`), the previous output is updated
//!   with the batches that left the window (`old`, inverse) and those that entered it
//!   (`new`): per key, no previous value gives `reduce(new)`; otherwise
//!   `v = inv(v, reduce(old))` if old values, then `v = f(v, reduce(new))` if new ones.
//!   Keys are never removed except by the filter, applied to the keys that changed, whose
//!   result is the next state. The cost of a batch follows `old` and `new`, not the window.

use rayon::prelude::*;

use super::functions::{FilterFn, Group, InverseFn, ReduceFn};
use super::hash::{sorted_by_key, FastMap};
use super::keyed::{combine_batch, group_batch, Groups, KeyOf};
use super::narrow::{NarrowChain, TakesChain};
use super::window::{TimeBuffer, WindowSpec};
use super::window_state::{self, Entries, Reduced};
use super::{OpContext, OpError, Operator, StreamValue};
use crate::record::BatchTime;
use crate::record::{write_pair, Batch, Partition};

/// What the output records are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowOutput {
    /// Pairs `[key, value]`.
    Pairs,
    /// Values only (reduce_by_window, count_by_window).
    Values,
}

/// A windowed reduction by key.
#[derive(Debug)]
pub struct ReduceByKeyAndWindow {
    kind: &'static str,
    spec: WindowSpec,
    reduce: ReduceFn,
    inverse: Option<InverseFn>,
    filter: Option<FilterFn>,
    partitions: Option<usize>,
    key_of: KeyOf,
    output: WindowOutput,
    buffer: TimeBuffer<Reduced>,
    /// The previous output by partition (incremental mode only).
    state: Vec<FastMap<Vec<u8>, Vec<u8>>>,
    /// Narrow steps fused in front (see [`TakesChain`]).
    pre: Option<NarrowChain>,
    /// Keys and bytes of `state` and `buffer`, measured after each batch (metrics).
    held: (usize, usize),
}

impl ReduceByKeyAndWindow {
    /// `reduce_by_key_and_window` over pairs, with an optional inverse and filter.
    pub fn new(
        spec: WindowSpec,
        reduce: ReduceFn,
        inverse: Option<InverseFn>,
        filter: Option<FilterFn>,
        partitions: Option<usize>,
    ) -> Self {
        ReduceByKeyAndWindow {
            kind: "reduce_by_key_and_window",
            spec,
            reduce,
            inverse,
            filter,
            partitions,
            key_of: KeyOf::Pair,
            output: WindowOutput::Pairs,
            buffer: TimeBuffer::default(),
            state: Vec::new(),
            pre: None,
            held: (0, 0),
        }
    }

    /// `reduce_by_window`: the whole window reduced to one record (Spark: `reduce -> window
    /// -> reduce` without an inverse; a constant key through the incremental path with one,
    /// so that, once anything was seen, a value is emitted every slide).
    pub fn reduce_by_window(
        spec: WindowSpec,
        reduce: ReduceFn,
        inverse: Option<InverseFn>,
    ) -> Self {
        let mut op = Self::new(spec, reduce, inverse, None, Some(1));
        op.kind = "reduce_by_window";
        op.key_of = KeyOf::Constant;
        op.output = WindowOutput::Values;
        op
    }

    /// `count_by_window`: the number of records in the window (Spark: an incremental count,
    /// so `[0]` once the window empties, and `[]` while nothing has ever arrived).
    pub fn count_by_window(spec: WindowSpec) -> Self {
        let count = super::builtin::Builtin::Count;
        let mut op = Self::reduce_by_window(
            spec,
            ReduceFn::Builtin(count),
            Some(InverseFn::Builtin(count)),
        );
        op.kind = "count_by_window";
        op
    }

    /// `count_by_value_and_window`: pairs `[record, count]` over the window, incremental,
    /// with zero counts filtered out (Spark's Scala semantics).
    pub fn count_by_value_and_window(spec: WindowSpec, partitions: Option<usize>) -> Self {
        let count = super::builtin::Builtin::Count;
        let mut op = Self::new(
            spec,
            ReduceFn::Builtin(count),
            Some(InverseFn::Builtin(count)),
            Some(FilterFn::NonZero),
            partitions,
        );
        op.kind = "count_by_value_and_window";
        op.key_of = KeyOf::Record;
        op
    }

    fn n(&self, cx: &OpContext<'_>) -> usize {
        self.partitions.unwrap_or(cx.default_partitions).max(1)
    }

    /// Reduces one arriving batch by key.
    fn reduce_batch(&self, b: &Batch, cx: &OpContext<'_>) -> Result<Reduced, OpError> {
        if let Some(builtin) = self.reduce.builtin() {
            let pre = self.pre.as_ref();
            if let Some(parts) = combine_batch(b, self.n(cx), self.key_of, builtin, pre, cx)? {
                return Ok(parts);
            }
        }
        let chained;
        let b = match &self.pre {
            Some(chain) => {
                chained = chain.run_batch(b, cx)?;
                &*chained
            }
            None => b,
        };
        let groups = group_batch(b, self.n(cx), self.key_of, cx)?;
        groups
            .par_iter()
            .enumerate()
            .map(|(i, g)| {
                let items: Vec<Group<'_>> = g.iter().collect();
                let vals = self.reduce.reduce_groups(cx, i as u32, &items, true)?;
                Ok(items
                    .iter()
                    .zip(vals)
                    .filter_map(|((k, _), v)| v.map(|v| (k.to_vec(), v)))
                    .collect())
            })
            .collect()
    }

    /// The grouped per-batch values of partition `p` for batches in `(after, upto]`.
    fn gather(&self, p: usize, after: BatchTime, upto: BatchTime) -> Groups<'_> {
        let mut g = Groups::default();
        for (_, reduced) in self.buffer.range(after, upto) {
            for (k, v) in &reduced[p] {
                g.push(std::borrow::Cow::Borrowed(k.as_slice()), v);
            }
        }
        g
    }

    fn recompute(&self, cx: &OpContext<'_>, t: BatchTime) -> Result<Reduced, OpError> {
        (0..self.n(cx))
            .into_par_iter()
            .map(|p| {
                let g = self.gather(p, t - self.spec.window_ms, t);
                let items: Vec<Group<'_>> = g.iter().collect();
                let vals = self.reduce.reduce_groups(cx, p as u32, &items, false)?;
                let merged: Vec<(&[u8], Vec<u8>)> = items
                    .iter()
                    .zip(vals)
                    .filter_map(|((k, _), v)| v.map(|v| (*k, v)))
                    .collect();
                self.filtered(cx, p, merged)
            })
            .collect()
    }

    fn filtered(
        &self,
        cx: &OpContext<'_>,
        p: usize,
        merged: Vec<(&[u8], Vec<u8>)>,
    ) -> Result<Entries, OpError> {
        match &self.filter {
            None => Ok(merged.into_iter().map(|(k, v)| (k.to_vec(), v)).collect()),
            Some(f) => {
                let pairs: Vec<(&[u8], &[u8])> =
                    merged.iter().map(|(k, v)| (*k, v.as_slice())).collect();
                f.apply(cx, p as u32, &pairs)
            }
        }
    }

    /// Incremental update of state partition `p`; returns its new entries for changed keys
    /// and the keys to remove.
    fn incremental(
        &self,
        inv: &InverseFn,
        cx: &OpContext<'_>,
        p: usize,
        t: BatchTime,
    ) -> Result<(Entries, Vec<Vec<u8>>), OpError> {
        let (w, s) = (self.spec.window_ms, self.spec.slide_ms);
        let state = &self.state[p];
        let old = self.gather(p, t - s - w, t - w);
        let new = self.gather(p, t - s, t);
        // 1. v = inv(v, reduce(old)) for keys with a previous value.
        let old_items: Vec<Group<'_>> =
            old.iter().filter(|(k, _)| state.contains_key(*k)).collect();
        let old_reduced = self.reduce.reduce_groups(cx, p as u32, &old_items, false)?;
        let inv_items: Vec<(&[u8], &[u8], &[u8])> = old_items
            .iter()
            .zip(&old_reduced)
            .filter_map(|((k, _), r)| r.as_ref().map(|r| (*k, state[*k].as_slice(), r.as_slice())))
            .collect();
        let inverted = inv.apply(cx, p as u32, &inv_items)?;
        let mut current: FastMap<&[u8], Option<Vec<u8>>> = FastMap::default();
        for (k, _) in &old_items {
            current.insert(k, None); // a failed reduce or inverse drops the key
        }
        for ((k, _, _), v) in inv_items.iter().zip(inverted) {
            current.insert(k, v);
        }
        // 2. v = f(v, reduce(new)), or reduce(new) for keys without a previous value.
        let folded = {
            let folds: Vec<Vec<&[u8]>> = new
                .iter()
                .map(|(k, vs)| {
                    let prev = match current.get(k) {
                        Some(v) => v.as_deref(),
                        None => state.get(k).map(Vec::as_slice),
                    };
                    prev.into_iter().chain(vs.iter().copied()).collect()
                })
                .collect();
            let new_items: Vec<Group<'_>> = new
                .keys
                .iter()
                .zip(&folds)
                .map(|(k, vs)| (k.as_ref(), vs.as_slice()))
                .collect();
            self.reduce.reduce_groups(cx, p as u32, &new_items, false)?
        };
        for (k, v) in new.keys.iter().zip(folded) {
            current.insert(k.as_ref(), v);
        }
        // 3. The filter sees the changed keys; what it keeps is the next state.
        let mut merged: Vec<(&[u8], Vec<u8>)> = Vec::with_capacity(current.len());
        let mut removed: Vec<Vec<u8>> = Vec::new();
        for (k, v) in current {
            match v {
                Some(v) => merged.push((k, v)),
                None => removed.push(k.to_vec()),
            }
        }
        if self.filter.is_none() {
            // Everything merged is kept: no set of kept keys to build.
            return Ok((self.filtered(cx, p, merged)?, removed));
        }
        let keys: Vec<&[u8]> = merged.iter().map(|(k, _)| *k).collect();
        let kept = self.filtered(cx, p, merged)?;
        let kept_keys: super::hash::FastSet<&[u8]> =
            kept.iter().map(|(k, _)| k.as_slice()).collect();
        removed.extend(
            keys.into_iter()
                .filter(|k| !kept_keys.contains(*k))
                .map(<[u8]>::to_vec),
        );
        Ok((kept, removed))
    }

    fn emit<'e, K, V>(
        &self,
        parts: impl Iterator<Item = impl Iterator<Item = (&'e K, &'e V)>>,
    ) -> StreamValue
    where
        K: AsRef<[u8]> + ?Sized + 'e,
        V: AsRef<[u8]> + ?Sized + 'e,
    {
        let partitions = parts
            .map(|entries| {
                let mut p = Partition::new();
                for (k, v) in entries {
                    match self.output {
                        WindowOutput::Pairs => {
                            p.push_with(|out| write_pair(out, k.as_ref(), v.as_ref()))
                        }
                        WindowOutput::Values => p.push(v.as_ref()),
                    }
                }
                p
            })
            .collect();
        StreamValue::Rdd(Batch::new(partitions))
    }
}

impl TakesChain for ReduceByKeyAndWindow {
    fn fuse_after(&mut self, chain: NarrowChain) {
        self.pre = Some(chain);
    }

    fn fused(&self) -> Vec<&str> {
        self.pre
            .as_ref()
            .map(NarrowChain::streams)
            .unwrap_or_default()
    }
}

impl Operator for ReduceByKeyAndWindow {
    fn state_bytes(&self) -> usize {
        self.held.1
    }

    fn state_keys(&self) -> Option<usize> {
        Some(self.held.0)
    }

    fn kind(&self) -> &'static str {
        self.kind
    }

    fn on_batch(
        &mut self,
        inputs: &[StreamValue],
        cx: &OpContext<'_>,
    ) -> Result<StreamValue, OpError> {
        let n = self.n(cx);
        if self.state.len() != n {
            self.state = (0..n).map(|_| FastMap::default()).collect();
        }
        if let Some(b) = inputs.first().and_then(StreamValue::rdd) {
            let reduced = self.reduce_batch(b, cx)?;
            self.buffer.push(cx.time, reduced);
        }
        if !cx.is_valid_time(self.spec.slide_ms) {
            return Ok(StreamValue::NotValid);
        }
        let (t, w, s) = (cx.time, self.spec.window_ms, self.spec.slide_ms);
        let Some(inv) = self.inverse.clone() else {
            let out = self.recompute(cx, t)?;
            self.buffer.drop_until(t + s - w);
            self.held = window_state::measure(&self.state, &self.buffer, self.inverse.is_some());
            return Ok(self.emit(out.iter().map(|e| e.iter().map(|(k, v)| (k, v)))));
        };
        let changes: Vec<_> = (0..n)
            .into_par_iter()
            .map(|p| self.incremental(&inv, cx, p, t))
            .collect::<Result<_, OpError>>()?;
        for (state, (kept, removed)) in self.state.iter_mut().zip(changes) {
            for k in removed {
                state.remove(&k);
            }
            state.extend(kept);
        }
        self.buffer.drop_until(t - w);
        self.held = window_state::measure(&self.state, &self.buffer, self.inverse.is_some());
        // Written straight from the state maps (no copy of every key and value first).
        Ok(self.emit(self.state.iter().map(|m| sorted_by_key(m).into_iter())))
    }

    fn snapshot(&self) -> Option<Vec<u8>> {
        Some(window_state::encode(&self.state, &self.buffer))
    }

    fn restore(&mut self, data: &[u8]) -> Result<(), String> {
        let (state, buffer) = window_state::decode(data, self.kind)?;
        self.state = state;
        self.buffer = buffer;
        self.held = window_state::measure(&self.state, &self.buffer, self.inverse.is_some());
        Ok(())
    }
}

#[cfg(test)]
#[path = "reduce_window_tests.rs"]
mod tests;

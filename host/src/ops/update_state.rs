//! `update_state_by_key`: keyed state updated every batch and emitted whole (Spark's
//! `StateDStream`).
//!
//! The function sees every key in state ∪ batch (values `[]` for keys without data) and its
//! result replaces the state (`[]` removes the key). The optional initial state is merged
//! in at the first batch that has an RDD. A parent batch with no RDD re-applies the
//! function with `[]` to every key; with neither state nor an RDD there is no output.

use std::sync::Arc;

use rayon::prelude::*;

use super::builtin::Builtin;
use super::keyed::{combine_batch, group_batch, key_value, Combined, Groups, KeyOf};
use super::narrow::{NarrowChain, TakesChain};
use super::state_store::{StatePartition, StateStore};
use super::update_fn::{Entry, UpdateFn};
use super::{OpContext, OpError, Operator, StreamValue};
use crate::record::codec;
use crate::record::{write_pair, Batch, Partition};

/// Keyed running state, emitted whole every batch.
#[derive(Debug)]
pub struct UpdateStateByKey {
    f: UpdateFn,
    partitions: Option<usize>,
    initial: Option<Arc<Batch>>,
    store: StateStore,
    started: bool,
    /// Narrow steps fused in front (see [`TakesChain`]).
    pre: Option<NarrowChain>,
}

const TAG: &[u8; 4] = b"SUSK";
const TAG_DELTA: &[u8; 4] = b"SUSD";

/// Applies one partition's updates: `(key, new state or None to remove)`.
type Updates = Vec<(Vec<u8>, Option<Vec<u8>>)>;

impl UpdateStateByKey {
    /// The operator; `initial` holds pairs `[key, state]`.
    pub fn new(f: UpdateFn, partitions: Option<usize>, initial: Option<Arc<Batch>>) -> Self {
        UpdateStateByKey {
            f,
            partitions,
            initial,
            store: StateStore::default(),
            started: false,
            pre: None,
        }
    }

    /// The whole state as pairs.
    fn emit(&self) -> StreamValue {
        StreamValue::Rdd(self.store.to_pairs())
    }

    fn load_initial(&mut self, cx: &OpContext<'_>) -> Result<(), OpError> {
        let Some(initial) = self.initial.take() else {
            return Ok(());
        };
        for rec in initial.records() {
            match key_value(rec, KeyOf::Pair) {
                Ok((k, v)) => {
                    let p = self.store.partition_of(&k);
                    self.store.parts[p].put(&k, v.to_vec(), cx.time);
                }
                Err(reason) => cx.reject(rec, format!("initial state: {reason}"))?,
            }
        }
        Ok(())
    }

    fn update_partition(
        f: &UpdateFn,
        cx: &OpContext<'_>,
        index: usize,
        part: &StatePartition,
        g: &Groups<'_>,
    ) -> Result<Updates, OpError> {
        let mut entries: Vec<Entry<'_>> = g
            .iter()
            .map(|(key, values)| Entry {
                key,
                values,
                state: part.get(key).map(|e| e.state.as_slice()),
                timing_out: false,
            })
            .collect();
        // A built-in keeps the state of keys without values: no need to visit them.
        if matches!(f, UpdateFn::Plugin(_)) {
            entries.extend(
                part.iter()
                    .filter(|(k, _)| g.get(k).is_none())
                    .map(|(k, e)| Entry {
                        key: k,
                        values: &[],
                        state: Some(&e.state),
                        timing_out: false,
                    }),
            );
        }
        let outcomes = f.apply(cx, index as u32, &entries)?;
        Ok(entries
            .iter()
            .zip(outcomes)
            .filter_map(|(e, o)| o.map(|o| (e.key.to_vec(), o.state)))
            .collect())
    }
}

impl TakesChain for UpdateStateByKey {
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

impl Operator for UpdateStateByKey {
    fn kind(&self) -> &'static str {
        "update_state_by_key"
    }

    fn on_batch(
        &mut self,
        inputs: &[StreamValue],
        cx: &OpContext<'_>,
    ) -> Result<StreamValue, OpError> {
        // A running sum or count takes the fused chain into its combine; anything else
        // runs it over the whole batch first.
        let running = matches!(self.f, UpdateFn::Builtin(Builtin::Sum | Builtin::Count));
        let input = match (&self.pre, inputs.first()) {
            (Some(chain), Some(StreamValue::Rdd(b))) if !running => {
                StreamValue::Rdd(chain.run_batch(b, cx)?)
            }
            (_, first) => first.cloned().unwrap_or_default(),
        };
        if !input.is_valid() {
            return Ok(StreamValue::NotValid);
        }
        if !self.started && input.rdd().is_none() {
            return Ok(StreamValue::NoRdd);
        }
        let n = self.partitions.unwrap_or(cx.default_partitions).max(1);
        if self.store.parts.len() != n && self.store.is_empty() {
            self.store = StateStore::new(n);
        }
        let n = self.store.parts.len();
        if !self.started {
            self.load_initial(cx)?;
            self.started = true;
        }
        let time = cx.time;
        if let (UpdateFn::Builtin(builtin), Some(b)) = (&self.f, input.rdd()) {
            let pre = self.pre.as_ref().filter(|_| running);
            if let Some(parts) = combine_batch(b, n, KeyOf::Pair, *builtin, pre, cx)? {
                // A running sum or count: state + the batch's partial, keys with data only.
                self.store
                    .parts
                    .par_iter_mut()
                    .zip(parts)
                    .try_for_each(|(part, combined)| {
                        merge_running(*builtin, part, combined, time, cx, None)
                    })?;
                return Ok(self.emit());
            }
        }
        let groups = match input.rdd() {
            Some(b) => group_batch(b, n, KeyOf::Pair, cx)?,
            None => (0..n).map(|_| Groups::default()).collect(),
        };
        let f = &self.f;
        self.store
            .parts
            .par_iter_mut()
            .zip(groups.par_iter())
            .enumerate()
            .try_for_each(|(i, (part, g))| {
                let updates = Self::update_partition(f, cx, i, part, g)?;
                for (k, s) in updates {
                    match s {
                        Some(s) => part.put(&k, s, time),
                        None => part.remove(&k),
                    }
                }
                Ok::<(), OpError>(())
            })?;
        Ok(self.emit())
    }

    fn state_bytes(&self) -> usize {
        self.store.bytes()
    }

    fn state_keys(&self) -> Option<usize> {
        Some(self.store.len())
    }

    fn snapshot(&self) -> Option<Vec<u8>> {
        let mut w = codec::Writer::new(TAG);
        w.u64(u64::from(self.started));
        self.store.write_full(&mut w);
        Some(w.finish())
    }

    fn restore(&mut self, data: &[u8]) -> Result<(), String> {
        let mut r = codec::Reader::new(data, TAG, "update_state_by_key")?;
        let started = r.u64()? != 0;
        let store = StateStore::read_full(&mut r)?;
        r.finish()?;
        self.started = started;
        if started {
            self.initial = None;
        }
        self.store = store;
        Ok(())
    }

    fn snapshot_delta(&mut self) -> Option<Vec<u8>> {
        let mut w = codec::Writer::new(TAG_DELTA);
        w.u64(u64::from(self.started));
        self.store.write_delta(&mut w);
        Some(w.finish())
    }

    fn restore_delta(&mut self, data: &[u8]) -> Result<(), String> {
        let mut r = codec::Reader::new(data, TAG_DELTA, "update_state_by_key")?;
        let started = r.u64()? != 0;
        self.store.apply_delta(&mut r)?;
        r.finish()?;
        self.started |= started;
        if self.started {
            self.initial = None;
        }
        Ok(())
    }
}

/// Adds a batch's combined values to a running built-in state; with `emitted`, also
/// writes `[key, new state]` per key there (map_with_state).
///
/// # Errors
/// [`OpError::Record`] under the `fail` policy when a state cannot be added to.
pub fn merge_running(
    builtin: Builtin,
    part: &mut StatePartition,
    combined: Combined,
    time: i64,
    cx: &OpContext<'_>,
    mut emitted: Option<&mut Partition>,
) -> Result<(), OpError> {
    for (k, partial) in combined {
        let new = match part.get(&k) {
            None => partial,
            Some(e) => match builtin.merge([e.state.as_slice(), partial.as_slice()]) {
                Ok(v) => v,
                Err(reason) => {
                    cx.reject(&k, format!("built-in `{}` state: {reason}", builtin.name()))?;
                    continue;
                }
            },
        };
        if let Some(out) = emitted.as_deref_mut() {
            out.push_with(|b| write_pair(b, &k, &new));
        }
        part.put(&k, new, time);
    }
    Ok(())
}

#[cfg(test)]
#[path = "update_state_tests.rs"]
mod tests;

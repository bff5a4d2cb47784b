//! `map_with_state` (Spark's `mapWithState`) and `state_snapshots` (its
//! `stateSnapshots()`).
//!
//! Only keys with data in the batch are given to the function (one entry per key with all
//! its values in order; the function folds them one record at a time, threading the state,
//! and emits what each record maps to), so a batch costs what it touches. With a timeout,
//! idle keys are found lazily on full-scan batches (every `scan_interval_ms`, by default
//! ten batches, as Spark's state checkpoint interval): a key last updated before
//! `time - timeout` is given to the function with no values and `timing_out = true`, then
//! removed. A key that receives data has its timestamp refreshed.

use std::sync::{Arc, Mutex, MutexGuard};

use rayon::prelude::*;

use super::keyed::{combine_batch, group_batch, key_value, Groups, KeyOf};
use super::state_store::{StatePartition, StateStore};
use super::update_fn::{Entry, UpdateFn};
use super::update_state::merge_running;
use super::{OpContext, OpError, Operator, StreamValue};
use crate::record::{codec, BatchTime};
use crate::record::{Batch, Partition};

/// Settings of [`MapWithState`].
#[derive(Debug, Clone)]
pub struct MapWithStateConfig {
    /// The state function.
    pub f: UpdateFn,
    /// State partitions (the job's default when `None`).
    pub partitions: Option<usize>,
    /// Idle timeout, if any.
    pub timeout_ms: Option<i64>,
    /// How often idle keys are looked for (default: ten batch intervals).
    pub scan_interval_ms: Option<i64>,
    /// Initial state: pairs `[key, state]`, visible at the first batch.
    pub initial: Option<Arc<Batch>>,
}

#[derive(Debug, Default)]
struct Shared {
    store: StateStore,
    started: bool,
}

/// Per-record mapping with keyed state; emits the mapped records.
#[derive(Debug)]
pub struct MapWithState {
    config: MapWithStateConfig,
    shared: Arc<Mutex<Shared>>,
}

/// Emits every `[key, state]` of a [`MapWithState`] at each of its batches.
#[derive(Debug)]
pub struct StateSnapshots {
    shared: Arc<Mutex<Shared>>,
}

const TAG: &[u8; 4] = b"SMWS";
const TAG_DELTA: &[u8; 4] = b"SMWD";

type Updates = (Vec<(Vec<u8>, Option<Vec<u8>>)>, Partition);

impl MapWithState {
    /// The operator.
    pub fn new(config: MapWithStateConfig) -> Self {
        MapWithState {
            config,
            shared: Arc::default(),
        }
    }

    /// An operator for the state snapshots stream of this one (its parent must be this
    /// operator's stream, so that it runs after it at every batch).
    pub fn snapshots(&self) -> StateSnapshots {
        StateSnapshots {
            shared: self.shared.clone(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Shared> {
        self.shared.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn map_partition(
        f: &UpdateFn,
        cx: &OpContext<'_>,
        index: usize,
        part: &StatePartition,
        g: &Groups<'_>,
        idle_before: Option<BatchTime>,
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
        let touched = entries.len();
        if let Some(before) = idle_before {
            entries.extend(
                part.iter()
                    .filter(|(k, e)| e.updated < before && g.get(k).is_none())
                    .map(|(k, e)| Entry {
                        key: k,
                        values: &[],
                        state: Some(&e.state),
                        timing_out: true,
                    }),
            );
        }
        let outcomes = f.apply(cx, index as u32, &entries)?;
        let mut updates = Vec::with_capacity(entries.len());
        let mut mapped = Partition::new();
        for (i, (e, o)) in entries.iter().zip(outcomes).enumerate() {
            let timed_out = i >= touched;
            let Some(o) = o else {
                if timed_out {
                    updates.push((e.key.to_vec(), None));
                }
                continue;
            };
            for rec in &o.emitted {
                mapped.push(rec);
            }
            // Timed-out keys are removed whatever the function returns.
            updates.push((e.key.to_vec(), if timed_out { None } else { o.state }));
        }
        Ok((updates, mapped))
    }
}

impl MapWithState {
    /// Puts the `initial_state` pairs in the store at the first batch; a record that is not
    /// a `[key, state]` pair goes to the error policy.
    fn load_initial(
        config: &MapWithStateConfig,
        shared: &mut Shared,
        cx: &OpContext<'_>,
    ) -> Result<(), OpError> {
        for rec in config.initial.iter().flat_map(|b| b.records()) {
            match key_value(rec, KeyOf::Pair) {
                Ok((k, v)) => {
                    let p = shared.store.partition_of(&k);
                    shared.store.parts[p].put(&k, v.to_vec(), cx.time);
                }
                Err(reason) => cx.reject(rec, format!("initial state: {reason}"))?,
            }
        }
        Ok(())
    }
}

impl Operator for MapWithState {
    fn kind(&self) -> &'static str {
        "map_with_state"
    }

    fn on_batch(
        &mut self,
        inputs: &[StreamValue],
        cx: &OpContext<'_>,
    ) -> Result<StreamValue, OpError> {
        let input = inputs.first().cloned().unwrap_or_default();
        if !input.is_valid() {
            return Ok(StreamValue::NotValid);
        }
        let n = self
            .config
            .partitions
            .unwrap_or(cx.default_partitions)
            .max(1);
        let config = &self.config;
        let mut shared = self.shared.lock().unwrap_or_else(|e| e.into_inner());
        if shared.store.parts.len() != n && shared.store.is_empty() {
            shared.store = StateStore::new(n);
        }
        let n = shared.store.parts.len();
        if !shared.started {
            shared.started = true;
            Self::load_initial(config, &mut shared, cx)?;
        }
        let scan = config.scan_interval_ms.unwrap_or(10 * cx.batch_ms).max(1);
        let full_scan = (cx.time - cx.zero_time) % scan == 0;
        let idle_before = config
            .timeout_ms
            .filter(|_| full_scan)
            .map(|timeout| cx.time - timeout);
        let time = cx.time;
        if let (UpdateFn::Builtin(builtin), Some(b), None) = (&config.f, input.rdd(), idle_before) {
            if let Some(parts) = combine_batch(b, n, KeyOf::Pair, *builtin, None, cx)? {
                // A running sum or count over the touched keys, emitting `[key, state]`.
                let mapped: Vec<Partition> = shared
                    .store
                    .parts
                    .par_iter_mut()
                    .zip(parts)
                    .map(|(part, combined)| {
                        let mut out = Partition::with_capacity(combined.len(), combined.len() * 16);
                        merge_running(*builtin, part, combined, time, cx, Some(&mut out))?;
                        Ok(out)
                    })
                    .collect::<Result<_, OpError>>()?;
                return Ok(StreamValue::Rdd(Batch::new(mapped)));
            }
        }
        let groups = match input.rdd() {
            Some(b) => group_batch(b, n, KeyOf::Pair, cx)?,
            None => (0..n).map(|_| Groups::default()).collect(),
        };
        let mapped: Vec<Partition> = shared
            .store
            .parts
            .par_iter_mut()
            .zip(groups.par_iter())
            .enumerate()
            .map(|(i, (part, g))| {
                let (updates, mapped) =
                    Self::map_partition(&config.f, cx, i, part, g, idle_before)?;
                for (k, s) in updates {
                    match s {
                        Some(s) => part.put(&k, s, time),
                        None => part.remove(&k),
                    }
                }
                Ok(mapped)
            })
            .collect::<Result<_, OpError>>()?;
        Ok(StreamValue::Rdd(Batch::new(mapped)))
    }

    fn state_bytes(&self) -> usize {
        self.lock().store.bytes()
    }

    fn state_keys(&self) -> Option<usize> {
        Some(self.lock().store.len())
    }

    fn snapshot(&self) -> Option<Vec<u8>> {
        let shared = self.lock();
        let mut w = codec::Writer::new(TAG);
        w.u64(u64::from(shared.started));
        shared.store.write_full(&mut w);
        Some(w.finish())
    }

    fn restore(&mut self, data: &[u8]) -> Result<(), String> {
        let mut r = codec::Reader::new(data, TAG, "map_with_state")?;
        let started = r.u64()? != 0;
        let store = StateStore::read_full(&mut r)?;
        r.finish()?;
        let mut shared = self.lock();
        shared.started = started;
        shared.store = store;
        Ok(())
    }

    fn snapshot_delta(&mut self) -> Option<Vec<u8>> {
        let mut shared = self.lock();
        let mut w = codec::Writer::new(TAG_DELTA);
        w.u64(u64::from(shared.started));
        shared.store.write_delta(&mut w);
        Some(w.finish())
    }

    fn restore_delta(&mut self, data: &[u8]) -> Result<(), String> {
        let mut r = codec::Reader::new(data, TAG_DELTA, "map_with_state")?;
        let started = r.u64()? != 0;
        let mut shared = self.lock();
        shared.store.apply_delta(&mut r)?;
        r.finish()?;
        shared.started |= started;
        Ok(())
    }
}

impl Operator for StateSnapshots {
    fn kind(&self) -> &'static str {
        "state_snapshots"
    }

    fn on_batch(
        &mut self,
        inputs: &[StreamValue],
        _cx: &OpContext<'_>,
    ) -> Result<StreamValue, OpError> {
        if !inputs.first().is_some_and(StreamValue::is_valid) {
            return Ok(StreamValue::NotValid);
        }
        let shared = self.shared.lock().unwrap_or_else(|e| e.into_inner());
        Ok(StreamValue::Rdd(shared.store.to_pairs()))
    }
}

#[cfg(test)]
#[path = "map_with_state_tests.rs"]
mod tests;

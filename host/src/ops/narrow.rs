//! Narrow operations (map, filter, flat_map, map_partitions, map_values, flat_map_values,
//! glom, identity, and the built-in record operations of `ops/json/`), fused: a [`NarrowChain`] runs consecutive steps on each partition back
//! to back, partitions in parallel on rayon, without materialising the batches between.

use std::sync::Arc;

use rayon::prelude::*;
use sluice_abi::{msgpack, Combine, Ctx, Shape};

use super::{OpContext, OpError, Operator, PluginFn, StreamValue};
use crate::record::{Batch, Partition};

/// One narrow step.
#[derive(Debug, Clone)]
pub enum NarrowStep {
    /// One record in, one out (a transform function).
    Map(PluginFn),
    /// Keeps the records the function returns.
    Filter(PluginFn),
    /// One record in, any number out.
    FlatMap(PluginFn),
    /// The function sees every partition, empty ones too.
    MapPartitions(PluginFn),
    /// Pairs `[k, v]` in, `[k, w]` out (the SDK's `map_values!` keeps the keys).
    MapValues(PluginFn),
    /// Pairs `[k, v]` in, `[k, w]` for each `w` out.
    FlatMapValues(PluginFn),
    /// A partition becomes one record: the array of its records.
    Glom,
    /// Unchanged.
    Identity,
    /// A built-in record operation (`key_by`, `select`, `filter` on a field,
    /// `parse_json`, `to_json`), run in the host.
    Json(super::json::JsonStep),
}

impl NarrowStep {
    /// The operation's name as written in job files.
    pub fn kind(&self) -> &'static str {
        match self {
            NarrowStep::Map(_) => "map",
            NarrowStep::Filter(_) => "filter",
            NarrowStep::FlatMap(_) => "flat_map",
            NarrowStep::MapPartitions(_) => "map_partitions",
            NarrowStep::MapValues(_) => "map_values",
            NarrowStep::FlatMapValues(_) => "flat_map_values",
            NarrowStep::Glom => "glom",
            NarrowStep::Identity => "identity",
            NarrowStep::Json(s) => s.kind(),
        }
    }

    /// The plugin function of a step that calls one on records (the transform shape).
    fn plugin_fn(&self) -> Option<&PluginFn> {
        match self {
            NarrowStep::Map(f)
            | NarrowStep::Filter(f)
            | NarrowStep::FlatMap(f)
            | NarrowStep::MapPartitions(f)
            | NarrowStep::MapValues(f)
            | NarrowStep::FlatMapValues(f) => Some(f),
            NarrowStep::Glom | NarrowStep::Identity | NarrowStep::Json(_) => None,
        }
    }

    /// Runs the step on one partition (`hint`: the combine hint for its plugin calls).
    fn apply(
        &self,
        input: &Partition,
        index: u32,
        cx: &OpContext<'_>,
        hint: Option<Combine>,
    ) -> Result<Partition, OpError> {
        match self {
            NarrowStep::Map(f)
            | NarrowStep::Filter(f)
            | NarrowStep::FlatMap(f)
            | NarrowStep::MapValues(f)
            | NarrowStep::FlatMapValues(f) => {
                if input.is_empty() {
                    return Ok(Partition::new());
                }
                transform(f, input, index, cx, hint)
            }
            NarrowStep::MapPartitions(f) => transform(f, input, index, cx, hint),
            NarrowStep::Glom => {
                let mut out = Partition::with_capacity(1, input.bytes().len() + 5);
                out.push_with(|b| {
                    msgpack::write_array_len(b, input.len() as u32);
                    b.extend_from_slice(input.bytes());
                });
                Ok(out)
            }
            NarrowStep::Identity => Ok(input.clone()),
            NarrowStep::Json(s) => s.run(input, cx),
        }
    }
}

/// Calls a transform function on a partition; rejected records go to the error policy.
fn transform(
    f: &PluginFn,
    input: &Partition,
    index: u32,
    cx: &OpContext<'_>,
    combine: Option<Combine>,
) -> Result<Partition, OpError> {
    let ctx = Ctx {
        combine,
        ..Ctx::new(cx.time, index)
    };
    let out = cx.call_hinted(f, Shape::Transform, ctx, input.len() as u32, input.bytes())?;
    for e in &out.errors {
        reject_item(f, input, e.index, &e.message, cx)?;
    }
    Ok(out.items)
}

fn reject_item(
    f: &PluginFn,
    input: &Partition,
    index: Option<u32>,
    message: &str,
    cx: &OpContext<'_>,
) -> Result<(), OpError> {
    let reason = format!(
        "plugin `{}` function `{}`: {message}",
        f.plugin.name(),
        f.function
    );
    match index.and_then(|i| input.get(i as usize)) {
        Some(record) => cx.reject(record, reason),
        None => Err(cx.error(format!("{reason} (error for a record index out of range)"))),
    }
}

/// Consecutive narrow steps of one or more streams, fused into one operator.
#[derive(Debug)]
pub struct NarrowChain {
    /// `(stream, step)` in order; the stream names its step in errors.
    steps: Vec<(String, NarrowStep)>,
    /// The combine hint sent with the calls of step `.0` (the last step), set when the
    /// chain's output feeds only a built-in reduce (docs/abi.md, "The combine hint").
    combine: Option<(usize, Combine)>,
}

impl NarrowChain {
    /// A chain of one step.
    pub fn new(stream: &str, step: NarrowStep) -> Self {
        NarrowChain {
            steps: vec![(stream.to_owned(), step)],
            combine: None,
        }
    }

    /// The plugin function whose output is the chain's output: the last step that is not
    /// `identity`, when it calls a plugin on records.
    pub fn last_plugin_fn(&self) -> Option<&PluginFn> {
        self.last_step().and_then(|i| self.steps[i].1.plugin_fn())
    }

    fn last_step(&self) -> Option<usize> {
        self.steps
            .iter()
            .rposition(|(_, s)| !matches!(s, NarrowStep::Identity))
    }

    /// Sends the combine hint `how` with the calls of the last step, which must be a
    /// plugin step ([`NarrowChain::last_plugin_fn`]): the caller has checked that the
    /// chain's output is read only by a built-in reduce of that kind.
    pub fn hint_combine(&mut self, how: Combine) {
        if self.last_plugin_fn().is_some() {
            self.combine = self.last_step().map(|i| (i, how));
        }
    }

    /// The hint sent with the last step's calls, if any.
    pub fn combine_hint(&self) -> Option<Combine> {
        self.combine.map(|(_, how)| how)
    }

    /// Appends the steps of `next`, which consumes this chain's output.
    pub fn then(mut self, next: NarrowChain) -> Self {
        let offset = self.steps.len();
        self.steps.extend(next.steps);
        self.combine = next.combine.map(|(i, how)| (i + offset, how));
        self
    }

    /// The fused streams' names, in order.
    pub fn streams(&self) -> Vec<&str> {
        self.steps.iter().map(|(s, _)| s.as_str()).collect()
    }

    /// Runs every step on every partition of `batch`, in parallel.
    ///
    /// # Errors
    /// The first failing step's [`OpError`].
    pub fn run_batch(&self, batch: &Batch, cx: &OpContext<'_>) -> Result<Arc<Batch>, OpError> {
        let partitions = batch
            .partitions
            .par_iter()
            .enumerate()
            .map(|(i, p)| self.run_partition(p, i as u32, cx))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Batch::new(partitions))
    }

    /// Runs every step on one partition (partition `index` of the batch).
    ///
    /// # Errors
    /// The first step's [`OpError`].
    pub fn run_partition(
        &self,
        input: &Partition,
        index: u32,
        cx: &OpContext<'_>,
    ) -> Result<Partition, OpError> {
        let mut current: Option<Partition> = None;
        for (i, (stream, step)) in self.steps.iter().enumerate() {
            if matches!(step, NarrowStep::Identity) {
                continue;
            }
            let step_cx = OpContext { stream, ..*cx };
            let hint = self.combine.filter(|&(at, _)| at == i).map(|(_, how)| how);
            let next = step.apply(current.as_ref().unwrap_or(input), index, &step_cx, hint)?;
            current = Some(next);
        }
        Ok(current.unwrap_or_else(|| input.clone()))
    }
}

impl Operator for NarrowChain {
    fn kind(&self) -> &'static str {
        match self.steps.as_slice() {
            [(_, only)] => only.kind(),
            _ => "narrow_chain",
        }
    }

    fn on_batch(
        &mut self,
        inputs: &[StreamValue],
        cx: &OpContext<'_>,
    ) -> Result<StreamValue, OpError> {
        let batch = match inputs.first() {
            Some(StreamValue::Rdd(b)) => b,
            Some(other) => return Ok(other.clone()),
            None => return Err(cx.error("a narrow operation needs one input")),
        };
        if self
            .steps
            .iter()
            .all(|(_, s)| matches!(s, NarrowStep::Identity))
        {
            return Ok(StreamValue::Rdd(Arc::clone(batch)));
        }
        Ok(StreamValue::Rdd(self.run_batch(batch, cx)?))
    }
}

/// A keyed operator that can take the narrow chain in front of it into its map side (the
/// planner fuses them): each input partition goes through the chain and is combined at
/// once, so that the chain's output for the whole batch (the pairs of a `flat_map`) never
/// exists in memory. Paths that need the whole batch run the chain over it first.
pub trait TakesChain: Operator {
    /// Runs `chain` on the input before the operator.
    fn fuse_after(&mut self, chain: NarrowChain);

    /// The fused streams, if any.
    fn fused(&self) -> Vec<&str>;
}

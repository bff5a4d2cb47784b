//! THE one place where an operation named in a job file (`op = "..."`, a variant of
//! [`OpConfig`]) becomes an operator: one arm per operation, each handing its settings to
//! a builder in `ops/build.rs`.
//!
//! To add an operation: add a variant with its settings struct to `job::OpConfig` (its
//! name to `OpConfig::name`, its windows to `OpConfig::durations`), write the operator in
//! `ops/<op>.rs`, and add an arm here. See `docs/architecture.md`.

use super::build::{self as b, op};
use super::build_context::BuildContext;
use super::count::{Count, CountByValue};
use super::group_by_key::GroupByKey;
use super::join::JoinKind;
use super::narrow::{NarrowStep, TakesChain};
use super::reduce::Reduce;
use super::reduce_by_key::ReduceByKey;
use super::Operator;
use crate::job::{JobError, OpConfig};
use sluice_abi::Combine;

/// What a stream's config builds into.
pub enum Built {
    /// A narrow step, which the planner may fuse with its neighbours.
    Narrow(NarrowStep),
    /// A `reduce_by_key`, whose map side the planner may fuse with the narrow chain in
    /// front of it.
    ReduceByKey(ReduceByKey),
    /// A keyed operator that may take the narrow chain in front of it into its map side
    /// (`update_state_by_key`, `reduce_by_key_and_window`).
    TakesChain(Box<dyn TakesChain>),
    /// Any other operator.
    Operator(Box<dyn Operator>),
}

/// Builds the operator of one stream.
///
/// # Errors
/// A [`JobError`] at the place in the job file that is wrong.
pub fn build(config: &OpConfig, cx: &BuildContext<'_>) -> Result<Built, JobError> {
    let name = config.name();
    let one = || cx.expect_inputs(name, 1);
    let narrow = |step: NarrowStep| one().map(|()| Built::Narrow(step));
    let f = |func: &String| cx.plugin_fn(func);
    let built = match config {
        OpConfig::Map(c) => return narrow(NarrowStep::Map(f(&c.func)?)),
        OpConfig::FlatMap(c) => return narrow(NarrowStep::FlatMap(f(&c.func)?)),
        OpConfig::MapPartitions(c) => return narrow(NarrowStep::MapPartitions(f(&c.func)?)),
        OpConfig::MapValues(c) => return narrow(NarrowStep::MapValues(f(&c.func)?)),
        OpConfig::FlatMapValues(c) => return narrow(NarrowStep::FlatMapValues(f(&c.func)?)),
        OpConfig::Glom(_) => return narrow(NarrowStep::Glom),
        OpConfig::Identity(_) => return narrow(NarrowStep::Identity),
        // Built-in record operations (and `filter` in both forms): `ops/json/`.
        OpConfig::Filter(_)
        | OpConfig::KeyBy(_)
        | OpConfig::Select(_)
        | OpConfig::ParseJson(_)
        | OpConfig::ToJson(_) => return narrow(super::json::build(config, cx)?),
        OpConfig::ReduceByKey(c) => return b::reduce_by_key(c, cx).map(Built::ReduceByKey),
        OpConfig::Count(_) => one().and_then(|()| op(Count)),
        OpConfig::Union(_) => b::union(cx),
        OpConfig::CountByValue(c) => one().and_then(|()| {
            op(CountByValue {
                partitions: c.partitions,
            })
        }),
        OpConfig::Reduce(c) => one().and_then(|()| {
            op(Reduce {
                f: b::reduce_fn(cx, "fn", &c.func)?,
            })
        }),
        OpConfig::GroupByKey(c) => one().and_then(|()| {
            op(GroupByKey {
                partitions: c.partitions,
            })
        }),
        OpConfig::CombineByKey(c) => one().and_then(|()| b::combine_by_key(c, cx)),
        OpConfig::Join(c) => b::join(cx, name, JoinKind::Inner, c.partitions),
        OpConfig::LeftOuterJoin(c) => b::join(cx, name, JoinKind::LeftOuter, c.partitions),
        OpConfig::RightOuterJoin(c) => b::join(cx, name, JoinKind::RightOuter, c.partitions),
        OpConfig::FullOuterJoin(c) => b::join(cx, name, JoinKind::FullOuter, c.partitions),
        OpConfig::Cogroup(c) => b::join(cx, name, JoinKind::Cogroup, c.partitions),
        OpConfig::Repartition(c) => b::repartition(c, cx),
        OpConfig::Transform(c) | OpConfig::TransformWith(c) | OpConfig::ContextTransform(c) => {
            b::transform(c, cx, config)
        }
        OpConfig::Window(c)
        | OpConfig::CountByWindow(c)
        | OpConfig::CountByValueAndWindow(c)
        | OpConfig::GroupByKeyAndWindow(c) => one().and_then(|()| b::window(c, cx, name)),
        OpConfig::ReduceByWindow(c) => one().and_then(|()| op(b::reduce_window(c, cx, false)?)),
        OpConfig::ReduceByKeyAndWindow(c) => {
            return one()
                .and_then(|()| b::reduce_window(c, cx, true))
                .map(|o| Built::TakesChain(Box::new(o)))
        }
        OpConfig::UpdateStateByKey(c) => {
            return one()
                .and_then(|()| b::update_state_by_key(c, cx))
                .map(|o| Built::TakesChain(Box::new(o)))
        }
        OpConfig::MapWithState(c) => one().and_then(|()| b::map_with_state(c, cx, cx.links)),
        OpConfig::StateSnapshots(_) => one().and_then(|()| b::state_snapshots(cx, cx.links)),
        OpConfig::EventTimeWindow(c) => one().and_then(|()| b::event_time_window(c, cx)),
    };
    built.map(Built::Operator)
}

/// The combine hint for the plugin calls whose output only this operation reads: `Some`
/// when it is a keyed reduce with a built-in `sum`, `min` or `max` (`reduce_by_key`,
/// `reduce_by_key_and_window`, `update_state_by_key`), whose result does not change when
/// some values of a key are merged first. `count` counts records, and `map_with_state`
/// emits one record per value, so neither is hinted.
pub fn combine_hint(config: &OpConfig) -> Option<Combine> {
    let func = match config {
        OpConfig::ReduceByKey(c) => &c.func,
        OpConfig::ReduceByKeyAndWindow(c) => &c.func,
        OpConfig::UpdateStateByKey(c) => &c.func,
        _ => return None,
    };
    match func.as_str() {
        "sum" => Some(Combine::Sum),
        "min" => Some(Combine::Min),
        "max" => Some(Combine::Max),
        _ => None,
    }
}

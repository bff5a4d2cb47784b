//! Builds the DStream operators from their job-file settings (`ops::config`); called by
//! the arms of `ops::registry::build`.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::sync::Arc;

use super::builtin::Builtin;
use super::combine_by_key::{CombineByKey, Combiner};
use super::config::{
    CombineConfig, EventTimeConfig, MapWithStateConfig, ReduceWindowConfig, UpdateStateConfig,
    WindowConfig,
};
use super::event_time::{self, EventTimeWindow};
use super::functions::{FilterFn, InverseFn, ReduceFn};
use super::map_with_state::{self, MapWithState, StateSnapshots};
use super::reduce_window::ReduceByKeyAndWindow;
use super::registry::BuildContext;
use super::update_fn::UpdateFn;
use super::update_state::UpdateStateByKey;
use super::window::WindowSpec;
use super::{Operator, PluginFn};
use crate::job::{DurationMs, JobError, OpConfig};
use crate::record::{json_to_msgpack, Batch, Partition};

/// Handles that operators publish for the streams built after them (by stream name).
#[derive(Default)]
pub struct Links {
    snapshots: BTreeMap<String, StateSnapshots>,
}

/// Shared between the builders of one job.
pub type SharedLinks = RefCell<Links>;

type Built = Result<Box<dyn Operator>, JobError>;

/// Builds the operator of a DStream operation (every operation but the narrow ones,
/// `count` and `reduce_by_key`, which `ops::registry` builds itself).
///
/// # Errors
/// A [`JobError`] at the place in the job file that is wrong.
pub fn build(op: &OpConfig, cx: &BuildContext<'_>) -> Built {
    use super::join::{Join, JoinKind};
    let name = op.name();
    let one = || cx.expect_inputs(name, 1);
    let join = |kind: JoinKind, partitions: Option<usize>| -> Built {
        cx.expect_inputs(name, 2)?;
        Ok(Box::new(Join { kind, partitions }))
    };
    match op {
        OpConfig::Union(_) => {
            if cx.inputs.is_empty() {
                return Err(cx.error(
                    cx.field_span("inputs"),
                    "`union` needs at least one input stream",
                ));
            }
            Ok(Box::new(super::union::Union))
        }
        OpConfig::CountByValue(c) => {
            one()?;
            Ok(Box::new(super::count::CountByValue {
                partitions: c.partitions,
            }))
        }
        OpConfig::Reduce(c) => {
            one()?;
            Ok(Box::new(super::reduce::Reduce {
                f: reduce_fn(cx, "fn", &c.func)?,
            }))
        }
        OpConfig::GroupByKey(c) => {
            one()?;
            Ok(Box::new(super::group_by_key::GroupByKey {
                partitions: c.partitions,
            }))
        }
        OpConfig::CombineByKey(c) => {
            one()?;
            combine_by_key(c, cx)
        }
        OpConfig::Join(c) => join(JoinKind::Inner, c.partitions),
        OpConfig::LeftOuterJoin(c) => join(JoinKind::LeftOuter, c.partitions),
        OpConfig::RightOuterJoin(c) => join(JoinKind::RightOuter, c.partitions),
        OpConfig::FullOuterJoin(c) => join(JoinKind::FullOuter, c.partitions),
        OpConfig::Cogroup(c) => join(JoinKind::Cogroup, c.partitions),
        OpConfig::Repartition(c) => {
            one()?;
            if c.partitions == 0 {
                return Err(cx.error(
                    cx.field_span("partitions"),
                    "`repartition` needs partitions >= 1",
                ));
            }
            Ok(Box::new(super::repartition::Repartition {
                partitions: c.partitions,
            }))
        }
        OpConfig::Transform(c) | OpConfig::TransformWith(c) | OpConfig::ContextTransform(c) => {
            match op {
                OpConfig::Transform(_) => one()?,
                OpConfig::TransformWith(_) => cx.expect_inputs(name, 2)?,
                _ if cx.inputs.is_empty() => {
                    return Err(cx.error(
                        cx.field_span("inputs"),
                        "`context_transform` needs input streams",
                    ))
                }
                _ => {}
            }
            Ok(Box::new(super::transform::Transform {
                f: cx.plugin_fn(&c.func)?,
                multi: !matches!(op, OpConfig::Transform(_)),
            }))
        }
        OpConfig::Window(c)
        | OpConfig::CountByWindow(c)
        | OpConfig::CountByValueAndWindow(c)
        | OpConfig::GroupByKeyAndWindow(c) => {
            one()?;
            window(c, cx, name)
        }
        OpConfig::ReduceByWindow(c) => {
            one()?;
            reduce_window(c, cx, false)
        }
        OpConfig::ReduceByKeyAndWindow(c) => {
            one()?;
            reduce_window(c, cx, true)
        }
        OpConfig::UpdateStateByKey(c) => {
            one()?;
            update_state_by_key(c, cx)
        }
        OpConfig::MapWithState(c) => {
            one()?;
            map_with_state(c, cx, cx.links)
        }
        OpConfig::StateSnapshots(_) => {
            one()?;
            state_snapshots(cx, cx.links)
        }
        OpConfig::EventTimeWindow(c) => {
            one()?;
            event_time_window(c, cx)
        }
        OpConfig::Map(_)
        | OpConfig::Filter(_)
        | OpConfig::KeyBy(_)
        | OpConfig::Select(_)
        | OpConfig::ParseJson(_)
        | OpConfig::ToJson(_)
        | OpConfig::FlatMap(_)
        | OpConfig::MapPartitions(_)
        | OpConfig::MapValues(_)
        | OpConfig::FlatMapValues(_)
        | OpConfig::Glom(_)
        | OpConfig::Identity(_)
        | OpConfig::Count(_)
        | OpConfig::ReduceByKey(_) => Err(cx.error(
            cx.field_span("op"),
            format!("`{name}` is built by ops::registry"),
        )),
    }
}

fn plugin_or_builtin(
    cx: &BuildContext<'_>,
    field: &str,
    text: &str,
) -> Result<Result<Builtin, PluginFn>, JobError> {
    if let Some(b) = Builtin::from_name(text) {
        return Ok(Ok(b));
    }
    if !text.contains('.') {
        return Err(cx.error(
            cx.field_span(field),
            format!("unknown function `{text}`: use a built-in (sum, count, min, max) or `plugin.function`"),
        ));
    }
    cx.plugin_fn(&text.to_owned()).map(Err)
}

/// A reduce function from `fn`.
///
/// # Errors
/// A [`JobError`] at `field` for an unknown built-in or plugin function.
pub fn reduce_fn(cx: &BuildContext<'_>, field: &str, text: &str) -> Result<ReduceFn, JobError> {
    Ok(match plugin_or_builtin(cx, field, text)? {
        Ok(b) => ReduceFn::Builtin(b),
        Err(f) => ReduceFn::Plugin(f),
    })
}

fn inverse_fn(cx: &BuildContext<'_>, reduce: &ReduceFn, text: &str) -> Result<InverseFn, JobError> {
    if text == "sub" {
        return match reduce.builtin() {
            Some(b) if b.has_inverse() => Ok(InverseFn::Builtin(b)),
            _ => Err(cx.error(
                cx.field_span("inv_fn"),
                "`sub` is the inverse of the built-ins `sum` and `count` only",
            )),
        };
    }
    if !text.contains('.') {
        return Err(cx.error(
            cx.field_span("inv_fn"),
            format!("unknown inverse `{text}`: use `sub` or `plugin.function`"),
        ));
    }
    cx.plugin_fn(&text.to_owned()).map(InverseFn::Plugin)
}

fn window_spec(
    cx: &BuildContext<'_>,
    window: DurationMs,
    slide: Option<DurationMs>,
) -> Result<WindowSpec, JobError> {
    let w = cx.batch_multiple("window", window)?;
    let s = slide.map(|s| cx.batch_multiple("slide", s)).transpose()?;
    WindowSpec::new(cx.stream, w, s, cx.parent_slide()).map_err(|e| {
        cx.error(
            cx.field_span("window"),
            e.to_string()
                .replace(&format!("stream `{}`: ", cx.stream), ""),
        )
    })
}

fn initial_state(
    cx: &BuildContext<'_>,
    v: Option<&toml::Value>,
) -> Result<Option<Arc<Batch>>, JobError> {
    let Some(v) = v else { return Ok(None) };
    let bad = |m: String| cx.error(cx.field_span("initial_state"), m);
    let json = match v {
        toml::Value::String(s) => {
            serde_json::from_str(s).map_err(|e| bad(format!("initial_state: invalid JSON: {e}")))?
        }
        other => serde_json::to_value(other).map_err(|e| bad(format!("initial_state: {e}")))?,
    };
    let serde_json::Value::Array(pairs) = json else {
        return Err(bad(
            "initial_state must be an array of pairs [key, state]".into()
        ));
    };
    let mut p = Partition::new();
    for pair in &pairs {
        if pair.as_array().is_none_or(|a| a.len() != 2) {
            return Err(bad(format!(
                "initial_state: {pair} is not a pair [key, state]"
            )));
        }
        p.push_with(|out| json_to_msgpack(pair, out));
    }
    Ok(Some(Batch::new(vec![p])))
}

/// `combine_by_key`.
///
/// # Errors
/// A [`JobError`] for an unknown function.
pub fn combine_by_key(c: &CombineConfig, cx: &BuildContext<'_>) -> Built {
    let combiner = match Builtin::from_name(&c.func) {
        Some(b) => Combiner::Builtin(b),
        None => {
            let f = |suffix: &str| cx.plugin_fn(&format!("{}_{suffix}", c.func));
            Combiner::Plugin {
                create: f("create")?,
                merge_value: f("merge_value")?,
                merge_combiners: f("merge_combiners")?,
            }
        }
    };
    Ok(Box::new(CombineByKey {
        combiner,
        partitions: c.partitions,
    }))
}

/// `reduce_by_key_and_window` (`by_key`) or `reduce_by_window`.
///
/// # Errors
/// A [`JobError`] for an unknown function or a window that is not a multiple of the batch.
pub fn reduce_window(c: &ReduceWindowConfig, cx: &BuildContext<'_>, by_key: bool) -> Built {
    let spec = window_spec(cx, c.window, c.slide)?;
    let reduce = reduce_fn(cx, "fn", &c.func)?;
    let inverse = c
        .inv_fn
        .as_deref()
        .map(|t| inverse_fn(cx, &reduce, t))
        .transpose()?;
    let filter = match c.filter_fn.as_deref() {
        None => None,
        Some(_) if inverse.is_none() => {
            return Err(cx.error(
                cx.field_span("filter_fn"),
                "filter_fn needs inv_fn (Spark's incremental window)",
            ))
        }
        Some("nonzero") => Some(FilterFn::NonZero),
        Some(t) => Some(FilterFn::Plugin(cx.plugin_fn(&t.to_owned())?)),
    };
    Ok(Box::new(if by_key {
        ReduceByKeyAndWindow::new(spec, reduce, inverse, filter, c.partitions)
    } else {
        ReduceByKeyAndWindow::reduce_by_window(spec, reduce, inverse)
    }))
}

/// `window`, `count_by_window`, `count_by_value_and_window`, `group_by_key_and_window`.
///
/// # Errors
/// A [`JobError`] for a window that is not a multiple of the batch.
pub fn window(c: &WindowConfig, cx: &BuildContext<'_>, op: &str) -> Built {
    let spec = window_spec(cx, c.window, c.slide)?;
    Ok(match op {
        "count_by_window" => Box::new(ReduceByKeyAndWindow::count_by_window(spec)),
        "count_by_value_and_window" => Box::new(ReduceByKeyAndWindow::count_by_value_and_window(
            spec,
            c.partitions,
        )),
        "group_by_key_and_window" => Box::new(super::group_window::GroupByKeyAndWindow::new(
            spec,
            c.partitions,
        )),
        _ => Box::new(super::window::Window::new(spec)),
    })
}

fn update_fn(cx: &BuildContext<'_>, text: &str) -> Result<UpdateFn, JobError> {
    Ok(match plugin_or_builtin(cx, "fn", text)? {
        Ok(b @ (Builtin::Sum | Builtin::Count)) => UpdateFn::Builtin(b),
        Ok(b) => {
            return Err(cx.error(
                cx.field_span("fn"),
                format!(
                    "`{}` is not a state function: use `sum`, `count` or `plugin.function`",
                    b.name()
                ),
            ))
        }
        Err(f) => UpdateFn::Plugin(f),
    })
}

/// `update_state_by_key`.
///
/// # Errors
/// A [`JobError`] for an unknown function or an invalid initial state.
pub fn update_state_by_key(c: &UpdateStateConfig, cx: &BuildContext<'_>) -> Built {
    let f = update_fn(cx, &c.func)?;
    let initial = initial_state(cx, c.initial_state.as_ref())?;
    Ok(Box::new(UpdateStateByKey::new(f, c.partitions, initial)))
}

/// `map_with_state`; publishes its state for a `state_snapshots` child.
///
/// # Errors
/// A [`JobError`] for an unknown function or an invalid initial state.
pub fn map_with_state(c: &MapWithStateConfig, cx: &BuildContext<'_>, links: &SharedLinks) -> Built {
    let op = MapWithState::new(map_with_state::MapWithStateConfig {
        f: update_fn(cx, &c.func)?,
        partitions: c.partitions,
        timeout_ms: c.timeout.map(DurationMs::ms),
        scan_interval_ms: c.scan_interval.map(DurationMs::ms),
        initial: initial_state(cx, c.initial_state.as_ref())?,
    });
    links
        .borrow_mut()
        .snapshots
        .insert(cx.stream.to_owned(), op.snapshots());
    Ok(Box::new(op))
}

/// `state_snapshots` of a `map_with_state` parent.
///
/// # Errors
/// A [`JobError`] when the parent is not a `map_with_state` stream.
pub fn state_snapshots(cx: &BuildContext<'_>, links: &SharedLinks) -> Built {
    let parent = cx.inputs.first().map(String::as_str).unwrap_or_default();
    match links.borrow_mut().snapshots.remove(parent) {
        Some(s) => Ok(Box::new(s)),
        None => Err(cx.error(
            cx.field_span("from"),
            format!(
                "`state_snapshots` reads a `map_with_state` stream (once); `{parent}` is not one"
            ),
        )),
    }
}

/// `event_time_window`.
///
/// # Errors
/// A [`JobError`] for an unknown function.
pub fn event_time_window(c: &EventTimeConfig, cx: &BuildContext<'_>) -> Built {
    let reduce = c
        .func
        .as_deref()
        .map(|t| reduce_fn(cx, "fn", t))
        .transpose()?;
    Ok(Box::new(EventTimeWindow::new(
        event_time::EventTimeConfig {
            time_field: c.time_field.clone(),
            size_ms: c.window.ms(),
            slide_ms: c.slide.map(DurationMs::ms),
            allowed_lateness_ms: c.allowed_lateness.map_or(0, DurationMs::ms),
            reduce,
        },
    )))
}

//! The builders of the operators: each turns one operation's job-file settings
//! (`job::ops`) into its operator, checking what the schema cannot (functions, windows,
//! initial state). Called by the one match in `ops::registry::build`.

use std::sync::Arc;

use super::build_context::{BuildContext, SharedLinks};
use super::builtin::Builtin;
use super::combine_by_key::{CombineByKey, Combiner};
use super::event_time::{self, EventTimeWindow};
use super::functions::{FilterFn, InverseFn, ReduceFn};
use super::join::{Join, JoinKind};
use super::map_with_state::{self, MapWithState};
use super::reduce_by_key::{ReduceByKey, Reducer};
use super::reduce_window::ReduceByKeyAndWindow;
use super::update_fn::UpdateFn;
use super::update_state::UpdateStateByKey;
use super::window::WindowSpec;
use super::{Operator, PluginFn};
use crate::job::{
    CombineConfig, DurationMs, EventTimeConfig, JobError, MapWithStateConfig, OpConfig,
    ReduceByKeyConfig, ReduceWindowConfig, RepartitionConfig, TransformConfig, UpdateStateConfig,
    WindowConfig,
};
use crate::record::{json_to_msgpack, Batch, Partition};

type Built = Result<Box<dyn Operator>, JobError>;

/// A built operator, boxed.
///
/// # Errors
/// Never; the `Result` matches the other builders.
pub fn op(o: impl Operator + 'static) -> Built {
    Ok(Box::new(o))
}

/// `reduce_by_key` with a built-in or a plugin reduce function.
///
/// # Errors
/// A [`JobError`] at `fn` for an unknown function.
pub fn reduce_by_key(
    c: &ReduceByKeyConfig,
    cx: &BuildContext<'_>,
) -> Result<ReduceByKey, JobError> {
    cx.expect_inputs("reduce_by_key", 1)?;
    let reducer = match plugin_or_builtin(cx, "fn", &c.func)? {
        Ok(b) => Reducer::Builtin(b),
        Err(f) => Reducer::Plugin(f),
    };
    Ok(ReduceByKey::new(reducer, c.partitions))
}

/// `union`: any number of parents, at least one.
///
/// # Errors
/// A [`JobError`] at `inputs` without parents.
pub fn union(cx: &BuildContext<'_>) -> Built {
    if cx.inputs.is_empty() {
        return Err(cx.error(
            cx.field_span("inputs"),
            "`union` needs at least one input stream",
        ));
    }
    op(super::union::Union)
}

/// The joins and `cogroup` of two parents.
///
/// # Errors
/// A [`JobError`] at the stream without two parents.
pub fn join(cx: &BuildContext<'_>, name: &str, kind: JoinKind, partitions: Option<usize>) -> Built {
    cx.expect_inputs(name, 2)?;
    op(Join { kind, partitions })
}

/// `repartition`.
///
/// # Errors
/// A [`JobError`] at `partitions` when it is 0.
pub fn repartition(c: &RepartitionConfig, cx: &BuildContext<'_>) -> Built {
    cx.expect_inputs("repartition", 1)?;
    if c.partitions == 0 {
        return Err(cx.error(
            cx.field_span("partitions"),
            "`repartition` needs partitions >= 1",
        ));
    }
    op(super::repartition::Repartition {
        partitions: c.partitions,
    })
}

/// `transform` (one parent), `transform_with` (two), `context_transform` (any, at least
/// one).
///
/// # Errors
/// A [`JobError`] for the wrong number of parents or an unknown function.
pub fn transform(c: &TransformConfig, cx: &BuildContext<'_>, kind: &OpConfig) -> Built {
    let name = kind.name();
    match kind {
        OpConfig::Transform(_) => cx.expect_inputs(name, 1)?,
        OpConfig::TransformWith(_) => cx.expect_inputs(name, 2)?,
        _ if cx.inputs.is_empty() => {
            return Err(cx.error(
                cx.field_span("inputs"),
                "`context_transform` needs input streams",
            ))
        }
        _ => {}
    }
    op(super::transform::Transform {
        f: cx.plugin_fn(&c.func)?,
        multi: !matches!(kind, OpConfig::Transform(_)),
    })
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
pub fn reduce_window(
    c: &ReduceWindowConfig,
    cx: &BuildContext<'_>,
    by_key: bool,
) -> Result<ReduceByKeyAndWindow, JobError> {
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
    Ok(if by_key {
        ReduceByKeyAndWindow::new(spec, reduce, inverse, filter, c.partitions)
    } else {
        ReduceByKeyAndWindow::reduce_by_window(spec, reduce, inverse)
    })
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
        Ok(b) => UpdateFn::Builtin(b),
        Err(f) => UpdateFn::Plugin(f),
    })
}

/// `update_state_by_key`.
///
/// # Errors
/// A [`JobError`] for an unknown function or an invalid initial state.
pub fn update_state_by_key(
    c: &UpdateStateConfig,
    cx: &BuildContext<'_>,
) -> Result<UpdateStateByKey, JobError> {
    let f = update_fn(cx, &c.func)?;
    let initial = initial_state(cx, c.initial_state.as_ref())?;
    Ok(UpdateStateByKey::new(f, c.partitions, initial))
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

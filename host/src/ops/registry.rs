//! Building operators from job-file config: THE one place where an operation named in a
//! job file (`op = "..."`, a variant of [`OpConfig`]) becomes an [`Operator`].
//!
//! To add an operation: add a variant with its settings struct to
//! `job::streams::OpConfig` (and its name to `OpConfig::name`, its windows to
//! `OpConfig::durations`), then an arm to [`build`] here. See `docs/architecture.md`.

use std::collections::BTreeMap;

use super::count::Count;
use super::narrow::NarrowStep;
use super::reduce_by_key::{BuiltinReducer, ReduceByKey, Reducer};
use super::{Operator, PluginFn};
use crate::job::{DurationMs, FnRef, JobDocument, JobError, OpConfig};
use crate::wasm::Plugin;

/// What an operator builder can see: the job, the stream, its parents and the plugins.
pub struct BuildContext<'a> {
    /// The job file (for errors and paths).
    pub doc: &'a JobDocument,
    /// The stream being built.
    pub stream: &'a str,
    /// The stream's parents, in order.
    pub inputs: &'a [String],
    /// Loaded plugins by name.
    pub plugins: &'a BTreeMap<String, Plugin>,
    /// Handles operators publish for later streams (state snapshots).
    pub links: &'a super::build::SharedLinks,
}

impl BuildContext<'_> {
    /// An error at `span` about this stream.
    pub fn error(&self, span: std::ops::Range<usize>, message: impl std::fmt::Display) -> JobError {
        self.doc
            .error(Some(span), format!("stream `{}`: {message}", self.stream))
    }

    /// Where `field` of this stream is written (the stream's table if it is not).
    pub fn field_span(&self, field: &str) -> std::ops::Range<usize> {
        self.doc
            .field_span(self.doc.file.streams[self.stream].span(), field)
    }

    /// The slide of the first parent in milliseconds: the batch interval unless it is
    /// windowed. A window's slide defaults to it (Spark's `window(length)`).
    pub fn parent_slide(&self) -> i64 {
        self.inputs
            .first()
            .and_then(|p| self.doc.topology.slides.get(p))
            .copied()
            .unwrap_or_else(|| self.doc.batch_ms())
    }

    /// Checks the number of parents.
    ///
    /// # Errors
    /// A [`JobError`] at the stream when it has another number of parents.
    pub fn expect_inputs(&self, op: &str, n: usize) -> Result<(), JobError> {
        if self.inputs.len() == n {
            return Ok(());
        }
        let span = self.doc.file.streams[self.stream].span();
        Err(self.error(
            span,
            format!(
                "`{op}` takes {n} input stream{}, found {}",
                if n == 1 { "" } else { "s" },
                self.inputs.len()
            ),
        ))
    }

    /// Resolves `plugin.function`, checking that the plugin is declared and exports it.
    ///
    /// # Errors
    /// A [`JobError`] at the reference naming the missing plugin or function.
    pub fn plugin_fn(&self, f: &FnRef) -> Result<PluginFn, JobError> {
        let text = f.as_str();
        let Some((plugin, function)) = text.split_once('.') else {
            return Err(self.error(
                self.field_span("fn"),
                format!("`{text}` is not a function: write `plugin.function`"),
            ));
        };
        let Some(p) = self.plugins.get(plugin) else {
            let known: Vec<&str> = self.plugins.keys().map(String::as_str).collect();
            return Err(self.error(
                self.field_span("fn"),
                format!(
                    "unknown plugin `{plugin}` in `{text}` (plugins: {})",
                    if known.is_empty() {
                        "none".to_owned()
                    } else {
                        known.join(", ")
                    }
                ),
            ));
        };
        if !p.has_function(function) {
            return Err(self.error(
                self.field_span("fn"),
                format!("plugin `{plugin}` has no function `{function}`"),
            ));
        }
        Ok(PluginFn {
            plugin: p.clone(),
            function: function.to_owned(),
        })
    }

    /// A window or slide duration in milliseconds, checked to be a multiple of the batch
    /// interval (also checked by `sluice validate` through `OpConfig::durations`).
    ///
    /// # Errors
    /// A [`JobError`] at the duration.
    pub fn batch_multiple(&self, field: &str, d: DurationMs) -> Result<i64, JobError> {
        let batch = self.doc.batch_ms();
        let ms = d.ms();
        if ms % batch != 0 {
            return Err(self.error(
                self.field_span(field),
                format!(
                    "{field} = {d} is not a multiple of the batch interval ({})",
                    DurationMs(batch)
                ),
            ));
        }
        Ok(ms)
    }
}

/// What a stream's config builds into.
pub enum Built {
    /// A narrow step, which the planner may fuse with its neighbours.
    Narrow(NarrowStep),
    /// A `reduce_by_key`, whose map side the planner may fuse with the narrow chain in
    /// front of it.
    ReduceByKey(ReduceByKey),
    /// Any other operator.
    Operator(Box<dyn Operator>),
}

/// Builds the operator of one stream.
///
/// # Errors
/// A [`JobError`] at the place in the job file that is wrong.
pub fn build(op: &OpConfig, cx: &BuildContext<'_>) -> Result<Built, JobError> {
    let narrow = |step: NarrowStep| -> Result<Built, JobError> {
        cx.expect_inputs(op.name(), 1)?;
        Ok(Built::Narrow(step))
    };
    match op {
        OpConfig::Map(c) => narrow(NarrowStep::Map(cx.plugin_fn(&c.func)?)),
        OpConfig::FlatMap(c) => narrow(NarrowStep::FlatMap(cx.plugin_fn(&c.func)?)),
        OpConfig::MapPartitions(c) => narrow(NarrowStep::MapPartitions(cx.plugin_fn(&c.func)?)),
        OpConfig::MapValues(c) => narrow(NarrowStep::MapValues(cx.plugin_fn(&c.func)?)),
        OpConfig::FlatMapValues(c) => narrow(NarrowStep::FlatMapValues(cx.plugin_fn(&c.func)?)),
        OpConfig::Glom(_) => narrow(NarrowStep::Glom),
        OpConfig::Identity(_) => narrow(NarrowStep::Identity),
        // Built-in record operations (and `filter` in both forms): `ops/json/`.
        OpConfig::Filter(_)
        | OpConfig::KeyBy(_)
        | OpConfig::Select(_)
        | OpConfig::ParseJson(_)
        | OpConfig::ToJson(_) => narrow(super::json::build(op, cx)?),
        OpConfig::Count(_) => {
            cx.expect_inputs("count", 1)?;
            Ok(Built::Operator(Box::new(Count)))
        }
        OpConfig::ReduceByKey(c) => {
            cx.expect_inputs("reduce_by_key", 1)?;
            let reducer = match BuiltinReducer::from_name(c.func.as_str()) {
                Some(b) => Reducer::Builtin(b),
                None if c.func.as_str().contains('.') => Reducer::Plugin(cx.plugin_fn(&c.func)?),
                None => {
                    return Err(cx.error(
                        cx.field_span("fn"),
                        format!(
                            "unknown function `{}`: use a built-in (sum, count, min, max) or `plugin.function`",
                            c.func.as_str()
                        ),
                    ))
                }
            };
            Ok(Built::Operator(Box::new(ReduceByKey::new(
                reducer,
                c.partitions,
            ))))
        }
        // Every other DStream operation: `ops/build.rs`.
        other => super::build::build(other, cx).map(Built::Operator),
    }
}

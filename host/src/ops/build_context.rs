//! [`BuildContext`]: what the builder of one stream's operator sees of the job — the
//! stream, its parents, the plugins, the links between streams — with the checks every
//! builder shares (inputs, plugin functions, window multiples) and errors that point at
//! the place in the job file.

use std::cell::RefCell;
use std::collections::BTreeMap;

use super::map_with_state::StateSnapshots;
use super::PluginFn;
use crate::job::{DurationMs, FnRef, JobDocument, JobError};
use crate::wasm::Plugin;

/// Handles that operators publish for the streams built after them (by stream name).
#[derive(Default)]
pub struct Links {
    /// `map_with_state` streams' state, for a `state_snapshots` child.
    pub snapshots: BTreeMap<String, StateSnapshots>,
}

/// Shared between the builders of one job.
pub type SharedLinks = RefCell<Links>;

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
    pub links: &'a SharedLinks,
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

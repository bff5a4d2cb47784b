//! Job files: TOML config types, loading with precise errors, and graph validation.
//!
//! A job file is read in two layers (like ripgrep's flags): [`JobDocument::load`] parses
//! and type-checks the TOML into the config types ([`JobFile`]) and checks the graph
//! ([`Topology`]); `exec::plan` then resolves plugins and builds the runtime types. Every
//! error names the file, and the line and column when the problem has a place in it.

mod brokers;
mod checkpoint;
mod config;
mod graph;
mod json_ops;
mod nats;
mod ops;
pub mod preflight;
mod sinks;
mod slides;
mod sources;
mod streams;
mod text;
mod units;

use std::ops::Range;
use std::path::{Path, PathBuf};

pub use brokers::{
    KafkaSinkConfig, KafkaSourceConfig, KafkaStart, RecordFormat, RedisSinkConfig, RedisSinkIds,
    RedisSourceConfig, RedisStart,
};
pub use checkpoint::{CheckpointConfig, WalFsyncConfig};
pub use config::{
    DeadLetterConfig, ErrorPolicyConfig, JobFile, JobSection, LimitsConfig, PluginConfig,
};
pub use graph::Topology;
pub use json_ops::{FilterConfig, KeyByConfig, SelectConfig};
pub use nats::{NatsSinkConfig, NatsSourceConfig, NatsStart};
pub use ops::{
    CombineConfig, EventTimeConfig, FnOp, FnRef, KeyedConfig, MapWithStateConfig, NoArgs,
    ReduceByKeyConfig, ReduceConfig, ReduceWindowConfig, RepartitionConfig, TransformConfig,
    UpdateStateConfig, WindowConfig,
};
pub use sinks::{FilesSinkConfig, PrintSinkConfig, SinkConfig, SinkKind, StdoutSinkConfig};
pub use sources::{
    FilesSourceConfig, Format, GeneratorConfig, QueueConfig, SourceConfig, StdinConfig, TcpConfig,
    MAX_VOCABULARY,
};
pub use streams::{OpConfig, StreamConfig};
pub use text::line_column;
pub use units::{parse_duration, parse_size, ByteSize, DurationMs};

/// Errors in a job file.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// The file could not be read.
    #[error("{path}: cannot read the job file: {cause}")]
    Read { path: String, cause: std::io::Error },
    /// A problem at a place in the file.
    #[error("{path}:{line}:{column}: {message}")]
    At {
        path: String,
        line: usize,
        column: usize,
        message: String,
    },
    /// A problem with the file as a whole.
    #[error("{path}: {message}")]
    Invalid { path: String, message: String },
}

/// A parsed and graph-checked job file, with its text for locating errors.
#[derive(Debug)]
pub struct JobDocument {
    /// Where the file is; relative paths in it are relative to its directory.
    pub path: PathBuf,
    /// The file's text.
    pub text: String,
    /// The config.
    pub file: JobFile,
    /// The streams in topological order.
    pub topology: Topology,
}

impl JobDocument {
    /// Reads, parses and checks the job file at `path`.
    ///
    /// # Errors
    /// [`JobError`] naming the file, line and column of the first problem.
    pub fn load(path: &Path) -> Result<JobDocument, JobError> {
        let text = std::fs::read_to_string(path).map_err(|cause| JobError::Read {
            path: path.display().to_string(),
            cause,
        })?;
        Self::parse(path, text)
    }

    /// Parses and checks job-file text that claims to live at `path`.
    ///
    /// # Errors
    /// [`JobError`] naming the file, line and column of the first problem.
    pub fn parse(path: &Path, text: String) -> Result<JobDocument, JobError> {
        let file: JobFile = match toml::from_str(&text) {
            Ok(f) => f,
            Err(e) => {
                let message = e.message().trim_end().to_owned();
                let span = e.span().map(|s| text::refine_span(&text, s, &message));
                return Err(error_in(path, &text, span, message));
            }
        };
        let mut doc = JobDocument {
            path: path.to_owned(),
            text,
            file,
            topology: Topology::default(),
        };
        doc.topology =
            graph::check(&doc.file, &doc.text).map_err(|(span, m)| doc.error(span, m))?;
        Ok(doc)
    }

    /// An error at `span` of this file (or about the whole file when `span` is `None`).
    pub fn error(&self, span: Option<Range<usize>>, message: impl Into<String>) -> JobError {
        error_in(&self.path, &self.text, span, message.into())
    }

    /// The span of `key = value`'s value inside the table at `table` (the table itself
    /// when the key is not written there, e.g. defaulted).
    pub fn field_span(&self, table: Range<usize>, key: &str) -> Range<usize> {
        text::field_span(&self.text, table, key)
    }

    /// The span of the header `[name]` of a top-level table, when the file has one (for
    /// tables that are not `Spanned`, such as `[job]` and `[checkpoint]`).
    pub fn table_span(&self, name: &str) -> Option<Range<usize>> {
        let header = format!("[{name}]");
        let mut at = 0;
        for line in self.text.split_inclusive('\n') {
            let trimmed = line.trim_start();
            let rest = trimmed.strip_prefix(header.as_str()).map(str::trim);
            if rest.is_some_and(|r| r.is_empty() || r.starts_with('#')) {
                let start = at + line.len() - trimmed.len();
                return Some(start..start + header.len());
            }
            at += line.len();
        }
        None
    }

    /// Resolves a path written in the job file against the file's directory.
    pub fn resolve(&self, p: &Path) -> PathBuf {
        match self.path.parent() {
            Some(dir) if p.is_relative() => dir.join(p),
            _ => p.to_owned(),
        }
    }

    /// The batch interval in milliseconds.
    pub fn batch_ms(&self) -> i64 {
        self.file.job.batch_interval.get_ref().ms()
    }
}

impl JobDocument {
    /// Checks that running the job would compute something: it has a sink. (Spark refuses
    /// to start such a job: "No output operations registered, so nothing to execute".)
    /// Not part of [`JobDocument::load`], since a library user may drive the streams
    /// without sinks.
    ///
    /// # Errors
    /// A [`JobError`] about the file, suggesting a sink for its last stream.
    pub fn check_has_sink(&self) -> Result<(), JobError> {
        if !self.file.sinks.is_empty() {
            return Ok(());
        }
        let last = self
            .topology
            .order
            .last()
            .or_else(|| self.file.sources.keys().next())
            .map_or("STREAM", String::as_str);
        Err(self.error(
            None,
            format!(
                "the job has no sinks, so running it would compute nothing (Spark: \"No \
                 output operations registered, so nothing to execute\"). Add one, e.g. \
                 `[sinks.out]` with `from = \"{last}\"` and `kind = \"print\"`"
            ),
        ))
    }
}

fn error_in(path: &Path, text: &str, span: Option<Range<usize>>, message: String) -> JobError {
    let path = path.display().to_string();
    match span {
        Some(span) => {
            let (line, column) = text::line_column(text, span.start);
            JobError::At {
                path,
                line,
                column,
                message,
            }
        }
        None => JobError::Invalid { path, message },
    }
}

#[cfg(test)]
mod tests;

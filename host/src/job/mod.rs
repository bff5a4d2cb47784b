//! Job files: TOML config types, loading with precise errors, and graph validation.
//!
//! A job file is read in two layers (like ripgrep's flags): [`JobDocument::load`] parses
//! and type-checks the TOML into the config types ([`JobFile`]) and checks the graph
//! ([`Topology`]); `exec::plan` then resolves plugins and builds the runtime types. Every
//! error names the file, and the line and column when the problem has a place in it.

mod config;
mod graph;
mod sinks;
mod slides;
mod sources;
mod streams;
mod units;

use std::ops::Range;
use std::path::{Path, PathBuf};

pub use config::{
    DeadLetterConfig, ErrorPolicyConfig, JobFile, JobSection, LimitsConfig, PluginConfig,
};
pub use graph::Topology;
pub use sinks::{FilesSinkConfig, PrintSinkConfig, SinkConfig, SinkKind, StdoutSinkConfig};
pub use sources::{
    FilesSourceConfig, Format, GeneratorConfig, QueueConfig, SourceConfig, StdinConfig, TcpConfig,
    MAX_VOCABULARY,
};
pub use streams::{FnOp, FnRef, NoArgs, OpConfig, ReduceByKeyConfig, StreamConfig};
pub use units::{parse_duration, parse_size, ByteSize, DurationMs};

/// Errors in a job file.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// The file could not be read.
    #[error("{path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
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
        let text = std::fs::read_to_string(path).map_err(|source| JobError::Read {
            path: path.display().to_string(),
            source,
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
                let span = e.span().map(|s| refine_span(&text, s, &message));
                return Err(error_in(path, &text, span, message));
            }
        };
        let mut doc = JobDocument {
            path: path.to_owned(),
            text,
            file,
            topology: Topology::default(),
        };
        doc.topology = graph::check(&doc)?;
        Ok(doc)
    }

    /// An error at `span` of this file (or about the whole file when `span` is `None`).
    pub fn error(&self, span: Option<Range<usize>>, message: impl Into<String>) -> JobError {
        error_in(&self.path, &self.text, span, message.into())
    }

    /// The span of `key = value`'s value inside the table at `table` (the table itself
    /// when the key is not written there, e.g. defaulted).
    pub fn field_span(&self, table: Range<usize>, key: &str) -> Range<usize> {
        let message = format!("unknown field `{key}`");
        let key_span = refine_span(&self.text, table.clone(), &message);
        if key_span == table {
            return table;
        }
        let rest = &self.text[key_span.end..];
        let value_start = rest
            .find('=')
            .map(|i| i + 1 + rest[i + 1..].len() - rest[i + 1..].trim_start().len())
            .unwrap_or(0);
        let value_len = rest[value_start..]
            .find(['\n', '#'])
            .unwrap_or(rest.len() - value_start);
        let start = key_span.end + value_start;
        start..start + rest[value_start..value_start + value_len].trim_end().len()
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

fn error_in(path: &Path, text: &str, span: Option<Range<usize>>, message: String) -> JobError {
    let path = path.display().to_string();
    match span {
        Some(span) => {
            let (line, column) = line_column(text, span.start);
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

/// 1-based line and column (in characters) of byte `offset`.
pub fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

/// Where the table whose span is `span` ends: toml spans a `[table]` by its header only,
/// so its keys run up to the next header.
fn table_end(text: &str, span: &Range<usize>) -> usize {
    let end = span.end.min(text.len());
    if !text[span.start.min(end)..].starts_with('[') {
        return end;
    }
    let mut at = end;
    for line in text[end..].split_inclusive('\n') {
        if line.trim_start().starts_with('[') {
            break;
        }
        at += line.len();
    }
    at
}

/// serde reports an unknown field of a tagged enum at the enclosing table; when the
/// message names the key, point at the key itself.
fn refine_span(text: &str, span: Range<usize>, message: &str) -> Range<usize> {
    let Some(rest) = message.strip_prefix("unknown field `") else {
        return span;
    };
    let Some(key) = rest.split('`').next() else {
        return span;
    };
    let region = &text[span.start.min(text.len())..table_end(text, &span)];
    let mut offset = span.start;
    for line in region.split_inclusive('\n') {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        if let Some(after) = trimmed.strip_prefix(key) {
            if after.trim_start().starts_with('=') {
                return offset + indent..offset + indent + key.len();
            }
        }
        offset += line.len();
    }
    // Inline tables: `{ ..., key = ... }`.
    if let Some(i) = region.find(&format!(" {key} =")) {
        return span.start + i + 1..span.start + i + 1 + key.len();
    }
    span
}

#[cfg(test)]
mod tests;

//! The `files` source: new files in a directory, in name order, each read once.
//!
//! Files should appear atomically (written elsewhere, then renamed into the directory);
//! names starting with `.` or `_` are ignored, as Spark does. The position is the set of
//! files already read.

use std::collections::BTreeSet;
use std::path::PathBuf;

use serde_json::Value;

use super::lines::LineSplitter;
use super::{DirectSource, LineDecoder, SourceBatch, SourceError};
use crate::job::{FilesSourceConfig, JobDocument};
use crate::record::BatchTime;
use crate::record::{Batch, Partition};

/// Reads each new file of a directory into one partition.
#[derive(Debug)]
pub struct FilesSource {
    dir: PathBuf,
    decoder: LineDecoder,
    max_line: usize,
    read: BTreeSet<String>,
}

impl FilesSource {
    /// The source of `[sources.NAME] kind = "files"`, its directory resolved against the
    /// job file.
    ///
    /// # Errors
    /// [`SourceError::Job`] at the source's table when the directory does not exist.
    pub fn from_config(
        doc: &JobDocument,
        name: &str,
        c: &FilesSourceConfig,
    ) -> Result<Self, SourceError> {
        let dir = doc.resolve(&c.path);
        if !dir.is_dir() {
            let at = Some(doc.file.sources[name].span());
            let message = format!("source `{name}`: no such directory {}", dir.display());
            return Err(doc.error(at, message).into());
        }
        FilesSource::new(name, dir, c)
    }

    /// A source over `dir` (already resolved against the job file).
    ///
    /// # Errors
    /// [`SourceError::Io`] when the directory cannot be listed.
    pub fn new(name: &str, dir: PathBuf, config: &FilesSourceConfig) -> Result<Self, SourceError> {
        let mut source = FilesSource {
            dir,
            decoder: LineDecoder::new(name, config.format),
            max_line: config.max_line_length.0 as usize,
            read: BTreeSet::new(),
        };
        let existing = source.list()?;
        if !config.include_existing {
            source.read.extend(existing);
        }
        Ok(source)
    }

    fn io(&self, message: String) -> SourceError {
        SourceError::Io {
            source_name: self.decoder.source().to_owned(),
            message,
        }
    }

    fn list(&self) -> Result<Vec<String>, SourceError> {
        let entries = std::fs::read_dir(&self.dir)
            .map_err(|e| self.io(format!("cannot list {}: {e}", self.dir.display())))?;
        let mut names = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| self.io(format!("{}: {e}", self.dir.display())))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') || name.starts_with('_') {
                continue;
            }
            if entry.file_type().map(|t| t.is_file()).unwrap_or(false) {
                names.push(name);
            }
        }
        names.sort();
        Ok(names)
    }

    fn read_file(&self, name: &str, out: &mut SourceBatch) -> Result<Partition, SourceError> {
        let path = self.dir.join(name);
        let bytes = std::fs::read(&path)
            .map_err(|e| self.io(format!("cannot read {}: {e}", path.display())))?;
        let mut part = Partition::new();
        let mut splitter = LineSplitter::new(self.max_line);
        let shown = path.display().to_string();
        let mut on_line = |line: super::lines::Line<'_>, at: super::lines::LineAt| {
            if let Err(dead) = self
                .decoder
                .decode(line, &mut part, || format!("{shown}:{}", at.line))
            {
                out.dead_letters.push(dead);
            }
        };
        splitter.feed(&bytes, &mut on_line);
        splitter.finish(&mut on_line);
        Ok(part)
    }
}

impl DirectSource for FilesSource {
    fn next_batch(&mut self, _time: BatchTime) -> Result<SourceBatch, SourceError> {
        let new: Vec<String> = self
            .list()?
            .into_iter()
            .filter(|n| !self.read.contains(n))
            .collect();
        self.read_files(new)
    }

    fn next_batch_to(&mut self, _time: BatchTime, end: &Value) -> Result<SourceBatch, SourceError> {
        let names = read_set(self.decoder.source(), end)?;
        let new = names.difference(&self.read).cloned().collect();
        self.read_files(new)
    }

    fn position(&self) -> Value {
        serde_json::json!({ "read": self.read })
    }

    fn seek(&mut self, position: &Value) -> Result<(), SourceError> {
        self.read = read_set(self.decoder.source(), position)?;
        Ok(())
    }
}

/// The file names of a position `{"read": [names]}`.
fn read_set(source: &str, position: &Value) -> Result<BTreeSet<String>, SourceError> {
    let names = position
        .get("read")
        .and_then(Value::as_array)
        .ok_or_else(|| SourceError::Seek {
            source_name: source.to_owned(),
            position: position.to_string(),
            message: "expected {\"read\": [file names]}".to_owned(),
        })?;
    Ok(names
        .iter()
        .filter_map(|n| n.as_str().map(str::to_owned))
        .collect())
}

impl FilesSource {
    /// Reads `new` (in name order) into one partition each and marks them read.
    fn read_files(&mut self, new: Vec<String>) -> Result<SourceBatch, SourceError> {
        let mut out = SourceBatch::default();
        let mut partitions = Vec::with_capacity(new.len());
        for name in new {
            partitions.push(self.read_file(&name, &mut out)?);
            self.read.insert(name);
        }
        out.batch = Some(Batch::new(partitions));
        Ok(out)
    }
}

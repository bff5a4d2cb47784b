//! The `stdout` sink: every record as one JSON line.

use std::io::Write;

use super::{record_json, Sink, SinkError};
use crate::record::Batch;
use crate::record::BatchTime;

/// Writes records as JSON lines to standard output, flushed after every batch.
#[derive(Debug)]
pub struct StdoutSink {
    name: String,
}

impl StdoutSink {
    /// A sink named `name`.
    pub fn new(name: &str) -> Self {
        StdoutSink {
            name: name.to_owned(),
        }
    }
}

impl Sink for StdoutSink {
    fn write_batch(&mut self, _time: BatchTime, batch: &Batch) -> Result<(), SinkError> {
        let mut text = String::with_capacity(batch.len() * 16);
        for r in batch.records() {
            text.push_str(&record_json(r));
            text.push('\n');
        }
        let mut out = std::io::stdout().lock();
        out.write_all(text.as_bytes())
            .and_then(|()| out.flush())
            .map_err(|e| SinkError::Write {
                sink: self.name.clone(),
                message: e.to_string(),
            })
    }
}

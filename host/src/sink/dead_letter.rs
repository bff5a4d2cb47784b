//! The dead-letter sink: rejected records with the reason, as JSON lines per batch.

use std::path::PathBuf;

use super::SinkError;
use crate::base::write_atomically;
use crate::record::{BatchTime, DeadLetter};

/// Writes `<dir>/dead-<time_ms>.jsonl` for batches that rejected records; each line is
/// `{"time": ms, "stream": name, "reason": why (with the source position), "record": json}`.
#[derive(Debug)]
pub struct DeadLetterSink {
    dir: PathBuf,
}

impl DeadLetterSink {
    /// A sink into `dir`, created if missing.
    ///
    /// # Errors
    /// [`SinkError`] when the directory cannot be created.
    pub fn new(dir: PathBuf) -> Result<Self, SinkError> {
        std::fs::create_dir_all(&dir).map_err(|e| SinkError::Write {
            sink: "dead_letter".to_owned(),
            message: format!("cannot create {}: {e}", dir.display()),
        })?;
        Ok(DeadLetterSink { dir })
    }

    /// Writes the rejected records of one batch (nothing when there are none).
    ///
    /// # Errors
    /// [`SinkError`] when the file cannot be written.
    pub fn write(&mut self, time: BatchTime, letters: &[DeadLetter]) -> Result<(), SinkError> {
        if letters.is_empty() {
            return Ok(());
        }
        let mut text = String::new();
        for d in letters {
            let record = crate::record::msgpack_to_json(&d.record)
                .unwrap_or_else(|e| serde_json::Value::String(format!("<unprintable: {e}>")));
            let line = serde_json::json!({
                "time": time,
                "stream": d.stream,
                "reason": d.reason,
                "record": record,
            });
            text.push_str(&line.to_string());
            text.push('\n');
        }
        let path = self.dir.join(format!("dead-{time}.jsonl"));
        write_atomically(&path, text.as_bytes()).map_err(|e| SinkError::Write {
            sink: "dead_letter".to_owned(),
            message: format!("cannot write {}: {e}", path.display()),
        })
    }
}

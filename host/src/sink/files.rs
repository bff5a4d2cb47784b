//! The `files` sink: one JSON-lines file per batch, written atomically.

use std::path::PathBuf;

use super::{record_json, Sink, SinkError};
use crate::base::write_atomically;
use crate::record::{Batch, BatchTime};

/// Writes `<dir>/batch-<time_ms>.jsonl` per batch: a hidden temporary file, fsync, rename,
/// fsync of the directory. Rewriting a batch (after a recovery) replaces the file with
/// identical content.
#[derive(Debug)]
pub struct FilesSink {
    name: String,
    dir: PathBuf,
    write_empty: bool,
}

impl FilesSink {
    /// A sink into `dir`, created if missing.
    ///
    /// # Errors
    /// [`SinkError`] when the directory cannot be created.
    pub fn new(name: &str, dir: PathBuf, write_empty: bool) -> Result<Self, SinkError> {
        std::fs::create_dir_all(&dir).map_err(|e| SinkError::Write {
            sink: name.to_owned(),
            message: format!("cannot create {}: {e}", dir.display()),
        })?;
        Ok(FilesSink {
            name: name.to_owned(),
            dir,
            write_empty,
        })
    }

    /// The file that holds the batch of `time`.
    pub fn path_for(&self, time: BatchTime) -> PathBuf {
        self.dir.join(format!("batch-{time}.jsonl"))
    }
}

impl Sink for FilesSink {
    fn write_batch(&mut self, time: BatchTime, batch: &Batch) -> Result<(), SinkError> {
        if batch.is_empty() && !self.write_empty {
            return Ok(());
        }
        let mut text = String::with_capacity(batch.len() * 16);
        for r in batch.records() {
            text.push_str(&record_json(r));
            text.push('\n');
        }
        let path = self.path_for(time);
        write_atomically(&path, text.as_bytes()).map_err(|e| SinkError::Write {
            sink: self.name.clone(),
            message: format!("cannot write {}: {e}", path.display()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Partition;

    #[test]
    fn rewriting_a_batch_replaces_it_identically_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let mut sink = FilesSink::new("out", dir.path().join("o"), true).unwrap();
        let mut p = Partition::new();
        p.push(&[0x92, 0xa1, b'a', 0x01]);
        let batch = Batch {
            partitions: vec![p],
        };
        sink.write_batch(1000, &batch).unwrap();
        let first = std::fs::read(sink.path_for(1000)).unwrap();
        assert_eq!(first, b"[\"a\",1]\n");
        std::fs::write(sink.path_for(1000), b"partial garbage").unwrap();
        sink.write_batch(1000, &batch).unwrap();
        assert_eq!(std::fs::read(sink.path_for(1000)).unwrap(), first);
        let names: Vec<String> = std::fs::read_dir(dir.path().join("o"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names, vec!["batch-1000.jsonl"]);
    }
}

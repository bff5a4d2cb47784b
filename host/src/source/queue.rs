//! The `queue` source: batches from a JSON array, as Spark's test input stream.

use std::sync::Arc;

use serde_json::Value;

use super::{DirectSource, SourceBatch, SourceError};
use crate::job::{JobDocument, QueueConfig};
use crate::record::BatchTime;
use crate::record::{json_to_msgpack, Batch, Partition};

/// Batch i is element i-1 of a JSON array of batches (`null` = no RDD); afterwards every
/// batch is empty. Each batch is split into `partitions` partitions like Spark's
/// `ParallelCollectionRDD`: partition i of n holds records `[i*len/n, (i+1)*len/n)`.
#[derive(Debug)]
pub struct QueueSource {
    name: String,
    batches: Vec<Option<Arc<Batch>>>,
    partitions: usize,
    next: usize,
}

impl QueueSource {
    /// The queue of `[sources.NAME] kind = "queue"`: its JSON from `data` or the file at
    /// `path`.
    ///
    /// # Errors
    /// [`SourceError::Job`] at the source's table when the JSON cannot be read or is not
    /// an array of batches.
    pub fn from_config(
        doc: &JobDocument,
        name: &str,
        c: &QueueConfig,
    ) -> Result<Self, SourceError> {
        let at = || Some(doc.file.sources[name].span());
        let json = match (&c.path, &c.data) {
            (Some(p), None) => {
                let p = doc.resolve(p);
                std::fs::read_to_string(&p).map_err(|e| {
                    doc.error(
                        at(),
                        format!("source `{name}`: cannot read {}: {e}", p.display()),
                    )
                })?
            }
            (None, Some(d)) => d.clone(),
            _ => {
                let message = format!("source `{name}`: set exactly one of `path` and `data`");
                return Err(doc.error(at(), message).into());
            }
        };
        QueueSource::from_json(name, &json, c.input_partitions)
            .map_err(|e| doc.error(at(), e.to_string()).into())
    }

    /// Parses the batches from JSON text.
    ///
    /// # Errors
    /// [`SourceError::Invalid`] unless the text is an array of arrays or nulls.
    pub fn from_json(name: &str, json: &str, partitions: usize) -> Result<Self, SourceError> {
        let invalid = |message: String| SourceError::Invalid {
            source_name: name.to_owned(),
            message,
        };
        let partitions = partitions.max(1);
        let value: Value =
            serde_json::from_str(json).map_err(|e| invalid(format!("invalid JSON: {e}")))?;
        let Value::Array(items) = value else {
            return Err(invalid("expected a JSON array of batches".to_owned()));
        };
        let mut batches = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            batches.push(match item {
                Value::Null => None,
                Value::Array(records) => Some(Batch::new(split(records, partitions))),
                _ => {
                    return Err(invalid(format!(
                        "batch {} is neither an array of records nor null",
                        i + 1
                    )))
                }
            });
        }
        Ok(QueueSource {
            name: name.to_owned(),
            batches,
            partitions,
            next: 0,
        })
    }
}

fn split(records: &[Value], n: usize) -> Vec<Partition> {
    let len = records.len();
    (0..n)
        .map(|i| {
            let mut p = Partition::new();
            for r in &records[i * len / n..(i + 1) * len / n] {
                p.push_with(|b| json_to_msgpack(r, b));
            }
            p
        })
        .collect()
}

impl DirectSource for QueueSource {
    fn next_batch(&mut self, _time: BatchTime) -> Result<SourceBatch, SourceError> {
        let batch = match self.batches.get(self.next) {
            Some(b) => b.clone(),
            None => Some(Batch::new(vec![Partition::new(); self.partitions])),
        };
        self.next += 1;
        Ok(SourceBatch {
            batch,
            dead_letters: Vec::new(),
        })
    }

    fn position(&self) -> Value {
        serde_json::json!({ "next_batch": self.next })
    }

    fn seek(&mut self, position: &Value) -> Result<(), SourceError> {
        let next = position
            .get("next_batch")
            .and_then(Value::as_u64)
            .ok_or_else(|| SourceError::Seek {
                source_name: self.name.clone(),
                position: position.to_string(),
                message: "expected {\"next_batch\": n}".to_owned(),
            })?;
        self.next = next as usize;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_like_parallel_collection_and_replays() {
        let mut q = QueueSource::from_json("q", "[[1,2,3], null]", 2).unwrap();
        let b1 = q.next_batch(1000).unwrap().batch.unwrap();
        assert_eq!(b1.partitions[0].len(), 1);
        assert_eq!(b1.partitions[1].len(), 2);
        let pos = q.position();
        assert!(q.next_batch(2000).unwrap().batch.is_none());
        let b3 = q.next_batch(3000).unwrap().batch.unwrap();
        assert_eq!((b3.partitions.len(), b3.len()), (2, 0));
        q.seek(&pos).unwrap();
        assert!(q.next_batch(2000).unwrap().batch.is_none());
        assert!(QueueSource::from_json("q", "[1]", 1).is_err());
    }
}

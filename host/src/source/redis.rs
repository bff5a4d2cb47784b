//! The `redis` source: Redis Streams read through a consumer group, a reliable receiver
//! pulled at each batch time. Entries stay pending in the group until the checkpoint
//! holding their batch is durable, then they are acknowledged (`XACK`); after a crash the
//! consumer's pending entries are read again first, and those the checkpoint already holds
//! are acknowledged instead of read. One stream is one partition of every batch.

use serde_json::{json, Map, Value};

use super::broker::{dead_letter, Extent, Rates};
use super::{DirectSource, SourceBatch, SourceError};
use crate::brokers::{RedisEntry, RedisStreamReader, RedisStreamReaderConfig};
use crate::job::RedisSourceConfig;
use crate::record::BatchTime;
use crate::record::{Batch, Partition};

/// Reads Redis Streams through a consumer group. Connects at the first batch (or seek).
pub struct RedisSource {
    name: String,
    config: RedisSourceConfig,
    batch_ms: i64,
    reader: Option<RedisStreamReader>,
    pending_seek: Option<Vec<(String, String)>>,
    rate: Option<f64>,
}

impl RedisSource {
    /// A source named `name` (used in errors, dead letters and the default group name).
    pub fn new(name: &str, config: &RedisSourceConfig, batch_ms: i64) -> Self {
        RedisSource {
            name: name.to_owned(),
            config: config.clone(),
            batch_ms,
            reader: None,
            pending_seek: None,
            rate: None,
        }
    }

    fn io(&self, message: String) -> SourceError {
        SourceError::Io {
            source_name: self.name.clone(),
            message,
        }
    }

    fn reader(&mut self) -> Result<&mut RedisStreamReader, SourceError> {
        if self.reader.is_none() {
            let c = &self.config;
            let config = RedisStreamReaderConfig {
                url: c.url.clone(),
                streams: c.streams.clone(),
                group: c
                    .group
                    .clone()
                    .unwrap_or_else(|| format!("sluice-{}", self.name)),
                consumer: c.consumer.clone().unwrap_or_else(|| "sluice".to_owned()),
                start: c.start,
                timeout: c.timeout.to_std(),
            };
            let mut reader = RedisStreamReader::open(config).map_err(|e| self.io(e.to_string()))?;
            if let Some(positions) = self.pending_seek.take() {
                reader
                    .recover(&positions)
                    .map_err(|e| self.io(e.to_string()))?;
                tracing::info!(source = %self.name, "Redis source resumes after {positions:?}; pending entries after it are read again first.");
            }
            self.reader = Some(reader);
        }
        Ok(self.reader.as_mut().expect("opened above"))
    }

    fn rates(&self) -> Rates {
        Rates {
            per_partition: self.config.max_rate_per_stream,
            pressured: self.rate,
        }
    }
}

impl RedisSource {
    /// Reads every stream as far as `extent` says, decoding the entries.
    fn pull(&mut self, extent: Extent<String>) -> Result<SourceBatch, SourceError> {
        let name = self.name.clone();
        let c = self.config.clone();
        let n = self.reader()?.streams().len();
        let reader = self.reader.as_mut().expect("opened above");
        let mut partitions = Vec::with_capacity(n);
        let mut dead_letters = Vec::new();
        let mut buf = Vec::new();
        for i in 0..n {
            let stream = reader.streams().nth(i).unwrap_or_default().to_owned();
            let mut records = Partition::new();
            let on = |e: &RedisEntry| {
                buf.clear();
                let key = if c.key { e.field(&c.key_field) } else { None };
                let result = match e.field(&c.field) {
                    Some(payload) => c
                        .format
                        .decode(key, Some(payload), c.key, &mut buf)
                        .map_err(|e| e.0),
                    None => Err(format!("the entry has no field `{}`", c.field)),
                };
                match result {
                    Ok(()) => records.push(&buf),
                    Err(reason) => dead_letters.push(dead_letter(
                        &name,
                        e.field(&c.field),
                        format!("Redis stream `{stream}` entry {}: {reason}", e.id),
                    )),
                }
            };
            match &extent {
                Extent::Cap(cap) => reader.read(i, *cap, on),
                Extent::To(ends) => reader.read_to(i, &ends[i], c.timeout.to_std(), on),
            }
            .map_err(|e| SourceError::Io {
                source_name: name.clone(),
                message: e.to_string(),
            })?;
            partitions.push(records);
        }
        Ok(SourceBatch {
            batch: Some(Batch::new(partitions)),
            dead_letters,
        })
    }

    /// The entry ids of a recorded batch end, in stream order.
    fn ends(&mut self, end: &Value) -> Result<Vec<String>, SourceError> {
        let seek_error = |message: String| SourceError::Seek {
            source_name: self.name.clone(),
            position: end.to_string(),
            message,
        };
        let recorded = parse_position(end).map_err(seek_error)?;
        let streams: Vec<String> = self.reader()?.streams().map(str::to_owned).collect();
        streams
            .iter()
            .map(|key| {
                recorded
                    .iter()
                    .find(|(k, _)| k == key)
                    .map(|(_, id)| id.clone())
                    .ok_or_else(|| SourceError::Seek {
                        source_name: self.name.clone(),
                        position: end.to_string(),
                        message: format!(
                            "the recorded batch end has no entry id for stream `{key}`"
                        ),
                    })
            })
            .collect()
    }
}

impl DirectSource for RedisSource {
    fn next_batch(&mut self, _time: BatchTime) -> Result<SourceBatch, SourceError> {
        let n = self.reader()?.streams().len();
        let cap = self.rates().cap(self.batch_ms, n);
        self.pull(Extent::Cap(cap))
    }

    /// Reads every stream exactly up to the entry ids of `end`: the consumer's pending
    /// entries first, then new ones (waiting up to the source's `timeout` while Redis is
    /// unreachable); fails naming the stream when the entries can no longer be read.
    fn next_batch_to(&mut self, _time: BatchTime, end: &Value) -> Result<SourceBatch, SourceError> {
        let ends = self.ends(end)?;
        self.pull(Extent::To(ends))
    }

    fn position(&self) -> Value {
        let pairs: Vec<(String, String)> = match &self.reader {
            Some(r) => r.streams().map(str::to_owned).zip(r.positions()).collect(),
            None => self.pending_seek.clone().unwrap_or_default(),
        };
        let map: Map<String, Value> = pairs.into_iter().map(|(k, id)| (k, json!(id))).collect();
        json!({ "streams": map })
    }

    fn seek(&mut self, position: &Value) -> Result<(), SourceError> {
        let positions = parse_position(position).map_err(|message| SourceError::Seek {
            source_name: self.name.clone(),
            position: position.to_string(),
            message,
        })?;
        // Recovery happens before the first batch: keep it for when the reader opens.
        self.reader = None;
        self.pending_seek = Some(positions);
        Ok(())
    }

    fn committed(&mut self, position: &Value) {
        let Ok(positions) = parse_position(position) else {
            return;
        };
        if let Some(r) = self.reader.as_mut() {
            match r.ack_through(&positions) {
                Ok(n) => tracing::debug!(source = %self.name, "Acknowledged {n} entries."),
                Err(e) => {
                    tracing::warn!(source = %self.name, "Cannot acknowledge entries yet (the next checkpoint retries): {e}")
                }
            }
        }
    }

    fn set_rate(&mut self, per_second: Option<f64>) {
        self.rate = per_second;
    }

    fn rate_limit(&self) -> Option<f64> {
        self.rates().total(self.config.streams.len())
    }
}

fn parse_position(position: &Value) -> Result<Vec<(String, String)>, String> {
    let map = position
        .get("streams")
        .and_then(Value::as_object)
        .ok_or("expected {\"streams\": {\"key\": \"last id\", ...}}")?;
    map.iter()
        .map(|(k, id)| {
            let id = id
                .as_str()
                .ok_or(format!("the id of stream `{k}` is not a string"))?;
            Ok((k.clone(), id.to_owned()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_parse() {
        let p = json!({"streams": {"a": "1-2"}});
        assert_eq!(
            parse_position(&p).unwrap(),
            vec![("a".to_owned(), "1-2".to_owned())]
        );
        assert!(parse_position(&json!({"streams": {"a": 1}})).is_err());
    }
}

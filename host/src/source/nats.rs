//! The `nats` source: a NATS JetStream stream read through a durable pull consumer, a
//! reliable receiver pulled at each batch time. Messages are acknowledged only once the
//! checkpoint holding their batch is durable; after a crash the consumer starts again
//! after the checkpoint's stream sequence, and a replayed batch ends exactly where it
//! ended before. One batch partition.

use serde_json::{json, Value};
use sluice_abi::msgpack;

use super::{DirectSource, SourceBatch, SourceError};
use crate::brokers::{JsMessage, NatsReader, NatsReaderConfig};
use crate::job::NatsSourceConfig;
use crate::record::{Batch, Partition};
use crate::record::{BatchTime, DeadLetter};

/// Longest payload prefix kept in a dead letter.
const DEAD_PREFIX: usize = 1024;

/// Reads a JetStream stream. Connects at the first batch (after any seek).
pub struct NatsSource {
    name: String,
    config: NatsSourceConfig,
    batch_ms: i64,
    reader: Option<NatsReader>,
    resume: Option<u64>,
    rate: Option<f64>,
    /// NATS could not be reached when the reader was to open (logged once).
    unreachable: bool,
}

impl NatsSource {
    /// A source named `name` (used in errors, dead letters and the default consumer name).
    pub fn new(name: &str, config: &NatsSourceConfig, batch_ms: i64) -> Self {
        NatsSource {
            name: name.to_owned(),
            config: config.clone(),
            batch_ms,
            reader: None,
            resume: None,
            rate: None,
            unreachable: false,
        }
    }

    fn io(&self, message: String) -> SourceError {
        SourceError::Io {
            source_name: self.name.clone(),
            message,
        }
    }

    /// The reader, opened on first use; `None` while NATS cannot be reached (the job
    /// waits: batches are empty until it is back).
    fn reader(&mut self) -> Result<Option<&mut NatsReader>, SourceError> {
        if self.reader.is_none() {
            let c = &self.config;
            let config = NatsReaderConfig {
                url: c.url.clone(),
                stream: c.stream.clone(),
                consumer: c
                    .consumer
                    .clone()
                    .unwrap_or_else(|| format!("sluice-{}", self.name)),
                subjects: c.subjects.clone(),
                start: c.start,
                ack_wait: c.ack_wait.to_std(),
                timeout: c.timeout.to_std(),
            };
            let reader = match NatsReader::open(config, self.resume) {
                Ok(r) => r,
                Err(e) if e.is_connection() => {
                    if !self.unreachable {
                        self.unreachable = true;
                        tracing::warn!(source = %self.name, "NATS is unreachable ({e}); waiting for it to come back.");
                    }
                    return Ok(None);
                }
                Err(e) => return Err(self.io(e.to_string())),
            };
            if self.unreachable {
                self.unreachable = false;
                tracing::warn!(source = %self.name, "NATS is reachable again; resuming after stream sequence {}.", reader.position());
            }
            tracing::info!(source = %self.name, "NATS source reads stream `{}` after sequence {}.", self.config.stream, reader.position());
            self.reader = Some(reader);
        }
        Ok(self.reader.as_mut())
    }

    /// Records per batch at most: `max_batch`, and rate × interval.
    fn cap(&self) -> u64 {
        let secs = self.batch_ms as f64 / 1e3;
        let rate = match (self.config.max_rate.map(|r| r as f64), self.rate) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let by_rate = rate.map_or(u64::MAX, |r| ((r * secs).ceil() as u64).max(1));
        by_rate.min(self.config.max_batch.unwrap_or(u64::MAX).max(1))
    }

    fn pull(&mut self, until: Option<u64>) -> Result<SourceBatch, SourceError> {
        let cap = if until.is_some() {
            u64::MAX
        } else {
            self.cap()
        };
        let name = self.name.clone();
        let messages = match self.reader()? {
            Some(r) => r.take(cap, until).map_err(|e| SourceError::Io {
                source_name: name,
                message: e.to_string(),
            })?,
            None => Vec::new(),
        };
        let c = &self.config;
        let mut records = Partition::new();
        let mut dead_letters = Vec::new();
        let mut buf = Vec::new();
        for m in &messages {
            buf.clear();
            let key = c.key.then_some(m.subject.as_bytes());
            match c.format.decode(key, Some(&m.payload), c.key, &mut buf) {
                Ok(()) => records.push(&buf),
                Err(e) => dead_letters.push(dead_letter(&self.name, &c.stream, m, &e.0)),
            }
        }
        Ok(SourceBatch {
            batch: Some(Batch::new(vec![records])),
            dead_letters,
        })
    }
}

impl DirectSource for NatsSource {
    fn next_batch(&mut self, _time: BatchTime) -> Result<SourceBatch, SourceError> {
        self.pull(None)
    }

    fn next_batch_to(&mut self, time: BatchTime, end: &Value) -> Result<SourceBatch, SourceError> {
        let until = parse_position(end).map_err(|message| SourceError::Seek {
            source_name: self.name.clone(),
            position: end.to_string(),
            message,
        })?;
        // A batch that ran while NATS was never reached read nothing.
        let Some(until) = until else {
            return Ok(SourceBatch {
                batch: Some(Batch::new(vec![Partition::new()])),
                dead_letters: Vec::new(),
            });
        };
        let batch = self.pull(Some(until))?;
        let at = self.reader.as_ref().map_or(0, NatsReader::position);
        if at < until {
            tracing::warn!(source = %self.name, "The replayed batch at {time} ms ends at stream sequence {at}, before its recorded end {until} (NATS unreachable, or messages removed from the stream).");
        }
        Ok(batch)
    }

    fn position(&self) -> Value {
        // `null` before the first connection: no position yet (a restart then resumes
        // after the consumer's acknowledgement floor).
        let seq = match &self.reader {
            Some(r) => Some(r.position()),
            None => self.resume,
        };
        json!({ "stream": self.config.stream, "sequence": seq })
    }

    fn seek(&mut self, position: &Value) -> Result<(), SourceError> {
        let seq = parse_position(position).map_err(|message| SourceError::Seek {
            source_name: self.name.clone(),
            position: position.to_string(),
            message,
        })?;
        if position.get("stream").and_then(Value::as_str) != Some(self.config.stream.as_str()) {
            return Err(SourceError::Seek {
                source_name: self.name.clone(),
                position: position.to_string(),
                message: format!("the position is not one of stream `{}`", self.config.stream),
            });
        }
        // Recovery happens before the first batch: the reader opens there.
        self.reader = None;
        self.resume = seq;
        Ok(())
    }

    fn committed(&mut self, position: &Value) {
        let Ok(Some(seq)) = parse_position(position) else {
            return;
        };
        if let Some(r) = self.reader.as_mut() {
            match r.ack_through(seq) {
                Ok(n) => {
                    tracing::debug!(source = %self.name, "Acknowledged through stream sequence {n}.")
                }
                Err(e) => {
                    tracing::warn!(source = %self.name, "Cannot acknowledge messages yet (the next checkpoint retries): {e}")
                }
            }
        }
    }

    fn set_rate(&mut self, per_second: Option<f64>) {
        self.rate = per_second;
    }

    fn rate_limit(&self) -> Option<f64> {
        let configured = self.config.max_rate.map(|r| r as f64);
        match (configured, self.rate) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

/// The stream sequence of a position; `None` for `null` (nothing read yet).
fn parse_position(position: &Value) -> Result<Option<u64>, String> {
    match position.get("sequence") {
        Some(Value::Null) => Ok(None),
        Some(v) if v.is_u64() => Ok(v.as_u64()),
        _ => Err("expected {\"stream\": \"name\", \"sequence\": n}".to_owned()),
    }
}

fn dead_letter(source: &str, stream: &str, m: &JsMessage, reason: &str) -> DeadLetter {
    let mut record = Vec::new();
    let raw = &m.payload[..m.payload.len().min(DEAD_PREFIX)];
    msgpack::write_str(&mut record, &String::from_utf8_lossy(raw));
    DeadLetter {
        stream: source.to_owned(),
        record,
        reason: format!(
            "NATS stream `{stream}` sequence {} (subject `{}`): {reason}",
            m.stream_seq, m.subject
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_parse_and_name_their_stream() {
        let config: NatsSourceConfig = toml::from_str(
            "url = \"127.0.0.1:1\"\nstream = \"ev\"\nmax_rate = 100\nmax_batch = 30",
        )
        .unwrap();
        let mut s = NatsSource::new("in", &config, 1000);
        assert_eq!(
            parse_position(&json!({"stream": "ev", "sequence": 7})),
            Ok(Some(7))
        );
        assert_eq!(parse_position(&json!({"sequence": null})), Ok(None));
        assert_eq!(s.position(), json!({"stream": "ev", "sequence": null}));
        assert!(parse_position(&json!({"sequence": "7"})).is_err());
        s.seek(&json!({"stream": "ev", "sequence": 7})).unwrap();
        assert_eq!(s.position(), json!({"stream": "ev", "sequence": 7}));
        assert!(s.seek(&json!({"stream": "other", "sequence": 7})).is_err());
        assert_eq!(s.cap(), 30);
        s.set_rate(Some(10.0));
        assert_eq!((s.cap(), s.rate_limit()), (10, Some(10.0)));
    }
}

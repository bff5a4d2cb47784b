//! The `nats` sink: every record published to a JetStream subject, the batch complete
//! once JetStream acknowledged every message (`PubAck`). Each message carries
//! `Nats-Msg-Id: <sink>-<batch time>-<record index>`, so a batch written again after a
//! recovery is dropped by the stream's duplicate window instead of stored twice.

use super::{Sink, SinkError};
use crate::brokers::{encode_for_sink, NatsWriter};
use crate::job::NatsSinkConfig;
use crate::record::Batch;
use crate::record::BatchTime;

/// Publishes batches to a JetStream subject.
pub struct NatsSink {
    name: String,
    config: NatsSinkConfig,
    writer: NatsWriter,
}

impl NatsSink {
    /// A sink publishing to `config.subject` (it connects on first use).
    pub fn new(name: &str, config: &NatsSinkConfig) -> Self {
        NatsSink {
            name: name.to_owned(),
            config: config.clone(),
            writer: NatsWriter::new(
                &config.url,
                config.timeout.to_std(),
                config.retry_for.to_std(),
            ),
        }
    }
}

/// Whether `token` can be one token of a subject.
fn is_token(token: &[u8]) -> bool {
    !token.is_empty()
        && token
            .iter()
            .all(|b| !b.is_ascii_whitespace() && !matches!(b, b'.' | b'*' | b'>'))
}

impl Sink for NatsSink {
    fn write_batch(&mut self, time: BatchTime, batch: &Batch) -> Result<(), SinkError> {
        let fail = |message: String| SinkError::Write {
            sink: self.name.clone(),
            message: format!("batch {time} ms: {message}"),
        };
        let mut messages = Vec::with_capacity(batch.len());
        for (i, record) in batch.records().enumerate() {
            let m = encode_for_sink(record, self.config.key_from_pair, self.config.format)
                .map_err(|e| fail(format!("record {i}: {e}")))?;
            let subject = match &m.key {
                None => self.config.subject.clone(),
                Some(k) if is_token(k) => {
                    format!("{}.{}", self.config.subject, String::from_utf8_lossy(k))
                }
                Some(k) => {
                    return Err(fail(format!(
                        "record {i}: the key `{}` cannot be a subject token (empty, or with a space, `.`, `*` or `>`)",
                        String::from_utf8_lossy(k)
                    )))
                }
            };
            messages.push((subject, format!("{}-{time}-{i}", self.name), m.value));
        }
        let duplicates = self
            .writer
            .publish_all(&messages)
            .map_err(|e| fail(e.to_string()))?;
        if duplicates > 0 {
            tracing::info!(target: crate::PER_BATCH_LOG, sink = %self.name, "Batch {time} ms: {duplicates} of {} messages were already in the stream (a replayed batch); JetStream dropped them.", messages.len());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subject_tokens() {
        assert!(is_token(b"word"));
        assert!(!is_token(b""));
        assert!(!is_token(b"a.b"));
        assert!(!is_token(b"a b"));
        assert!(!is_token(b">"));
    }
}

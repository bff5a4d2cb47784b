//! The `redis` sink: one stream entry per record (`XADD`), a batch in one pipeline; the
//! batch completes once Redis answered every command. A pair `[k, v]` gives fields
//! `key_field = k` and `field = v`; anything else the payload field alone. With `ids =
//! "batch"` (the default) entry ids are `<batch_time_ms>-<index>`, so a batch replayed
//! after a crash skips the entries it wrote before (exactly-once).

use std::time::Duration;

use super::broker::{batch_error, encode_batch};
use super::{Sink, SinkError};
use crate::brokers::{BrokerError, RedisStreamWriter};
use crate::job::{RedisSinkConfig, RedisSinkIds};
use crate::record::Batch;
use crate::record::BatchTime;

/// Appends batches to a Redis stream.
pub struct RedisSink {
    name: String,
    config: RedisSinkConfig,
    writer: RedisStreamWriter,
}

impl RedisSink {
    /// A sink writing to `config.stream` (it connects on first use).
    ///
    /// # Errors
    /// [`SinkError::Write`] when the URL is invalid.
    pub fn new(name: &str, config: &RedisSinkConfig) -> Result<Self, SinkError> {
        let writer = RedisStreamWriter::open(
            &config.url,
            &config.stream,
            config.max_len,
            config.timeout.to_std(),
            Duration::from_millis(config.retry_for.ms().max(0) as u64),
        )
        .map_err(|e| SinkError::Write {
            sink: name.to_owned(),
            message: e.to_string(),
        })?;
        Ok(RedisSink {
            name: name.to_owned(),
            config: config.clone(),
            writer,
        })
    }
}

impl Sink for RedisSink {
    fn write_batch(&mut self, time: BatchTime, batch: &Batch) -> Result<(), SinkError> {
        let fail = |e: BrokerError| batch_error(&self.name, time, e.to_string());
        let c = &self.config;
        let messages = encode_batch(&self.name, time, batch, c.key_from_pair, c.format)?;
        let (field, key_field) = (
            self.config.field.as_bytes(),
            self.config.key_field.as_bytes(),
        );
        let entries: Vec<Vec<(&[u8], &[u8])>> = messages
            .iter()
            .map(|m| {
                let mut fields = Vec::with_capacity(2);
                if let Some(k) = &m.key {
                    fields.push((key_field, k.as_slice()));
                }
                fields.push((field, m.value.as_slice()));
                fields
            })
            .collect();
        match self.config.ids {
            RedisSinkIds::Auto => {
                self.writer.append_all(&entries).map_err(fail)?;
            }
            RedisSinkIds::Batch => {
                let done = self.writer.append_batch(time, &entries).map_err(fail)?;
                if done.skipped > 0 {
                    tracing::info!(target: crate::PER_BATCH_LOG, sink = %self.name, stream = %self.config.stream,
                        "Batch {time} ms: {} entries were already in the stream (a replayed batch) and were not added again; {} added.",
                        done.skipped, done.written);
                }
            }
        }
        Ok(())
    }
}

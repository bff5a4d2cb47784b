//! The `kafka` sink: every record of a batch to a topic; the batch completes only once
//! every delivery is confirmed. A pair `[k, v]` is key `k`, payload `v` (JSON text);
//! anything else is a payload without key. After a recovery a batch may be written again
//! (at-least-once: the broker has no transactions here); every record carries headers
//! `sluice-batch-time` and `sluice-index` so that consumers can drop those duplicates.

use super::broker::{batch_error, encode_batch};
use super::{Sink, SinkError};
use crate::brokers::{KafkaWriter, KafkaWriterConfig};
use crate::job::KafkaSinkConfig;
use crate::record::Batch;
use crate::record::BatchTime;

/// Writes batches to a Kafka topic with confirmed delivery.
pub struct KafkaSink {
    name: String,
    config: KafkaSinkConfig,
    writer: KafkaWriter,
}

impl KafkaSink {
    /// Creates the producer (it connects on first use).
    ///
    /// # Errors
    /// [`SinkError::Write`] when librdkafka refuses the settings.
    pub fn new(name: &str, config: &KafkaSinkConfig) -> Result<Self, SinkError> {
        let writer = KafkaWriter::open(KafkaWriterConfig {
            bootstrap: config.bootstrap_servers.clone(),
            topic: config.topic.clone(),
            properties: config
                .properties
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            delivery_timeout: config.delivery_timeout.to_std(),
        })
        .map_err(|e| SinkError::Write {
            sink: name.to_owned(),
            message: e.to_string(),
        })?;
        Ok(KafkaSink {
            name: name.to_owned(),
            config: config.clone(),
            writer,
        })
    }
}

impl Sink for KafkaSink {
    fn write_batch(&mut self, time: BatchTime, batch: &Batch) -> Result<(), SinkError> {
        let c = &self.config;
        let messages = encode_batch(&self.name, time, batch, c.key_from_pair, c.format)?;
        self.writer
            .send_batch(
                time,
                messages
                    .iter()
                    .map(|m| (m.key.as_deref(), m.value.as_slice())),
            )
            .map_err(|e| batch_error(&self.name, time, e.to_string()))?;
        Ok(())
    }
}

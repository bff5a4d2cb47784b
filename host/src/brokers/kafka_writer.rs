//! [`KafkaWriter`]: produces records to a topic and returns only once the brokers
//! confirmed every delivery.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rdkafka::client::ClientContext;
use rdkafka::config::{ClientConfig, RDKafkaLogLevel};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext};

use super::kafka_reader::kafka_error;
use super::BrokerError;

/// How to reach the brokers and where to write.
#[derive(Debug, Clone)]
pub struct KafkaWriterConfig {
    /// `host:port[,host:port...]`.
    pub bootstrap: String,
    /// The topic records go to.
    pub topic: String,
    /// Extra librdkafka properties, applied last.
    pub properties: Vec<(String, String)>,
    /// How long a batch may take to be delivered (librdkafka retries within it).
    pub delivery_timeout: Duration,
}

/// Counts delivery reports.
#[derive(Debug, Default)]
struct Deliveries {
    ok: AtomicUsize,
    failed: AtomicUsize,
    first_error: Mutex<Option<String>>,
}

impl ClientContext for Deliveries {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, log_message: &str) {
        if (level as i32) <= (RDKafkaLogLevel::Error as i32) {
            tracing::warn!(facility = fac, "librdkafka: {log_message}");
        } else {
            tracing::debug!(facility = fac, "librdkafka: {log_message}");
        }
    }

    fn error(&self, error: KafkaError, reason: &str) {
        tracing::debug!(%error, "librdkafka producer error: {reason}");
    }
}

impl ProducerContext for Deliveries {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        match result {
            Ok(_) => {
                self.ok.fetch_add(1, Ordering::AcqRel);
            }
            Err((e, _)) => {
                self.failed.fetch_add(1, Ordering::AcqRel);
                if let Ok(mut first) = self.first_error.lock() {
                    first.get_or_insert_with(|| e.to_string());
                }
            }
        }
    }
}

/// Produces to one topic with confirmed delivery.
pub struct KafkaWriter {
    config: KafkaWriterConfig,
    producer: BaseProducer<Deliveries>,
}

impl KafkaWriter {
    /// Creates the producer (connections are made on first use).
    ///
    /// # Errors
    /// [`BrokerError::Kafka`] when the configuration is refused.
    pub fn open(config: KafkaWriterConfig) -> Result<Self, BrokerError> {
        let mut cc = ClientConfig::new();
        cc.set("bootstrap.servers", &config.bootstrap)
            .set("client.id", "sluice")
            .set("acks", "all")
            .set("linger.ms", "5")
            .set("reconnect.backoff.ms", "100")
            .set("reconnect.backoff.max.ms", "1000")
            .set(
                "message.timeout.ms",
                config.delivery_timeout.as_millis().max(1).to_string(),
            );
        for (k, v) in &config.properties {
            cc.set(k, v);
        }
        let producer = cc
            .create_with_context(Deliveries::default())
            .map_err(|e| kafka_error(&config.bootstrap, "cannot create the producer", &e))?;
        Ok(KafkaWriter { config, producer })
    }

    /// The topic written to.
    pub fn topic(&self) -> &str {
        &self.config.topic
    }

    /// Sends every `(key, payload)` and waits until each delivery is confirmed.
    /// Returns the number of records delivered.
    ///
    /// # Errors
    /// [`BrokerError::Delivery`] when any record was not delivered within the delivery
    /// timeout (the others may have been: a retry of the batch may write them twice).
    pub fn send_all<'a>(
        &self,
        records: impl IntoIterator<Item = (Option<&'a [u8]>, &'a [u8])>,
    ) -> Result<usize, BrokerError> {
        self.send(records, None)
    }

    /// As [`KafkaWriter::send_all`], for the batch at `time_ms`: each record carries the
    /// headers `sluice-batch-time` (the batch time in ms) and `sluice-index` (its index in
    /// the batch, from 0), both as decimal text, so that consumers can drop the duplicates
    /// a batch replayed after a crash sends.
    ///
    /// # Errors
    /// As [`KafkaWriter::send_all`].
    pub fn send_batch<'a>(
        &self,
        time_ms: i64,
        records: impl IntoIterator<Item = (Option<&'a [u8]>, &'a [u8])>,
    ) -> Result<usize, BrokerError> {
        self.send(records, Some(time_ms))
    }

    fn send<'a>(
        &self,
        records: impl IntoIterator<Item = (Option<&'a [u8]>, &'a [u8])>,
        batch: Option<i64>,
    ) -> Result<usize, BrokerError> {
        let batch_time = batch.map(|t| t.to_string());
        let ctx = self.producer.context();
        ctx.ok.store(0, Ordering::Release);
        ctx.failed.store(0, Ordering::Release);
        if let Ok(mut first) = ctx.first_error.lock() {
            *first = None;
        }
        let mut sent = 0usize;
        for (key, payload) in records {
            let mut record: BaseRecord<'_, [u8], [u8]> =
                BaseRecord::to(&self.config.topic).payload(payload);
            if let Some(k) = key {
                record = record.key(k);
            }
            if let Some(time) = &batch_time {
                let index = sent.to_string();
                record = record.headers(
                    OwnedHeaders::new_with_capacity(2)
                        .insert(Header {
                            key: "sluice-batch-time",
                            value: Some(time.as_str()),
                        })
                        .insert(Header {
                            key: "sluice-index",
                            value: Some(index.as_str()),
                        }),
                );
            }
            loop {
                match self.producer.send(record) {
                    Ok(()) => break,
                    Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), r)) => {
                        record = r;
                        self.producer.poll(Duration::from_millis(20));
                    }
                    Err((e, _)) => {
                        self.wait(sent);
                        return Err(BrokerError::Delivery {
                            bootstrap: self.config.bootstrap.clone(),
                            topic: self.config.topic.clone(),
                            sent: sent + 1,
                            failed: 1 + ctx.failed.load(Ordering::Acquire),
                            first_error: e.to_string(),
                        });
                    }
                }
            }
            sent += 1;
        }
        self.wait(sent);
        let ok = ctx.ok.load(Ordering::Acquire);
        if ok == sent {
            return Ok(sent);
        }
        let first_error = ctx
            .first_error
            .lock()
            .ok()
            .and_then(|f| f.clone())
            .unwrap_or_else(|| "no delivery report within the delivery timeout".to_owned());
        Err(BrokerError::Delivery {
            bootstrap: self.config.bootstrap.clone(),
            topic: self.config.topic.clone(),
            sent,
            failed: sent - ok,
            first_error,
        })
    }

    /// Serves delivery reports until `sent` are in, or the delivery timeout (plus a
    /// margin) passed.
    fn wait(&self, sent: usize) {
        let ctx = self.producer.context();
        let deadline = Instant::now() + self.config.delivery_timeout + Duration::from_secs(5);
        while ctx.ok.load(Ordering::Acquire) + ctx.failed.load(Ordering::Acquire) < sent
            && Instant::now() < deadline
        {
            let _ = self.producer.flush(Duration::from_millis(100));
        }
    }
}

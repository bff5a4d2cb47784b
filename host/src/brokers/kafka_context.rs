//! The librdkafka client context shared by the Kafka reader and writer: routes
//! librdkafka's logs to `tracing` and tracks whether the brokers are reachable.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use rdkafka::client::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::ConsumerContext;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};

/// Client context: logs and broker reachability.
#[derive(Debug, Default)]
pub(super) struct KafkaContext {
    down: AtomicBool,
    last_error: Mutex<String>,
}

impl KafkaContext {
    /// Whether librdkafka reported that all brokers are down since the last
    /// [`KafkaContext::mark_up`], and the error it gave.
    pub(super) fn down(&self) -> Option<String> {
        if self.down.load(Ordering::Acquire) {
            Some(
                self.last_error
                    .lock()
                    .map(|e| e.clone())
                    .unwrap_or_default(),
            )
        } else {
            None
        }
    }

    /// Records that the brokers answered again.
    pub(super) fn mark_up(&self) {
        self.down.store(false, Ordering::Release);
    }
}

impl ClientContext for KafkaContext {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, log_message: &str) {
        match level {
            RDKafkaLogLevel::Emerg
            | RDKafkaLogLevel::Alert
            | RDKafkaLogLevel::Critical
            | RDKafkaLogLevel::Error => {
                tracing::warn!(facility = fac, "librdkafka: {log_message}");
            }
            _ => tracing::debug!(facility = fac, "librdkafka: {log_message}"),
        }
    }

    fn error(&self, error: KafkaError, reason: &str) {
        let all_down = matches!(
            error.rdkafka_error_code(),
            Some(RDKafkaErrorCode::AllBrokersDown)
        );
        if all_down {
            if let Ok(mut e) = self.last_error.lock() {
                *e = reason.to_owned();
            }
            self.down.store(true, Ordering::Release);
        }
        tracing::debug!(%error, "librdkafka error: {reason}");
    }
}

impl ConsumerContext for KafkaContext {}

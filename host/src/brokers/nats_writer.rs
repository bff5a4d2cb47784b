//! [`NatsWriter`]: publishes messages to JetStream with a `Nats-Msg-Id` each, pipelined,
//! waits for every `PubAck`, and retries the whole batch while NATS is unreachable (the
//! message ids make the retry idempotent within the stream's duplicate window).

use std::time::{Duration, Instant};

use super::nats_conn::{NatsConn, NatsError};

/// Publishes to JetStream.
pub struct NatsWriter {
    url: String,
    timeout: Duration,
    retry_for: Duration,
    conn: Option<NatsConn>,
}

impl NatsWriter {
    /// A writer to the server at `url` (it connects on first use). A batch retries for up
    /// to `retry_for` while NATS is unreachable.
    pub fn new(url: &str, timeout: Duration, retry_for: Duration) -> Self {
        NatsWriter {
            url: url.to_owned(),
            timeout,
            retry_for,
            conn: None,
        }
    }

    /// Publishes every `(subject, msg id, payload)` and returns once JetStream stored (or
    /// recognised as a duplicate) each of them; returns the number of duplicates.
    ///
    /// # Errors
    /// [`NatsError::Refused`] when JetStream refuses a message (no stream takes the
    /// subject, for instance); [`NatsError::Io`] when NATS stays unreachable longer than
    /// the retry time.
    pub fn publish_all(
        &mut self,
        messages: &[(String, String, Vec<u8>)],
    ) -> Result<usize, NatsError> {
        if messages.is_empty() {
            return Ok(0);
        }
        let started = Instant::now();
        let mut warned = false;
        loop {
            let r = match self.conn.as_mut() {
                Some(c) => c.publish_all(messages, self.timeout),
                None => NatsConn::connect(&self.url, self.timeout)
                    .and_then(|c| self.conn.insert(c).publish_all(messages, self.timeout)),
            };
            match r {
                Ok(duplicates) => {
                    if warned {
                        tracing::warn!(url = %self.url, "NATS is reachable again; the batch was published.");
                    }
                    return Ok(duplicates);
                }
                Err(e) if e.is_connection() && started.elapsed() < self.retry_for => {
                    self.conn = None;
                    if !warned {
                        warned = true;
                        tracing::warn!(url = %self.url, "NATS is unreachable ({e}); retrying the batch until it is back.");
                    }
                    std::thread::sleep(Duration::from_millis(200));
                }
                Err(e) => {
                    self.conn = None;
                    return Err(e);
                }
            }
        }
    }
}

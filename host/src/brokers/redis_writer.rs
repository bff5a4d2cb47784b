//! [`RedisStreamWriter`]: appends entries to a Redis stream (`XADD`), pipelined, and
//! retries while Redis is unreachable.

use std::time::{Duration, Instant};

use redis::{Client, Connection};

use super::redis_reader::{is_connection_error, redis_error};
use super::BrokerError;

/// Appends entries to one stream.
pub struct RedisStreamWriter {
    url: String,
    stream: String,
    max_len: Option<u64>,
    timeout: Duration,
    retry_for: Duration,
    client: Client,
    con: Option<Connection>,
}

impl RedisStreamWriter {
    /// A writer to `stream`; with `max_len`, the stream is trimmed to about that many
    /// entries (`MAXLEN ~`). A write retries for up to `retry_for` while Redis is
    /// unreachable.
    ///
    /// # Errors
    /// [`BrokerError::Redis`] when the URL is invalid.
    pub fn open(
        url: &str,
        stream: &str,
        max_len: Option<u64>,
        timeout: Duration,
        retry_for: Duration,
    ) -> Result<Self, BrokerError> {
        let client = Client::open(url).map_err(|e| redis_error(url, "invalid URL", &e))?;
        Ok(RedisStreamWriter {
            url: url.to_owned(),
            stream: stream.to_owned(),
            max_len,
            timeout,
            retry_for,
            client,
            con: None,
        })
    }

    /// The stream written to.
    pub fn stream(&self) -> &str {
        &self.stream
    }

    /// Appends one entry per item (its field/value pairs) in one pipeline, and returns
    /// once Redis answered every `XADD`.
    ///
    /// # Errors
    /// [`BrokerError::Redis`] when Redis refuses a command, or stays unreachable for longer
    /// than the retry time. A retry after a dropped connection may append some entries twice.
    pub fn append_all(&mut self, entries: &[Vec<(&[u8], &[u8])>]) -> Result<usize, BrokerError> {
        if entries.is_empty() {
            return Ok(0);
        }
        let mut pipe = redis::pipe();
        for fields in entries {
            let cmd = pipe.cmd("XADD").arg(&self.stream);
            if let Some(n) = self.max_len {
                cmd.arg("MAXLEN").arg("~").arg(n);
            }
            cmd.arg("*");
            for (f, v) in fields {
                cmd.arg(*f).arg(*v);
            }
            cmd.ignore();
        }
        let started = Instant::now();
        let mut warned = false;
        loop {
            let r = self.connection().and_then(|con| {
                pipe.query::<()>(con)
                    .map_err(|e| (is_connection_error(&e), e))
            });
            match r {
                Ok(()) => {
                    if warned {
                        tracing::warn!(url = %self.url, stream = %self.stream, "Redis is reachable again; the batch was written.");
                    }
                    return Ok(entries.len());
                }
                Err((true, e)) if started.elapsed() < self.retry_for => {
                    self.con = None;
                    if !warned {
                        warned = true;
                        tracing::warn!(url = %self.url, stream = %self.stream, "Redis is unreachable ({e}); retrying the batch until it is back.");
                    }
                    std::thread::sleep(Duration::from_millis(200));
                }
                Err((_, e)) => {
                    self.con = None;
                    return Err(redis_error(
                        &self.url,
                        &format!("XADD to stream `{}`", self.stream),
                        &e,
                    ));
                }
            }
        }
    }

    fn connection(&mut self) -> Result<&mut Connection, (bool, redis::RedisError)> {
        if self.con.is_none() {
            let con = self
                .client
                .get_connection_with_timeout(self.timeout)
                .map_err(|e| (true, e))?;
            con.set_read_timeout(Some(self.timeout))
                .and_then(|()| con.set_write_timeout(Some(self.timeout)))
                .map_err(|e| (true, e))?;
            self.con = Some(con);
        }
        Ok(self.con.as_mut().expect("connected above"))
    }
}

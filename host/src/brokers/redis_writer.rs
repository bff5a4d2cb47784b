//! [`RedisStreamWriter`]: appends entries to a Redis stream (`XADD`), pipelined, and
//! retries while Redis is unreachable. Entries get ids from Redis (`*`), or ids derived
//! from the batch (`<batch_time_ms>-<index>`) so that a replayed batch is not written twice.

use std::time::{Duration, Instant};

use redis::{Client, Connection, Value};

use super::redis_reader::{is_unavailable, parse_id, redis_error};
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

/// What [`RedisStreamWriter::append_batch`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Appended {
    /// Entries added now.
    pub written: usize,
    /// Entries already in the stream (written before a crash) and not added again.
    pub skipped: usize,
}

/// The stream's last id was past batch ids it does not hold: `(top, present, skip)`.
type Foreign = ((u64, u64), usize, usize);

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

    /// Appends one entry per item (its field/value pairs) in one pipeline, with ids chosen
    /// by Redis (`*`), and returns once Redis answered every `XADD`.
    ///
    /// # Errors
    /// [`BrokerError::Redis`] when Redis refuses a command, or stays unreachable for longer
    /// than the retry time. A retry after a dropped connection may append some entries twice.
    pub fn append_all(&mut self, entries: &[Vec<(&[u8], &[u8])>]) -> Result<usize, BrokerError> {
        if entries.is_empty() {
            return Ok(0);
        }
        let ids = vec!["*".to_owned(); entries.len()];
        let pipe = xadds(&self.stream, self.max_len, &ids, entries);
        self.with_retry(|con| pipe.query::<()>(con))?;
        Ok(entries.len())
    }

    /// Appends the entries of the batch at `time_ms` with ids `<time_ms>-<index>` (index
    /// over the whole batch, partitions in order), skipping those the stream already holds
    /// (the batch was written before a crash, in full or in part): a replayed batch is not
    /// written twice. Batch times increase, so the ids do too.
    ///
    /// # Errors
    /// [`BrokerError::Redis`] as [`RedisStreamWriter::append_all`], and when the stream's
    /// last id is past ids of this batch that it does not hold: another client writes to
    /// the stream (this mode needs the sink to be its only writer).
    pub fn append_batch(
        &mut self,
        time_ms: i64,
        entries: &[Vec<(&[u8], &[u8])>],
    ) -> Result<Appended, BrokerError> {
        if entries.is_empty() {
            return Ok(Appended::default());
        }
        let ids: Vec<String> = (0..entries.len())
            .map(|n| format!("{time_ms}-{n}"))
            .collect();
        let (stream, max_len) = (self.stream.clone(), self.max_len);
        // Each attempt (a retry too) first asks what is already written.
        let outcome = self.with_retry(|con| -> redis::RedisResult<Result<usize, Foreign>> {
            let top = last_generated_id(con, &stream)?;
            let skip = already_written(top, time_ms, entries.len());
            if skip > 0 {
                let present: Vec<Value> = redis::cmd("XRANGE")
                    .arg(&stream)
                    .arg(&ids[0])
                    .arg(&ids[skip - 1])
                    .arg("COUNT")
                    .arg(skip)
                    .query(con)?;
                if present.len() < skip {
                    return Ok(Err((top, present.len(), skip)));
                }
            }
            if skip < entries.len() {
                xadds(&stream, max_len, &ids[skip..], &entries[skip..]).query::<()>(con)?;
            }
            Ok(Ok(skip))
        })?;
        match outcome {
            Ok(skipped) => Ok(Appended {
                written: entries.len() - skipped,
                skipped,
            }),
            Err((top, present, skip)) => Err(BrokerError::Redis {
                url: self.url.clone(),
                message: format!(
                    "XADD to stream `{}`: its last id {}-{} is at or past ids {}..{} of the batch \
                     at {time_ms} ms, but it holds only {present} of them: another client writes \
                     to the stream (or MAXLEN trimmed it). With ids = \"batch\" the sink must be \
                     the stream's only writer; use ids = \"auto\" to share it (at-least-once)",
                    self.stream,
                    top.0,
                    top.1,
                    ids[0],
                    ids[skip - 1]
                ),
            }),
        }
    }

    /// Runs `attempt` on a connection, retrying while Redis is unreachable (up to
    /// `retry_for`); any other error fails at once.
    fn with_retry<T>(
        &mut self,
        mut attempt: impl FnMut(&mut Connection) -> redis::RedisResult<T>,
    ) -> Result<T, BrokerError> {
        let started = Instant::now();
        let mut warned = false;
        loop {
            let r = self
                .connection()
                .and_then(|con| attempt(con).map_err(|e| (is_unavailable(&e), e)));
            match r {
                Ok(v) => {
                    if warned {
                        tracing::warn!(url = %self.url, stream = %self.stream, "Redis is reachable again; the batch was written.");
                    }
                    return Ok(v);
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

/// One pipeline of `XADD stream [MAXLEN ~ n] id field value ...`.
fn xadds(
    stream: &str,
    max_len: Option<u64>,
    ids: &[String],
    entries: &[Vec<(&[u8], &[u8])>],
) -> redis::Pipeline {
    let mut pipe = redis::pipe();
    for (id, fields) in ids.iter().zip(entries) {
        let cmd = pipe.cmd("XADD").arg(stream);
        if let Some(n) = max_len {
            cmd.arg("MAXLEN").arg("~").arg(n);
        }
        cmd.arg(id);
        for (f, v) in fields {
            cmd.arg(*f).arg(*v);
        }
        cmd.ignore();
    }
    pipe
}

/// The stream's last generated id (`XINFO STREAM`), `0-0` when the stream does not exist.
fn last_generated_id(con: &mut Connection, stream: &str) -> redis::RedisResult<(u64, u64)> {
    let info: Value = match redis::cmd("XINFO").arg("STREAM").arg(stream).query(con) {
        Ok(v) => v,
        Err(e) if e.to_string().contains("no such key") => return Ok((0, 0)),
        Err(e) => return Err(e),
    };
    let pairs: Vec<(&Value, &Value)> = match &info {
        Value::Array(items) => items
            .chunks(2)
            .filter_map(|p| Some((&p[0], p.get(1)?)))
            .collect(),
        Value::Map(m) => m.iter().map(|(k, v)| (k, v)).collect(),
        _ => Vec::new(),
    };
    let text = |v: &Value| match v {
        Value::BulkString(b) => String::from_utf8(b.clone()).ok(),
        Value::SimpleString(s) => Some(s.clone()),
        _ => None,
    };
    pairs
        .into_iter()
        .find(|(k, _)| text(k).as_deref() == Some("last-generated-id"))
        .and_then(|(_, v)| parse_id(&text(v)?))
        .ok_or_else(|| {
            redis::RedisError::from((
                redis::ErrorKind::TypeError,
                "XINFO STREAM has no last-generated-id",
            ))
        })
}

/// How many of a batch's ids `<time_ms>-0..<time_ms>-<len-1>` are at or before `top`.
fn already_written(top: (u64, u64), time_ms: i64, len: usize) -> usize {
    let t = time_ms.max(0) as u64;
    match top.0.cmp(&t) {
        std::cmp::Ordering::Less => 0,
        std::cmp::Ordering::Equal => len.min(top.1.saturating_add(1) as usize),
        std::cmp::Ordering::Greater => len,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_at_or_before_the_top_are_already_written() {
        assert_eq!(already_written((0, 0), 1000, 5), 0);
        assert_eq!(already_written((999, 7), 1000, 5), 0);
        assert_eq!(already_written((1000, 2), 1000, 5), 3);
        assert_eq!(already_written((1000, 9), 1000, 5), 5);
        assert_eq!(already_written((1200, 0), 1000, 5), 5);
    }
}

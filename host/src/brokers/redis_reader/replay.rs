//! [`RedisStreamReader::read_to`]: a batch replayed after a crash, read exactly up to the
//! entry id it ended at: this consumer's pending entries first, then new ones (`>`).

use std::time::{Duration, Instant};

use redis::Value;

use super::{is_unavailable, parse_entries, parse_id, RedisEntry, RedisStreamReader};
use crate::brokers::BrokerError;

impl RedisStreamReader {
    /// Reads stream `index` from its position up to and including entry `end` (a position
    /// recorded right after the batch was first read), whatever was added since: the
    /// consumer's pending entries first, then new ones, never past `end`. Retries for up to
    /// `timeout` while Redis is unavailable (unreachable or loading its data set), the
    /// group creation and recovery too. Returns the number of records handed to `on`.
    ///
    /// # Errors
    /// [`BrokerError::Redis`] when `end` is not an entry id, Redis stays unreachable for
    /// `timeout` or refuses, or the entries up to `end` can no longer be read (acknowledged
    /// by another client, trimmed, or lost by a Redis restart without persistence).
    pub fn read_to(
        &mut self,
        index: usize,
        end: &str,
        timeout: Duration,
        mut on: impl FnMut(&RedisEntry),
    ) -> Result<u64, BrokerError> {
        let key = self.cursors[index].key.clone();
        let Some(end_id) = parse_id(end) else {
            return Err(self.replay_error(&key, end, "it is not an entry id".to_owned()));
        };
        let deadline = Instant::now() + timeout;
        let mut warned = false;
        let mut count = 0u64;
        loop {
            let c = &mut self.cursors[index];
            if parse_id(&c.last).is_some_and(|last| last >= end_id) {
                return Ok(count);
            }
            if let Some(entry) = c.held.take() {
                let within = parse_id(&entry.id).is_some_and(|id| id <= end_id);
                c.held = Some(entry);
                if !within {
                    return Err(self.missing(index, end));
                }
                let entry = self.cursors[index].held.take().expect("held above");
                count += u64::from(self.cursors[index].take(entry, &mut on));
                continue;
            }
            // The group creation and recovery come first, retried like reads.
            if !self.is_prepared() {
                match self.prepare() {
                    Ok(()) => {}
                    Err((true, e)) if Instant::now() < deadline => {
                        self.pause_unavailable(&key, end, timeout, &mut warned, &e);
                        continue;
                    }
                    Err((_, e)) => return Err(self.replay_error(&key, end, e.to_string())),
                }
            }
            // Pending entries are read in pages; new ones one at a time, so that none past
            // `end` is delivered to this consumer (one that is gets held for the next read).
            let pending = self.cursors[index].replay_after.clone();
            let (from, n) = match &pending {
                Some(id) => (id.as_str(), 1000),
                None => (">", 1),
            };
            let value = match self.read_group(&key, from, n) {
                Ok(v) => v,
                Err((true, e)) if Instant::now() < deadline => {
                    self.pause_unavailable(&key, end, timeout, &mut warned, &e);
                    continue;
                }
                Err((_, e)) => return Err(self.replay_error(&key, end, e)),
            };
            let entries = parse_entries(&value);
            let c = &mut self.cursors[index];
            if entries.is_empty() {
                if c.replay_after.take().is_some() {
                    continue;
                }
                return Err(self.missing(index, end));
            }
            for entry in entries {
                if parse_id(&entry.id).is_some_and(|id| id <= end_id) {
                    count += u64::from(c.take(entry, &mut on));
                } else {
                    if pending.is_none() {
                        c.held = Some(entry);
                    }
                    if parse_id(&c.last).is_none_or(|last| last < end_id) {
                        return Err(self.missing(index, end));
                    }
                    break;
                }
            }
        }
    }

    /// Redis is unavailable while a batch is replayed: drops the connection, warns once,
    /// waits a little before the retry.
    fn pause_unavailable(
        &mut self,
        key: &str,
        end: &str,
        timeout: Duration,
        warned: &mut bool,
        e: &dyn std::fmt::Display,
    ) {
        self.con = None;
        if !std::mem::replace(warned, true) {
            tracing::warn!(url = %self.config.url, stream = %key, "Redis is unavailable ({e}) while replaying a batch up to entry {end}; retrying for up to {timeout:?}.");
        }
        std::thread::sleep(Duration::from_millis(200));
    }

    /// `XREADGROUP ... COUNT n STREAMS key from`; an error says whether the connection
    /// failed (and is dropped).
    fn read_group(&mut self, key: &str, from: &str, n: u64) -> Result<Value, (bool, String)> {
        let mut cmd = redis::cmd("XREADGROUP");
        cmd.arg("GROUP")
            .arg(&self.config.group)
            .arg(&self.config.consumer)
            .arg("COUNT")
            .arg(n)
            .arg("STREAMS")
            .arg(key)
            .arg(from);
        let con = self.connection().map_err(|e| (true, e.to_string()))?;
        cmd.query(con).map_err(|e| {
            let broken = is_unavailable(&e);
            if broken {
                self.con = None;
            }
            (broken, e.to_string())
        })
    }

    fn replay_error(&self, key: &str, end: &str, reason: String) -> BrokerError {
        BrokerError::Redis {
            url: self.config.url.clone(),
            message: format!(
                "cannot replay stream `{key}` up to entry {end} (where the batch ended before the crash): {reason}"
            ),
        }
    }

    fn missing(&self, index: usize, end: &str) -> BrokerError {
        let c = &self.cursors[index];
        self.replay_error(
            &c.key,
            end,
            format!(
                "after entry {}, consumer `{}` of group `{}` has no pending entry up to it and none \
                 can be read (acknowledged by another client, trimmed, or lost in a Redis restart \
                 without persistence?)",
                c.last, self.config.consumer, self.config.group
            ),
        )
    }
}

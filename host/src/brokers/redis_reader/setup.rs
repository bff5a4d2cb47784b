//! Setting a [`RedisStreamReader`] up: the consumer group on every stream, and after a
//! restart the acknowledgement of the pending entries a checkpoint already holds. Both
//! wait while Redis is unavailable (down, or loading its data set): they are retried
//! before each read until they succeed.

use redis::Value;

use super::{is_unavailable, parse_id, pending_ids, Attempt, RedisStart, RedisStreamReader};
use crate::brokers::BrokerError;

impl RedisStreamReader {
    /// Restarts from a recorded position (`(stream, last id)`): pending entries up to the
    /// id were in checkpointed batches and are acknowledged (now, or before the first read
    /// if Redis is unavailable); those after it are read again first.
    ///
    /// # Errors
    /// [`BrokerError::Redis`] when a stream is not read here, an id is not an entry id, or
    /// Redis refuses a command.
    pub fn recover(&mut self, positions: &[(String, String)]) -> Result<(), BrokerError> {
        for (key, id) in positions {
            let index = self
                .cursors
                .iter()
                .position(|c| &c.key == key)
                .ok_or_else(|| BrokerError::Redis {
                    url: self.config.url.clone(),
                    message: format!("cannot recover: stream `{key}` is not read by this source"),
                })?;
            if parse_id(id).is_none() {
                return Err(BrokerError::Redis {
                    url: self.config.url.clone(),
                    message: format!("cannot recover stream `{key}`: `{id}` is not an entry id"),
                });
            }
            let c = &mut self.cursors[index];
            c.replay_after = Some(id.clone());
            c.last = id.clone();
            c.unacked.clear();
            c.held = None;
        }
        self.to_recover = Some(positions.to_vec());
        self.prepare_or_defer()
    }

    /// [`RedisStreamReader::prepare`], leaving it to the first read while Redis is
    /// unavailable.
    pub(super) fn prepare_or_defer(&mut self) -> Result<(), BrokerError> {
        match self.prepare() {
            Err((false, e)) => Err(e),
            Ok(()) | Err((true, _)) => Ok(()),
        }
    }

    /// Whether the group creation and recovery are done.
    pub(super) fn is_prepared(&self) -> bool {
        self.groups_ready && self.to_recover.is_none()
    }

    /// Creates the consumer group on every stream and acknowledges the pending entries up
    /// to the recovered positions, unless done already. Both are idempotent, so a retry
    /// after a partial attempt is safe.
    pub(super) fn prepare(&mut self) -> Attempt<()> {
        if !self.groups_ready {
            for i in 0..self.cursors.len() {
                self.create_group(i)?;
            }
            self.groups_ready = true;
        }
        if let Some(positions) = self.to_recover.clone() {
            for (key, id) in &positions {
                self.ack_pending_through(key, id)?;
            }
            self.to_recover = None;
        }
        Ok(())
    }

    /// Creates the consumer group on stream `index` (and the stream) if missing.
    pub(super) fn create_group(&mut self, index: usize) -> Attempt<()> {
        let start = match self.config.start {
            RedisStart::Earliest => "0",
            RedisStart::Latest => "$",
        };
        let key = self.cursors[index].key.clone();
        let group = self.config.group.clone();
        let con = self.connection().map_err(|e| (true, e))?;
        let r: redis::RedisResult<Value> = redis::cmd("XGROUP")
            .arg("CREATE")
            .arg(&key)
            .arg(&group)
            .arg(start)
            .arg("MKSTREAM")
            .query(con);
        match r {
            Ok(_) => Ok(()),
            Err(e) if e.code() == Some("BUSYGROUP") => Ok(()),
            Err(e) => Err((
                is_unavailable(&e),
                self.failed(
                    &format!("cannot create group `{group}` on stream `{key}`"),
                    e,
                ),
            )),
        }
    }

    /// Acknowledges this consumer's pending entries of stream `key` up to entry `id`.
    fn ack_pending_through(&mut self, key: &str, id: &str) -> Attempt<()> {
        let (group, consumer) = (self.config.group.clone(), self.config.consumer.clone());
        loop {
            let con = self.connection().map_err(|e| (true, e))?;
            let r: redis::RedisResult<Value> = redis::cmd("XPENDING")
                .arg(key)
                .arg(&group)
                .arg("-")
                .arg(id)
                .arg(1000)
                .arg(&consumer)
                .query(con);
            let v = r.map_err(|e| {
                let unavailable = is_unavailable(&e);
                (
                    unavailable,
                    self.failed(&format!("XPENDING on stream `{key}`"), e),
                )
            })?;
            let ids = pending_ids(&v);
            if ids.is_empty() {
                return Ok(());
            }
            self.try_ack(key, &ids)?;
        }
    }
}

//! [`RedisStreamReader`]: a reliable reader of Redis Streams through a consumer group.
//!
//! Entries are read with `XREADGROUP`, which puts them in the consumer's pending list; they
//! are acknowledged (`XACK`) only when the caller says they are safe (after a checkpoint).
//! After a restart the consumer's pending entries are read again first, then new ones.

use std::collections::VecDeque;
use std::time::Duration;

use redis::{Client, Connection, Value};

use super::BrokerError;
use crate::job::RedisStart;

mod replay;
mod reply;
mod setup;

pub(super) use reply::parse_id;
use reply::{parse_entries, pending_ids, RawEntry};

/// How to reach Redis and what to read.
#[derive(Debug, Clone)]
pub struct RedisStreamReaderConfig {
    /// `redis://host:port[/db]`.
    pub url: String,
    /// The stream keys, read in this order.
    pub streams: Vec<String>,
    /// The consumer group (created if missing).
    pub group: String,
    /// This consumer's name in the group; keep it stable across restarts, since pending
    /// entries belong to a consumer.
    pub consumer: String,
    /// Where a new group starts.
    pub start: RedisStart,
    /// Timeout of connecting and of each command.
    pub timeout: Duration,
}

/// One stream entry: its id and its fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedisEntry {
    /// The entry id, `ms-seq`.
    pub id: String,
    /// Field names and values, in order.
    pub fields: Vec<(Vec<u8>, Vec<u8>)>,
}

impl RedisEntry {
    /// The value of field `name`, if the entry has it.
    pub fn field(&self, name: &str) -> Option<&[u8]> {
        self.fields
            .iter()
            .find(|(k, _)| k == name.as_bytes())
            .map(|(_, v)| v.as_slice())
    }
}

struct StreamCursor {
    key: String,
    /// While `Some(id)`: reading this consumer's pending entries after `id`.
    replay_after: Option<String>,
    /// The id of the last entry read.
    last: String,
    /// Ids read and not acknowledged yet, in order.
    unacked: VecDeque<String>,
    /// An entry delivered by `>` past a replayed batch's end: the next read starts with it.
    held: Option<RawEntry>,
}

impl StreamCursor {
    /// Takes `entry` as read: advances the position and hands its fields to `on`. Returns
    /// whether it yielded a record (a deleted pending entry does not).
    fn take(&mut self, entry: RawEntry, on: &mut impl FnMut(&RedisEntry)) -> bool {
        self.last.clone_from(&entry.id);
        self.unacked.push_back(entry.id.clone());
        if self.replay_after.is_some() {
            self.replay_after = Some(entry.id.clone());
        }
        // A pending entry deleted from the stream comes back without fields: it is
        // acknowledged with the others and yields no record.
        match entry.fields {
            Some(fields) => {
                on(&RedisEntry {
                    id: entry.id,
                    fields,
                });
                true
            }
            None => false,
        }
    }
}

/// Reads streams through a consumer group; acknowledges on request.
pub struct RedisStreamReader {
    config: RedisStreamReaderConfig,
    client: Client,
    con: Option<Connection>,
    cursors: Vec<StreamCursor>,
    unreachable: bool,
    /// Whether the consumer group exists on every stream (created by this reader).
    groups_ready: bool,
    /// Recorded positions whose pending entries up to them are still to acknowledge.
    to_recover: Option<Vec<(String, String)>>,
}

/// A failed command: whether Redis was unavailable (unreachable, or not ready: loading its
/// data set), so that the same command may succeed later, and the error.
type Attempt<T> = Result<T, (bool, BrokerError)>;

impl RedisStreamReader {
    /// A reader of `config.streams`; it connects and creates the consumer group on every
    /// stream (and the stream) if missing. While Redis is unavailable (down, or loading its
    /// data set) that is left to the first read, which waits for it (see
    /// [`RedisStreamReader::read`]). Reading starts with this consumer's pending entries.
    ///
    /// # Errors
    /// [`BrokerError::Redis`] when the URL is invalid or Redis refuses to create a group.
    pub fn open(config: RedisStreamReaderConfig) -> Result<Self, BrokerError> {
        let client = Client::open(config.url.as_str())
            .map_err(|e| redis_error(&config.url, "invalid URL", &e))?;
        let cursors = config
            .streams
            .iter()
            .map(|key| StreamCursor {
                key: key.clone(),
                replay_after: Some("0".to_owned()),
                last: "0-0".to_owned(),
                unacked: VecDeque::new(),
                held: None,
            })
            .collect();
        let mut reader = RedisStreamReader {
            config,
            client,
            con: None,
            cursors,
            unreachable: false,
            groups_ready: false,
            to_recover: None,
        };
        reader.prepare_or_defer()?;
        Ok(reader)
    }

    fn connection(&mut self) -> Result<&mut Connection, BrokerError> {
        if self.con.is_none() {
            let con = self
                .client
                .get_connection_with_timeout(self.config.timeout)
                .map_err(|e| redis_error(&self.config.url, "cannot connect", &e))?;
            con.set_read_timeout(Some(self.config.timeout))
                .and_then(|()| con.set_write_timeout(Some(self.config.timeout)))
                .map_err(|e| redis_error(&self.config.url, "cannot set timeouts", &e))?;
            self.con = Some(con);
        }
        Ok(self.con.as_mut().expect("connected above"))
    }

    /// Turns a command error into a [`BrokerError`], dropping a broken connection.
    fn failed(&mut self, what: &str, e: redis::RedisError) -> BrokerError {
        if is_unavailable(&e) {
            self.con = None;
        }
        redis_error(&self.config.url, what, &e)
    }

    /// The streams read, in order.
    pub fn streams(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        self.cursors.iter().map(|c| c.key.as_str())
    }

    /// The id of the last entry read from each stream, in [`RedisStreamReader::streams`] order.
    pub fn positions(&self) -> Vec<String> {
        self.cursors.iter().map(|c| c.last.clone()).collect()
    }

    /// Reads up to `max` entries of stream `index`: pending entries first (after a
    /// restart), then new ones, without waiting. While Redis is unreachable (or loading its
    /// data set) this logs once, reads nothing and reconnects on the next call; the group
    /// creation and recovery left by [`RedisStreamReader::open`] and
    /// [`RedisStreamReader::recover`] are done first.
    ///
    /// # Errors
    /// [`BrokerError::Redis`] when Redis refuses the command (a wrong type, for instance).
    pub fn read(
        &mut self,
        index: usize,
        max: u64,
        mut on: impl FnMut(&RedisEntry),
    ) -> Result<u64, BrokerError> {
        match self.prepare() {
            Ok(()) => {}
            Err((true, e)) => {
                self.note_unreachable(&e);
                return Ok(0);
            }
            Err((false, e)) => return Err(e),
        }
        let mut count = 0u64;
        while count < max {
            if let Some(entry) = self.cursors[index].held.take() {
                count += u64::from(self.cursors[index].take(entry, &mut on));
                continue;
            }
            let key = self.cursors[index].key.clone();
            let from = self.cursors[index].replay_after.clone();
            let mut cmd = redis::cmd("XREADGROUP");
            cmd.arg("GROUP")
                .arg(&self.config.group)
                .arg(&self.config.consumer)
                .arg("COUNT")
                .arg((max - count).min(10_000))
                .arg("STREAMS")
                .arg(&key)
                .arg(from.as_deref().unwrap_or(">"));
            let url = self.config.url.clone();
            let r = self.connection().and_then(|con| {
                cmd.query::<Value>(con)
                    .map_err(|e| redis_error(&url, "", &e))
            });
            let value = match r {
                Ok(v) => v,
                Err(e) => {
                    if let BrokerError::Redis { message, .. } = &e {
                        if message.contains("NOGROUP") {
                            tracing::warn!(url = %self.config.url, stream = %key, "The consumer group is gone; creating it again.");
                            match self.create_group(index) {
                                Ok(()) => continue,
                                Err((false, e)) => return Err(e),
                                Err((true, _)) => {}
                            }
                        }
                    }
                    self.note_unreachable(&e);
                    return Ok(count);
                }
            };
            if self.unreachable {
                self.unreachable = false;
                tracing::warn!(url = %self.config.url, stream = %key, "Redis is reachable again; resuming after entry {}.", self.cursors[index].last);
            }
            let entries = parse_entries(&value);
            let c = &mut self.cursors[index];
            if entries.is_empty() {
                if c.replay_after.take().is_some() {
                    continue;
                }
                break;
            }
            for entry in entries {
                count += u64::from(c.take(entry, &mut on));
            }
        }
        Ok(count)
    }

    /// Drops the connection and logs, once per outage, that Redis is unreachable.
    fn note_unreachable(&mut self, e: &BrokerError) {
        self.con = None;
        if !self.unreachable {
            self.unreachable = true;
            tracing::warn!(url = %self.config.url, "Redis is unreachable ({e}); waiting for it to come back.");
        }
    }

    /// Whether Redis was last seen unreachable.
    pub fn is_unreachable(&self) -> bool {
        self.unreachable
    }

    /// Acknowledges every entry read up to and including the given ids (`(stream, id)`,
    /// as returned by [`RedisStreamReader::positions`]). Returns the number acknowledged.
    ///
    /// # Errors
    /// [`BrokerError::Redis`] when Redis fails; the entries stay pending and are
    /// acknowledged by a later call.
    pub fn ack_through(&mut self, positions: &[(String, String)]) -> Result<usize, BrokerError> {
        let mut total = 0;
        for (key, id) in positions {
            let Some(limit) = parse_id(id) else { continue };
            let Some(c) = self.cursors.iter_mut().find(|c| &c.key == key) else {
                continue;
            };
            let n = c
                .unacked
                .iter()
                .take_while(|i| parse_id(i).is_some_and(|i| i <= limit))
                .count();
            let ids: Vec<String> = c.unacked.iter().take(n).cloned().collect();
            self.ack(key, &ids)?;
            if let Some(c) = self.cursors.iter_mut().find(|c| &c.key == key) {
                c.unacked.drain(..n);
            }
            total += n;
        }
        Ok(total)
    }

    fn ack(&mut self, key: &str, ids: &[String]) -> Result<(), BrokerError> {
        self.try_ack(key, ids).map_err(|(_, e)| e)
    }

    fn try_ack(&mut self, key: &str, ids: &[String]) -> Attempt<()> {
        if ids.is_empty() {
            return Ok(());
        }
        let mut pipe = redis::pipe();
        for chunk in ids.chunks(1000) {
            pipe.cmd("XACK")
                .arg(key)
                .arg(&self.config.group)
                .arg(chunk)
                .ignore();
        }
        let con = self.connection().map_err(|e| (true, e))?;
        let r: redis::RedisResult<()> = pipe.query(con);
        r.map_err(|e| {
            let unavailable = is_unavailable(&e);
            (
                unavailable,
                self.failed(&format!("XACK on stream `{key}`"), e),
            )
        })
    }
}

/// Whether a command failed because Redis is unavailable for now — unreachable, or up
/// but not ready (`LOADING` its data set, `MASTERDOWN`, `TRYAGAIN`) — rather than
/// because it refused the command: then the same command is retried later.
pub(super) fn is_unavailable(e: &redis::RedisError) -> bool {
    use redis::ErrorKind;
    e.is_io_error()
        || e.is_connection_dropped()
        || e.is_connection_refusal()
        || e.is_timeout()
        || matches!(
            e.kind(),
            ErrorKind::BusyLoadingError | ErrorKind::TryAgain | ErrorKind::MasterDown
        )
}

pub(super) fn redis_error(url: &str, what: &str, e: &redis::RedisError) -> BrokerError {
    BrokerError::Redis {
        url: url.to_owned(),
        message: if what.is_empty() {
            e.to_string()
        } else {
            format!("{what}: {e}")
        },
    }
}

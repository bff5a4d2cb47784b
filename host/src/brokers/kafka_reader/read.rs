//! Reading a [`KafkaReader`]'s partitions: what is already fetched (a new batch), or
//! exactly up to a recorded offset (a batch replayed after a crash).

use std::time::{Duration, Instant};

use rdkafka::error::KafkaError;
use rdkafka::message::Message;

use super::{kafka_error, KafkaReader, PartitionRead};
use crate::brokers::BrokerError;

impl KafkaReader {
    /// Reads records of partition `index` (in [`KafkaReader::partitions`] order) that are
    /// already fetched, at most `max`, without waiting; each goes to `on` as
    /// `(offset, key, payload)`.
    ///
    /// # Errors
    /// [`BrokerError::Kafka`] when the partition reports an error (such as an offset out of
    /// range after the topic was truncated).
    pub fn read(
        &mut self,
        index: usize,
        max: u64,
        on: impl FnMut(i64, Option<&[u8]>, Option<&[u8]>),
    ) -> Result<PartitionRead, BrokerError> {
        self.read_until(index, max, i64::MAX, None, on)
    }

    /// Reads partition `index` from its current offset up to (not including) offset
    /// `until`, waiting up to `timeout` for records to arrive (a replay of a recorded range).
    ///
    /// # Errors
    /// [`BrokerError::Kafka`] naming the partition and range when the partition reports an
    /// error (an offset out of range: the broker no longer has it) or the range is not
    /// complete within `timeout`.
    pub fn read_range(
        &mut self,
        index: usize,
        until: i64,
        timeout: Duration,
        on: impl FnMut(i64, Option<&[u8]>, Option<&[u8]>),
    ) -> Result<PartitionRead, BrokerError> {
        let replay_error = |r: &Self, from: i64, what: String| {
            let c = &r.cursors[index];
            BrokerError::Kafka {
                bootstrap: r.config.bootstrap.clone(),
                message: format!(
                    "cannot replay {}/{} offsets {from}..{until}: {what}",
                    c.topic, c.partition
                ),
            }
        };
        let from = self.cursors[index].next;
        let deadline = Some(Instant::now() + timeout);
        let r = match self.read_until(index, u64::MAX, until, deadline, on) {
            Ok(r) => r,
            Err(BrokerError::Kafka { message, .. }) => {
                return Err(replay_error(self, from, message))
            }
            Err(e) => return Err(e),
        };
        if r.until < until {
            let what = format!(
                "only offsets up to {} arrived within {timeout:?} (does the broker still have them?)",
                r.until
            );
            return Err(replay_error(self, from, what));
        }
        Ok(r)
    }

    fn read_until(
        &mut self,
        index: usize,
        max: u64,
        until: i64,
        deadline: Option<Instant>,
        mut on: impl FnMut(i64, Option<&[u8]>, Option<&[u8]>),
    ) -> Result<PartitionRead, BrokerError> {
        self.serve();
        let from = self.cursors[index].next;
        let mut records = 0u64;
        while records < max && self.cursors[index].next < until {
            let c = &mut self.cursors[index];
            if let Some(m) = c.stash.pop_front() {
                if m.offset() >= c.next {
                    c.next = m.offset() + 1;
                    records += 1;
                    on(m.offset(), m.key(), m.payload());
                }
                continue;
            }
            let wait = match deadline {
                Some(d) => d
                    .saturating_duration_since(Instant::now())
                    .min(Duration::from_millis(50)),
                None => Duration::ZERO,
            };
            let mut seen = false;
            let mut at_end = false;
            let mut timed_out = false;
            match self.queues[index].poll(wait) {
                Some(Ok(m)) => {
                    seen = true;
                    if m.offset() >= c.next {
                        c.next = m.offset() + 1;
                        records += 1;
                        on(m.offset(), m.key(), m.payload());
                    }
                }
                Some(Err(KafkaError::PartitionEOF(_))) => {
                    seen = true;
                    at_end = deadline.is_none();
                }
                Some(Err(e)) => {
                    return Err(kafka_error(
                        &self.config.bootstrap,
                        &format!("reading {}/{} at offset {}", c.topic, c.partition, c.next),
                        &e,
                    ));
                }
                None => timed_out = deadline.is_none_or(|d| Instant::now() >= d),
            }
            if seen {
                self.reachable();
            } else {
                self.serve();
            }
            if at_end || timed_out {
                break;
            }
        }
        Ok(PartitionRead {
            records,
            from,
            until: self.cursors[index].next,
        })
    }
}

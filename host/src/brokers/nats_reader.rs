//! [`NatsReader`]: a reliable reader of one JetStream stream through a durable pull
//! consumer with `ack_policy = all`.
//!
//! The position is the stream sequence of the last message taken into a batch. Messages
//! are acknowledged only on request ([`NatsReader::ack_through`], after a checkpoint). On
//! opening, the consumer is created again at the sequence after the resume point (a
//! checkpoint's position, else the consumer's acknowledgement floor), so unacknowledged
//! messages come again at once and in order. Deliveries are checked against the consumer
//! sequence: a redelivery (after `ack_wait`) or a duplicate of a message already taken is
//! dropped; a gap (deliveries lost with a broken connection) makes the reader create the
//! consumer again at its acknowledgement floor, so nothing is skipped.

use std::collections::VecDeque;
use std::time::Duration;

use super::nats_conn::{NatsConn, NatsError};
use super::nats_js::{ConsumerSpec, JsMessage};
use crate::job::NatsStart;

/// How to reach NATS and what to read.
#[derive(Debug, Clone)]
pub struct NatsReaderConfig {
    /// `nats://host:port`.
    pub url: String,
    /// The stream.
    pub stream: String,
    /// The durable consumer's name.
    pub consumer: String,
    /// Subject filters (empty: all).
    pub subjects: Vec<String>,
    /// Where a new consumer starts.
    pub start: NatsStart,
    /// JetStream's redelivery timeout.
    pub ack_wait: Duration,
    /// Timeout of connecting and of each request.
    pub timeout: Duration,
}

/// Reads a stream through a durable consumer; acknowledges on request.
pub struct NatsReader {
    config: NatsReaderConfig,
    conn: Option<NatsConn>,
    /// The stream sequence of the last message taken (the position).
    taken: u64,
    /// The highest stream sequence received; later deliveries at or below are duplicates.
    seen: u64,
    /// The stream sequence through which the consumer is acknowledged.
    acked: u64,
    /// The consumer sequence the next first delivery has.
    next_cseq: u64,
    /// Received and not taken yet, in stream order.
    buffer: VecDeque<JsMessage>,
    /// `(stream sequence, ack subject)` of deliveries not acknowledged yet.
    acks: VecDeque<(u64, String)>,
    /// The consumer must be created again (at `acked + 1`) before the next fetch.
    stale: bool,
    unreachable: bool,
}

impl NatsReader {
    /// Connects, checks the stream, and creates the consumer again after `resume` (a
    /// checkpoint's position), else after the existing consumer's acknowledgement floor,
    /// else where `config.start` says.
    ///
    /// # Errors
    /// [`NatsError::NoStream`] for a missing stream; [`NatsError`] when NATS cannot be
    /// reached or refuses.
    pub fn open(config: NatsReaderConfig, resume: Option<u64>) -> Result<Self, NatsError> {
        let mut conn = NatsConn::connect(&config.url, config.timeout)?;
        let state = conn.stream_state(&config.stream, config.timeout)?;
        let after = match resume {
            Some(p) => p,
            None => {
                match conn.consumer_ack_floor(&config.stream, &config.consumer, config.timeout)? {
                    Some(floor) => floor,
                    None => match config.start {
                        NatsStart::All => 0,
                        NatsStart::New => state.last_seq,
                    },
                }
            }
        };
        let mut reader = NatsReader {
            config,
            conn: Some(conn),
            taken: after,
            seen: after,
            acked: after,
            next_cseq: 1,
            buffer: VecDeque::new(),
            acks: VecDeque::new(),
            stale: true,
            unreachable: false,
        };
        reader.recreate()?;
        Ok(reader)
    }

    /// The stream read.
    pub fn stream(&self) -> &str {
        &self.config.stream
    }

    /// The stream sequence of the last message taken.
    pub fn position(&self) -> u64 {
        self.taken
    }

    /// Whether NATS was last seen unreachable.
    pub fn is_unreachable(&self) -> bool {
        self.unreachable
    }

    fn recreate(&mut self) -> Result<(), NatsError> {
        let spec = ConsumerSpec {
            name: self.config.consumer.clone(),
            subjects: self.config.subjects.clone(),
            start_seq: self.acked + 1,
            ack_wait: self.config.ack_wait,
        };
        let conn = self.conn.as_mut().expect("connected before recreating");
        conn.recreate_consumer(&self.config.stream, &spec, self.config.timeout)?;
        self.acks.clear();
        self.next_cseq = 1;
        self.stale = false;
        Ok(())
    }

    /// Takes up to `max` messages (only those at or below stream sequence `until`, when
    /// given), fetching what is available without waiting. While NATS is unreachable this
    /// logs once, takes what was already received, and reconnects on the next call.
    ///
    /// # Errors
    /// [`NatsError`] when NATS refuses (the stream was deleted, for instance).
    pub fn take(&mut self, max: u64, until: Option<u64>) -> Result<Vec<JsMessage>, NatsError> {
        let mut out = Vec::new();
        let fits = |m: &JsMessage| until.is_none_or(|u| m.stream_seq <= u);
        loop {
            while (out.len() as u64) < max && self.buffer.front().is_some_and(fits) {
                let m = self.buffer.pop_front().expect("checked");
                self.taken = m.stream_seq;
                out.push(m);
            }
            let done = (out.len() as u64) >= max
                || until.is_some_and(|u| self.taken >= u)
                || !self.buffer.is_empty();
            if done {
                return Ok(out);
            }
            let want = (max - out.len() as u64).min(until.map_or(u64::MAX, |u| u - self.taken));
            match self.fetch(want.clamp(1, 10_000)) {
                Ok(0) => return Ok(out),
                Ok(_) => {}
                Err(e) if e.is_connection() => {
                    self.conn = None;
                    self.stale = true;
                    if !self.unreachable {
                        self.unreachable = true;
                        tracing::warn!(url = %self.config.url, stream = %self.config.stream, "NATS is unreachable ({e}); waiting for it to come back.");
                    }
                    return Ok(out);
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// One pull request; returns the number of messages received (duplicates included).
    fn fetch(&mut self, max: u64) -> Result<usize, NatsError> {
        if self.conn.is_none() {
            self.conn = Some(NatsConn::connect(&self.config.url, self.config.timeout)?);
        }
        if self.stale {
            self.recreate()?;
        }
        let conn = self.conn.as_mut().expect("connected above");
        let got = conn.fetch(
            &self.config.stream,
            &self.config.consumer,
            max,
            self.config.timeout,
        )?;
        if self.unreachable {
            self.unreachable = false;
            tracing::warn!(url = %self.config.url, stream = %self.config.stream, "NATS is reachable again; resuming after stream sequence {}.", self.taken);
        }
        let n = got.len();
        for m in got {
            if m.consumer_seq < self.next_cseq {
                continue; // redelivered after ack_wait: already received
            }
            if m.consumer_seq > self.next_cseq {
                // Deliveries were lost: start the consumer again at its ack floor.
                tracing::warn!(stream = %self.config.stream, "NATS deliveries {}..{} were lost; reading again after stream sequence {}.", self.next_cseq, m.consumer_seq - 1, self.acked);
                self.stale = true;
                break;
            }
            self.next_cseq += 1;
            self.acks.push_back((m.stream_seq, m.ack_subject.clone()));
            if m.stream_seq > self.seen {
                self.seen = m.stream_seq;
                self.buffer.push_back(m);
            }
        }
        Ok(n)
    }

    /// Acknowledges every message up to stream sequence `position` (one `+ACK` of the
    /// last of them: the consumer acknowledges all). Returns the sequence acknowledged
    /// through.
    ///
    /// # Errors
    /// [`NatsError`] when NATS fails; the messages stay unacknowledged until a later call.
    pub fn ack_through(&mut self, position: u64) -> Result<u64, NatsError> {
        let n = self.acks.iter().take_while(|(s, _)| *s <= position).count();
        if n == 0 {
            return Ok(self.acked);
        }
        let (seq, subject) = self.acks[n - 1].clone();
        let conn = match self.conn.as_mut() {
            Some(c) => c,
            None => {
                self.conn = Some(NatsConn::connect(&self.config.url, self.config.timeout)?);
                self.conn.as_mut().expect("connected above")
            }
        };
        if let Err(e) = conn.ack(&subject, self.config.timeout) {
            if e.is_connection() {
                self.conn = None;
                self.stale = true;
            }
            return Err(e);
        }
        self.acks.drain(..n);
        self.acked = self.acked.max(seq);
        Ok(self.acked)
    }
}

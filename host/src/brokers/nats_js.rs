//! JetStream over a [`NatsConn`]: the `$JS.API.*` requests Sluice needs (stream info,
//! durable pull consumers, `CONSUMER.MSG.NEXT`), acknowledgements, and publishing with
//! `PubAck`s. JSON bodies; API errors become [`NatsError::Refused`] with JetStream's text.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::nats_conn::{NatsConn, NatsError, NatsMsg};

/// JetStream's error code for "stream not found".
const STREAM_NOT_FOUND: u64 = 10059;
/// JetStream's error code for "consumer not found".
const CONSUMER_NOT_FOUND: u64 = 10014;

/// A message delivered by a pull consumer, with its place from the `$JS.ACK` subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsMessage {
    /// The subject it was published to.
    pub subject: String,
    /// Its sequence number in the stream.
    pub stream_seq: u64,
    /// Its delivery sequence in the consumer (a redelivery keeps the first one).
    pub consumer_seq: u64,
    /// How many times it was delivered (1 the first time).
    pub delivered: u64,
    /// Where an acknowledgement goes.
    pub ack_subject: String,
    /// The payload.
    pub payload: Vec<u8>,
}

/// The consumer settings Sluice creates its durable pull consumer with.
#[derive(Debug, Clone)]
pub struct ConsumerSpec {
    /// The durable name.
    pub name: String,
    /// Subject filters (none: every subject of the stream; more than one needs NATS 2.10).
    pub subjects: Vec<String>,
    /// The first stream sequence delivered.
    pub start_seq: u64,
    /// How long a delivered message may stay unacknowledged before it is redelivered.
    pub ack_wait: Duration,
}

/// A stream's sequence range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamState {
    /// The first sequence still stored.
    pub first_seq: u64,
    /// The last sequence stored (0 when the stream was always empty).
    pub last_seq: u64,
}

impl NatsConn {
    /// A `$JS.API.<api>` request; the JSON reply, or its `error` as [`NatsError::Refused`].
    fn js_api(&mut self, api: &str, body: &Value, timeout: Duration) -> Result<Value, NatsError> {
        let subject = format!("$JS.API.{api}");
        let m = self.request(&subject, body.to_string().as_bytes(), timeout)?;
        if m.status == Some(503) {
            return Err(self.refused(
                "JetStream is not enabled on this server (start nats-server with -js)".to_owned(),
            ));
        }
        let v: Value = serde_json::from_slice(&m.payload)
            .map_err(|e| self.refused(format!("`{subject}` answered invalid JSON: {e}")))?;
        match v.get("error") {
            Some(e) => Err(self.refused(format!(
                "`{subject}`: {} (JetStream error {})",
                e.get("description").and_then(Value::as_str).unwrap_or("?"),
                e.get("err_code").and_then(Value::as_u64).unwrap_or(0)
            ))),
            None => Ok(v),
        }
    }

    /// The sequence range of `stream`.
    ///
    /// # Errors
    /// [`NatsError::NoStream`] when it does not exist; others as [`NatsConn::request`].
    pub fn stream_state(
        &mut self,
        stream: &str,
        timeout: Duration,
    ) -> Result<StreamState, NatsError> {
        match self.js_api(&format!("STREAM.INFO.{stream}"), &json!({}), timeout) {
            Ok(v) => Ok(StreamState {
                first_seq: v["state"]["first_seq"].as_u64().unwrap_or(0),
                last_seq: v["state"]["last_seq"].as_u64().unwrap_or(0),
            }),
            Err(e) if has_code(&e, STREAM_NOT_FOUND) => Err(NatsError::NoStream {
                stream: stream.to_owned(),
                addr: self.addr().to_owned(),
            }),
            Err(e) => Err(e),
        }
    }

    /// The stream sequence through which consumer `name` is acknowledged, or `None` when
    /// there is no such consumer.
    ///
    /// # Errors
    /// As [`NatsConn::request`] and API errors.
    pub fn consumer_ack_floor(
        &mut self,
        stream: &str,
        name: &str,
        timeout: Duration,
    ) -> Result<Option<u64>, NatsError> {
        match self.js_api(
            &format!("CONSUMER.INFO.{stream}.{name}"),
            &json!({}),
            timeout,
        ) {
            Ok(v) => Ok(Some(ack_floor(&v))),
            Err(e) if has_code(&e, CONSUMER_NOT_FOUND) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Deletes consumer `name` (if it exists) and creates it again from `spec`: an
    /// acknowledgement-all pull consumer starting at `spec.start_seq`.
    ///
    /// # Errors
    /// As [`NatsConn::request`] and API errors.
    pub fn recreate_consumer(
        &mut self,
        stream: &str,
        spec: &ConsumerSpec,
        timeout: Duration,
    ) -> Result<(), NatsError> {
        let name = &spec.name;
        match self.js_api(
            &format!("CONSUMER.DELETE.{stream}.{name}"),
            &json!({}),
            timeout,
        ) {
            Ok(_) => {}
            Err(e) if has_code(&e, CONSUMER_NOT_FOUND) => {}
            Err(e) => return Err(e),
        }
        let mut config = json!({
            "durable_name": name,
            "deliver_policy": "by_start_sequence",
            "opt_start_seq": spec.start_seq.max(1),
            "ack_policy": "all",
            "ack_wait": spec.ack_wait.as_nanos() as u64,
            "max_deliver": -1,
            "max_ack_pending": -1,
            "replay_policy": "instant",
        });
        match spec.subjects.as_slice() {
            [] => {}
            [one] => config["filter_subject"] = json!(one),
            many => config["filter_subjects"] = json!(many),
        }
        let body = json!({ "stream_name": stream, "config": config });
        let created = self.js_api(
            &format!("CONSUMER.DURABLE.CREATE.{stream}.{name}"),
            &body,
            timeout,
        )?;
        // A server before 2.10 ignores `filter_subjects` and would deliver everything.
        if spec.subjects.len() > 1 && created["config"].get("filter_subjects").is_none() {
            return Err(self.refused(format!(
                "consumer `{name}`: more than one subject filter needs NATS 2.10 or later"
            )));
        }
        Ok(())
    }

    /// Pulls up to `max` messages from consumer `name` without waiting for new ones
    /// (`no_wait`): returns those available, reading until the server's end-of-batch
    /// status or `timeout`.
    ///
    /// # Errors
    /// As [`NatsConn::request`]; [`NatsError::Refused`] for a refusing status (the
    /// consumer was deleted, for instance).
    pub fn fetch(
        &mut self,
        stream: &str,
        name: &str,
        max: u64,
        timeout: Duration,
    ) -> Result<Vec<JsMessage>, NatsError> {
        let reply = self.new_reply();
        let body = json!({ "batch": max, "no_wait": true });
        let subject = format!("$JS.API.CONSUMER.MSG.NEXT.{stream}.{name}");
        self.queue_publish(&subject, Some(&reply), &[], body.to_string().as_bytes());
        self.flush()?;
        let deadline = Instant::now() + timeout;
        let ack_part = format!(".{stream}.{name}.");
        let mut out = Vec::new();
        while (out.len() as u64) < max {
            let Some(m) = self.next_msg(deadline)? else {
                return Err(self.io(format!("no answer to `{subject}` within {timeout:?}")));
            };
            // Messages come with their own subject and a `$JS.ACK` reply; statuses (the end
            // of the batch) on the request's reply subject.
            let delivery = m
                .reply
                .as_deref()
                .is_some_and(|r| r.starts_with("$JS.ACK.") && r.contains(&ack_part));
            if !delivery && m.subject != reply {
                continue;
            }
            match m.status {
                // No (more) messages, or the request expired: the batch ends.
                Some(404 | 408) => break,
                Some(409) if m.description.contains("Leadership") => break,
                Some(100) => continue, // heartbeat
                Some(code) => {
                    return Err(self.refused(format!("`{subject}`: {code} {}", m.description)))
                }
                None => match parse_delivery(&m) {
                    Some(d) => out.push(d),
                    None => {
                        return Err(self.refused(format!(
                            "a delivered message has no JetStream reply subject: {:?}",
                            m.reply
                        )))
                    }
                },
            }
        }
        Ok(out)
    }

    /// Acknowledges (`+ACK`) the delivery behind `ack_subject` (with an ack-all consumer,
    /// every earlier one too), and waits until the server confirmed it.
    ///
    /// # Errors
    /// As [`NatsConn::request`].
    pub fn ack(&mut self, ack_subject: &str, timeout: Duration) -> Result<(), NatsError> {
        // A request makes the server confirm the acknowledgement (an empty reply).
        self.request(ack_subject, b"+ACK", timeout).map(|_| ())
    }

    /// Publishes every `(subject, msg id, payload)` with a `Nats-Msg-Id` header, pipelined,
    /// and waits for every `PubAck`. Returns how many JetStream reported as duplicates.
    ///
    /// # Errors
    /// [`NatsError::Refused`] naming the first message JetStream refused (or that no
    /// stream takes: "no responders"); [`NatsError::Io`] when acks do not come in time.
    pub fn publish_all(
        &mut self,
        messages: &[(String, String, Vec<u8>)],
        timeout: Duration,
    ) -> Result<usize, NatsError> {
        let mut replies = std::collections::HashMap::with_capacity(messages.len());
        for (i, (subject, id, payload)) in messages.iter().enumerate() {
            let reply = self.new_reply();
            self.queue_publish(subject, Some(&reply), &[("Nats-Msg-Id", id)], payload);
            replies.insert(reply, i);
            if i % 512 == 511 {
                self.flush()?;
            }
        }
        self.flush()?;
        let deadline = Instant::now() + timeout;
        let mut duplicates = 0;
        while !replies.is_empty() {
            let Some(m) = self.next_msg(deadline)? else {
                return Err(self.io(format!(
                    "{} of {} messages were not acknowledged within {timeout:?}",
                    replies.len(),
                    messages.len()
                )));
            };
            let Some(i) = replies.remove(&m.subject) else {
                continue;
            };
            let subject = &messages[i].0;
            if m.status == Some(503) {
                return Err(self.refused(format!(
                    "no JetStream stream takes subject `{subject}` (no responders)"
                )));
            }
            let v: Value = serde_json::from_slice(&m.payload).unwrap_or(Value::Null);
            if let Some(e) = v.get("error") {
                return Err(self.refused(format!(
                    "publishing to `{subject}` was refused: {}",
                    e.get("description").and_then(Value::as_str).unwrap_or("?")
                )));
            }
            if v.get("duplicate").and_then(Value::as_bool) == Some(true) {
                duplicates += 1;
            }
        }
        Ok(duplicates)
    }
}

/// The stream sequence a consumer is acknowledged through, from its info. A consumer
/// created at a start sequence that has acknowledged nothing yet reports a floor of 0:
/// its floor is the sequence before its start.
pub fn ack_floor(info: &Value) -> u64 {
    let floor = &info["ack_floor"];
    if floor["consumer_seq"].as_u64().unwrap_or(0) > 0 {
        return floor["stream_seq"].as_u64().unwrap_or(0);
    }
    let start = info["config"]["opt_start_seq"].as_u64().unwrap_or(0);
    floor["stream_seq"]
        .as_u64()
        .unwrap_or(0)
        .max(start.saturating_sub(1))
}

fn has_code(e: &NatsError, code: u64) -> bool {
    matches!(e, NatsError::Refused { message, .. } if message.ends_with(&format!("JetStream error {code})")))
}

/// Reads the place of a delivered message from its reply subject:
/// `$JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<time>.<pending>`, or the newer
/// form with `<domain>.<account hash>.` after `$JS.ACK.` and a token at the end.
pub fn parse_delivery(m: &NatsMsg) -> Option<JsMessage> {
    let reply = m.reply.as_deref()?;
    let t: Vec<&str> = reply.split('.').collect();
    if t.len() < 9 || t[0] != "$JS" || t[1] != "ACK" {
        return None;
    }
    let o = if t.len() >= 11 { 4 } else { 2 };
    let n = |i: usize| t.get(o + i).and_then(|s| s.parse::<u64>().ok());
    Some(JsMessage {
        subject: m.subject.clone(),
        delivered: n(2)?,
        stream_seq: n(3)?,
        consumer_seq: n(4)?,
        ack_subject: reply.to_owned(),
        payload: m.payload.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(reply: &str) -> NatsMsg {
        NatsMsg {
            subject: "events.a".to_owned(),
            reply: Some(reply.to_owned()),
            payload: b"x".to_vec(),
            ..NatsMsg::default()
        }
    }

    #[test]
    fn delivery_places_in_both_ack_subject_forms() {
        let d = parse_delivery(&msg("$JS.ACK.events.sluice-in.2.17.9.1732612345.4")).unwrap();
        assert_eq!((d.delivered, d.stream_seq, d.consumer_seq), (2, 17, 9));
        let d = parse_delivery(&msg(
            "$JS.ACK.dom.ACCHASH.events.c.1.30.12.1732612345.0.tok",
        ))
        .unwrap();
        assert_eq!((d.delivered, d.stream_seq, d.consumer_seq), (1, 30, 12));
        assert!(parse_delivery(&msg("_INBOX.x.1")).is_none());
    }

    #[test]
    fn the_ack_floor_of_a_consumer_that_acknowledged_nothing_is_before_its_start() {
        let fresh = json!({"config": {"opt_start_seq": 501},
                           "ack_floor": {"consumer_seq": 0, "stream_seq": 0}});
        assert_eq!(ack_floor(&fresh), 500);
        let acked = json!({"config": {"opt_start_seq": 501},
                           "ack_floor": {"consumer_seq": 3, "stream_seq": 503}});
        assert_eq!(ack_floor(&acked), 503);
        let all = json!({"config": {}, "ack_floor": {"consumer_seq": 0, "stream_seq": 0}});
        assert_eq!(ack_floor(&all), 0);
    }

    #[test]
    fn error_codes_are_recognised() {
        let e = NatsError::Refused {
            addr: "a".to_owned(),
            message: "`$JS.API.STREAM.INFO.x`: stream not found (JetStream error 10059)".to_owned(),
        };
        assert!(has_code(&e, STREAM_NOT_FOUND));
        assert!(!has_code(&e, CONSUMER_NOT_FOUND));
    }
}

//! `event_time_window`: tumbling or sliding windows on a timestamp field of the records,
//! closed by a watermark (beyond DStreams, which only window by batch time).
//!
//! - A record's event time is the integer (milliseconds) in field `time_field` of the
//!   record (a map) or of its value (a pair `[key, map]`).
//! - The watermark is the largest event time seen in earlier batches minus
//!   `allowed_lateness_ms`; it only moves forward, and only when data arrives.
//! - A window `[start, end)` is emitted once, at the end of the first batch after which
//!   the watermark is `>= end`, windows in start order.
//! - A record all of whose windows were already emitted is late: it goes to the job's
//!   error policy with the reason. (A sliding-window record is added to those of its
//!   windows that are still open.)
//! - Output, one record per window, `{"start", "end", "records": [...]}` in arrival order;
//!   with a reduce function (pairs only), one record per window and key,
//!   `{"start", "end", "key", "value"}`.

use std::collections::BTreeMap;

use sluice_abi::msgpack::{self, Reader};

use super::functions::{Group, ReduceFn};
use super::keyed::{key_value, Groups, KeyOf};
use super::{OpContext, OpError, Operator, StreamValue};
use crate::record::codec;
use crate::record::{split_pair, Batch, Partition};

/// Settings of an event-time window.
#[derive(Debug, Clone)]
pub struct EventTimeConfig {
    /// The field holding the event time in milliseconds.
    pub time_field: String,
    /// Window length.
    pub size_ms: i64,
    /// Slide; `None` for tumbling windows (slide = size).
    pub slide_ms: Option<i64>,
    /// How far behind the largest event time the watermark stays.
    pub allowed_lateness_ms: i64,
    /// Reduce values per key and window (records must be pairs).
    pub reduce: Option<ReduceFn>,
}

/// Event-time windows with a watermark.
#[derive(Debug)]
pub struct EventTimeWindow {
    config: EventTimeConfig,
    max_event_time: Option<i64>,
    /// Open windows by start: the records in arrival order.
    open: BTreeMap<i64, Vec<Vec<u8>>>,
}

const TAG: &[u8; 4] = b"SEVT";

impl EventTimeWindow {
    /// The operator (sizes are validated by the job builder: positive).
    pub fn new(config: EventTimeConfig) -> Self {
        EventTimeWindow {
            config,
            max_event_time: None,
            open: BTreeMap::new(),
        }
    }

    fn slide(&self) -> i64 {
        self.config.slide_ms.unwrap_or(self.config.size_ms).max(1)
    }

    /// The current watermark.
    pub fn watermark(&self) -> Option<i64> {
        self.max_event_time
            .map(|m| m.saturating_sub(self.config.allowed_lateness_ms))
    }

    fn event_time(&self, record: &[u8]) -> Result<i64, String> {
        let map = match split_pair(record) {
            Ok((_, v)) => v,
            Err(_) => record,
        };
        let field = &self.config.time_field;
        let mut r = Reader::new(map);
        let n = r.map_len().map_err(|_| {
            format!("no event time: the record (or its value) is not a map with field `{field}`")
        })?;
        for _ in 0..n {
            let is_field = r.str().is_ok_and(|k| k == field.as_str());
            if is_field {
                return r.int().map_err(|_| {
                    format!("event time field `{field}` is not an integer (milliseconds)")
                });
            }
            r.skip_value().map_err(|e| e.to_string())?;
        }
        Err(format!("no event time: field `{field}` is missing"))
    }

    /// Starts of the windows containing `ts`, oldest first.
    fn windows_of(&self, ts: i64) -> impl Iterator<Item = i64> {
        let (size, slide) = (self.config.size_ms, self.slide());
        let last = ts.div_euclid(slide) * slide;
        let first = last - ((size - 1).max(0) / slide) * slide;
        (0..)
            .map(move |i| first + i * slide)
            .take_while(move |&s| s <= last)
            .filter(move |&s| ts < s + size)
    }

    fn emit_window(
        &self,
        cx: &OpContext<'_>,
        start: i64,
        records: &[Vec<u8>],
        out: &mut Partition,
    ) -> Result<(), OpError> {
        let end = start + self.config.size_ms;
        let header = |buf: &mut Vec<u8>, n: u32| {
            msgpack::write_map_len(buf, n);
            msgpack::write_str(buf, "start");
            msgpack::write_int(buf, start);
            msgpack::write_str(buf, "end");
            msgpack::write_int(buf, end);
        };
        let Some(reduce) = &self.config.reduce else {
            out.push_with(|buf| {
                header(buf, 3);
                msgpack::write_str(buf, "records");
                msgpack::write_array_len(buf, records.len() as u32);
                for r in records {
                    buf.extend_from_slice(r);
                }
            });
            return Ok(());
        };
        let mut g = Groups::default();
        for rec in records {
            if let Ok((k, v)) = key_value(rec, KeyOf::Pair) {
                g.push(k, v);
            }
        }
        let items: Vec<Group<'_>> = g.iter().collect();
        let values = reduce.reduce_groups(cx, 0, &items, true)?;
        for ((k, _), v) in items.iter().zip(values) {
            if let Some(v) = v {
                out.push_with(|buf| {
                    header(buf, 4);
                    msgpack::write_str(buf, "key");
                    buf.extend_from_slice(k);
                    msgpack::write_str(buf, "value");
                    buf.extend_from_slice(&v);
                });
            }
        }
        Ok(())
    }
}

impl Operator for EventTimeWindow {
    fn kind(&self) -> &'static str {
        "event_time_window"
    }

    fn on_batch(
        &mut self,
        inputs: &[StreamValue],
        cx: &OpContext<'_>,
    ) -> Result<StreamValue, OpError> {
        let input = inputs.first().cloned().unwrap_or_default();
        if !input.is_valid() {
            return Ok(StreamValue::NotValid);
        }
        let watermark = self.watermark();
        let mut max_seen = self.max_event_time;
        for rec in input.rdd().iter().flat_map(|b| b.records()) {
            let ts = match self.event_time(rec) {
                Ok(ts) => ts,
                Err(reason) => {
                    cx.reject(rec, reason)?;
                    continue;
                }
            };
            if self.config.reduce.is_some() && split_pair(rec).is_err() {
                cx.reject(
                    rec,
                    "a reducing event-time window needs pairs [key, value]".into(),
                )?;
                continue;
            }
            let size = self.config.size_ms;
            let starts: Vec<i64> = self
                .windows_of(ts)
                .filter(|s| watermark.is_none_or(|w| s + size > w))
                .collect();
            if starts.is_empty() {
                let w = watermark.unwrap_or_default();
                cx.reject(
                    rec,
                    format!("late record: event time {ts} ms is behind the watermark {w} ms and its windows were already emitted"),
                )?;
                continue;
            }
            for s in starts {
                self.open.entry(s).or_default().push(rec.to_vec());
            }
            max_seen = Some(max_seen.map_or(ts, |m| m.max(ts)));
        }
        self.max_event_time = max_seen;
        let mut out = Partition::new();
        if let Some(w) = self.watermark() {
            let size = self.config.size_ms;
            let closed: Vec<i64> = self
                .open
                .keys()
                .copied()
                .take_while(|s| s + size <= w)
                .collect();
            for s in closed {
                let records = self.open.remove(&s).unwrap_or_default();
                self.emit_window(cx, s, &records, &mut out)?;
            }
        }
        Ok(StreamValue::Rdd(Batch::new(vec![out])))
    }

    fn snapshot(&self) -> Option<Vec<u8>> {
        let mut w = codec::Writer::new(TAG);
        match self.max_event_time {
            Some(m) => {
                w.u64(1);
                w.i64(m);
            }
            None => w.u64(0),
        }
        w.u64(self.open.len() as u64);
        for (s, recs) in &self.open {
            w.i64(*s);
            w.u64(recs.len() as u64);
            for r in recs {
                w.bytes(r);
            }
        }
        Some(w.finish())
    }

    fn restore(&mut self, data: &[u8]) -> Result<(), String> {
        let mut r = codec::Reader::new(data, TAG, "event_time_window")?;
        let max = match r.u64()? {
            0 => None,
            _ => Some(r.i64()?),
        };
        let mut open = BTreeMap::new();
        for _ in 0..r.count()? {
            let s = r.i64()?;
            let mut recs = Vec::new();
            for _ in 0..r.count()? {
                recs.push(r.bytes()?.to_vec());
            }
            open.insert(s, recs);
        }
        r.finish()?;
        self.max_event_time = max;
        self.open = open;
        Ok(())
    }
}

#[cfg(test)]
#[path = "event_time_tests.rs"]
mod tests;

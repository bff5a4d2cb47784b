//! `window`: the union of the parent's batches in the last `window_ms`, every `slide_ms`;
//! and [`WindowSpec`], the validated window and slide shared by every window operator.
//!
//! Spark's timing: the output at a valid time `t` holds the parent's batches with times in
//! `(t - window, t]`, oldest first. Times at or before the zero time have no batch, so the
//! first windows are partial; after the input ends the windows keep sliding and drain.

use std::collections::VecDeque;
use std::sync::Arc;

use super::{OpContext, OpError, Operator, StreamValue};
use crate::record::codec;
use crate::record::Batch;
use crate::record::BatchTime;

/// Why a window or slide is refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WindowError {
    /// Not a positive multiple of the parent's slide (the batch interval, usually).
    #[error(
        "stream `{stream}`: {what} {value} ms must be a positive multiple of the parent's \
         slide ({parent_slide} ms, the batch interval unless the parent is windowed)"
    )]
    NotMultiple {
        stream: String,
        what: &'static str,
        value: i64,
        parent_slide: i64,
    },
}

/// A window length and slide, both positive multiples of the parent's slide.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowSpec {
    /// Window length in milliseconds.
    pub window_ms: i64,
    /// Slide in milliseconds.
    pub slide_ms: i64,
}

impl WindowSpec {
    /// Validates a window; `slide_ms` defaults to the parent's slide.
    ///
    /// # Errors
    /// [`WindowError::NotMultiple`] naming the stream and the values.
    pub fn new(
        stream: &str,
        window_ms: i64,
        slide_ms: Option<i64>,
        parent_slide_ms: i64,
    ) -> Result<Self, WindowError> {
        let slide_ms = slide_ms.unwrap_or(parent_slide_ms);
        for (what, value) in [("window", window_ms), ("slide", slide_ms)] {
            if value <= 0 || parent_slide_ms <= 0 || value % parent_slide_ms != 0 {
                return Err(WindowError::NotMultiple {
                    stream: stream.to_owned(),
                    what,
                    value,
                    parent_slide: parent_slide_ms,
                });
            }
        }
        Ok(WindowSpec {
            window_ms,
            slide_ms,
        })
    }

    /// Whether a batch at `batch_time` is inside the window ending at `t`.
    pub fn contains(&self, t: BatchTime, batch_time: BatchTime) -> bool {
        batch_time > t - self.window_ms && batch_time <= t
    }
}

/// Items kept by time for a window, oldest first.
#[derive(Debug, Clone)]
pub struct TimeBuffer<T> {
    items: VecDeque<(BatchTime, T)>,
}

impl<T> Default for TimeBuffer<T> {
    fn default() -> Self {
        TimeBuffer {
            items: VecDeque::new(),
        }
    }
}

impl<T> TimeBuffer<T> {
    /// Appends the item of a (later) time.
    pub fn push(&mut self, time: BatchTime, item: T) {
        self.items.push_back((time, item));
    }

    /// Drops items with times `<= upto`.
    pub fn drop_until(&mut self, upto: BatchTime) {
        while self.items.front().is_some_and(|(t, _)| *t <= upto) {
            self.items.pop_front();
        }
    }

    /// Items with times in `(after, upto]`, oldest first.
    pub fn range(
        &self,
        after: BatchTime,
        upto: BatchTime,
    ) -> impl Iterator<Item = &(BatchTime, T)> {
        self.items
            .iter()
            .filter(move |(t, _)| *t > after && *t <= upto)
    }

    /// Every item, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = &(BatchTime, T)> {
        self.items.iter()
    }

    /// The number of items.
    pub fn len(&self) -> usize {
        self.items.len()
    }
}

/// Buffers the parent's batches and emits their union at valid times.
#[derive(Debug)]
pub struct Window {
    spec: WindowSpec,
    buffer: TimeBuffer<Arc<Batch>>,
}

const TAG: &[u8; 4] = b"SWIN";

impl Window {
    /// A window operator.
    pub fn new(spec: WindowSpec) -> Self {
        Window {
            spec,
            buffer: TimeBuffer::default(),
        }
    }
}

impl Operator for Window {
    fn kind(&self) -> &'static str {
        "window"
    }

    fn on_batch(
        &mut self,
        inputs: &[StreamValue],
        cx: &OpContext<'_>,
    ) -> Result<StreamValue, OpError> {
        if let Some(b) = inputs.first().and_then(StreamValue::rdd) {
            self.buffer.push(cx.time, b.clone());
        }
        if !cx.is_valid_time(self.spec.slide_ms) {
            return Ok(StreamValue::NotValid);
        }
        let t = cx.time;
        let partitions = self
            .buffer
            .range(t - self.spec.window_ms, t)
            .flat_map(|(_, b)| b.partitions.iter().cloned())
            .collect();
        // The next window, at t + slide, starts after t + slide - window.
        self.buffer
            .drop_until(t + self.spec.slide_ms - self.spec.window_ms);
        Ok(StreamValue::Rdd(Batch::new(partitions)))
    }

    fn snapshot(&self) -> Option<Vec<u8>> {
        let mut w = codec::Writer::new(TAG);
        w.u64(self.buffer.len() as u64);
        for (t, b) in self.buffer.iter() {
            w.i64(*t);
            w.batch(b);
        }
        Some(w.finish())
    }

    fn restore(&mut self, data: &[u8]) -> Result<(), String> {
        let mut r = codec::Reader::new(data, TAG, "window")?;
        let mut buffer = TimeBuffer::default();
        for _ in 0..r.count()? {
            let t = r.i64()?;
            buffer.push(t, r.batch()?);
        }
        r.finish()?;
        self.buffer = buffer;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::*;
    use crate::ops::testutil::{drive, json, rdd, Harness};

    #[test]
    fn validates_multiples() {
        assert!(WindowSpec::new("w", 3000, Some(1000), 1000).is_ok());
        let e = WindowSpec::new("w", 1500, None, 1000).unwrap_err();
        assert_eq!(
            e.to_string(),
            "stream `w`: window 1500 ms must be a positive multiple of the parent's slide \
             (1000 ms, the batch interval unless the parent is windowed)"
        );
        assert!(WindowSpec::new("w", 2000, Some(0), 1000).is_err());
    }

    #[test]
    fn larger_window_partial_then_drains() {
        // WindowOperationsSuite "window - larger window": W=4s, S=2s.
        let mut op = Window::new(WindowSpec::new("w", 4000, Some(2000), 1000).unwrap());
        let inputs: Vec<Value> = (0..6).map(|i| json!([i])).collect();
        let out = drive(&mut op, &inputs, 8);
        let expect = vec![
            (2000, vec![json!(0), json!(1)]),
            (4000, vec![json!(0), json!(1), json!(2), json!(3)]),
            (6000, vec![json!(2), json!(3), json!(4), json!(5)]),
            (8000, vec![json!(4), json!(5)]),
        ];
        assert_eq!(out, expect);
    }

    #[test]
    fn non_overlapping_skips_gap_and_snapshot_restores() {
        let spec = WindowSpec::new("w", 2000, Some(3000), 1000).unwrap();
        let mut op = Window::new(spec);
        let inputs: Vec<Value> = (0..6).map(|i| json!([i])).collect();
        let out = drive(&mut op, &inputs, 6);
        assert_eq!(
            out,
            vec![
                (3000, vec![json!(1), json!(2)]),
                (6000, vec![json!(4), json!(5)])
            ]
        );

        let h = Harness::new(1000);
        let mut a = Window::new(spec);
        a.on_batch(&[rdd(json!([7]), 2)], &h.cx(1000)).unwrap();
        a.on_batch(&[rdd(json!([8, 9]), 2)], &h.cx(2000)).unwrap();
        let mut b = Window::new(spec);
        b.restore(&a.snapshot().unwrap()).unwrap();
        let out = b.on_batch(&[rdd(json!([]), 1)], &h.cx(3000)).unwrap();
        assert_eq!(json(&out).unwrap(), vec![json!(8), json!(9)]);
        assert!(b.restore(b"garbage").is_err());
    }
}

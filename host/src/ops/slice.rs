//! `slice`: remembers a stream's batches for a while so that the batches of a time range
//! can be queried (Spark's `DStream.slice(fromTime, toTime)`), through a [`SliceHandle`].

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use super::{OpContext, OpError, Operator, StreamValue};

use crate::record::Batch;
use crate::record::BatchTime;

/// Why a slice query is refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SliceError {
    /// An end of the range is not on the stream's slide.
    #[error("slice of `{stream}`: {which} time {time} ms is not a multiple of the slide ({slide} ms) after the zero time")]
    Unaligned {
        stream: String,
        which: &'static str,
        time: BatchTime,
        slide: i64,
    },
}

#[derive(Debug, Default)]
struct Remembered {
    zero_time: BatchTime,
    batches: BTreeMap<BatchTime, Arc<Batch>>,
}

/// Queries the batches remembered by a [`Slice`] operator; cheap to clone.
#[derive(Debug, Clone)]
pub struct SliceHandle {
    stream: String,
    slide_ms: i64,
    inner: Arc<Mutex<Remembered>>,
}

impl SliceHandle {
    /// The batches at valid times in `[from, to]` (both ends included, times at or before the
    /// zero time skipped), oldest first, as Spark's `slice`. Times whose batch is no longer
    /// remembered (or had no RDD) are missing from the result.
    ///
    /// # Errors
    /// [`SliceError::Unaligned`] when an end is not on the slide.
    pub fn slice(
        &self,
        from: BatchTime,
        to: BatchTime,
    ) -> Result<Vec<(BatchTime, Arc<Batch>)>, SliceError> {
        let r = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        for (which, time) in [("from", from), ("to", to)] {
            if (time - r.zero_time) % self.slide_ms != 0 {
                return Err(SliceError::Unaligned {
                    stream: self.stream.clone(),
                    which,
                    time,
                    slide: self.slide_ms,
                });
            }
        }
        let lo = from.max(r.zero_time + 1);
        if lo > to {
            return Ok(Vec::new());
        }
        Ok(r.batches
            .range(lo..=to)
            .map(|(t, b)| (*t, b.clone()))
            .collect())
    }
}

/// Passes its parent through and remembers its batches for `remember_ms`.
#[derive(Debug)]
pub struct Slice {
    remember_ms: i64,
    handle: SliceHandle,
}

impl Slice {
    /// Remembers the last `remember_ms` of a stream whose slide is `slide_ms`.
    pub fn new(stream: &str, slide_ms: i64, remember_ms: i64) -> Self {
        Slice {
            remember_ms,
            handle: SliceHandle {
                stream: stream.to_owned(),
                slide_ms: slide_ms.max(1),
                inner: Arc::default(),
            },
        }
    }

    /// A handle for queries.
    pub fn handle(&self) -> SliceHandle {
        self.handle.clone()
    }
}

impl Operator for Slice {
    fn kind(&self) -> &'static str {
        "slice"
    }

    fn on_batch(
        &mut self,
        inputs: &[StreamValue],
        cx: &OpContext<'_>,
    ) -> Result<StreamValue, OpError> {
        let v = inputs.first().cloned().unwrap_or_default();
        let mut r = self.handle.inner.lock().unwrap_or_else(|e| e.into_inner());
        r.zero_time = cx.zero_time;
        if let Some(b) = v.rdd() {
            r.batches.insert(cx.time, b.clone());
        }
        let keep_after = cx.time - self.remember_ms;
        r.batches.retain(|t, _| *t > keep_after);
        Ok(v)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::ops::testutil::{rdd, Harness};

    #[test]
    fn slices_like_spark() {
        let h = Harness::new(1000);
        let mut op = Slice::new("s", 1000, 60_000);
        for i in 1..=4 {
            op.on_batch(&[rdd(json!([i]), 2)], &h.cx(i * 1000)).unwrap();
        }
        let q = op.handle();
        let times = |from, to| -> Vec<i64> {
            q.slice(from, to)
                .unwrap()
                .into_iter()
                .map(|(t, _)| t)
                .collect()
        };
        assert_eq!(times(0, 1000), vec![1000]);
        assert_eq!(times(0, 2000), vec![1000, 2000]);
        assert_eq!(times(1000, 2000), vec![1000, 2000]);
        assert_eq!(times(2000, 4000), vec![2000, 3000, 4000]);
        assert!(q.slice(500, 2000).is_err());
    }
}

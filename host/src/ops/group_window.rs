//! `group_by_key_and_window`: pairs `[key, [values]]` over the window (Spark's
//! `groupByKey -> window -> combineByKey(concat)`); a key is present only while it has
//! values in the window, and its values are ordered oldest batch first.

use std::borrow::Cow;

use rayon::prelude::*;

use super::group_by_key::grouped_partition;
use super::keyed::{group_batch, Groups, KeyOf};
use super::window::{TimeBuffer, WindowSpec};
use super::{OpContext, OpError, Operator, StreamValue};
use crate::record::codec;
use crate::record::{write_pair, Batch, Partition};

/// Groups by key over a window.
#[derive(Debug)]
pub struct GroupByKeyAndWindow {
    spec: WindowSpec,
    partitions: Option<usize>,
    /// Per batch, per partition, the batch's pairs `[canonical key, value]`.
    buffer: TimeBuffer<Vec<Partition>>,
}

const TAG: &[u8; 4] = b"SGKW";

impl GroupByKeyAndWindow {
    /// The operator; `partitions` defaults to the job's.
    pub fn new(spec: WindowSpec, partitions: Option<usize>) -> Self {
        GroupByKeyAndWindow {
            spec,
            partitions,
            buffer: TimeBuffer::default(),
        }
    }
}

impl Operator for GroupByKeyAndWindow {
    fn kind(&self) -> &'static str {
        "group_by_key_and_window"
    }

    fn on_batch(
        &mut self,
        inputs: &[StreamValue],
        cx: &OpContext<'_>,
    ) -> Result<StreamValue, OpError> {
        let n = self.partitions.unwrap_or(cx.default_partitions).max(1);
        if let Some(b) = inputs.first().and_then(StreamValue::rdd) {
            let groups = group_batch(b, n, KeyOf::Pair, cx)?;
            let parts = groups
                .par_iter()
                .map(|g| {
                    let mut p = Partition::new();
                    for (k, vs) in g.iter() {
                        for v in vs {
                            p.push_with(|out| write_pair(out, k, v));
                        }
                    }
                    p
                })
                .collect();
            self.buffer.push(cx.time, parts);
        }
        if !cx.is_valid_time(self.spec.slide_ms) {
            return Ok(StreamValue::NotValid);
        }
        let t = cx.time;
        let window: Vec<&Vec<Partition>> = self
            .buffer
            .range(t - self.spec.window_ms, t)
            .map(|(_, parts)| parts)
            .collect();
        let out = (0..n)
            .into_par_iter()
            .map(|i| {
                let mut g = Groups::default();
                for parts in &window {
                    for rec in parts[i].iter() {
                        // Written by this operator as canonical pairs.
                        if let Ok((k, v)) = crate::record::split_pair(rec) {
                            g.push(Cow::Borrowed(k), v);
                        }
                    }
                }
                grouped_partition(&g)
            })
            .collect();
        self.buffer
            .drop_until(t + self.spec.slide_ms - self.spec.window_ms);
        Ok(StreamValue::Rdd(Batch::new(out)))
    }

    fn snapshot(&self) -> Option<Vec<u8>> {
        let mut w = codec::Writer::new(TAG);
        w.u64(self.buffer.len() as u64);
        for (t, parts) in self.buffer.iter() {
            w.i64(*t);
            w.batch(&Batch {
                partitions: parts.clone(),
            });
        }
        Some(w.finish())
    }

    fn restore(&mut self, data: &[u8]) -> Result<(), String> {
        let mut r = codec::Reader::new(data, TAG, "group_by_key_and_window")?;
        let mut buffer = TimeBuffer::default();
        for _ in 0..r.count()? {
            let t = r.i64()?;
            buffer.push(t, r.batch()?.partitions.clone());
        }
        r.finish()?;
        self.buffer = buffer;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::ops::testutil::{drive, expect};

    #[test]
    fn groups_over_the_window_oldest_first() {
        let spec = WindowSpec::new("w", 2000, None, 1000).unwrap();
        let mut op = GroupByKeyAndWindow::new(spec, Some(2));
        let input = vec![
            json!([["ca", 1], ["ca", 3], ["ny", 4], ["ny", 1]]),
            json!([["ca", 5], ["ca", 5], ["ny", 3], ["ny", 1]]),
        ];
        let want = json!([
            [["ca", [1, 3]], ["ny", [4, 1]]],
            [["ca", [1, 3, 5, 5]], ["ny", [4, 1, 3, 1]]],
            [["ca", [5, 5]], ["ny", [3, 1]]],
            []
        ]);
        assert_eq!(
            drive(&mut op, &input, 4),
            expect(&[1000, 2000, 3000, 4000], want)
        );
        let snap = op.snapshot().unwrap();
        let mut again = GroupByKeyAndWindow::new(spec, Some(2));
        again.restore(&snap).unwrap();
        assert_eq!(again.snapshot().unwrap(), snap);
    }
}

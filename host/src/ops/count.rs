//! `count` and `count_by_value`: records per batch, and occurrences of each distinct record.

use rayon::prelude::*;
use sluice_abi::msgpack;

use super::keyed::{group_batch, KeyOf};
use super::{OpContext, OpError, Operator, StreamValue};
use crate::record::{write_pair, Batch, Partition};

/// `count`: one record, the number of records; `[0]` for an empty batch (Spark unions a
/// zero count in first).
#[derive(Debug, Default)]
pub struct Count;

impl Operator for Count {
    fn kind(&self) -> &'static str {
        "count"
    }

    fn on_batch(
        &mut self,
        inputs: &[StreamValue],
        _cx: &OpContext<'_>,
    ) -> Result<StreamValue, OpError> {
        let input = inputs.first().cloned().unwrap_or_default();
        let StreamValue::Rdd(b) = input else {
            return Ok(input);
        };
        let mut p = Partition::new();
        p.push_with(|out| msgpack::write_int(out, b.len() as i64));
        Ok(StreamValue::Rdd(Batch::new(vec![p])))
    }
}

/// `count_by_value`: pairs `[record, count]`, hash-partitioned by record into
/// `partitions` partitions (the job's default when `None`).
#[derive(Debug, Default)]
pub struct CountByValue {
    /// Output partitions.
    pub partitions: Option<usize>,
}

impl Operator for CountByValue {
    fn kind(&self) -> &'static str {
        "count_by_value"
    }

    fn on_batch(
        &mut self,
        inputs: &[StreamValue],
        cx: &OpContext<'_>,
    ) -> Result<StreamValue, OpError> {
        let input = inputs.first().cloned().unwrap_or_default();
        let StreamValue::Rdd(b) = input else {
            return Ok(input);
        };
        let n = self.partitions.unwrap_or(cx.default_partitions);
        let groups = group_batch(&b, n, KeyOf::Record, cx)?;
        let parts = groups
            .par_iter()
            .map(|g| {
                let mut p = Partition::with_capacity(g.len(), g.len() * 8);
                let mut count = Vec::with_capacity(9);
                for (k, vs) in g.iter() {
                    count.clear();
                    msgpack::write_int(&mut count, vs.len() as i64);
                    p.push_with(|out| write_pair(out, k, &count));
                }
                p
            })
            .collect();
        Ok(StreamValue::Rdd(Batch::new(parts)))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::ops::testutil::{json, rdd, sort, sorted, Harness};

    #[test]
    fn count_of_empty_is_zero() {
        let h = Harness::new(1000);
        let out = Count.on_batch(&[rdd(json!([]), 2)], &h.cx(1000)).unwrap();
        assert_eq!(json(&out).unwrap(), vec![json!(0)]);
        let out = Count
            .on_batch(&[rdd(json!([1, 2, 3]), 2)], &h.cx(1000))
            .unwrap();
        assert_eq!(json(&out).unwrap(), vec![json!(3)]);
        assert!(matches!(
            Count.on_batch(&[StreamValue::NoRdd], &h.cx(1000)).unwrap(),
            StreamValue::NoRdd
        ));
    }

    #[test]
    fn counts_values() {
        let h = Harness::new(1000);
        let mut op = CountByValue {
            partitions: Some(3),
        };
        let out = op
            .on_batch(&[rdd(json!([1, 1, 2, 2, 1]), 2)], &h.cx(1000))
            .unwrap();
        assert_eq!(sorted(&out).unwrap(), sort(json!([[1, 3], [2, 2]])));
        assert_eq!(out.rdd().unwrap().partitions.len(), 3);
    }
}

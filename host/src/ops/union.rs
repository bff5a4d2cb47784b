//! `union`: the records of every parent, first parent's partitions first (Spark's
//! `UnionDStream`, whose output Spark's tests compare in order).

use super::{OpContext, OpError, Operator, StreamValue};
use crate::record::Batch;

/// Concatenates the parents' partitions in parent order.
#[derive(Debug, Default)]
pub struct Union;

impl Operator for Union {
    fn kind(&self) -> &'static str {
        "union"
    }

    /// Parents share one slide, so they are valid at the same times. A parent with no RDD
    /// contributes nothing (Spark fails the batch instead); when none has an RDD the union
    /// has none.
    fn on_batch(
        &mut self,
        inputs: &[StreamValue],
        _cx: &OpContext<'_>,
    ) -> Result<StreamValue, OpError> {
        if !inputs.iter().any(StreamValue::is_valid) {
            return Ok(StreamValue::NotValid);
        }
        let rdds: Vec<_> = inputs.iter().filter_map(StreamValue::rdd).collect();
        if rdds.is_empty() {
            return Ok(StreamValue::NoRdd);
        }
        if rdds.len() == 1 {
            return Ok(StreamValue::Rdd(rdds[0].clone()));
        }
        let partitions = rdds
            .iter()
            .flat_map(|b| b.partitions.iter().cloned())
            .collect();
        Ok(StreamValue::Rdd(Batch::new(partitions)))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::ops::testutil::{json, rdd, Harness};

    #[test]
    fn first_parent_first() {
        let h = Harness::new(1000);
        let out = Union
            .on_batch(
                &[
                    rdd(json!([1, 2, 3, 4]), 2),
                    StreamValue::NoRdd,
                    rdd(json!([5, 6]), 1),
                ],
                &h.cx(1000),
            )
            .unwrap();
        assert_eq!(
            json(&out).unwrap(),
            json!([1, 2, 3, 4, 5, 6]).as_array().unwrap().clone()
        );
        assert_eq!(out.rdd().unwrap().partitions.len(), 3);
        let none = Union
            .on_batch(&[StreamValue::NoRdd, StreamValue::NoRdd], &h.cx(1000))
            .unwrap();
        assert!(matches!(none, StreamValue::NoRdd));
        let not_valid = Union
            .on_batch(&[StreamValue::NotValid], &h.cx(1000))
            .unwrap();
        assert!(!not_valid.is_valid());
    }
}

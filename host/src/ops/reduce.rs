//! `reduce`: the whole batch reduced to one record; no record for an empty batch.

use super::functions::ReduceFn;
use super::keyed::{group_batch, KeyOf};
use super::{OpContext, OpError, Operator, StreamValue};
use crate::record::{Batch, Partition};

/// Spark's `reduce` (`map((null, _)).reduceByKey(f, 1).map(_._2)`): one partition with one
/// record, or no record when the batch is empty. A plugin sees one group `[nil, [values]]`.
#[derive(Debug)]
pub struct Reduce {
    /// The reduce function.
    pub f: ReduceFn,
}

impl Operator for Reduce {
    fn kind(&self) -> &'static str {
        "reduce"
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
        let groups = group_batch(&b, 1, KeyOf::Constant, cx)?;
        let mut p = Partition::new();
        let g = &groups[0];
        if !g.is_empty() {
            let items: Vec<_> = g.iter().collect();
            if let Some(v) = self.f.reduce_groups(cx, 0, &items, true)?.remove(0) {
                p.push(&v);
            }
        }
        Ok(StreamValue::Rdd(Batch::new(vec![p])))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::ops::builtin::Builtin;
    use crate::ops::testutil::{json, rdd, Harness};

    #[test]
    fn reduces_or_emits_nothing() {
        let h = Harness::new(1000);
        let mut op = Reduce {
            f: ReduceFn::Builtin(Builtin::Sum),
        };
        let out = op
            .on_batch(&[rdd(json!([1, 2, 3, 4]), 2)], &h.cx(1000))
            .unwrap();
        assert_eq!(json(&out).unwrap(), vec![json!(10)]);
        let out = op.on_batch(&[rdd(json!([]), 2)], &h.cx(2000)).unwrap();
        assert_eq!(json(&out).unwrap(), Vec::<serde_json::Value>::new());
    }

    #[test]
    fn rejects_under_the_policy() {
        let mut h = Harness::new(1000);
        let mut op = Reduce {
            f: ReduceFn::Builtin(Builtin::Sum),
        };
        let err = op
            .on_batch(&[rdd(json!([1, "x"]), 1)], &h.cx(1000))
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("expected a number, found a string"),
            "{err}"
        );
        h.policy = crate::ops::ErrorPolicy::Skip;
        let out = op
            .on_batch(&[rdd(json!([1, "x"]), 1)], &h.cx(1000))
            .unwrap();
        assert_eq!(json(&out).unwrap(), Vec::<serde_json::Value>::new());
        assert_eq!(h.rejected.lock().unwrap().len(), 1);
    }
}

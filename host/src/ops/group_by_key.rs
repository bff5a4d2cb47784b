//! `group_by_key`: pairs `[key, [values]]`, values in input order, hash-partitioned by key.

use rayon::prelude::*;
use sluice_abi::msgpack;

use super::keyed::{group_batch, Groups, KeyOf};
use super::{OpContext, OpError, Operator, StreamValue};
use crate::record::{Batch, Partition};

/// Groups a batch's pairs by key.
#[derive(Debug, Default)]
pub struct GroupByKey {
    /// Output partitions (the job's default when `None`).
    pub partitions: Option<usize>,
}

/// Encodes `[key, [v1, v2, ...]]` for every group of a partition.
pub fn grouped_partition(g: &Groups<'_>) -> Partition {
    let mut p = Partition::with_capacity(g.len(), g.len() * 16);
    for (k, vs) in g.iter() {
        p.push_with(|out| {
            msgpack::write_array_len(out, 2);
            out.extend_from_slice(k);
            msgpack::write_array_len(out, vs.len() as u32);
            for v in vs {
                out.extend_from_slice(v);
            }
        });
    }
    p
}

impl Operator for GroupByKey {
    fn kind(&self) -> &'static str {
        "group_by_key"
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
        let groups = group_batch(&b, n, KeyOf::Pair, cx)?;
        let parts = groups.par_iter().map(grouped_partition).collect();
        Ok(StreamValue::Rdd(Batch::new(parts)))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::ops::testutil::{rdd, sort, sorted, Harness};

    #[test]
    fn groups_in_input_order() {
        let h = Harness::new(1000);
        let mut op = GroupByKey::default();
        let input = rdd(json!([["a", 1], ["b", 2], ["a", 3], [["k"], 4]]), 2);
        let out = op.on_batch(&[input], &h.cx(1000)).unwrap();
        assert_eq!(
            sorted(&out).unwrap(),
            sort(json!([["a", [1, 3]], ["b", [2]], [["k"], [4]]]))
        );
        let err = op.on_batch(&[rdd(json!([1]), 1)], &h.cx(1000)).unwrap_err();
        assert!(err.to_string().contains("expected a pair"), "{err}");
    }
}

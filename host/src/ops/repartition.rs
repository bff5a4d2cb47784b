//! `repartition`: the same records spread round-robin over a given number of partitions.

use super::{OpContext, OpError, Operator, StreamValue};
use crate::record::{Batch, Partition};

/// Spark's `repartition(n)` (a shuffling coalesce): input partition `i` deals its records
/// round-robin over the `n` outputs, starting at output `i % n` (Spark starts at a
/// random output seeded by `i`), so that every output gets a fair share.
#[derive(Debug)]
pub struct Repartition {
    /// The number of output partitions (at least 1).
    pub partitions: usize,
}

impl Operator for Repartition {
    fn kind(&self) -> &'static str {
        "repartition"
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
        let n = self.partitions.max(1);
        let mut out: Vec<Partition> = (0..n).map(|_| Partition::new()).collect();
        for (i, p) in b.partitions.iter().enumerate() {
            for (j, rec) in p.iter().enumerate() {
                out[(i + j) % n].push(rec);
            }
        }
        Ok(StreamValue::Rdd(Batch::new(out)))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::ops::testutil::{rdd, sort, sorted, Harness};

    #[test]
    fn spreads_all_records() {
        let h = Harness::new(1000);
        let input: Vec<i64> = (1..=10).collect();
        for (from, to) in [(2, 4), (4, 2), (2, 5)] {
            let mut op = Repartition { partitions: to };
            let out = op
                .on_batch(&[rdd(json!(input), from)], &h.cx(1000))
                .unwrap();
            let b = out.rdd().unwrap();
            assert_eq!(b.partitions.len(), to);
            assert!(b.partitions.iter().all(|p| !p.is_empty()));
            assert_eq!(sorted(&out).unwrap(), sort(json!(input)));
        }
    }
}

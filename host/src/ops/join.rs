//! `join`, `left_outer_join`, `right_outer_join`, `full_outer_join` and `cogroup` of two
//! pair streams, per batch, after hash-partitioning both sides by key.

use std::sync::Arc;

use rayon::prelude::*;
use sluice_abi::msgpack;

use super::keyed::{group_batch, Groups, KeyOf};
use super::{OpContext, OpError, Operator, StreamValue};
use crate::record::{Batch, Partition};

/// Which combination of the two sides to emit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinKind {
    /// `[k, [v, w]]` for every matching pair.
    Inner,
    /// As inner, plus `[k, [v, nil]]` for left keys without a match.
    LeftOuter,
    /// As inner, plus `[k, [nil, w]]` for right keys without a match.
    RightOuter,
    /// Both outer sides.
    FullOuter,
    /// `[k, [[v...], [w...]]]` for every key on either side.
    Cogroup,
}

impl JoinKind {
    /// The operation's name in job files.
    pub fn name(self) -> &'static str {
        match self {
            JoinKind::Inner => "join",
            JoinKind::LeftOuter => "left_outer_join",
            JoinKind::RightOuter => "right_outer_join",
            JoinKind::FullOuter => "full_outer_join",
            JoinKind::Cogroup => "cogroup",
        }
    }
}

/// Joins its two parents (left first).
#[derive(Debug)]
pub struct Join {
    /// The kind of join.
    pub kind: JoinKind,
    /// Output partitions (the job's default when `None`).
    pub partitions: Option<usize>,
}

const NIL: &[u8] = &[0xc0];

fn pair_of(out: &mut Vec<u8>, k: &[u8], v: &[u8], w: &[u8]) {
    msgpack::write_array_len(out, 2);
    out.extend_from_slice(k);
    msgpack::write_array_len(out, 2);
    out.extend_from_slice(v);
    out.extend_from_slice(w);
}

fn list(out: &mut Vec<u8>, vs: &[&[u8]]) {
    msgpack::write_array_len(out, vs.len() as u32);
    for v in vs {
        out.extend_from_slice(v);
    }
}

impl Join {
    fn join_partition(&self, l: &Groups<'_>, r: &Groups<'_>) -> Partition {
        let mut p = Partition::new();
        let left_outer = matches!(self.kind, JoinKind::LeftOuter | JoinKind::FullOuter);
        let right_outer = matches!(self.kind, JoinKind::RightOuter | JoinKind::FullOuter);
        for (k, vs) in l.iter() {
            let ws = r.get(k).unwrap_or(&[]);
            if self.kind == JoinKind::Cogroup {
                p.push_with(|out| {
                    msgpack::write_array_len(out, 2);
                    out.extend_from_slice(k);
                    msgpack::write_array_len(out, 2);
                    list(out, vs);
                    list(out, ws);
                });
                continue;
            }
            for v in vs {
                for w in ws {
                    p.push_with(|out| pair_of(out, k, v, w));
                }
                if ws.is_empty() && left_outer {
                    p.push_with(|out| pair_of(out, k, v, NIL));
                }
            }
        }
        for (k, ws) in r.iter() {
            if l.get(k).is_some() {
                continue;
            }
            if self.kind == JoinKind::Cogroup {
                p.push_with(|out| {
                    msgpack::write_array_len(out, 2);
                    out.extend_from_slice(k);
                    msgpack::write_array_len(out, 2);
                    list(out, &[]);
                    list(out, ws);
                });
            } else if right_outer {
                for w in ws {
                    p.push_with(|out| pair_of(out, k, NIL, w));
                }
            }
        }
        p
    }
}

impl Operator for Join {
    fn kind(&self) -> &'static str {
        self.kind.name()
    }

    /// A side with no RDD joins as an empty batch (Spark fails the batch instead); with no
    /// RDD on either side there is no RDD.
    fn on_batch(
        &mut self,
        inputs: &[StreamValue],
        cx: &OpContext<'_>,
    ) -> Result<StreamValue, OpError> {
        let (left, right) = match inputs {
            [l, r] => (l, r),
            _ => return Err(cx.error(format!("{} needs exactly two parents", self.kind.name()))),
        };
        if !left.is_valid() && !right.is_valid() {
            return Ok(StreamValue::NotValid);
        }
        if left.rdd().is_none() && right.rdd().is_none() {
            return Ok(StreamValue::NoRdd);
        }
        let empty = Arc::new(Batch::default());
        let n = self.partitions.unwrap_or(cx.default_partitions).max(1);
        let lb = left.rdd().unwrap_or(&empty);
        let rb = right.rdd().unwrap_or(&empty);
        let lg = group_batch(lb, n, KeyOf::Pair, cx)?;
        let rg = group_batch(rb, n, KeyOf::Pair, cx)?;
        let parts = lg
            .par_iter()
            .zip(rg.par_iter())
            .map(|(l, r)| self.join_partition(l, r))
            .collect();
        Ok(StreamValue::Rdd(Batch::new(parts)))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::*;
    use crate::ops::testutil::{rdd, sort, sorted, Harness};

    fn run(kind: JoinKind, l: Value, r: Value) -> Vec<Value> {
        let h = Harness::new(1000);
        let mut op = Join {
            kind,
            partitions: None,
        };
        sorted(&op.on_batch(&[rdd(l, 2), rdd(r, 1)], &h.cx(1000)).unwrap()).unwrap()
    }

    #[test]
    fn joins_with_nil_for_missing_sides() {
        let l = json!([["a", 1], ["", 1], ["a", 2]]);
        let r = json!([["b", "x"], ["", "x"]]);
        assert_eq!(
            run(JoinKind::Inner, l.clone(), r.clone()),
            sort(json!([["", [1, "x"]]]))
        );
        assert_eq!(
            run(JoinKind::LeftOuter, l.clone(), r.clone()),
            sort(json!([["", [1, "x"]], ["a", [1, null]], ["a", [2, null]]]))
        );
        assert_eq!(
            run(JoinKind::RightOuter, l.clone(), r.clone()),
            sort(json!([["", [1, "x"]], ["b", [null, "x"]]]))
        );
        assert_eq!(
            run(JoinKind::FullOuter, l.clone(), r.clone()),
            sort(json!([
                ["", [1, "x"]],
                ["a", [1, null]],
                ["a", [2, null]],
                ["b", [null, "x"]]
            ]))
        );
        assert_eq!(
            run(JoinKind::Cogroup, l, r),
            sort(json!([
                ["", [[1], ["x"]]],
                ["a", [[1, 2], []]],
                ["b", [[], ["x"]]]
            ]))
        );
    }

    #[test]
    fn missing_rdd_joins_as_empty() {
        let h = Harness::new(1000);
        let mut op = Join {
            kind: JoinKind::LeftOuter,
            partitions: Some(1),
        };
        let out = op
            .on_batch(
                &[rdd(json!([["a", 1]]), 1), StreamValue::NoRdd],
                &h.cx(1000),
            )
            .unwrap();
        assert_eq!(sorted(&out).unwrap(), sort(json!([["a", [1, null]]])));
    }
}

//! `combine_by_key`: per-key combiners built with create / merge_value on each input
//! partition (Spark's map-side combine), then merged across partitions with
//! merge_combiners after the hash shuffle.

use std::borrow::Cow;

use rayon::prelude::*;
use sluice_abi::Shape;

use super::builtin::Builtin;
use super::functions::{call_aligned, Group, ReduceFn};
use super::keyed::{key_partition, key_value, Groups, KeyOf};
use super::{OpContext, OpError, Operator, PluginFn, StreamValue};
use crate::record::{write_pair, Batch, Partition};

/// The three functions of a combiner.
#[derive(Debug, Clone)]
pub enum Combiner {
    /// A built-in: create is the value itself (1 for `count`), both merges are the built-in.
    Builtin(Builtin),
    /// Plugin functions: `create` (shape transform, one combiner out per value in),
    /// `merge_value` (shape reduce, groups `[key, [c, v1, v2...]]`, a fold) and
    /// `merge_combiners` (shape reduce, groups `[key, [c1, c2, ...]]`).
    Plugin {
        create: PluginFn,
        merge_value: PluginFn,
        merge_combiners: PluginFn,
    },
}

/// Combines a batch's pairs by key into `partitions` partitions.
#[derive(Debug)]
pub struct CombineByKey {
    /// The combiner functions.
    pub combiner: Combiner,
    /// Output partitions (the job's default when `None`).
    pub partitions: Option<usize>,
}

type Combined = Vec<(Vec<u8>, Vec<u8>)>;

impl CombineByKey {
    /// Map side: the combiners of one input partition.
    fn combine_partition(
        &self,
        cx: &OpContext<'_>,
        index: u32,
        p: &Partition,
    ) -> Result<Combined, OpError> {
        let mut g = Groups::default();
        for rec in p.iter() {
            match key_value(rec, KeyOf::Pair) {
                Ok((k, v)) => g.push(k, v),
                Err(reason) => cx.reject(rec, reason)?,
            }
        }
        let groups: Vec<Group<'_>> = g.iter().collect();
        let combined = match &self.combiner {
            Combiner::Builtin(b) => {
                ReduceFn::Builtin(*b).reduce_groups(cx, index, &groups, true)?
            }
            Combiner::Plugin {
                create,
                merge_value,
                ..
            } => {
                let firsts: Partition = groups.iter().map(|(_, vs)| vs[0]).collect();
                if firsts.is_empty() {
                    return Ok(Vec::new());
                }
                let created = call_aligned(cx, create, Shape::Transform, index, &firsts)?;
                // Fold the remaining values into each created combiner.
                let mut folds: Vec<Vec<&[u8]>> = Vec::new();
                let mut fold_of = Vec::new();
                for (i, (_, vs)) in groups.iter().enumerate() {
                    if let (Some(c), true) = (created.get(i), vs.len() > 1) {
                        let mut list = Vec::with_capacity(vs.len());
                        list.push(c);
                        list.extend_from_slice(&vs[1..]);
                        folds.push(list);
                        fold_of.push(i);
                    }
                }
                let fold_groups: Vec<Group<'_>> = fold_of
                    .iter()
                    .zip(&folds)
                    .map(|(&i, list)| (groups[i].0, list.as_slice()))
                    .collect();
                let folded = ReduceFn::Plugin(merge_value.clone()).reduce_groups(
                    cx,
                    index,
                    &fold_groups,
                    true,
                )?;
                let mut out: Vec<Option<Vec<u8>>> = (0..groups.len())
                    .map(|i| {
                        (groups[i].1.len() == 1)
                            .then(|| created.get(i).map(<[u8]>::to_vec))
                            .flatten()
                    })
                    .collect();
                for (j, i) in fold_of.into_iter().enumerate() {
                    out[i] = folded[j].clone();
                }
                out
            }
        };
        Ok(groups
            .iter()
            .zip(combined)
            .filter_map(|((k, _), c)| c.map(|c| (k.to_vec(), c)))
            .collect())
    }
}

impl Operator for CombineByKey {
    fn kind(&self) -> &'static str {
        "combine_by_key"
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
        let n = self.partitions.unwrap_or(cx.default_partitions).max(1);
        let map_side: Vec<Combined> = b
            .partitions
            .par_iter()
            .enumerate()
            .map(|(i, p)| self.combine_partition(cx, i as u32, p))
            .collect::<Result<_, _>>()?;
        let mut shuffled: Vec<Groups<'_>> = (0..n).map(|_| Groups::default()).collect();
        for part in &map_side {
            for (k, c) in part {
                shuffled[key_partition(k, n)].push(Cow::Borrowed(k), c);
            }
        }
        let merge = match &self.combiner {
            Combiner::Builtin(b) => ReduceFn::Builtin(*b),
            Combiner::Plugin {
                merge_combiners, ..
            } => ReduceFn::Plugin(merge_combiners.clone()),
        };
        let parts = shuffled
            .par_iter()
            .enumerate()
            .map(|(i, g)| {
                let groups: Vec<Group<'_>> = g.iter().collect();
                let merged = merge.reduce_groups(cx, i as u32, &groups, false)?;
                let mut p = Partition::new();
                for ((k, _), c) in groups.iter().zip(merged) {
                    if let Some(c) = c {
                        p.push_with(|out| write_pair(out, k, &c));
                    }
                }
                Ok(p)
            })
            .collect::<Result<_, OpError>>()?;
        Ok(StreamValue::Rdd(Batch::new(parts)))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::ops::testutil::{rdd, sort, sorted, Harness};

    #[test]
    fn builtin_combiner_counts_across_partitions() {
        let h = Harness::new(1000);
        let mut op = CombineByKey {
            combiner: Combiner::Builtin(Builtin::Count),
            partitions: Some(2),
        };
        let input = rdd(json!([["a", 5], ["a", 5], ["b", 1], ["a", 7]]), 2);
        let out = op.on_batch(&[input], &h.cx(1000)).unwrap();
        assert_eq!(sorted(&out).unwrap(), sort(json!([["a", 3], ["b", 1]])));
    }
}

//! `reduce_by_key`: combines the values of each key, through a hash shuffle.
//!
//! With a built-in (`sum`, `count`, `min`, `max`) only keys and numbers are decoded: each
//! input partition is combined map-side into one `[key, acc]` per key, shuffled, and
//! merged. With a plugin function (reduce shape) values are grouped per key map-side,
//! shuffled, merged into one group per key, and the function is called once per output
//! partition with all its groups.

use std::borrow::Cow;

use rayon::prelude::*;
use sluice_abi::{msgpack, Shape};

use super::builtin::{Builtin, Num};
use super::hash::FastMap;
use super::key_table::KeyTable;
use super::narrow::NarrowChain;
use super::shuffle::{gather, output_partitions, pair_key, partition_of, scatter};
use super::{OpContext, OpError, Operator, PluginFn, StreamValue};
use crate::record::{short_str_int_pair, split_pair, write_pair, Batch, Partition};

/// A built-in reducer over numbers.
#[derive(Debug, Clone)]
pub enum Reducer {
    /// A built-in over numbers.
    Builtin(Builtin),
    /// A plugin function of the reduce shape.
    Plugin(PluginFn),
}

/// A number as a built-in reducer sees it.
#[derive(Debug)]
pub struct ReduceByKey {
    reducer: Reducer,
    partitions: Option<usize>,
    /// Narrow steps fused in front of the map side (Spark runs them in the same stage):
    /// each input partition goes through them and is combined at once, so the whole
    /// batch of pairs never exists.
    pre: Option<NarrowChain>,
}

impl ReduceByKey {
    /// A `reduce_by_key` with `partitions` output partitions (default: as many as the input).
    pub fn new(reducer: Reducer, partitions: Option<usize>) -> Self {
        ReduceByKey {
            reducer,
            partitions,
            pre: None,
        }
    }

    /// Runs `chain` on each input partition before the map side.
    pub fn fuse_after(&mut self, chain: NarrowChain) {
        self.pre = Some(chain);
    }

    /// The fused streams, if any.
    pub fn fused(&self) -> Vec<&str> {
        self.pre
            .as_ref()
            .map(NarrowChain::streams)
            .unwrap_or_default()
    }
}

/// Runs the fused narrow steps (if any) on input partition `i`.
fn prepared<'p>(
    pre: Option<&NarrowChain>,
    i: usize,
    p: &'p Partition,
    cx: &OpContext<'_>,
) -> Result<Cow<'p, Partition>, OpError> {
    match pre {
        Some(chain) => chain.run_partition(p, i as u32, cx).map(Cow::Owned),
        None => Ok(Cow::Borrowed(p)),
    }
}

impl Operator for ReduceByKey {
    fn kind(&self) -> &'static str {
        "reduce_by_key"
    }

    fn on_batch(
        &mut self,
        inputs: &[StreamValue],
        cx: &OpContext<'_>,
    ) -> Result<StreamValue, OpError> {
        let batch = match inputs.first() {
            Some(StreamValue::Rdd(b)) => b,
            Some(other) => return Ok(other.clone()),
            None => return Err(cx.error("reduce_by_key needs one input")),
        };
        let n = output_partitions(self.partitions, &[batch]);
        let out = match &self.reducer {
            Reducer::Builtin(how) => reduce_builtin(batch, n, *how, self.pre.as_ref(), cx)?,
            Reducer::Plugin(f) => reduce_plugin(batch, n, f, self.pre.as_ref(), cx)?,
        };
        Ok(StreamValue::Rdd(Batch::new(out)))
    }
}

/// Map side: one `[key, acc]` per key and input partition; reduce side: merged per key.
/// The built-ins' semantics are [`Builtin`]'s, as in every other operation.
fn reduce_builtin(
    batch: &Batch,
    n: usize,
    how: Builtin,
    pre: Option<&NarrowChain>,
    cx: &OpContext<'_>,
) -> Result<Vec<Partition>, OpError> {
    match how {
        Builtin::Sum | Builtin::Count => reduce_numbers(batch, n, how, pre, cx),
        Builtin::Min | Builtin::Max => reduce_ordered(batch, n, how, pre, cx),
    }
}

fn write_acc(out: &mut Partition, key: &[u8], acc: &Num) {
    out.push_with(|b| {
        b.push(0x92);
        b.extend_from_slice(key);
        acc.write(b);
    });
}

/// `sum` and `count`: numbers decoded once into a [`Num`] per key (the hot path).
fn reduce_numbers(
    batch: &Batch,
    n: usize,
    how: Builtin,
    pre: Option<&NarrowChain>,
    cx: &OpContext<'_>,
) -> Result<Vec<Partition>, OpError> {
    let inputs: Vec<&Partition> = batch.partitions.iter().collect();
    let add = |acc: &mut Num, v: Num| {
        *acc = acc.checked_add(v).map_err(|e| cx.error(e))?;
        Ok::<(), OpError>(())
    };
    let scattered = scatter(&inputs, n, |i, p, buckets| {
        let p = prepared(pre, i, p, cx)?;
        let mut accs: KeyTable<'_, Num> = KeyTable::new();
        for r in p.iter() {
            if let Some((k, v)) = short_str_int_pair(r) {
                let value = Num::Int(if how == Builtin::Count { 1 } else { v });
                accs.upsert(Cow::Borrowed(k), value, add)?;
                continue;
            }
            let Some((key, v)) = pair_key(r, cx)? else {
                continue;
            };
            let value = match how {
                Builtin::Count => Num::Int(1),
                _ => match Num::read(v) {
                    Ok(x) => x,
                    Err(e) => {
                        cx.reject(r, format!("reduce_by_key `{}`: {e}", how.name()))?;
                        continue;
                    }
                },
            };
            accs.upsert(key, value, add)?;
        }
        for (key, acc) in accs.iter() {
            write_acc(&mut buckets[partition_of(key, n)], key, acc);
        }
        Ok(())
    })?;
    gather(scattered, n)
        .into_par_iter()
        .map(|parts| {
            let mut accs: KeyTable<'_, Num> = KeyTable::new();
            for r in parts.iter().flat_map(Partition::iter) {
                let (k, v) = match short_str_int_pair(r) {
                    Some((k, v)) => (k, Num::Int(v)),
                    None => {
                        let (k, v) = split_pair(r).map_err(|e| cx.error(e.to_string()))?;
                        (k, Num::read(v).map_err(|e| cx.error(e))?)
                    }
                };
                accs.upsert(Cow::Borrowed(k), v, add)?;
            }
            let mut out = Partition::with_capacity(accs.len(), accs.len() * 16);
            for (k, acc) in accs.iter() {
                write_acc(&mut out, k, acc);
            }
            Ok(out)
        })
        .collect()
}

/// `min` and `max`: the smallest or largest value per key, numbers or strings, kept as
/// they are ([`Builtin::merge`]).
fn reduce_ordered(
    batch: &Batch,
    n: usize,
    how: Builtin,
    pre: Option<&NarrowChain>,
    cx: &OpContext<'_>,
) -> Result<Vec<Partition>, OpError> {
    let inputs: Vec<&Partition> = batch.partitions.iter().collect();
    let pick = |acc: &mut Vec<u8>, v: Vec<u8>| {
        *acc = how
            .merge([acc.as_slice(), v.as_slice()])
            .map_err(|e| cx.error(e))?;
        Ok::<(), OpError>(())
    };
    let scattered = scatter(&inputs, n, |i, p, buckets| {
        let p = prepared(pre, i, p, cx)?;
        let mut accs: KeyTable<'_, Vec<u8>> = KeyTable::new();
        for r in p.iter() {
            let Some((key, v)) = pair_key(r, cx)? else {
                continue;
            };
            if let Err(e) = how.merge([v]) {
                cx.reject(r, format!("reduce_by_key `{}`: {e}", how.name()))?;
                continue;
            }
            accs.upsert(key, v.to_vec(), pick)?;
        }
        for (key, acc) in accs.iter() {
            buckets[partition_of(key, n)].push_with(|b| write_pair(b, key, acc));
        }
        Ok(())
    })?;
    gather(scattered, n)
        .into_par_iter()
        .map(|parts| {
            let mut accs: KeyTable<'_, Vec<u8>> = KeyTable::new();
            for r in parts.iter().flat_map(Partition::iter) {
                let (k, v) = split_pair(r).map_err(|e| cx.error(e.to_string()))?;
                accs.upsert(Cow::Borrowed(k), v.to_vec(), pick)?;
            }
            let mut out = Partition::with_capacity(accs.len(), accs.len() * 16);
            for (k, acc) in accs.iter() {
                out.push_with(|b| write_pair(b, k, acc));
            }
            Ok(out)
        })
        .collect()
}

/// Groups `[key, [values]]` map-side, shuffles them, merges groups per key and calls the
/// reducer once per output partition.
fn reduce_plugin(
    batch: &Batch,
    n: usize,
    f: &PluginFn,
    pre: Option<&NarrowChain>,
    cx: &OpContext<'_>,
) -> Result<Vec<Partition>, OpError> {
    let inputs: Vec<&Partition> = batch.partitions.iter().collect();
    let scattered = scatter(&inputs, n, |i, p, buckets| {
        let p = prepared(pre, i, p, cx)?;
        let mut index: FastMap<Cow<'_, [u8]>, usize> = FastMap::default();
        let mut groups: Groups<'_> = Vec::new();
        for r in p.iter() {
            let Some((key, v)) = pair_key(r, cx)? else {
                continue;
            };
            if let Some(&i) = index.get(key.as_ref()) {
                groups[i].1.push(v);
            } else {
                index.insert(key.clone(), groups.len());
                groups.push((key, vec![v]));
            }
        }
        for (key, values) in groups {
            buckets[partition_of(&key, n)].push_with(|b| write_group(b, &key, &values));
        }
        Ok(())
    })?;
    gather(scattered, n)
        .into_par_iter()
        .enumerate()
        .map(|(j, parts)| reduce_side(j, &parts, f, cx))
        .collect()
}

/// The reduce side of one output partition: merges the groups of each key and calls the
/// plugin once with all of them.
fn reduce_side(
    j: usize,
    parts: &[Partition],
    f: &PluginFn,
    cx: &OpContext<'_>,
) -> Result<Partition, OpError> {
    let mut index: FastMap<&[u8], usize> = FastMap::default();
    let mut groups: Vec<(&[u8], Vec<&[u8]>)> = Vec::new();
    for r in parts.iter().flat_map(Partition::iter) {
        let (k, values) = split_pair(r).map_err(|e| cx.error(e.to_string()))?;
        let mut vr = msgpack::Reader::new(values);
        let count = vr.array_len().map_err(|e| cx.error(e.to_string()))?;
        let slot = match index.get(k) {
            Some(&i) => i,
            None => {
                index.insert(k, groups.len());
                groups.push((k, Vec::new()));
                groups.len() - 1
            }
        };
        for _ in 0..count {
            groups[slot]
                .1
                .push(vr.value().map_err(|e| cx.error(e.to_string()))?);
        }
    }
    if groups.is_empty() {
        return Ok(Partition::new());
    }
    let mut items = Partition::new();
    for (k, values) in &groups {
        items.push_with(|b| write_group(b, k, values));
    }
    let out = cx.call(
        f,
        Shape::Reduce,
        j as u32,
        items.len() as u32,
        items.bytes(),
    )?;
    let mut failed = vec![false; groups.len()];
    for e in &out.errors {
        let reason = format!(
            "plugin `{}` function `{}`: {}",
            f.plugin.name(),
            f.function,
            e.message
        );
        match e.index.and_then(|i| items.get(i as usize).map(|g| (i, g))) {
            Some((i, group)) => {
                failed[i as usize] = true;
                cx.reject(group, reason)?;
            }
            None => return Err(cx.error(reason)),
        }
    }
    let kept: Vec<&[u8]> = groups
        .iter()
        .zip(&failed)
        .filter(|(_, &x)| !x)
        .map(|(g, _)| g.0)
        .collect();
    if kept.len() != out.items.len() {
        return Err(cx.error(format!(
            "plugin `{}` function `{}` returned {} values for {} groups (a reduce function returns one value per group)",
            f.plugin.name(), f.function, out.items.len(), kept.len()
        )));
    }
    let mut result = Partition::with_capacity(kept.len(), out.items.bytes().len() * 2);
    for (k, v) in kept.into_iter().zip(out.items.iter()) {
        result.push_with(|b| write_pair(b, k, v));
    }
    Ok(result)
}

/// Groups of values by key, in first-seen order.
type Groups<'a> = Vec<(Cow<'a, [u8]>, Vec<&'a [u8]>)>;

fn write_group(b: &mut Vec<u8>, key: &[u8], values: &[&[u8]]) {
    b.push(0x92);
    b.extend_from_slice(key);
    msgpack::write_array_len(b, values.len() as u32);
    for v in values {
        b.extend_from_slice(v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_pairs_agree_with_the_general_parse() {
        let word = [0x92, 0xa2, b'h', b'i', 0x05];
        assert_eq!(short_str_int_pair(&word), Some((&word[1..4], 5)));
        let (k, v) = split_pair(&word).unwrap();
        assert_eq!((k, Num::read(v).unwrap()), (&word[1..4], Num::Int(5)));
        // Other shapes take the general path.
        assert_eq!(short_str_int_pair(&[0x92, 0xa1, b'a', 0xcc, 0x80]), None);
        assert_eq!(short_str_int_pair(&[0x92, 0xa1, b'a', 0xff]), None);
        assert_eq!(short_str_int_pair(&[0x92, 0xa2, b'a', 0x01]), None);
        assert_eq!(short_str_int_pair(&[0x92, 0x01, 0x01]), None);
        assert_eq!(short_str_int_pair(&[0x93, 0xa1, b'a', 0x01]), None);
    }
}

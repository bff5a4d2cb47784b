//! Keys of pair records: stable hashing, hash partitioning and grouping by canonical key.
//!
//! Every keyed operator (shuffles, joins, windows, state) sends a key to partition
//! `key_partition(canonical_key, n)`, a hash that never changes between runs or releases
//! (state checkpoints depend on it). Inside a partition, values are grouped by key in the
//! order the keys first appear, and each key's values keep their input order.

use std::borrow::Cow;

use rayon::prelude::*;

use super::builtin::{Builtin, Num};
use super::hash::FastMap;
use super::key_table::KeyTable;
use super::narrow::NarrowChain;
use super::{OpContext, OpError};
use crate::record::{canonical_key, short_str_int_pair, split_pair, Batch, Partition};

/// The partition (of `n`) that a canonical key belongs to: the shuffle's `partition_of`.
pub fn key_partition(key: &[u8], n: usize) -> usize {
    super::shuffle::partition_of(key, n.max(1))
}

/// The values of one partition grouped by key, keys in order of first appearance.
#[derive(Debug, Default)]
pub struct Groups<'a> {
    /// Canonical keys, in order of first appearance.
    pub keys: Vec<Cow<'a, [u8]>>,
    /// The values of `keys[i]`, in input order.
    pub values: Vec<Vec<&'a [u8]>>,
    index: FastMap<Cow<'a, [u8]>, usize>,
}

impl<'a> Groups<'a> {
    /// Adds a value under a canonical key.
    pub fn push(&mut self, key: Cow<'a, [u8]>, value: &'a [u8]) {
        match self.index.get(key.as_ref()) {
            Some(&i) => self.values[i].push(value),
            None => {
                self.index.insert(key.clone(), self.keys.len());
                self.keys.push(key);
                self.values.push(vec![value]);
            }
        }
    }

    /// The number of distinct keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether there are no keys.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The values of a key, if present.
    pub fn get(&self, key: &[u8]) -> Option<&[&'a [u8]]> {
        self.index.get(key).map(|&i| self.values[i].as_slice())
    }

    /// Iterates over `(key, values)`.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &[&'a [u8]])> + '_ {
        self.keys
            .iter()
            .map(|k| k.as_ref())
            .zip(self.values.iter().map(Vec::as_slice))
    }
}

/// How the records of a keyed operator's input become `(key, value)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyOf {
    /// Records are pairs `[key, value]`.
    Pair,
    /// The record is the key and the value (count_by_value).
    Record,
    /// One constant key (nil) and the record as value (reduce, reduce_by_window).
    Constant,
}

/// The encoding of the constant key used by [`KeyOf::Constant`].
pub const NIL_KEY: &[u8] = &[0xc0];

/// Extracts the canonical key and the value of one record.
///
/// # Errors
/// A sentence for the error policy when the record is not a pair or its key is malformed.
pub fn key_value(record: &[u8], how: KeyOf) -> Result<(Cow<'_, [u8]>, &[u8]), String> {
    match how {
        KeyOf::Pair => {
            let (k, v) = split_pair(record).map_err(|e| e.to_string())?;
            let k = canonical_key(k).map_err(|e| format!("malformed key: {e}"))?;
            Ok((k, v))
        }
        KeyOf::Record => {
            let k = canonical_key(record).map_err(|e| format!("malformed record: {e}"))?;
            Ok((k, record))
        }
        KeyOf::Constant => Ok((Cow::Borrowed(NIL_KEY), record)),
    }
}

/// Splits a batch's records into `n` hash partitions of grouped values. Records that are
/// not pairs (for [`KeyOf::Pair`]) go to the error policy.
///
/// Partitions are computed in parallel; values of a key keep the batch's record order.
///
/// # Errors
/// [`OpError::Record`] when the policy is `fail` and a record has no key.
pub fn group_batch<'a>(
    batch: &'a Batch,
    n: usize,
    how: KeyOf,
    cx: &OpContext<'_>,
) -> Result<Vec<Groups<'a>>, OpError> {
    let n = n.max(1);
    type Buckets<'a> = Vec<Vec<(Cow<'a, [u8]>, &'a [u8])>>;
    let buckets: Vec<Buckets<'a>> = batch
        .partitions
        .par_iter()
        .map(|p| {
            let mut out: Buckets<'a> = (0..n).map(|_| Vec::new()).collect();
            for rec in p.iter() {
                match key_value(rec, how) {
                    Ok((k, v)) => {
                        let i = if n == 1 { 0 } else { key_partition(&k, n) };
                        out[i].push((k, v));
                    }
                    Err(reason) => cx.reject(rec, reason)?,
                }
            }
            Ok(out)
        })
        .collect::<Result<_, OpError>>()?;
    let mut per_out: Vec<Buckets<'a>> = (0..n).map(|_| Vec::with_capacity(buckets.len())).collect();
    for b in buckets {
        for (i, part) in b.into_iter().enumerate() {
            per_out[i].push(part);
        }
    }
    Ok(per_out
        .into_par_iter()
        .map(|parts| {
            let mut g = Groups::default();
            for part in parts {
                for (k, v) in part {
                    g.push(k, v);
                }
            }
            g
        })
        .collect())
}

/// `(canonical key, encoded value)` per key of one partition, keys in first-appearance order.
pub type Combined = Vec<(Vec<u8>, Vec<u8>)>;

fn add_num(acc: &mut Num, n: Num) -> Result<(), String> {
    *acc = acc.checked_add(n)?;
    Ok(())
}

/// Sums one partition's values per key with a built-in `sum` or `count`.
fn sum_partition<'r>(
    p: &'r Partition,
    how: KeyOf,
    builtin: Builtin,
    cx: &OpContext<'_>,
) -> Result<KeyTable<'r, Num>, OpError> {
    let mut acc: KeyTable<'r, Num> = KeyTable::new();
    for rec in p.iter() {
        if how == KeyOf::Pair {
            if let Some((k, v)) = short_str_int_pair(rec) {
                let num = Num::Int(if builtin == Builtin::Count { 1 } else { v });
                if let Err(reason) = acc.upsert(Cow::Borrowed(k), num, add_num) {
                    cx.reject(rec, format!("built-in `{}`: {reason}", builtin.name()))?;
                }
                continue;
            }
        }
        let (k, v) = match key_value(rec, how) {
            Ok(kv) => kv,
            Err(reason) => {
                cx.reject(rec, reason)?;
                continue;
            }
        };
        let num = match builtin {
            Builtin::Count => Ok(Num::Int(1)),
            _ => Num::read(v),
        };
        if let Err(reason) = num.and_then(|num| acc.upsert(k, num, add_num)) {
            cx.reject(rec, format!("built-in `{}`: {reason}", builtin.name()))?;
        }
    }
    Ok(acc)
}

/// Map-side combine with a built-in `sum` or `count` (`None` for other built-ins): each
/// input partition sums its values per key in parallel (one [`KeyTable`], `[word, 1]`
/// pairs read on a fast path), its keys are then hashed once each to find their output
/// partition, and the partial sums meet there. Values that are not numbers go to the
/// error policy.
///
/// With `pre` (narrow steps fused in front, e.g. the `flat_map` that makes the pairs),
/// each input partition goes through them first and its output is summed and dropped at
/// once, so the batch of pairs never exists as a whole.
///
/// # Errors
/// [`OpError::Record`] under the `fail` policy, or the fused steps' errors.
pub fn combine_batch(
    batch: &Batch,
    n: usize,
    how: KeyOf,
    builtin: Builtin,
    pre: Option<&NarrowChain>,
    cx: &OpContext<'_>,
) -> Result<Option<Vec<Combined>>, OpError> {
    if !matches!(builtin, Builtin::Sum | Builtin::Count) {
        return Ok(None);
    }
    let n = n.max(1);
    // Each input partition's partial sums, encoded `[key, n]` per output partition: about
    // 16 bytes a key, where a decoded entry with its own key took about 70.
    let partials: Vec<Vec<Partition>> = batch
        .partitions
        .par_iter()
        .enumerate()
        .map(|(i, p)| {
            let pairs;
            let p = match pre {
                Some(chain) => {
                    pairs = chain.run_partition(p, i as u32, cx)?;
                    &pairs
                }
                None => p,
            };
            let acc = sum_partition(p, how, builtin, cx)?;
            let mut out: Vec<Partition> = (0..n).map(|_| Partition::new()).collect();
            for (k, num) in acc.iter() {
                let o = if n == 1 { 0 } else { key_partition(k, n) };
                out[o].push_with(|b| {
                    b.push(0x92);
                    b.extend_from_slice(k);
                    num.write(b);
                });
            }
            Ok(out)
        })
        .collect::<Result<_, OpError>>()?;
    let mut per_out: Vec<Vec<Partition>> =
        (0..n).map(|_| Vec::with_capacity(partials.len())).collect();
    for parts in partials {
        for (i, part) in parts.into_iter().enumerate() {
            per_out[i].push(part);
        }
    }
    let merged = per_out
        .into_par_iter()
        .map(|parts| {
            let mut total: KeyTable<'_, Num> = KeyTable::new();
            for r in parts.iter().flat_map(Partition::iter) {
                let (k, num) = match short_str_int_pair(r) {
                    Some((k, v)) => (k, Num::Int(v)),
                    None => {
                        let (k, v) = split_pair(r).map_err(|e| cx.error(e.to_string()))?;
                        (k, Num::read(v).map_err(|e| cx.error(e))?)
                    }
                };
                if let Err(reason) = total.upsert(Cow::Borrowed(k), num, add_num) {
                    let msg = format!("built-in `{}`: {reason}", builtin.name());
                    cx.reject(&[], msg)?;
                }
            }
            Ok(total
                .into_entries()
                .map(|(k, num)| (k.into_owned(), num.encode()))
                .collect())
        })
        .collect::<Result<_, OpError>>()?;
    Ok(Some(merged))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::hash::FastSet;

    #[test]
    fn hash_is_stable() {
        // Pinned: checkpoints depend on these values never changing.
        assert_eq!(
            crate::ops::shuffle::stable_hash(&[0xa1, b'a']),
            crate::ops::shuffle::stable_hash(&[0xa1, b'a'])
        );
        assert_eq!(key_partition(&[0xa1, b'a'], 1), 0);
        let spread: FastSet<usize> = (0..100u8).map(|i| key_partition(&[i], 8)).collect();
        assert_eq!(spread.len(), 8);
        assert_eq!(
            crate::ops::shuffle::stable_hash(&[0xa1, b'a']),
            16_380_874_717_980_495_009
        );
        assert_eq!(
            key_partition(&[0xa1, b'a'], 4),
            super::super::shuffle::partition_of(&[0xa1, b'a'], 4)
        );
    }

    #[test]
    fn combines_map_side_like_grouping() {
        use crate::ops::testutil::{batch, Harness};
        let h = Harness::new(1000);
        let b = batch(
            serde_json::json!([["a", 1], ["b", 2], ["a", 3], ["c", 1.5], ["b", 1]]),
            3,
        );
        let parts = combine_batch(&b, 2, KeyOf::Pair, Builtin::Sum, None, &h.cx(1000))
            .unwrap()
            .unwrap();
        let mut all: Vec<_> = parts.into_iter().flatten().collect();
        all.sort();
        let enc = |v: serde_json::Value| {
            let mut out = Vec::new();
            crate::record::json_to_msgpack(&v, &mut out);
            out
        };
        assert_eq!(
            all,
            vec![
                (enc("a".into()), enc(4.into())),
                (enc("b".into()), enc(3.into())),
                (enc("c".into()), enc(1.5.into())),
            ]
        );
        assert!(
            combine_batch(&b, 2, KeyOf::Pair, Builtin::Max, None, &h.cx(1000))
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn groups_keep_first_appearance_order() {
        let mut g = Groups::default();
        g.push(Cow::Borrowed(&[0x02][..]), &[0x0a]);
        g.push(Cow::Borrowed(&[0x01][..]), &[0x0b]);
        g.push(Cow::Owned(vec![0x02]), &[0x0c]);
        let all: Vec<_> = g.iter().collect();
        assert_eq!(all[0], (&[0x02][..], &[&[0x0a][..], &[0x0c][..]][..]));
        assert_eq!(all[1].0, &[0x01][..]);
        assert_eq!(g.get(&[0x01]).unwrap().len(), 1);
    }
}

//! User functions of keyed operators: reduce, inverse reduce and filter, each either a
//! [`Builtin`] computed by the host or a plugin function called once per partition.
//!
//! Plugin calls of shapes with one output per input are aligned here: per-item errors go to
//! the job's error policy (naming the plugin and function) and the item has no result.

use sluice_abi::{msgpack, Shape};

use super::builtin::Builtin;
use super::{OpContext, OpError, PluginFn};
use crate::record::Partition;
use crate::wasm::CallOutput;

/// A reduce function `(V, V) -> V` (or a fold `(C, V) -> C` for plugins).
#[derive(Debug, Clone)]
pub enum ReduceFn {
    /// Computed by the host.
    Builtin(Builtin),
    /// A plugin function of shape `reduce`.
    Plugin(PluginFn),
}

/// The inverse of a reduce function, for incremental windows.
#[derive(Debug, Clone)]
pub enum InverseFn {
    /// Subtraction (the inverse of `sum` and `count`).
    Builtin(Builtin),
    /// A plugin function of shape `inverse_reduce`.
    Plugin(PluginFn),
}

/// A filter over pairs `[key, value]` applied to windowed results.
#[derive(Debug, Clone)]
pub enum FilterFn {
    /// Keeps pairs whose value is not the number zero (count_by_value_and_window).
    NonZero,
    /// A plugin function of shape `transform`: it returns the pairs it keeps.
    Plugin(PluginFn),
}

/// Kept pairs `(canonical key, value)`.
pub type Pairs = Vec<(Vec<u8>, Vec<u8>)>;

/// One group to reduce: a canonical key and its values (at least one).
pub type Group<'g> = (&'g [u8], &'g [&'g [u8]]);

/// The output of a plugin call with one output per input, after the error policy.
#[derive(Debug)]
pub struct Aligned {
    out: CallOutput,
    slots: Option<Vec<Option<u32>>>,
}

impl Aligned {
    /// The output for input item `i`, or `None` if the item was rejected.
    pub fn get(&self, i: usize) -> Option<&[u8]> {
        match &self.slots {
            None => self.out.items.get(i),
            Some(s) => s
                .get(i)
                .copied()
                .flatten()
                .and_then(|j| self.out.items.get(j as usize)),
        }
    }
}

/// Calls a function with one output per input item and aligns the outputs.
///
/// # Errors
/// [`OpError::Call`] when the call fails, [`OpError::Record`] when an item is rejected under
/// the `fail` policy, [`OpError::Other`] when the output count does not match.
pub fn call_aligned(
    cx: &OpContext<'_>,
    f: &PluginFn,
    shape: Shape,
    partition: u32,
    items: &Partition,
) -> Result<Aligned, OpError> {
    let out = cx.call(f, shape, partition, items.len() as u32, items.bytes())?;
    let n = items.len();
    if out.errors.is_empty() && out.items.len() == n {
        return Ok(Aligned { out, slots: None });
    }
    let mut failed = vec![false; n];
    for e in &out.errors {
        let Some(i) = e.index.filter(|&i| (i as usize) < n) else {
            return Err(cx.error(format!(
                "`{}` reported an error for no valid item: {}",
                f.display(),
                e.message
            )));
        };
        failed[i as usize] = true;
        let item = items.get(i as usize).unwrap_or_default();
        cx.reject(item, format!("{}: {}", f.display(), e.message))?;
    }
    let n_failed = failed.iter().filter(|&&x| x).count();
    let slots: Vec<Option<u32>> = if out.items.len() == n {
        (0..n).map(|i| (!failed[i]).then_some(i as u32)).collect()
    } else if out.items.len() == n - n_failed {
        let mut next = 0u32;
        failed
            .iter()
            .map(|&bad| {
                (!bad).then(|| {
                    next += 1;
                    next - 1
                })
            })
            .collect()
    } else {
        return Err(cx.error(format!(
            "`{}` ({} shape) returned {} items for {} inputs",
            f.display(),
            shape.name(),
            out.items.len(),
            n
        )));
    };
    Ok(Aligned {
        out,
        slots: Some(slots),
    })
}

fn encode_group(out: &mut Vec<u8>, key: &[u8], values: &[&[u8]]) {
    msgpack::write_array_len(out, 2);
    out.extend_from_slice(key);
    msgpack::write_array_len(out, values.len() as u32);
    for v in values {
        out.extend_from_slice(v);
    }
}

impl ReduceFn {
    /// Reduces each group. `raw` says the values are input records (a built-in `count`
    /// counts them) rather than partial results. A group with one value is its own result
    /// (for partial results; and for plugins, as Spark never calls `f` on one value).
    ///
    /// # Errors
    /// As [`call_aligned`]; a rejected group has the result `None`.
    pub fn reduce_groups(
        &self,
        cx: &OpContext<'_>,
        partition: u32,
        groups: &[Group<'_>],
        raw: bool,
    ) -> Result<Vec<Option<Vec<u8>>>, OpError> {
        match self {
            ReduceFn::Builtin(b) => groups
                .iter()
                .map(|&(k, vs)| {
                    let r = if raw {
                        b.reduce_raw(vs.iter().copied())
                    } else {
                        b.merge(vs.iter().copied())
                    };
                    match r {
                        Ok(v) => Ok(Some(v)),
                        Err(reason) => {
                            let mut item = Vec::new();
                            encode_group(&mut item, k, vs);
                            cx.reject(&item, format!("built-in `{}`: {reason}", b.name()))?;
                            Ok(None)
                        }
                    }
                })
                .collect(),
            ReduceFn::Plugin(f) => {
                let mut items = Partition::new();
                let mut which = Vec::new();
                for (i, &(k, vs)) in groups.iter().enumerate() {
                    if vs.len() > 1 {
                        items.push_with(|b| encode_group(b, k, vs));
                        which.push(i);
                    }
                }
                let mut out: Vec<Option<Vec<u8>>> = groups
                    .iter()
                    .map(|&(_, vs)| (vs.len() == 1).then(|| vs[0].to_vec()))
                    .collect();
                if !items.is_empty() {
                    let aligned = call_aligned(cx, f, Shape::Reduce, partition, &items)?;
                    for (j, &i) in which.iter().enumerate() {
                        out[i] = aligned.get(j).map(<[u8]>::to_vec);
                    }
                }
                Ok(out)
            }
        }
    }

    /// The built-in, if this is one.
    pub fn builtin(&self) -> Option<Builtin> {
        match self {
            ReduceFn::Builtin(b) => Some(*b),
            ReduceFn::Plugin(_) => None,
        }
    }
}

impl InverseFn {
    /// Computes `inv(acc, removed)` for each `(key, acc, removed)`.
    ///
    /// # Errors
    /// As [`call_aligned`]; a rejected item has the result `None`.
    pub fn apply(
        &self,
        cx: &OpContext<'_>,
        partition: u32,
        items: &[(&[u8], &[u8], &[u8])],
    ) -> Result<Vec<Option<Vec<u8>>>, OpError> {
        let encode = |out: &mut Vec<u8>, &(k, acc, rem): &(&[u8], &[u8], &[u8])| {
            msgpack::write_array_len(out, 3);
            out.extend_from_slice(k);
            out.extend_from_slice(acc);
            out.extend_from_slice(rem);
        };
        match self {
            InverseFn::Builtin(b) => items
                .iter()
                .map(|it| match b.inverse(it.1, it.2) {
                    Ok(v) => Ok(Some(v)),
                    Err(reason) => {
                        let mut rec = Vec::new();
                        encode(&mut rec, it);
                        cx.reject(
                            &rec,
                            format!("built-in inverse of `{}`: {reason}", b.name()),
                        )?;
                        Ok(None)
                    }
                })
                .collect(),
            InverseFn::Plugin(f) => {
                if items.is_empty() {
                    return Ok(Vec::new());
                }
                let mut part = Partition::with_capacity(items.len(), items.len() * 16);
                for it in items {
                    part.push_with(|b| encode(b, it));
                }
                let aligned = call_aligned(cx, f, Shape::InverseReduce, partition, &part)?;
                Ok((0..items.len())
                    .map(|i| aligned.get(i).map(<[u8]>::to_vec))
                    .collect())
            }
        }
    }
}

impl FilterFn {
    /// Filters pairs; returns the kept pairs as `(canonical key, value)`.
    ///
    /// # Errors
    /// [`OpError::Call`] when the plugin call fails; a returned record that is not a pair
    /// goes to the error policy.
    pub fn apply(
        &self,
        cx: &OpContext<'_>,
        partition: u32,
        pairs: &[(&[u8], &[u8])],
    ) -> Result<Pairs, OpError> {
        match self {
            FilterFn::NonZero => Ok(pairs
                .iter()
                .filter(|(_, v)| !super::builtin::Num::read(v).is_ok_and(|n| n.is_zero()))
                .map(|(k, v)| (k.to_vec(), v.to_vec()))
                .collect()),
            FilterFn::Plugin(f) => {
                if pairs.is_empty() {
                    return Ok(Vec::new());
                }
                let mut part = Partition::new();
                for (k, v) in pairs {
                    part.push_with(|b| crate::record::write_pair(b, k, v));
                }
                let out = cx.call(
                    f,
                    Shape::Transform,
                    partition,
                    part.len() as u32,
                    part.bytes(),
                )?;
                for e in &out.errors {
                    let item = e
                        .index
                        .and_then(|i| part.get(i as usize))
                        .unwrap_or_default();
                    cx.reject(item, format!("{}: {}", f.display(), e.message))?;
                }
                let mut kept = Vec::with_capacity(out.items.len());
                for rec in out.items.iter() {
                    match super::keyed::key_value(rec, super::keyed::KeyOf::Pair) {
                        Ok((k, v)) => kept.push((k.into_owned(), v.to_vec())),
                        Err(reason) => cx.reject(rec, format!("{}: {reason}", f.display()))?,
                    }
                }
                Ok(kept)
            }
        }
    }
}

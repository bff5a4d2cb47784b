//! State functions of `update_state_by_key` and `map_with_state`: a plugin function of
//! shape `update_state`, called once per state partition with all its entries, or a
//! built-in running aggregate.
//!
//! An entry is `[key, [values], state_opt, timing_out]` (`state_opt` is `[]` or `[s]`);
//! the result per entry is `[state_opt, [emitted records]]`, where `[]` removes the key.

use sluice_abi::msgpack::{self, Reader};
use sluice_abi::Shape;

use super::builtin::Builtin;
use super::functions::call_aligned;
use super::{OpContext, OpError, PluginFn};
use crate::record::{write_pair, Partition};

/// A state update function.
#[derive(Debug, Clone)]
pub enum UpdateFn {
    /// `state + reduce(values)` (the state is kept when there are no values); emits
    /// `[key, state]` for each entry with values.
    Builtin(Builtin),
    /// A plugin function of shape `update_state`.
    Plugin(PluginFn),
}

/// One entry given to the function.
#[derive(Debug, Clone, Copy)]
pub struct Entry<'a> {
    /// The canonical key.
    pub key: &'a [u8],
    /// The key's new values, in order (empty when none).
    pub values: &'a [&'a [u8]],
    /// The current state.
    pub state: Option<&'a [u8]>,
    /// Whether the key is timing out (map_with_state).
    pub timing_out: bool,
}

/// What the function returned for one entry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    /// The new state; `None` removes the key.
    pub state: Option<Vec<u8>>,
    /// Records to emit.
    pub emitted: Vec<Vec<u8>>,
}

fn encode_entry(out: &mut Vec<u8>, e: &Entry<'_>) {
    msgpack::write_array_len(out, 4);
    out.extend_from_slice(e.key);
    msgpack::write_array_len(out, e.values.len() as u32);
    for v in e.values {
        out.extend_from_slice(v);
    }
    match e.state {
        Some(s) => {
            msgpack::write_array_len(out, 1);
            out.extend_from_slice(s);
        }
        None => msgpack::write_array_len(out, 0),
    }
    msgpack::write_bool(out, e.timing_out);
}

fn decode_outcome(item: &[u8]) -> Result<Outcome, String> {
    let bad = |what: &str| format!("an update_state result must be [state_opt, [records]]: {what}");
    let mut r = Reader::new(item);
    if r.array_len().map_err(|e| bad(&e.to_string()))? < 2 {
        return Err(bad("fewer than 2 elements"));
    }
    let state = match r.array_len().map_err(|e| bad(&e.to_string()))? {
        0 => None,
        1 => Some(r.value().map_err(|e| bad(&e.to_string()))?.to_vec()),
        n => return Err(bad(&format!("state_opt has {n} elements"))),
    };
    let n = r.array_len().map_err(|e| bad(&e.to_string()))?;
    let mut emitted = Vec::with_capacity(n as usize);
    for _ in 0..n {
        emitted.push(r.value().map_err(|e| bad(&e.to_string()))?.to_vec());
    }
    Ok(Outcome { state, emitted })
}

impl UpdateFn {
    /// Applies the function to every entry of one partition (one plugin call).
    /// A rejected entry has the result `None` (its state is left unchanged).
    ///
    /// # Errors
    /// As [`call_aligned`].
    pub fn apply(
        &self,
        cx: &OpContext<'_>,
        partition: u32,
        entries: &[Entry<'_>],
    ) -> Result<Vec<Option<Outcome>>, OpError> {
        match self {
            UpdateFn::Builtin(b) => entries
                .iter()
                .map(|e| match b.update(e.state, e.values) {
                    Ok(state) => {
                        let mut emitted = Vec::new();
                        if let (Some(s), false) = (&state, e.values.is_empty()) {
                            let mut rec = Vec::with_capacity(e.key.len() + s.len() + 1);
                            write_pair(&mut rec, e.key, s);
                            emitted.push(rec);
                        }
                        Ok(Some(Outcome { state, emitted }))
                    }
                    Err(reason) => {
                        let mut item = Vec::new();
                        encode_entry(&mut item, e);
                        cx.reject(&item, format!("built-in `{}`: {reason}", b.name()))?;
                        Ok(None)
                    }
                })
                .collect(),
            UpdateFn::Plugin(f) => {
                if entries.is_empty() {
                    return Ok(Vec::new());
                }
                let mut items = Partition::with_capacity(entries.len(), entries.len() * 24);
                for e in entries {
                    items.push_with(|out| encode_entry(out, e));
                }
                let aligned = call_aligned(cx, f, Shape::UpdateState, partition, &items)?;
                let mut out = Vec::with_capacity(entries.len());
                for i in 0..entries.len() {
                    let Some(item) = aligned.get(i) else {
                        out.push(None);
                        continue;
                    };
                    match decode_outcome(item) {
                        Ok(o) => out.push(Some(o)),
                        Err(reason) => {
                            cx.reject(
                                items.get(i).unwrap_or_default(),
                                format!("{}: {reason}", f.display()),
                            )?;
                            out.push(None);
                        }
                    }
                }
                Ok(out)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_outcomes() {
        assert_eq!(
            decode_outcome(&[0x92, 0x91, 0x05, 0x92, 0x01, 0x02]).unwrap(),
            Outcome {
                state: Some(vec![5]),
                emitted: vec![vec![1], vec![2]]
            }
        );
        assert_eq!(
            decode_outcome(&[0x92, 0x90, 0x90]).unwrap(),
            Outcome::default()
        );
        assert!(decode_outcome(&[0x92, 0x92, 0x01, 0x02, 0x90]).is_err());
        assert!(decode_outcome(&[0x05]).is_err());
    }
}

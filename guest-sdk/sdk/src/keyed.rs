//! Runtimes of the reduce and inverse_reduce shapes: one output value per input group.
//!
//! An item that fails (a value that does not decode, or an `Err` from the function) gets
//! a per-item error and the placeholder output `nil`, so outputs stay aligned with inputs.

use serde::de::DeserializeOwned;
use serde::Serialize;
use sluice_abi::msgpack::Reader;

use crate::codec::decode;
use crate::input::{for_each_item, run};
use crate::output::Output;

/// Reads the head of an array item and checks it has at least `min` elements.
pub(crate) fn open_array<'a>(
    item: &'a [u8],
    min: u32,
    what: &str,
) -> Result<(Reader<'a>, u32), String> {
    let mut r = Reader::new(item);
    let n = r.array_len().map_err(|e| format!("expected {what}: {e}"))?;
    if n < min {
        return Err(format!("expected {what}, found an array of {n}"));
    }
    Ok((r, n))
}

pub(crate) fn next_value<'a>(r: &mut Reader<'a>) -> Result<&'a [u8], String> {
    r.value().map_err(|e| e.to_string())
}

/// Pushes `result`'s value, or nil and an error for item `index`.
pub(crate) fn push_one<T: Serialize>(out: &mut Output, index: u32, result: Result<T, String>) {
    if let Err(e) = result.and_then(|v| out.push(&v)) {
        out.push_nil();
        out.error(index, e);
    }
}

/// `fold` (and `reduce`, where `C = V`): for each group `[key, [v1, ..., vn]]` the output is
/// `f(...f(f(v1, v2), v3)..., vn)`, with `v1` decoded as the accumulator `C`.
pub fn fold<C, V, F>(input: &[u8], mut f: F) -> Vec<u8>
where
    C: DeserializeOwned + Serialize,
    V: DeserializeOwned,
    F: FnMut(C, V) -> Result<C, String>,
{
    run(input, |view, out| {
        for_each_item(view, out, |i, item, out| {
            let result = (|| {
                let (mut r, _) = open_array(item, 2, "a group [key, [values]]")?;
                r.skip_value().map_err(|e| e.to_string())?;
                let n = r
                    .array_len()
                    .map_err(|e| format!("expected the group's values: {e}"))?;
                if n == 0 {
                    return Err("a group has no values".to_string());
                }
                let mut acc: C =
                    decode(next_value(&mut r)?).map_err(|e| format!("value 0: {e}"))?;
                for k in 1..n {
                    let v: V =
                        decode(next_value(&mut r)?).map_err(|e| format!("value {k}: {e}"))?;
                    acc = f(acc, v)?;
                }
                Ok(acc)
            })();
            push_one(out, i, result);
        })
    })
}

/// `inverse_reduce`: for each item `[key, acc, removed]` the output is `f(acc, removed)`.
pub fn inverse<A, R, F>(input: &[u8], mut f: F) -> Vec<u8>
where
    A: DeserializeOwned + Serialize,
    R: DeserializeOwned,
    F: FnMut(A, R) -> Result<A, String>,
{
    run(input, |view, out| {
        for_each_item(view, out, |i, item, out| {
            let result = (|| {
                let (mut r, _) = open_array(item, 3, "an item [key, acc, removed]")?;
                r.skip_value().map_err(|e| e.to_string())?;
                let acc: A = decode(next_value(&mut r)?).map_err(|e| format!("acc: {e}"))?;
                let removed: R =
                    decode(next_value(&mut r)?).map_err(|e| format!("removed: {e}"))?;
                f(acc, removed)
            })();
            push_one(out, i, result);
        })
    })
}

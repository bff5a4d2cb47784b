//! Runtimes of the transform shape: records in, any number of records out.
//!
//! Each function takes the input document and a closure over decoded records, and returns
//! the output document. The export macros wrap user functions into these closures.

use serde::de::DeserializeOwned;
use serde::Serialize;
use sluice_abi::msgpack::{self, marker_name, Reader};

use crate::codec::{decode, encode};
use crate::input::{for_each_item, run_transform as run};
use crate::output::Output;

/// `map`: one record out per record in.
pub fn map<I, O, F>(input: &[u8], mut f: F) -> Vec<u8>
where
    I: DeserializeOwned,
    O: Serialize,
    F: FnMut(I) -> Result<O, String>,
{
    run(input, |view, out| {
        for_each_item(view, out, |i, item, out| {
            match decode(item).and_then(&mut f).and_then(|o| out.push(&o)) {
                Ok(()) => {}
                Err(e) => out.error(i, e),
            }
        })
    })
}

/// `filter`: the records for which `f` is true, unchanged (their bytes are copied).
pub fn filter<I, F>(input: &[u8], mut f: F) -> Vec<u8>
where
    I: DeserializeOwned,
    F: FnMut(&I) -> Result<bool, String>,
{
    run(input, |view, out| {
        for_each_item(view, out, |i, item, out| {
            match decode(item).and_then(|x| f(&x)) {
                Ok(true) => out.push_encoded(item),
                Ok(false) => {}
                Err(e) => out.error(i, e),
            }
        })
    })
}

/// `flat_map`: any number of records out per record in.
pub fn flat_map<I, O, It, F>(input: &[u8], mut f: F) -> Vec<u8>
where
    I: DeserializeOwned,
    O: Serialize,
    It: IntoIterator<Item = O>,
    F: FnMut(I) -> Result<It, String>,
{
    run(input, |view, out| {
        for_each_item(view, out, |i, item, out| {
            match decode(item).and_then(&mut f) {
                Ok(records) => push_all(out, i, records),
                Err(e) => out.error(i, e),
            }
        })
    })
}

fn push_all<O: Serialize>(out: &mut Output, index: u32, records: impl IntoIterator<Item = O>) {
    for o in records {
        if let Err(e) = out.push(&o) {
            out.error(index, e);
        }
    }
}

/// Splits a pair record `[key, value]` into its encoded key and value.
///
/// # Errors
/// A message naming what was found instead of a pair.
pub fn split_pair(record: &[u8]) -> Result<(&[u8], &[u8]), String> {
    let mut r = Reader::new(record);
    let found = marker_name(r.peek().map_err(|e| e.to_string())?);
    match r.array_len() {
        Ok(2) => {}
        Ok(n) => {
            return Err(format!(
                "expected a pair [key, value], found an array of {n}"
            ))
        }
        Err(_) => return Err(format!("expected a pair [key, value], found a {found}")),
    }
    let key = r.value().map_err(|e| e.to_string())?;
    let value = r.value().map_err(|e| e.to_string())?;
    Ok((key, value))
}

fn push_pair<W: Serialize>(out: &mut Output, key: &[u8], value: &W) -> Result<(), String> {
    let mut tmp = Vec::with_capacity(key.len() + 16);
    msgpack::write_array_len(&mut tmp, 2);
    tmp.extend_from_slice(key);
    encode(&mut tmp, value)?;
    out.push_encoded(&tmp);
    Ok(())
}

/// `map_values`: `[k, v]` to `[k, f(v)]`; the key's bytes are kept as they are.
pub fn map_values<V, W, F>(input: &[u8], mut f: F) -> Vec<u8>
where
    V: DeserializeOwned,
    W: Serialize,
    F: FnMut(V) -> Result<W, String>,
{
    run(input, |view, out| {
        for_each_item(view, out, |i, item, out| {
            let res = split_pair(item).and_then(|(k, v)| {
                let w = decode(v).and_then(&mut f)?;
                push_pair(out, k, &w)
            });
            if let Err(e) = res {
                out.error(i, e);
            }
        })
    })
}

/// `flat_map_values`: `[k, v]` to `[k, w]` for every `w` in `f(v)`.
pub fn flat_map_values<V, W, It, F>(input: &[u8], mut f: F) -> Vec<u8>
where
    V: DeserializeOwned,
    W: Serialize,
    It: IntoIterator<Item = W>,
    F: FnMut(V) -> Result<It, String>,
{
    run(input, |view, out| {
        for_each_item(view, out, |i, item, out| {
            let res = split_pair(item).and_then(|(k, v)| {
                for w in decode(v).and_then(&mut f)? {
                    if let Err(e) = push_pair(out, k, &w) {
                        out.error(i, e);
                    }
                }
                Ok(())
            });
            if let Err(e) = res {
                out.error(i, e);
            }
        })
    })
}

/// `map_partitions`: the whole partition in, any records out. Records that do not decode
/// are per-record errors and are left out; an `Err` from `f` fails the call.
pub fn map_partitions<I, O, It, F>(input: &[u8], f: F) -> Vec<u8>
where
    I: DeserializeOwned,
    O: Serialize,
    It: IntoIterator<Item = O>,
    F: FnOnce(Vec<I>) -> Result<It, String>,
{
    run(input, |view, out| {
        let mut records = Vec::with_capacity(view.items.len());
        for_each_item(view, out, |i, item, out| match decode(item) {
            Ok(x) => records.push(x),
            Err(e) => out.error(i, e),
        });
        match f(records) {
            Ok(produced) => {
                for o in produced {
                    if let Err(e) = out.push(&o) {
                        return out.fail(e);
                    }
                }
            }
            Err(e) => out.fail(e),
        }
    })
}

/// `transform_with`: items are one array of records per input stream. A record that does
/// not decode is a per-item error on its stream's item and is left out; an `Err` from `f`
/// fails the call.
pub fn transform_with<I, O, It, F>(input: &[u8], f: F) -> Vec<u8>
where
    I: DeserializeOwned,
    O: Serialize,
    It: IntoIterator<Item = O>,
    F: FnOnce(Vec<Vec<I>>) -> Result<It, String>,
{
    run(input, |view, out| {
        let mut inputs = Vec::with_capacity(view.items.len());
        for_each_item(view, out, |i, item, out| {
            let mut r = Reader::new(item);
            let n = match r.array_len() {
                Ok(n) => n,
                Err(e) => {
                    out.error(i, format!("input {i}: expected an array of records: {e}"));
                    inputs.push(Vec::new());
                    return;
                }
            };
            let mut records = Vec::with_capacity(n as usize);
            for k in 0..n {
                match r.value().map_err(|e| e.to_string()).and_then(decode) {
                    Ok(x) => records.push(x),
                    Err(e) => out.error(i, format!("input {i}, record {k}: {e}")),
                }
            }
            inputs.push(records);
        });
        match f(inputs) {
            Ok(produced) => {
                for o in produced {
                    if let Err(e) = out.push(&o) {
                        return out.fail(e);
                    }
                }
            }
            Err(e) => out.fail(e),
        }
    })
}

/// A transform over encoded records: `f` gets every item's bytes with its index and
/// writes records to the output itself (the fast path: no serde).
pub fn raw<F>(input: &[u8], mut f: F) -> Vec<u8>
where
    F: FnMut(u32, &[u8], &mut Output) -> Result<(), String>,
{
    run(input, |view, out| {
        for_each_item(view, out, |i, item, out| {
            if let Err(e) = f(i, item, out) {
                out.error(i, e);
            }
        })
    })
}

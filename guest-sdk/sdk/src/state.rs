//! Runtimes of the update_state shape: update_state_by_key and map_with_state.
//!
//! Items are `[key, [values], state_opt, timing_out]`; each output is
//! `[state_opt, [emitted records]]` where `state_opt` is `[]` (no state: remove the key)
//! or `[state]`. A failed entry gets a per-item error and the placeholder `nil`: the host
//! keeps the key's previous state.

use serde::de::DeserializeOwned;
use serde::Serialize;
use sluice_abi::msgpack::{self, Reader};

use crate::codec::{decode, encode};
use crate::input::{for_each_item, run};
use crate::keyed::{next_value, open_array};
use crate::output::Output;

/// One decoded entry, with its values still encoded.
struct Entry<'a, K, S> {
    key: K,
    values: Reader<'a>,
    count: u32,
    state: Option<S>,
    timing_out: bool,
}

fn read_entry<K: DeserializeOwned, S: DeserializeOwned>(
    item: &[u8],
) -> Result<Entry<'_, K, S>, String> {
    let (mut r, n) = open_array(item, 3, "an entry [key, [values], state_opt, timing_out]")?;
    let key = decode(next_value(&mut r)?).map_err(|e| format!("key: {e}"))?;
    let count = r
        .array_len()
        .map_err(|e| format!("expected the entry's values: {e}"))?;
    let values = r.clone();
    for _ in 0..count {
        r.skip_value().map_err(|e| e.to_string())?;
    }
    let state = match r
        .array_len()
        .map_err(|e| format!("expected state_opt: {e}"))?
    {
        0 => None,
        _ => Some(decode(next_value(&mut r)?).map_err(|e| format!("state: {e}"))?),
    };
    let timing_out = n >= 4 && r.bool().map_err(|e| e.to_string())?;
    Ok(Entry {
        key,
        values,
        count,
        state,
        timing_out,
    })
}

/// Writes `[state_opt, [emitted...]]` with `emitted` holding `count` encoded records.
fn write_result<S: Serialize>(
    state: Option<&S>,
    count: u32,
    emitted: &[u8],
) -> Result<Vec<u8>, String> {
    let mut buf = Vec::with_capacity(emitted.len() + 16);
    msgpack::write_array_len(&mut buf, 2);
    match state {
        Some(s) => {
            msgpack::write_array_len(&mut buf, 1);
            encode(&mut buf, s)?;
        }
        None => msgpack::write_array_len(&mut buf, 0),
    }
    msgpack::write_array_len(&mut buf, count);
    buf.extend_from_slice(emitted);
    Ok(buf)
}

fn push_entry(out: &mut Output, index: u32, result: Result<Vec<u8>, String>) {
    match result {
        Ok(bytes) => out.push_encoded(&bytes),
        Err(e) => {
            out.push_nil();
            out.error(index, e);
        }
    }
}

/// `update_state_by_key`: `f(key, values, state)` returns the new state (`None` removes
/// the key); nothing is emitted (the host emits the state).
pub fn update_state<K, V, S, F>(input: &[u8], mut f: F) -> Vec<u8>
where
    K: DeserializeOwned,
    V: DeserializeOwned,
    S: DeserializeOwned + Serialize,
    F: FnMut(K, Vec<V>, Option<S>) -> Result<Option<S>, String>,
{
    run(input, |view, out| {
        for_each_item(view, out, |i, item, out| {
            let result = read_entry::<K, S>(item).and_then(|mut e| {
                let mut values = Vec::with_capacity(e.count as usize);
                for k in 0..e.count {
                    let v = decode(next_value(&mut e.values)?)
                        .map_err(|m| format!("value {k}: {m}"))?;
                    values.push(v);
                }
                let state = f(e.key, values, e.state)?;
                write_result(state.as_ref(), 0, &[])
            });
            push_entry(out, i, result);
        })
    })
}

/// The state of one key in a map_with_state function, like Spark's `State[S]`.
#[derive(Debug)]
pub struct State<S> {
    value: Option<S>,
    timing_out: bool,
    misuse: Option<&'static str>,
}

impl<S> State<S> {
    /// A state holding `value`; `timing_out` for the call that reports a timeout.
    pub fn new(value: Option<S>, timing_out: bool) -> Self {
        State {
            value,
            timing_out,
            misuse: None,
        }
    }

    /// Whether the key has a state.
    pub fn exists(&self) -> bool {
        self.value.is_some()
    }

    /// The current state, if any.
    pub fn get(&self) -> Option<&S> {
        self.value.as_ref()
    }

    /// Sets the state. Not allowed in the call that reports a timeout (the key is being
    /// removed): that call then fails with a per-record error.
    pub fn update(&mut self, value: S) {
        if self.timing_out {
            self.misuse = Some("cannot update a state that is timing out");
        } else {
            self.value = Some(value);
        }
    }

    /// Removes the state (and so the key). Not allowed in a timeout call.
    pub fn remove(&mut self) {
        if self.timing_out {
            self.misuse = Some("cannot remove a state that is timing out");
        } else {
            self.value = None;
        }
    }

    /// Whether this call reports that the key timed out; its value is then `None`.
    pub fn is_timing_out(&self) -> bool {
        self.timing_out
    }

    /// The state after the calls, or why a call misused it.
    pub fn into_inner(self) -> Result<Option<S>, String> {
        match self.misuse {
            Some(m) => Err(m.to_string()),
            None => Ok(self.value),
        }
    }
}

/// `map_with_state`: `f(key, Some(value), state)` once per value, in order, each call
/// emitting an optional record; for a timing-out entry, one call `f(key, None, state)`
/// with `state.is_timing_out()`, and the state is removed.
pub fn map_with_state<K, V, S, O, F>(input: &[u8], mut f: F) -> Vec<u8>
where
    K: DeserializeOwned,
    V: DeserializeOwned,
    S: DeserializeOwned + Serialize,
    O: Serialize,
    F: FnMut(&K, Option<V>, &mut State<S>) -> Result<Option<O>, String>,
{
    run(input, |view, out| {
        for_each_item(view, out, |i, item, out| {
            let result = read_entry::<K, S>(item).and_then(|mut e| {
                let mut state = State::new(e.state, e.timing_out);
                let mut emitted = Vec::new();
                let mut count = 0u32;
                let mut emit = |o: Option<O>| -> Result<(), String> {
                    if let Some(o) = o {
                        encode(&mut emitted, &o)?;
                        count += 1;
                    }
                    Ok(())
                };
                if e.timing_out {
                    emit(f(&e.key, None, &mut state)?)?;
                } else {
                    for k in 0..e.count {
                        let v = decode(next_value(&mut e.values)?)
                            .map_err(|m| format!("value {k}: {m}"))?;
                        emit(f(&e.key, Some(v), &mut state)?)?;
                    }
                }
                let timing_out = state.is_timing_out();
                let state = state.into_inner()?;
                let state = if timing_out { None } else { state };
                write_result(state.as_ref(), count, &emitted)
            });
            push_entry(out, i, result);
        })
    })
}

//! Reading the input document `[items, ctx]` and the context of the current call.

use std::cell::Cell;

use sluice_abi::doc::Ctx;
use sluice_abi::msgpack::{DecodeError, DecodeErrorKind, Reader};

use crate::output::Output;

thread_local! {
    static CTX: Cell<Ctx> = const { Cell::new(Ctx::new(0, 0)) };
}

/// The context of the call in progress: its batch time, partition and combine hint.
pub fn ctx() -> Ctx {
    CTX.with(Cell::get)
}

/// A parsed input document: the items' encoded bytes and the context.
#[derive(Debug)]
pub struct Input<'a> {
    /// Each item's bytes, in order.
    pub items: Vec<&'a [u8]>,
    /// The call's context.
    pub ctx: Ctx,
}

/// Reads `[items, ctx, ...]` like [`sluice_abi::doc::read_input`], keeping each item's
/// bounds found while checking it, so that items are not skipped over twice.
fn parse(buf: &[u8]) -> Result<Input<'_>, DecodeError> {
    let mut r = Reader::new(buf);
    let n = r.array_len()?;
    if n < 2 {
        return Err(DecodeError {
            offset: 0,
            kind: DecodeErrorKind::Unexpected {
                expected: "an array of at least 2 elements",
                found: 0x90 | n as u8,
            },
        });
    }
    let count = r.array_len()?;
    // Every item takes at least one byte: never reserve more than the buffer could hold.
    let mut items = Vec::with_capacity((count as usize).min(buf.len()));
    for _ in 0..count {
        items.push(r.value()?);
    }
    let ctx = Ctx::read(&mut r)?;
    for _ in 2..n {
        r.skip_value()?;
    }
    r.finish()?;
    Ok(Input { items, ctx })
}

/// Parses `input`, sets [`ctx`], runs `body` and returns the output document. A malformed
/// input document is a whole-call error.
pub fn run(input: &[u8], body: impl FnOnce(&Input<'_>, &mut Output)) -> Vec<u8> {
    run_with(input, false, body)
}

/// [`run`] for the transform shape: honours the context's combine hint (the output's
/// `[key, integer]` pairs are merged per key, see `combine.rs`).
pub fn run_transform(input: &[u8], body: impl FnOnce(&Input<'_>, &mut Output)) -> Vec<u8> {
    run_with(input, true, body)
}

fn run_with(input: &[u8], transform: bool, body: impl FnOnce(&Input<'_>, &mut Output)) -> Vec<u8> {
    match parse(input) {
        Ok(parsed) => {
            CTX.with(|c| c.set(parsed.ctx));
            let combine = parsed.ctx.combine.filter(|_| transform);
            // Room for outputs somewhat larger than the input (pairs from words) without
            // growing; wasm memory once grown is reused by later calls. Combined outputs
            // hold one item's records at a time, then one pair per key.
            let capacity = match combine {
                None => input.len() + input.len() / 2 + 64,
                Some(_) => input.len() / 8 + 64,
            };
            let mut out = Output::with_capacity(capacity);
            if let Some(how) = combine {
                out.combine(how);
            }
            body(&parsed, &mut out);
            out.finish()
        }
        Err(e) => {
            let mut out = Output::new();
            out.fail(format!("malformed input document: {e}"));
            out.finish()
        }
    }
}

/// Pending output bytes past which a combining call merges them (so that the output never
/// holds more than about this much besides one pair per key).
const ABSORB_BYTES: usize = 16 << 10;

/// Calls `each(index, item, out)` for every item, in order (when combining, merging the
/// records emitted so far whenever they pass [`ABSORB_BYTES`]).
pub fn for_each_item<'a>(
    input: &Input<'a>,
    out: &mut Output,
    mut each: impl FnMut(u32, &'a [u8], &mut Output),
) {
    for (index, item) in input.items.iter().enumerate() {
        each(index as u32, item, out);
        out.absorb_past(ABSORB_BYTES);
    }
}

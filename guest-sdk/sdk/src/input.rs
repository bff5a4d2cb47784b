//! Reading the input document `[items, ctx]` and the context of the current call.

use std::cell::Cell;

use sluice_abi::doc::Ctx;
use sluice_abi::msgpack::{DecodeError, DecodeErrorKind, Reader};

use crate::output::Output;

thread_local! {
    static CTX: Cell<Ctx> = const { Cell::new(Ctx { batch_time_ms: 0, partition: 0 }) };
}

/// The context of the call in progress: its batch time and partition.
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
    match parse(input) {
        Ok(parsed) => {
            CTX.with(|c| c.set(parsed.ctx));
            // Room for outputs somewhat larger than the input (pairs from words) without
            // growing; wasm memory once grown is reused by later calls.
            let mut out = Output::with_capacity(input.len() + input.len() / 2 + 64);
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

/// Calls `each(index, item, out)` for every item, in order.
pub fn for_each_item<'a>(
    input: &Input<'a>,
    out: &mut Output,
    mut each: impl FnMut(u32, &'a [u8], &mut Output),
) {
    for (index, item) in input.items.iter().enumerate() {
        each(index as u32, item, out);
    }
}

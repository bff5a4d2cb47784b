//! Reading the input document `[items, ctx]` and the context of the current call.

use std::cell::Cell;

use sluice_abi::doc::{self, InputView};
use sluice_abi::Ctx;

use crate::output::Output;

thread_local! {
    static CTX: Cell<Ctx> = const { Cell::new(Ctx { batch_time_ms: 0, partition: 0 }) };
}

/// The context of the call in progress: its batch time and partition.
pub fn ctx() -> Ctx {
    CTX.with(Cell::get)
}

/// Parses `input`, sets [`ctx`], runs `body` and returns the output document. A malformed
/// input document is a whole-call error.
pub fn run(input: &[u8], body: impl FnOnce(&InputView<'_>, &mut Output)) -> Vec<u8> {
    match doc::read_input(input) {
        Ok(view) => {
            CTX.with(|c| c.set(view.ctx));
            let mut out = Output::with_capacity(input.len() + 64);
            body(&view, &mut out);
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
    view: &InputView<'a>,
    out: &mut Output,
    mut each: impl FnMut(u32, &'a [u8], &mut Output),
) {
    for (index, item) in view.items().enumerate() {
        match item {
            Ok(item) => each(index as u32, item, out),
            // Unreachable in practice: `read_input` already checked every item.
            Err(e) => return out.fail(format!("malformed item {index}: {e}")),
        }
    }
}

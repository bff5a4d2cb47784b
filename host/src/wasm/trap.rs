//! What went wrong in a call: wasmtime's errors (deadline, memory limit, `proc_exit`,
//! fuel, traps with a compact backtrace) turned into a [`Failure`].

use wasmtime::{Trap, WasmBacktrace};

use super::error::Failure;
use super::limits::{Limits, MemoryLimitExceeded};
use super::wasi::ProcExit;

/// Raised by the epoch callback when a call passes its deadline.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("deadline exceeded")]
pub(crate) struct DeadlineExceeded;

/// Turns an error from wasmtime into what went wrong, for the caller.
pub(crate) fn classify(err: wasmtime::Error, limits: &Limits) -> Failure {
    if err.downcast_ref::<DeadlineExceeded>().is_some() {
        return Failure::Deadline(limits.timeout);
    }
    if let Some(m) = err.downcast_ref::<MemoryLimitExceeded>() {
        return Failure::MemoryLimit {
            limit: m.limit,
            requested: m.requested,
        };
    }
    if let Some(ProcExit(code)) = err.downcast_ref::<ProcExit>() {
        return Failure::Exit(*code);
    }
    match err.downcast_ref::<Trap>() {
        Some(Trap::OutOfFuel) => Failure::OutOfFuel(limits.fuel.unwrap_or(u64::MAX)),
        Some(Trap::Interrupt) => Failure::Deadline(limits.timeout),
        _ => Failure::Trap(trap_text(&err)),
    }
}

/// The trap's message and a compact wasm backtrace: `msg (wasm backtrace: f <- g x3)`.
fn trap_text(err: &wasmtime::Error) -> String {
    let root = err.root_cause().to_string();
    let msg = root.strip_prefix("wasm trap: ").unwrap_or(&root).to_owned();
    let Some(bt) = err.downcast_ref::<WasmBacktrace>() else {
        return msg;
    };
    let mut frames: Vec<(String, usize)> = Vec::new();
    for f in bt.frames() {
        let name = match f.func_name() {
            Some(n) => n.to_owned(),
            None => format!("<wasm function {}>", f.func_index()),
        };
        match frames.last_mut() {
            Some((last, n)) if *last == name => *n += 1,
            _ => frames.push((name, 1)),
        }
    }
    if frames.is_empty() {
        return msg;
    }
    let shown: Vec<String> = frames
        .iter()
        .take(MAX_BACKTRACE_FRAMES)
        .map(|(name, n)| {
            if *n > 1 {
                format!("{name} x{n}")
            } else {
                name.clone()
            }
        })
        .collect();
    let more = if frames.len() > MAX_BACKTRACE_FRAMES {
        " <- ..."
    } else {
        ""
    };
    format!("{msg} (wasm backtrace: {}{more})", shown.join(" <- "))
}

/// Distinct frames shown in a trap message.
const MAX_BACKTRACE_FRAMES: usize = 8;

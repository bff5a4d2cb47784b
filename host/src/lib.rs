//! Sluice: a micro-batch stream processor whose user logic runs as WebAssembly plugins.
//!
//! Data flows one way: receivers → micro-batcher → stages (WASM plugins and built-in
//! operators, partitions in parallel on rayon) → sinks; after each batch the job runtime
//! calls the checkpoint barrier. See `docs/architecture.md` for the layers and the tour.
//!
//! The API to run jobs is re-exported here: load a [`JobDocument`], start a [`Job`] in a
//! [`JobEnv`] (a shared [`WasmRuntime`], a tokio handle, an optional worker pool), then
//! [`Job::step`] it at each [`Job::next_batch_time`] and [`Job::finish`] it.
//!
//! # Errors
//!
//! Every error type's message is complete: it names the thing involved (file, field,
//! stream, plugin, function) and ends with the underlying cause, and it never also returns
//! that cause from [`std::error::Error::source`]. Printing a chain (`{:#}` in the binary)
//! would otherwise say the cause twice. So: no `#[source]`, no field named `source`, no
//! `#[from]` on a variant whose message shows the inner error (`#[error(transparent)]` is
//! fine: it shows the inner message once).

#![forbid(unsafe_code)]

/// The `tracing` target of the informational lines logged once per batch or per
/// checkpoint (`Checkpoint written.`, notes on replayed batches): `sluice run --quiet`
/// filters it out, with the progress lines.
pub const PER_BATCH_LOG: &str = "sluice::per_batch";

mod base;
mod batch;
pub mod brokers;
pub mod checkpoint;
pub mod exec;
pub mod job;
pub mod observe;
pub mod ops;
pub mod record;
pub mod serve;
pub mod sink;
pub mod source;
pub mod wal;
pub mod wasm;

pub use base::dir_name;
pub use checkpoint::CheckpointFlags;
pub use exec::{
    run, BatchReport, ClockKind, ExecError, FinishReport, Job, JobEnv, RunOptions, RunSummary,
};
pub use job::{JobDocument, JobError};
pub use wasm::{Plugin, RuntimeConfig, WasmRuntime};

//! Sluice: a micro-batch stream processor whose user logic runs as WebAssembly plugins.
//!
//! Data flows one way: receivers → micro-batcher → stages (WASM plugins and built-in
//! operators, partitions in parallel on rayon) → sinks, with checkpoint barriers in the
//! same flow. See `docs/architecture.md` for the tour.
//!
//! # Errors
//!
//! Every error type's message is complete: it names the thing involved (file, field,
//! stream, plugin, function) and ends with the underlying cause, and it never also returns
//! that cause from [`std::error::Error::source`]. Printing a chain (`{:#}` in the binary)
//! would otherwise say the cause twice. So: no `#[source]`, no field named `source`, no
//! `#[from]` on a variant whose message shows the inner error (`#[error(transparent)]` is
//! fine: it shows the inner message once).

/// The `tracing` target of the informational lines logged once per batch or per
/// checkpoint (`Checkpoint written.`, notes on replayed batches): `sluice run --quiet`
/// filters it out, with the progress lines.
pub const PER_BATCH_LOG: &str = "sluice::per_batch";

pub mod batch;
pub mod brokers;
pub mod checkpoint;
pub mod exec;
pub mod job;
pub mod ops;
pub mod record;
pub mod serve;
pub mod sink;
pub mod source;
pub mod wal;
pub mod wasm;

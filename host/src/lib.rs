//! Sluice: a micro-batch stream processor whose user logic runs as WebAssembly plugins.
//!
//! Data flows one way: receivers → micro-batcher → stages (WASM plugins and built-in
//! operators, partitions in parallel on rayon) → sinks, with checkpoint barriers in the
//! same flow. See `docs/architecture.md` for the tour.

pub mod batch;
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

//! Sluice: a micro-batch stream processor whose user logic runs as WebAssembly plugins.
//!
//! Data flows one way: receivers → micro-batcher → stages (WASM plugins and built-in
//! operators, partitions in parallel on rayon) → sinks; after each batch the job runtime
//! calls the checkpoint barrier. See `docs/architecture.md` for the layers and the tour.
//!
//! The API to run jobs is re-exported here: load a [`JobDocument`], start a [`Job`] in a
//! [`JobEnv`] (a shared [`WasmRuntime`], a tokio handle, an optional worker pool), then
//! [`Job::step`] it at each [`Job::next_batch_time`] and [`Job::finish`] it.

#![forbid(unsafe_code)]

mod base;
mod batch;
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

pub use base::dir_name;
pub use checkpoint::CheckpointFlags;
pub use exec::{
    run, BatchReport, ClockKind, ExecError, FinishReport, Job, JobEnv, RunOptions, RunSummary,
};
pub use job::{JobDocument, JobError};
pub use wasm::{Plugin, RuntimeConfig, WasmRuntime};

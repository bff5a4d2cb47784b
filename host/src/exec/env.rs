//! [`JobEnv`]: what a [`Job`](super::Job) shares with the process or server that runs it
//! (WebAssembly runtime, I/O runtime, clock, pool, observer, plugin log).

use std::sync::Arc;

use super::observer::RunObserver;
use crate::checkpoint::CheckpointFlags;
use crate::source::InputEnded;
use crate::wasm::{LogSink, WasmRuntime};

/// Where batch times come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ClockKind {
    /// Real time: the first batch is at the next multiple of the block interval after
    /// start, and each batch is due at its time.
    #[default]
    Wall,
    /// Batch i is at `i * batch_interval` from zero, and batches are due at once
    /// (tests, replays, benchmarks).
    Virtual,
}

/// What jobs share with the process (or server) that runs them.
#[derive(Clone)]
pub struct JobEnv {
    /// The WebAssembly engine and module cache, shared by every job.
    pub wasm: Arc<WasmRuntime>,
    /// The tokio runtime that runs receivers, block timers and broker I/O.
    pub io: tokio::runtime::Handle,
    /// The clock of batch times.
    pub clock: ClockKind,
    /// `--checkpoint-dir` and `--allow-plugin-change`.
    pub checkpoint: CheckpointFlags,
    /// The pool the job's partitions run on; `None`: rayon's global pool.
    pub pool: Option<Arc<rayon::ThreadPool>>,
    /// Called when a receiver's input ended for good and the job should stop (a `stdin`
    /// source without `keep_running`); `None`: ignored.
    pub input_ended: Option<InputEnded>,
    /// Told about the plan, every batch and the end (the UI and metrics); `None`: none.
    pub observer: Option<Arc<dyn RunObserver>>,
    /// Where the plugins' log lines go; `None`: the process's `tracing` output.
    pub plugin_log: Option<LogSink>,
}

impl std::fmt::Debug for JobEnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobEnv")
            .field("clock", &self.clock)
            .field("checkpoint", &self.checkpoint)
            .field(
                "pool_threads",
                &self.pool.as_ref().map(|p| p.current_num_threads()),
            )
            .finish_non_exhaustive()
    }
}

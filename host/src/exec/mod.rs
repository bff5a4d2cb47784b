//! Running a job: the plan (runtime graph built from the job file), the executor (one
//! batch through every stream, then the sinks), the steppable job runtime ([`Job`]:
//! start → step → finish) and `sluice run`'s driver loop over it (clock, progress,
//! shutdown).

mod backpressure;
mod driver;
mod env;
mod executor;
mod job;
mod memory;
mod observer;
mod pid;
mod plan;
mod progress;
mod report;
mod stop;

pub use driver::{run, RunOptions, RunSummary};
pub use env::{ClockKind, JobEnv};
pub use executor::{BatchReport, ExecSettings, Executor};
pub use job::{FinishReport, Job, KEPT_REPORTS};
pub use observer::RunObserver;
pub use plan::{Node, Plan, PlanMode, SinkSlot};
pub use progress::{batch_json, progress_line, ProgressFormat};
pub use report::{SourceReport, StageTime, StateSize};
pub use stop::StopSignal;

use crate::job::JobError;
use crate::ops::OpError;
use crate::record::BatchTime;
use crate::sink::SinkError;
use crate::source::SourceError;
use crate::wasm::PluginError;

/// Errors of running a job.
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    /// The job file is invalid.
    #[error(transparent)]
    Job(#[from] JobError),
    /// A plugin could not be loaded.
    #[error("plugin `{plugin}`: {cause}")]
    Plugin { plugin: String, cause: PluginError },
    /// A source failed.
    #[error("batch {time} ms: {cause}")]
    Source { time: BatchTime, cause: SourceError },
    /// A source could not be opened.
    #[error(transparent)]
    SourceSetup(#[from] SourceError),
    /// Input that could not be read, under the `fail` policy.
    #[error("batch {time} ms: source `{source_name}`: malformed input: {reason}")]
    Input {
        time: BatchTime,
        source_name: String,
        reason: String,
    },
    /// An operator failed.
    #[error("batch {time} ms: {cause}")]
    Operator { time: BatchTime, cause: OpError },
    /// A sink failed.
    #[error("batch {time} ms: {cause}")]
    Sink { time: BatchTime, cause: SinkError },
    /// A sink could not be opened.
    #[error(transparent)]
    SinkSetup(#[from] SinkError),
    /// Checkpointing or recovery failed.
    #[error(transparent)]
    Checkpoint(#[from] crate::checkpoint::CheckpointError),
    /// The process could not set up its runtime.
    #[error("{0}")]
    Setup(String),
    /// The job does not fit in its `[job] max_memory`.
    #[error("batch {time} ms: {reason}")]
    Memory { time: BatchTime, reason: String },
}

impl ExecError {
    /// The time of the batch that failed, for errors of a batch.
    pub fn batch_time(&self) -> Option<BatchTime> {
        match self {
            ExecError::Source { time, .. }
            | ExecError::Input { time, .. }
            | ExecError::Operator { time, .. }
            | ExecError::Sink { time, .. } => Some(*time),
            _ => None,
        }
    }
}

//! [`RunObserver`]: what a running job tells whoever watches it (the UI and metrics of
//! `crate::observe`): its plan once built, every batch's report, and how it ended.

use super::executor::BatchReport;
use crate::wasm::Plugin;

/// Receives a running job's events, on the driver's thread; implementations keep them
/// short (a few counters and a copy of the report).
pub trait RunObserver: Send + Sync + std::fmt::Debug {
    /// The plan is built: the executor's node names (fused chains appear as their last
    /// stream) and the loaded plugins.
    fn started(&self, nodes: &[&str], plugins: &[Plugin]);

    /// A batch completed (with its checkpoint, if one was written after it).
    fn batch_done(&self, report: &BatchReport);

    /// The job failed with this message: in a batch (`in_batch`) or while starting.
    fn failed(&self, message: &str, in_batch: bool);

    /// The job stopped cleanly.
    fn stopped(&self);
}

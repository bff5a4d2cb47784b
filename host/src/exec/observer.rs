//! [`RunObserver`]: what a running [`super::Job`] tells whoever watches it (the UI and
//! metrics of `crate::observe`): its plan once built, every batch's report, and how it
//! ended. Called by `Job` itself, so `sluice run` and `sluice serve` jobs are observed
//! alike.

use std::time::Duration;

use super::executor::BatchReport;
use crate::checkpoint::Checkpointer;
use crate::source::SourceHandle;
use crate::wasm::Plugin;

/// Receives a running job's events, on the thread that steps it; implementations keep
/// them short (a few counters and a copy of the report).
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

/// Adds what only the job knows to the report of batch number `done`, just run: each
/// source's pull time, receiver buffer and rate limit in force, the checkpoint written
/// after it, the write-ahead log's size.
pub(crate) fn observe_batch(
    report: &mut BatchReport,
    pulls: &[Duration],
    sources: &[(String, SourceHandle)],
    checkpointer: Option<&Checkpointer>,
    done: u64,
) {
    if let Some(c) = checkpointer {
        report.checkpoint = c.last_stats.clone().filter(|s| s.index == done);
        report.wal_bytes = c.wal_bytes();
    }
    for ((s, took), (_, h)) in report.sources.iter_mut().zip(pulls).zip(sources) {
        s.took = *took;
        match h {
            SourceHandle::Direct(d) => s.rate_limit = d.rate_limit(),
            SourceHandle::Receiver(r) => {
                s.rate_limit = r.rate_limit();
                s.buffered_bytes = Some(r.buffered_bytes() as u64);
            }
        }
    }
}

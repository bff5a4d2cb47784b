//! `[job] max_memory` in the driver: the job's [`MemoryBudget`] (shared with its
//! receivers) learns the input of each batch while it runs and the keyed state after it;
//! a job whose keyed state alone leaves no room for input fails, naming the budget and
//! the streams that hold the state.

use std::sync::Arc;

use super::executor::Executor;
use super::ExecError;
use crate::batch::{MemoryBudget, SourceBatch};
use crate::job::JobDocument;
use crate::record::BatchTime;
use crate::source::SourceSpec;

/// The job's budget, when `[job] max_memory` is set, handed to its receivers.
pub(super) fn budget(
    doc: &JobDocument,
    sources: &mut [(String, SourceSpec)],
) -> Option<Arc<MemoryBudget>> {
    let budget = Arc::new(MemoryBudget::new(doc.file.job.max_memory?.0));
    for (_, spec) in sources {
        if let SourceSpec::Receiver(r) = spec {
            r.budget = Some(budget.clone());
        }
    }
    Some(budget)
}

/// Before a batch runs: its input is in process.
pub(super) fn batch_started(budget: Option<&MemoryBudget>, inputs: &[SourceBatch]) {
    let Some(budget) = budget else { return };
    let bytes: usize = inputs
        .iter()
        .filter_map(|i| i.batch.as_ref())
        .flat_map(|b| &b.partitions)
        .map(|p| p.bytes().len() + 4 * p.len())
        .sum();
    budget.set_in_process(bytes as u64);
}

/// After a batch: its input is released and the keyed state counted.
///
/// # Errors
/// [`ExecError::Memory`] when the keyed state alone takes the half of the budget that
/// input and state share.
pub(super) fn batch_done(
    budget: Option<&MemoryBudget>,
    executor: &mut Executor,
    time: BatchTime,
    state: u64,
) -> Result<(), ExecError> {
    let Some(budget) = budget else { return Ok(()) };
    budget.set_in_process(0);
    budget.set_state(state);
    if budget.state_fits(state) {
        return Ok(());
    }
    let mut holders: Vec<(String, u64)> = executor
        .operators_mut()
        .map(|(name, op)| (name.to_owned(), op.state_bytes() as u64))
        .filter(|(_, b)| *b > 0)
        .collect();
    holders.sort_by_key(|h| std::cmp::Reverse(h.1));
    let streams: Vec<String> = holders
        .iter()
        .map(|(name, b)| format!("`{name}` {}", mib(*b)))
        .collect();
    Err(ExecError::Memory {
        time,
        reason: format!(
            "the job does not fit in [job] max_memory = {}: its keyed state holds {} ({}), \
             and keyed state may use at most half of max_memory ({}), the other half being \
             for received input and processing a batch; raise max_memory, or hold fewer \
             keys (a window, a state timeout)",
            mib(budget.limit()),
            mib(state),
            streams.join(", "),
            mib(budget.input_share())
        ),
    })
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / f64::from(1 << 20))
}

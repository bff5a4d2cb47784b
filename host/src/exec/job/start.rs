//! [`Job::start`]: the plan, checkpoint recovery and the receivers of a new job.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use super::{Job, Running};
use crate::base::now_ms;
use crate::batch::{BlockStore, NoBlockStore};
use crate::checkpoint::{checkpointer_for, Checkpointer, ClockName};
use crate::exec::backpressure::Backpressure;
use crate::exec::env::{ClockKind, JobEnv};
use crate::exec::executor::{ExecSettings, Executor};
use crate::exec::memory;
use crate::exec::plan::{Plan, PlanMode};
use crate::exec::ExecError;
use crate::job::JobDocument;
use crate::record::BatchTime;
use crate::source::{start_receiver, InputEnded, SourceHandle, SourceSpec};

impl Job {
    /// Starts a checked job: loads plugins and builds the plan, opens the checkpoint
    /// directory and restores the newest checkpoint, starts the receivers on `env.io`,
    /// and writes checkpoint 0 when the job checkpoints and starts from scratch.
    ///
    /// # Errors
    /// [`ExecError`] when a plugin, source, sink or the checkpoint cannot be opened.
    pub fn start(doc: &JobDocument, env: &JobEnv) -> Result<Job, ExecError> {
        let started = Job::start_observed(doc, env);
        if let (Err(e), Some(o)) = (&started, &env.observer) {
            o.failed(&e.to_string(), false);
        }
        started
    }

    fn start_observed(doc: &JobDocument, env: &JobEnv) -> Result<Job, ExecError> {
        let mut plan = Plan::build_with_log(doc, &env.wasm, PlanMode::Run, env.plugin_log.clone())?;
        let budget = memory::budget(doc, &mut plan.sources);
        if let Some(o) = &env.observer {
            let nodes: Vec<&str> = plan.nodes.iter().map(|n| n.name.as_str()).collect();
            let plugins: Vec<_> = plan.plugins.values().cloned().collect();
            o.started(&nodes, &plugins);
        }
        let clock = match env.clock {
            ClockKind::Wall => ClockName::Wall,
            ClockKind::Virtual => ClockName::Virtual,
        };
        let ops = plan.nodes.iter().map(|n| (n.name.as_str(), n.op.as_ref()));
        let mut checkpointer = checkpointer_for(doc, ops, clock, &env.checkpoint)?;
        let receivers: Vec<String> = plan
            .sources
            .iter()
            .filter(|(_, s)| matches!(s, SourceSpec::Receiver(_)))
            .map(|(n, _)| n.clone())
            .collect();
        let store = match checkpointer.as_mut() {
            Some(c) => c.block_store(&receivers)?,
            None => None,
        };
        let store: Arc<dyn BlockStore> = store.unwrap_or_else(|| Arc::new(NoBlockStore));
        let job = &doc.file.job;
        let backpressure = Backpressure::new(
            job.backpressure,
            job.backpressure_initial_rate,
            plan.sources.len(),
            plan.batch_ms,
        );
        let resumed = checkpointer.as_ref().and_then(|c| c.resumed());
        let zero_time = match (resumed, env.clock) {
            (Some((_, _, zero)), _) => zero,
            (None, ClockKind::Virtual) => 0,
            (None, ClockKind::Wall) => {
                first_wall_batch(now_ms(), plan.batch_ms, plan.block_ms) - plan.batch_ms
            }
        };
        let mut job = Job::assemble(plan, env, store, backpressure, zero_time, checkpointer);
        job.budget = budget;
        job.running.done = resumed.map_or(0, |(index, _, _)| index);
        if let Some(c) = job.checkpointer.as_mut() {
            c.resume(&mut job.running)?;
            if resumed.is_none() {
                // Checkpoint 0 pins the zero time and where the sources start, so that a
                // crash before the first periodic checkpoint still resumes on the same
                // batch times.
                c.barrier(&mut job.running, true)?;
            }
        }
        Ok(job)
    }

    /// Starts the sources (receivers on `env.io`) and puts the job together.
    fn assemble(
        plan: Plan,
        env: &JobEnv,
        store: Arc<dyn BlockStore>,
        backpressure: Backpressure,
        zero_time: BatchTime,
        checkpointer: Option<Checkpointer>,
    ) -> Job {
        let block = Duration::from_millis(plan.block_ms as u64);
        let ended: InputEnded = env
            .input_ended
            .clone()
            .unwrap_or_else(|| Arc::new(|_: &str| {}));
        let mut sources: Vec<(String, SourceHandle)> = plan
            .sources
            .into_iter()
            .map(|(name, spec)| {
                let handle = match spec {
                    SourceSpec::Direct(d) => SourceHandle::Direct(d),
                    SourceSpec::Receiver(r) => SourceHandle::Receiver(start_receiver(
                        r,
                        &env.io,
                        store.clone(),
                        block,
                        plan.receiver_partitions,
                        backpressure.initial_rate(),
                        ended.clone(),
                    )),
                };
                (name, handle)
            })
            .collect();
        backpressure.start(&mut sources);
        let settings = ExecSettings {
            policy: plan.policy,
            batch_ms: plan.batch_ms,
            zero_time,
            default_partitions: plan.default_partitions,
        };
        let names = sources.iter().map(|(n, _)| n.clone()).collect();
        let executor = Executor::new(names, plan.nodes, plan.sinks, plan.dead_letter, settings);
        Job {
            name: plan.name,
            batch_ms: plan.batch_ms,
            clock: env.clock,
            running: Running {
                executor,
                sources,
                done: 0,
                last_time: zero_time,
                zero_time,
            },
            checkpointer,
            backpressure,
            pool: env.pool.clone(),
            reports: VecDeque::new(),
            stepped: 0,
            io: env.io.clone(),
            drained: false,
            budget: None,
            observer: env.observer.clone(),
        }
    }
}

/// The first batch time with the wall clock: the next multiple of the block interval (or
/// of the batch interval, if shorter) after `now`, so that the first batch comes within
/// one block interval of start instead of waiting for a whole batch interval; the next
/// batches follow one batch interval apart.
fn first_wall_batch(now: i64, batch_ms: i64, block_ms: i64) -> i64 {
    let grain = block_ms.min(batch_ms).max(1);
    (now / grain + 1) * grain
}

#[cfg(test)]
mod tests {
    use super::first_wall_batch;

    #[test]
    fn the_first_wall_batch_waits_at_most_one_block() {
        assert_eq!(first_wall_batch(10_050, 1000, 200), 10_200);
        assert_eq!(first_wall_batch(10_200, 1000, 200), 10_400);
        assert_eq!(first_wall_batch(10_050, 100, 200), 10_100);
        assert_eq!(first_wall_batch(5, 1000, 0), 6);
    }
}

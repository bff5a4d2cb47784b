//! [`Executor`]: computes every stream at one batch time, in topological order, then hands
//! the finished batches to the sinks and the rejected records to the error policy.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::plan::{Node, SinkSlot};
use super::report::{SourceReport, StageTime, StateSize};
use super::ExecError;
use crate::checkpoint::CheckpointStats;
use crate::ops::{ErrorPolicy, OpContext, Operator, StreamValue};
use crate::record::{BatchTime, DeadLetter};
use crate::sink::DeadLetterSink;
use crate::source::SourceBatch;

/// What one batch did.
#[derive(Debug, Clone, Default)]
pub struct BatchReport {
    /// The batch time, ms.
    pub time: BatchTime,
    /// Records the sources produced.
    pub records_in: usize,
    /// Records written to sinks (summed over sinks).
    pub records_out: usize,
    /// Records rejected (malformed input and plugin rejections).
    pub rejected: usize,
    /// Time to compute the batch and write the sinks.
    pub processing: Duration,
    /// How late the batch started after its batch time (wall clock only).
    pub scheduling_delay: Duration,
    /// Keyed-state bytes the operators hold after the batch ([`Operator::state_bytes`]).
    pub state_bytes: u64,
    /// Each source: records, time to pull them, receiver buffer and rate limit.
    pub sources: Vec<SourceReport>,
    /// Each stream's operator, in topological order (a fused chain of narrow operations
    /// under its last stream's name): records, time, keyed state.
    pub streams: Vec<StageTime>,
    /// Each sink that wrote: records and time.
    pub sinks: Vec<StageTime>,
    /// The checkpoint written after this batch, if one was (set by [`super::Job`]).
    pub checkpoint: Option<CheckpointStats>,
    /// Bytes of the receivers' write-ahead logs after the batch (with a log).
    pub wal_bytes: Option<u64>,
}

/// Job-wide settings the executor hands to operators.
#[derive(Debug, Clone, Copy)]
pub struct ExecSettings {
    /// The error policy.
    pub policy: ErrorPolicy,
    /// The batch interval, ms.
    pub batch_ms: i64,
    /// The first batch time minus the batch interval.
    pub zero_time: BatchTime,
    /// Partitions for shuffles that do not set their own count.
    pub default_partitions: usize,
}

/// Runs batches through the streams and sinks of a plan.
pub struct Executor {
    /// Source names, by value index.
    pub source_names: Vec<String>,
    /// Stage names for reports: sources, then nodes, then sinks.
    stage_names: Vec<Arc<str>>,
    nodes: Vec<Node>,
    sinks: Vec<SinkSlot>,
    dead_letter: Option<DeadLetterSink>,
    settings: ExecSettings,
    /// Values of the last batch, by value index, when kept (for tests and inspection).
    last: Vec<StreamValue>,
    /// Whether to keep `last`: off in jobs, where it would hold a whole batch's input and
    /// intermediate streams until the next batch ends.
    keep_last: bool,
}

impl Executor {
    /// An executor over the plan's streams and sinks.
    pub fn new(
        source_names: Vec<String>,
        nodes: Vec<Node>,
        sinks: Vec<SinkSlot>,
        dead_letter: Option<DeadLetterSink>,
        settings: ExecSettings,
    ) -> Self {
        let stage_names = source_names
            .iter()
            .map(String::as_str)
            .chain(nodes.iter().map(|n| n.name.as_str()))
            .chain(sinks.iter().map(|s| s.name.as_str()))
            .map(Arc::from)
            .collect();
        Executor {
            source_names,
            stage_names,
            nodes,
            sinks,
            dead_letter,
            settings,
            last: Vec::new(),
            keep_last: false,
        }
    }

    /// Each stream's operator, by stream name (checkpoints snapshot and restore them).
    pub fn operators_mut(&mut self) -> impl Iterator<Item = (&str, &mut Box<dyn Operator>)> + '_ {
        self.nodes.iter_mut().map(|n| (n.name.as_str(), &mut n.op))
    }

    /// Keeps every stream's value of the last batch for [`Executor::last_value`].
    pub fn keep_last_values(&mut self) {
        self.keep_last = true;
    }

    /// The value stream `name` had at the last batch, if values are kept
    /// ([`Executor::keep_last_values`]).
    pub fn last_value(&self, name: &str) -> Option<&StreamValue> {
        if let Some(i) = self.source_names.iter().position(|n| n == name) {
            return self.last.get(i);
        }
        let i = self.nodes.iter().position(|n| n.name == name)?;
        self.last.get(self.source_names.len() + i)
    }

    /// Computes the batch at `time` from the sources' batches (in source order).
    ///
    /// # Errors
    /// [`ExecError`] when an operator or a sink fails, or malformed input arrives under
    /// the `fail` policy.
    pub fn run_batch(
        &mut self,
        time: BatchTime,
        inputs: Vec<SourceBatch>,
    ) -> Result<BatchReport, ExecError> {
        let started = Instant::now();
        let rejected: Mutex<Vec<DeadLetter>> = Mutex::new(Vec::new());
        let mut report = BatchReport {
            time,
            ..BatchReport::default()
        };
        let mut values = self.source_values(time, inputs, &rejected, &mut report)?;
        let n_sources = self.source_names.len();
        for (k, node) in self.nodes.iter_mut().enumerate() {
            let stage_started = Instant::now();
            let parents: Vec<StreamValue> =
                node.inputs.iter().map(|&i| values[i].clone()).collect();
            let cx = OpContext {
                stream: &node.name,
                time,
                zero_time: self.settings.zero_time,
                batch_ms: self.settings.batch_ms,
                default_partitions: self.settings.default_partitions,
                policy: self.settings.policy,
                rejected: &rejected,
            };
            let value = node
                .op
                .on_batch(&parents, &cx)
                .map_err(|cause| ExecError::Operator { time, cause })?;
            report.streams.push(StageTime {
                name: self.stage_names[n_sources + k].clone(),
                records: value.rdd().map_or(0, |b| b.len()),
                took: stage_started.elapsed(),
                state: node.op.state_keys().map(|keys| StateSize {
                    keys: keys as u64,
                    bytes: node.op.state_bytes() as u64,
                }),
            });
            values.push(value);
        }
        let first_sink = n_sources + self.nodes.len();
        for (k, slot) in self.sinks.iter_mut().enumerate() {
            if let StreamValue::Rdd(b) = &values[slot.input] {
                let stage_started = Instant::now();
                report.records_out += b.len();
                slot.sink
                    .write_batch(time, b)
                    .map_err(|cause| ExecError::Sink { time, cause })?;
                report.sinks.push(StageTime {
                    name: self.stage_names[first_sink + k].clone(),
                    records: b.len(),
                    took: stage_started.elapsed(),
                    state: None,
                });
            }
        }
        let rejected = rejected.into_inner().unwrap_or_else(|e| e.into_inner());
        report.rejected = rejected.len();
        self.route_rejected(time, &rejected)?;
        if self.keep_last {
            self.last = values;
        }
        report.state_bytes = self.nodes.iter().map(|n| n.op.state_bytes() as u64).sum();
        report.processing = started.elapsed();
        Ok(report)
    }

    /// The sources' batches as stream values (in source order), counted in `report`; their
    /// malformed records join `rejected`, or fail the batch under the `fail` policy.
    fn source_values(
        &self,
        time: BatchTime,
        inputs: Vec<SourceBatch>,
        rejected: &Mutex<Vec<DeadLetter>>,
        report: &mut BatchReport,
    ) -> Result<Vec<StreamValue>, ExecError> {
        let mut values: Vec<StreamValue> = Vec::with_capacity(inputs.len() + self.nodes.len());
        for (i, input) in inputs.into_iter().enumerate() {
            if let Some(first) = input.dead_letters.first() {
                if self.settings.policy == ErrorPolicy::Fail {
                    return Err(ExecError::Input {
                        time,
                        source_name: self.source_names[i].clone(),
                        reason: first.reason.clone(),
                    });
                }
                rejected
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .extend(input.dead_letters);
            }
            let records = input.batch.as_ref().map_or(0, |b| b.len());
            report.records_in += records;
            report.sources.push(SourceReport {
                name: self.stage_names[i].clone(),
                records,
                took: Duration::ZERO,
                buffered_bytes: None,
                rate_limit: None,
            });
            values.push(match input.batch {
                Some(b) => StreamValue::Rdd(b),
                None => StreamValue::NoRdd,
            });
        }
        Ok(values)
    }

    /// Writes the batch's rejected records to the dead-letter sink, or warns that they
    /// were skipped.
    fn route_rejected(
        &mut self,
        time: BatchTime,
        rejected: &[DeadLetter],
    ) -> Result<(), ExecError> {
        if rejected.is_empty() {
            return Ok(());
        }
        match (&mut self.dead_letter, self.settings.policy) {
            (Some(sink), ErrorPolicy::DeadLetter) => sink
                .write(time, rejected)
                .map_err(|cause| ExecError::Sink { time, cause })?,
            _ => tracing::warn!(
                time,
                count = rejected.len(),
                first = %rejected[0].reason,
                "Skipped rejected records."
            ),
        }
        Ok(())
    }

    /// Flushes every sink.
    ///
    /// # Errors
    /// The first [`ExecError::Sink`].
    pub fn flush(&mut self, time: BatchTime) -> Result<(), ExecError> {
        for slot in &mut self.sinks {
            slot.sink
                .flush()
                .map_err(|cause| ExecError::Sink { time, cause })?;
        }
        Ok(())
    }
}

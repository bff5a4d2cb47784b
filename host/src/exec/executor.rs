//! [`Executor`]: computes every stream at one batch time, in topological order, then hands
//! the finished batches to the sinks and the rejected records to the error policy.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::plan::{Node, SinkSlot};
use super::ExecError;
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
        Executor {
            source_names,
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
        for node in &mut self.nodes {
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
            values.push(value);
        }
        for slot in &mut self.sinks {
            if let StreamValue::Rdd(b) = &values[slot.input] {
                report.records_out += b.len();
                slot.sink
                    .write_batch(time, b)
                    .map_err(|cause| ExecError::Sink { time, cause })?;
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
            values.push(match input.batch {
                Some(b) => {
                    report.records_in += b.len();
                    StreamValue::Rdd(b)
                }
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

//! Operators: the steps that turn parent streams' batches into a stream's batch.
//!
//! CONTRACT shared by the engine and every operator (one operator per file in this folder):
//! - the executor calls [`Operator::on_batch`] on every stream at **every** batch time, in
//!   topological order, with what each parent produced at that time ([`StreamValue`]);
//! - an operator returns [`StreamValue::NotValid`] at times that are not valid for its
//!   slide (Spark's `isTimeValid`), otherwise `NoRdd` or `Rdd`; window operators use the
//!   calls at other times to buffer their parents' batches;
//! - state that must survive a restart (keyed state, window buffers, timeouts) is returned
//!   by [`Operator::snapshot`] and given back to [`Operator::restore`] on recovery;
//! - partitions run in parallel on rayon inside `on_batch`; WASM is called through
//!   [`OpContext::call`], never on a tokio thread.

use std::sync::{Arc, Mutex};

use sluice_abi::{Ctx, Shape};

use crate::record::Batch;
use crate::wasm::{CallError, CallOutput, Plugin};

pub mod build;
pub mod builtin;
pub mod codec;
pub mod combine_by_key;
pub mod config;
pub mod count;
pub mod event_time;
pub mod functions;
pub mod group_by_key;
pub mod group_window;
pub mod identity;
pub mod join;
pub mod json;
pub mod key_table;
pub mod keyed;
pub mod map_with_state;
pub mod narrow;
pub mod reduce;
pub mod reduce_by_key;
pub mod reduce_window;
pub mod registry;
pub mod repartition;
pub mod shuffle;
pub mod slice;
pub mod state_store;
pub mod transform;
pub mod union;
pub mod update_fn;
pub mod update_state;
pub mod window;

#[cfg(test)]
mod testutil;

/// Batch times, in milliseconds (since the Unix epoch with the wall clock; since zero with
/// the virtual clock).
pub type BatchTime = i64;

/// What a stream produced at one batch time.
#[derive(Debug, Clone, Default)]
pub enum StreamValue {
    /// The time is not valid for the stream's slide: it produced nothing, not even "no RDD".
    #[default]
    NotValid,
    /// A valid time at which the stream has no RDD (Spark's `None`; a queue's `null` batch).
    NoRdd,
    /// A batch, possibly with no records.
    Rdd(Arc<Batch>),
}

impl StreamValue {
    /// The batch, if there is one.
    pub fn rdd(&self) -> Option<&Arc<Batch>> {
        match self {
            StreamValue::Rdd(b) => Some(b),
            _ => None,
        }
    }

    /// Whether the stream was valid at this time (an RDD or "no RDD").
    pub fn is_valid(&self) -> bool {
        !matches!(self, StreamValue::NotValid)
    }
}

/// A plugin function as named by a job file.
#[derive(Debug, Clone)]
pub struct PluginFn {
    /// The loaded plugin.
    pub plugin: Plugin,
    /// The exported function.
    pub function: String,
}

impl PluginFn {
    /// `plugin.function`, for messages.
    pub fn display(&self) -> String {
        format!("{}.{}", self.plugin.name(), self.function)
    }
}

/// What to do with a record that a plugin (or a built-in operator) rejects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ErrorPolicy {
    /// Fail the batch, and so the job.
    #[default]
    Fail,
    /// Log and count the record, then drop it.
    Skip,
    /// Send the record with the reason to the dead-letter sink.
    DeadLetter,
}

/// A record that failed, with where and why.
#[derive(Debug, Clone)]
pub struct DeadLetter {
    /// The stream whose operator rejected it.
    pub stream: String,
    /// The encoded record.
    pub record: Vec<u8>,
    /// Why, naming the plugin and function when a plugin rejected it.
    pub reason: String,
}

/// Errors of operators; the executor fails the batch with it.
#[derive(Debug, thiserror::Error)]
pub enum OpError {
    /// A plugin call failed as a whole.
    #[error("stream `{stream}`: {source}")]
    Call {
        stream: String,
        #[source]
        source: CallError,
    },
    /// A record was rejected under the `fail` error policy.
    #[error("stream `{stream}`: record rejected: {reason}")]
    Record { stream: String, reason: String },
    /// Anything else, with a full sentence.
    #[error("stream `{stream}`: {message}")]
    Other { stream: String, message: String },
}

/// What an operator sees of the job while it runs one batch. Shared across rayon threads.
#[derive(Debug)]
pub struct OpContext<'a> {
    /// The stream this operator computes.
    pub stream: &'a str,
    /// The current batch time.
    pub time: BatchTime,
    /// The job's zero time (first batch time minus the batch interval).
    pub zero_time: BatchTime,
    /// The batch interval in milliseconds.
    pub batch_ms: i64,
    /// Partitions for shuffles that do not set their own count.
    pub default_partitions: usize,
    /// The job's error policy.
    pub policy: ErrorPolicy,
    /// Records rejected in this batch (under `skip` and `dead_letter`).
    pub rejected: &'a Mutex<Vec<DeadLetter>>,
}

impl OpContext<'_> {
    /// Whether `time` is valid for a stream with this slide (Spark's `isTimeValid`).
    pub fn is_valid_time(&self, slide_ms: i64) -> bool {
        self.time > self.zero_time && (self.time - self.zero_time) % slide_ms == 0
    }

    /// Calls a plugin function on one partition's items, with this batch's context.
    ///
    /// # Errors
    /// [`OpError::Call`] when the call fails as a whole.
    pub fn call(
        &self,
        f: &PluginFn,
        shape: Shape,
        partition: u32,
        count: u32,
        items: &[u8],
    ) -> Result<CallOutput, OpError> {
        let ctx = Ctx {
            batch_time_ms: self.time,
            partition,
        };
        f.plugin
            .call(&f.function, shape, count, items, &ctx)
            .map_err(|source| OpError::Call {
                stream: self.stream.to_owned(),
                source,
            })
    }

    /// Applies the error policy to a rejected record.
    ///
    /// # Errors
    /// [`OpError::Record`] under [`ErrorPolicy::Fail`].
    pub fn reject(&self, record: &[u8], reason: String) -> Result<(), OpError> {
        match self.policy {
            ErrorPolicy::Fail => Err(OpError::Record {
                stream: self.stream.to_owned(),
                reason,
            }),
            ErrorPolicy::Skip | ErrorPolicy::DeadLetter => {
                let mut rejected = self.rejected.lock().unwrap_or_else(|e| e.into_inner());
                rejected.push(DeadLetter {
                    stream: self.stream.to_owned(),
                    record: record.to_vec(),
                    reason,
                });
                Ok(())
            }
        }
    }

    /// An [`OpError::Other`] for this stream.
    pub fn error(&self, message: impl Into<String>) -> OpError {
        OpError::Other {
            stream: self.stream.to_owned(),
            message: message.into(),
        }
    }
}

/// One step of a job graph. See the module documentation for the calling contract.
pub trait Operator: Send {
    /// The operation's name as written in job files (`"map"`, `"window"`).
    fn kind(&self) -> &'static str;

    /// Computes this stream's value at `cx.time` from its parents' values at that time.
    ///
    /// # Errors
    /// An [`OpError`] fails the batch.
    fn on_batch(
        &mut self,
        inputs: &[StreamValue],
        cx: &OpContext<'_>,
    ) -> Result<StreamValue, OpError>;

    /// The state to checkpoint, encoded by the operator; `None` for stateless operators.
    fn snapshot(&self) -> Option<Vec<u8>> {
        None
    }

    /// Restores state written by [`Operator::snapshot`].
    ///
    /// # Errors
    /// A message when the data does not belong to this operator.
    fn restore(&mut self, _data: &[u8]) -> Result<(), String> {
        Err(format!("operator `{}` keeps no state", self.kind()))
    }

    /// The changes since the previous call (keyed operators: the keys updated or removed
    /// since then, so that the cost follows the changed keys); `None` for stateless
    /// operators. Operators without a delta form return a full snapshot. Recovery is
    /// [`Operator::restore`] of a full snapshot, then [`Operator::restore_delta`] of every
    /// delta taken after it, in order.
    fn snapshot_delta(&mut self) -> Option<Vec<u8>> {
        self.snapshot()
    }

    /// Applies a delta written by [`Operator::snapshot_delta`] on top of restored state.
    ///
    /// # Errors
    /// As [`Operator::restore`].
    fn restore_delta(&mut self, data: &[u8]) -> Result<(), String> {
        self.restore(data)
    }
}

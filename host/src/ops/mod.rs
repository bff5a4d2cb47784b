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

pub use build_context::{BuildContext, Links, SharedLinks};
pub use builtin::Builtin;
pub use functions::{InverseFn, ReduceFn};
pub use map_with_state::{MapWithState, MapWithStateConfig};
pub use narrow::{NarrowChain, TakesChain};
pub use reduce_window::ReduceByKeyAndWindow;
pub use registry::{build, combine_hint, Built};
pub use slice::Slice;
pub use update_fn::UpdateFn;
pub use update_state::UpdateStateByKey;
pub use window::WindowSpec;

use crate::record::{Batch, BatchTime, DeadLetter};
use crate::wasm::{CallError, CallOutput, Plugin};

mod build;
mod build_context;
mod builtin;
mod combine_by_key;
mod count;
mod event_time;
mod functions;
mod group_by_key;
mod group_window;
mod hash;
mod join;
mod json;
mod key_table;
mod keyed;
mod map_with_state;
mod narrow;
mod reduce;
mod reduce_by_key;
mod reduce_window;
mod registry;
mod repartition;
mod shuffle;
mod slice;
mod state_store;
mod transform;
mod union;
mod update_fn;
mod update_state;
mod window;
mod window_state;

#[cfg(test)]
mod builtin_tests;
#[cfg(test)]
mod testutil;

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

/// Errors of operators; the executor fails the batch with it.
#[derive(Debug, thiserror::Error)]
pub enum OpError {
    /// A plugin call failed as a whole.
    #[error("stream `{stream}`: {cause}")]
    Call { stream: String, cause: CallError },
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
        self.call_hinted(f, shape, Ctx::new(self.time, partition), count, items)
    }

    /// [`OpContext::call`] with a context of the caller's (the combine hint).
    ///
    /// # Errors
    /// [`OpError::Call`] when the call fails as a whole.
    pub fn call_hinted(
        &self,
        f: &PluginFn,
        shape: Shape,
        ctx: Ctx,
        count: u32,
        items: &[u8],
    ) -> Result<CallOutput, OpError> {
        f.plugin
            .call(&f.function, shape, count, items, &ctx)
            .map_err(|cause| OpError::Call {
                stream: self.stream.to_owned(),
                cause,
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

    /// Bytes of keyed state the operator holds (an estimate kept as it changes, cheap
    /// to ask after every batch; `sluice serve` charges it to the tenant's `max_memory`).
    /// 0 for operators without keyed state.
    fn state_bytes(&self) -> usize {
        0
    }

    /// Keys in the operator's keyed state, cheap to ask after every batch (for metrics);
    /// `None` for operators without keyed state.
    fn state_keys(&self) -> Option<usize> {
        None
    }

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

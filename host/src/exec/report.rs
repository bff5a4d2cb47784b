//! The parts of a [`super::BatchReport`] that time each stage of a batch: each source's
//! pull, each stream's operator (with its keyed state) and each sink's write, for the
//! UI, the metrics and `--progress json` (`crate::observe`).

use std::sync::Arc;
use std::time::Duration;

/// One source's part of a batch.
#[derive(Debug, Clone)]
pub struct SourceReport {
    /// The source.
    pub name: Arc<str>,
    /// Records it produced.
    pub records: usize,
    /// Time to pull them (direct sources) or take them from the receiver.
    pub took: Duration,
    /// Bytes a receiver received that wait for the next batch (`None`: a direct source).
    pub buffered_bytes: Option<u64>,
    /// The rate limit in force after the batch, records per second.
    pub rate_limit: Option<f64>,
}

/// One stream's or sink's part of a batch.
#[derive(Debug, Clone)]
pub struct StageTime {
    /// The stream (an executor node: a fused chain under its last stream) or sink.
    pub name: Arc<str>,
    /// Records it produced (streams) or wrote (sinks).
    pub records: usize,
    /// Its time.
    pub took: Duration,
    /// Its keyed state after the batch (streams with keyed state only).
    pub state: Option<StateSize>,
}

/// The keyed state an operator holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StateSize {
    /// Keys.
    pub keys: u64,
    /// Bytes (encoded keys and values, as [`crate::ops::Operator::state_bytes`]).
    pub bytes: u64,
}

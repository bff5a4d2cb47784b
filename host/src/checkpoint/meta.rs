//! [`CheckpointMeta`]: the metadata of one checkpoint (JSON inside a checksummed file) —
//! the job's fingerprint, the last completed batch, the clock, each source's position and
//! each stateful operator's chain of state files (a full snapshot, then deltas).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::fingerprint::Fingerprint;

/// Where a source resumes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SourcePosition {
    /// A replayable source: the position its `position()` returned after the batch.
    Direct {
        /// Opaque to the checkpoint; given back to `seek()`.
        position: serde_json::Value,
    },
    /// A receiver with a write-ahead log: blocks from `next_seq` on are not yet part of a
    /// completed batch.
    Wal {
        /// The first WAL block sequence number not consumed by a completed batch.
        next_seq: u64,
    },
    /// A receiver without a write-ahead log: nothing can be replayed.
    Unreliable,
}

/// One state file of an operator's chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateRef {
    /// The checkpoint (batch index) that wrote it.
    pub index: u64,
    /// A delta on top of the previous files of the chain, or a full snapshot.
    pub delta: bool,
    /// Body bytes.
    pub bytes: u64,
    /// crc32 of the body, checked again on restore.
    pub crc: u32,
}

/// A stateful operator's saved state: restore the first (full) file, then apply the deltas
/// in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperatorState {
    /// The stream the operator computes.
    pub stream: String,
    /// The operator's kind (`update_state_by_key`, `window`...).
    pub kind: String,
    /// The chain of state files, oldest first; the first is a full snapshot.
    pub chain: Vec<StateRef>,
}

impl OperatorState {
    /// Bytes of state files this operator's restore reads.
    pub fn chain_bytes(&self) -> u64 {
        self.chain.iter().map(|r| r.bytes).sum()
    }
}

/// The clock a checkpoint was written under.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClockName {
    /// Batch times are wall-clock times.
    Wall,
    /// Batch times count from zero.
    Virtual,
}

impl std::fmt::Display for ClockName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ClockName::Wall => "wall",
            ClockName::Virtual => "virtual",
        })
    }
}

/// The metadata of one checkpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckpointMeta {
    /// The job's name, for messages.
    pub job: String,
    /// Batches completed when the checkpoint was taken (the last batch's number, from 1).
    pub index: u64,
    /// The time of the last completed batch, ms.
    pub batch_time: i64,
    /// The job's zero time (first batch time minus the batch interval).
    pub zero_time: i64,
    /// The clock.
    pub clock: ClockName,
    /// Wall-clock time the checkpoint was written, ms since the Unix epoch.
    pub written_at_ms: i64,
    /// Batch times generated but not completed when the checkpoint was taken. The
    /// checkpoint is a barrier after a batch completes, so this is empty; the batches after
    /// `batch_time` are replayed from the source positions.
    pub in_flight: Vec<i64>,
    /// What the state depends on.
    pub fingerprint: Fingerprint,
    /// Where each source resumes, by source name.
    pub sources: BTreeMap<String, SourcePosition>,
    /// Each stateful operator's state files.
    pub operators: Vec<OperatorState>,
}

impl CheckpointMeta {
    /// Encodes the metadata as the JSON body of its file.
    pub fn to_body(&self) -> Vec<u8> {
        serde_json::to_vec_pretty(self).unwrap_or_default()
    }

    /// Decodes a body written by [`CheckpointMeta::to_body`].
    ///
    /// # Errors
    /// The JSON error, as a sentence.
    pub fn from_body(body: &[u8]) -> Result<Self, String> {
        serde_json::from_slice(body).map_err(|e| format!("invalid metadata: {e}"))
    }
}

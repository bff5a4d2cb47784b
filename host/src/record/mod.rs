//! Records as encoded MessagePack bytes: partitions, batches and pair access.
//!
//! The host keeps every record as the bytes of one MessagePack value and decodes only what
//! it needs (a key for a shuffle, a number for a built-in sum). A [`Partition`] stores its
//! records end to end in one buffer, so that handing a partition to a plugin is one copy
//! and reading a plugin's output back is one scan.

pub mod codec;
mod json;
mod pair;
mod partition;

pub use json::{json_to_msgpack, msgpack_to_json, JsonError};
pub use pair::{canonical_key, short_str_int_pair, split_pair, write_pair, PairError};
pub use partition::{Batch, Partition};

/// Batch times, in milliseconds (since the Unix epoch with the wall clock; since zero with
/// the virtual clock).
pub type BatchTime = i64;

/// A record that failed, with where and why: malformed input (with the source position in
/// the reason) or a record an operator rejected.
#[derive(Debug, Clone)]
pub struct DeadLetter {
    /// The stream whose operator (or the source) rejected it.
    pub stream: String,
    /// The encoded record.
    pub record: Vec<u8>,
    /// Why, naming the plugin and function when a plugin rejected it.
    pub reason: String,
}

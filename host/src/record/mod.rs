//! Records as encoded MessagePack bytes: partitions, batches and pair access.
//!
//! The host keeps every record as the bytes of one MessagePack value and decodes only what
//! it needs (a key for a shuffle, a number for a built-in sum). A [`Partition`] stores its
//! records end to end in one buffer, so that handing a partition to a plugin is one copy
//! and reading a plugin's output back is one scan.

mod json;
mod pair;
mod partition;

pub use json::{json_to_msgpack, msgpack_to_json, JsonError};
pub use pair::{canonical_key, short_str_int_pair, split_pair, write_pair, PairError};
pub use partition::{Batch, Partition};

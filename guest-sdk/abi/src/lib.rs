//! The Sluice guest ABI v1, shared by the host and every guest SDK.
//!
//! A Sluice plugin is a core WebAssembly module (wasm32) that exports a linear memory, an
//! allocator, and any number of *operator functions* of type `(ptr: i32, len: i32) -> i64`.
//! The host writes one MessagePack *input document* into guest memory, calls the function,
//! and reads one MessagePack *output document* back. The full contract, for authors in any
//! language, is `docs/abi.md`; this crate is its executable form:
//!
//! - [`exports`]: the names of required and optional exports and host imports;
//! - [`Shape`]: the five function shapes and what their documents hold;
//! - [`msgpack`]: a small, allocation-free MessagePack reader and writer (bounds-checked,
//!   depth-limited) used by the host to frame documents without decoding records;
//! - [`doc`]: writers and readers for each shape's input and output documents.
//!
//! The crate has no dependencies so that guests never pull in the host's runtime.
//!
//! ```
//! use sluice_abi::{doc, msgpack, Ctx};
//!
//! // Frame two records (the strings "a" and "b") as a transform input document.
//! let mut records = Vec::new();
//! msgpack::write_str(&mut records, "a");
//! msgpack::write_str(&mut records, "b");
//! let mut input = Vec::new();
//! doc::write_records_input(&mut input, 2, &records, &Ctx::new(1000, 0));
//!
//! // A guest reads it back.
//! let view = doc::read_input(&input).unwrap();
//! assert_eq!(view.ctx.batch_time_ms, 1000);
//! let items: Vec<&[u8]> = view.items().collect::<Result<_, _>>().unwrap();
//! assert_eq!(items, vec![&[0xa1, b'a'][..], &[0xa1, b'b'][..]]);
//! ```

pub mod doc;
pub mod exports;
pub mod msgpack;

pub use doc::{Combine, Ctx, OutputView, RecordError};
pub use msgpack::DecodeError;

/// The ABI version this crate implements; `sluice_abi_version` must return it.
pub const ABI_VERSION: i32 = 1;

/// Packs an output buffer into the `i64` an operator function returns:
/// `(out_ptr << 32) | out_len`.
pub const fn pack_ptr_len(ptr: u32, len: u32) -> i64 {
    (((ptr as u64) << 32) | len as u64) as i64
}

/// Splits an operator function's `i64` result into `(out_ptr, out_len)`.
pub const fn unpack_ptr_len(packed: i64) -> (u32, u32) {
    let bits = packed as u64;
    ((bits >> 32) as u32, bits as u32)
}

/// The shape of an operator function: what its input document holds and what its output
/// document must hold. The job file names a function; the operator it is used in fixes
/// its shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Shape {
    /// A partition of records in, any number of records out (map, filter, flat_map,
    /// map_partitions, transform). Items are records.
    Transform,
    /// Groups `[key, [v1, v2, ...]]` in (values non-empty), one combined value out per
    /// group, in order (reduce, reduce_by_key, window reductions).
    Reduce,
    /// Groups `[key, acc, removed]` in, one value `inv(acc, removed)` out per group, in
    /// order (incremental windows).
    InverseReduce,
    /// Entries `[key, [values], state_opt, timing_out]` in, one `[state_opt, [emitted]]`
    /// out per entry, in order (update_state_by_key, map_with_state).
    UpdateState,
    /// The plugin's parameters from the job file, once per instance, before any other
    /// call; the output's items are ignored, an error refuses the plugin.
    Init,
}

impl Shape {
    /// A short lower-case name, as used in messages and docs.
    pub const fn name(self) -> &'static str {
        match self {
            Shape::Transform => "transform",
            Shape::Reduce => "reduce",
            Shape::InverseReduce => "inverse_reduce",
            Shape::UpdateState => "update_state",
            Shape::Init => "init",
        }
    }

    /// Whether the output must hold exactly one item per input item, in order.
    pub const fn one_output_per_input(self) -> bool {
        matches!(
            self,
            Shape::Reduce | Shape::InverseReduce | Shape::UpdateState
        )
    }
}

/// Log levels of the `sluice.log` host import.
#[repr(i32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LogLevel {
    Error = 1,
    Warn = 2,
    Info = 3,
    Debug = 4,
    Trace = 5,
}

impl TryFrom<i32> for LogLevel {
    type Error = i32;

    fn try_from(value: i32) -> Result<Self, i32> {
        Ok(match value {
            1 => LogLevel::Error,
            2 => LogLevel::Warn,
            3 => LogLevel::Info,
            4 => LogLevel::Debug,
            5 => LogLevel::Trace,
            other => return Err(other),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ptr_len_round_trips() {
        for (p, l) in [(0, 0), (1, 2), (u32::MAX, u32::MAX), (0x8000_0000, 7)] {
            assert_eq!(unpack_ptr_len(pack_ptr_len(p, l)), (p, l));
        }
    }

    #[test]
    fn log_levels_convert() {
        assert_eq!(LogLevel::try_from(2), Ok(LogLevel::Warn));
        assert_eq!(LogLevel::try_from(9), Err(9));
    }
}

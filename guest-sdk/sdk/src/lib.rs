//! Write Sluice plugins in Rust: plain functions over typed records, exported with one
//! macro line each.
//!
//! ```
//! // A flat_map from lines to words, and a reduce that sums counts.
//! fn split(line: String) -> Vec<String> {
//!     line.split_whitespace().map(str::to_owned).collect()
//! }
//! sluice_plugin::flat_map!(split);
//!
//! fn sum(a: i64, b: i64) -> i64 {
//!     a + b
//! }
//! sluice_plugin::reduce!(sum);
//! # fn main() {}
//! ```
//!
//! Build the crate as a `cdylib` for `wasm32-unknown-unknown` (or `wasm32-wasip1`). The
//! SDK exports what the ABI requires (`memory`, `sluice_abi_version`, `sluice_alloc`,
//! `sluice_free`); each macro adds one operator export of type `(i32, i32) -> i64`.
//!
//! - Records are any serde type: `String`, `i64`, `(String, i64)` for pairs, your own
//!   structs (encoded as maps), or the dynamic [`Value`].
//! - A function may return `T` or `Result<T, E>` where `E: Display`; an `Err`, or a record
//!   that does not decode into the function's argument type, is a per-record error that
//!   the job's error policy handles. It never traps.
//! - A panic traps: the call fails and the host discards the instance. The panic message
//!   is logged first.
//! - [`ctx()`] gives the batch time and partition of the call; [`info!`] and its siblings
//!   write to the job's log through the host import `sluice.log`.
//! - When the host sends the combine hint (a transform whose output only a built-in
//!   `sum`/`min`/`max` keyed reduce reads; `docs/abi.md` section 4.1), every transform
//!   runtime merges the `[key, integer]` pairs a function emits per key before returning
//!   them. Nothing to do in user code; [`Ctx::combine`] shows the hint.
//!
//! The contract these macros implement, for any language, is `docs/abi.md`.

mod codec;
mod combine;
mod init;
mod input;
mod keyed;
mod lift;
pub mod log;
mod macros;
mod memory;
mod output;
mod state;
mod transform;

pub use codec::{decode, encode, type_label};
pub use input::ctx;
pub use log::LogLevel;
pub use output::Output;
pub use rmpv::Value;
pub use sluice_abi::{self as abi, Combine, Ctx};
pub use state::State;
pub use transform::split_pair;

/// The runtimes behind the macros: each takes an input document and returns the output
/// document. Public so that they can be tested natively and called by hand.
pub mod run {
    pub use crate::init::init;
    pub use crate::keyed::{fold, inverse};
    pub use crate::state::{map_with_state, update_state};
    pub use crate::transform::{
        filter, flat_map, flat_map_values, map, map_partitions, map_values, raw, transform_with,
    };
}

#[doc(hidden)]
pub mod __private {
    pub use crate::init::init;
    pub use crate::keyed::{fold, inverse};
    pub use crate::lift::{PlainKind, ResultKind};
    #[cfg(target_arch = "wasm32")]
    pub use crate::memory::call;
    pub use crate::state::{map_with_state, update_state};
    pub use crate::transform::{
        filter, flat_map, flat_map_values, map, map_partitions, map_values, raw, transform_with,
    };
    pub use serde::de::IgnoredAny;
}

#[cfg(test)]
mod tests;

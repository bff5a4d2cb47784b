//! Built-in record operations that run in the host, without a plugin: `key_by`, `select`,
//! `filter` on a field, `parse_json` and `to_json`, one per file here.
//!
//! Each is a narrow step ([`JsonStep`], wrapped in the chain's `NarrowStep::Json`) that
//! fuses with its neighbours. A step
//! reads a record's encoded bytes with a cursor ([`cursor::Cursor`]) and writes its output
//! straight into the output partition's buffer, so the common path allocates nothing per
//! record. A record a step cannot handle (a missing field, a record that is not a map,
//! invalid JSON) goes to the job's error policy with a reason naming the operation and
//! the field; the stream is named by the policy (`stream `s`: record rejected: ...`).
//!
//! This file only declares and re-exports: the step is in `step.rs`, its building from
//! the job file in `build.rs`, the per-record and per-setting errors in `problem.rs`.

pub use build::build;
pub use problem::{Problem, SettingError};
pub use step::JsonStep;

mod build;
pub mod cursor;
pub mod filter;
pub mod key_by;
pub mod operand;
pub mod parse_json;
pub mod path;
mod problem;
pub mod select;
mod step;
pub mod to_json;

#[cfg(test)]
mod tests;

//! Built-in record operations that run in the host, without a plugin: `key_by`, `select`,
//! `filter` on a field, `parse_json` and `to_json`, one per file here.
//!
//! Each is a narrow step ([`NarrowStep::Json`]) that fuses with its neighbours. A step
//! reads a record's encoded bytes with a cursor ([`cursor::Cursor`]) and writes its output
//! straight into the output partition's buffer, so the common path allocates nothing per
//! record. A record a step cannot handle (a missing field, a record that is not a map,
//! invalid JSON) goes to the job's error policy with a reason naming the operation and
//! the field; the stream is named by the policy (`stream `s`: record rejected: ...`).

use std::fmt;

use sluice_abi::msgpack::DecodeError;

use super::narrow::NarrowStep;
use super::registry::BuildContext;
use super::{OpContext, OpError};
use crate::job::{JobError, OpConfig};
use crate::record::{JsonError, Partition};

pub mod config;
pub mod cursor;
pub mod filter;
pub mod key_by;
pub mod parse_json;
pub mod path;
pub mod select;
pub mod to_json;

#[cfg(test)]
mod tests;

use filter::{FieldFilter, Operand};
use key_by::KeyBy;
use path::{FieldPath, LookupError};
use select::Select;

/// One built-in record operation.
#[derive(Debug, Clone)]
pub enum JsonStep {
    /// `key_by`.
    KeyBy(KeyBy),
    /// `select`.
    Select(Select),
    /// `filter` with `field`, `cmp`, `value`.
    Filter(FieldFilter),
    /// `parse_json`.
    ParseJson,
    /// `to_json`.
    ToJson,
}

impl JsonStep {
    /// The operation's name as written in job files.
    pub fn kind(&self) -> &'static str {
        match self {
            JsonStep::KeyBy(_) => "key_by",
            JsonStep::Select(_) => "select",
            JsonStep::Filter(_) => "filter",
            JsonStep::ParseJson => "parse_json",
            JsonStep::ToJson => "to_json",
        }
    }

    fn apply<'s>(&'s self, record: &'s [u8], out: &mut Partition) -> Result<(), Problem<'s>> {
        match self {
            JsonStep::KeyBy(k) => k.apply(record, out),
            JsonStep::Select(s) => s.apply(record, out),
            JsonStep::Filter(f) => f.apply(record, out),
            JsonStep::ParseJson => parse_json::apply(record, out),
            JsonStep::ToJson => to_json::apply(record, out),
        }
    }

    /// Runs the step on one partition; rejected records go to the error policy.
    ///
    /// # Errors
    /// [`OpError::Record`] for a rejected record under the `fail` policy.
    pub fn run(&self, input: &Partition, cx: &OpContext<'_>) -> Result<Partition, OpError> {
        let mut out = Partition::with_capacity(input.len(), input.bytes().len() + 2 * input.len());
        for record in input.iter() {
            if let Err(problem) = self.apply(record, &mut out) {
                cx.reject(record, format!("`{}`: {problem}", self.kind()))?;
            }
        }
        Ok(out)
    }
}

/// The registration hook: builds the step of a built-in record operation (`filter` in
/// either form, since the plugin form shares the op name).
///
/// # Errors
/// A [`JobError`] at the setting that is wrong.
pub fn build(op: &OpConfig, cx: &BuildContext<'_>) -> Result<NarrowStep, JobError> {
    let at = |e: SettingError| cx.error(cx.field_span(e.field), e.message);
    let step = match op {
        OpConfig::Filter(c) => match filter::form(c).map_err(at)? {
            filter::Form::Plugin(f) => return Ok(NarrowStep::Filter(cx.plugin_fn(f)?)),
            filter::Form::Field(f) => JsonStep::Filter(f),
        },
        OpConfig::KeyBy(c) => JsonStep::KeyBy(KeyBy::from_config(c).map_err(at)?),
        OpConfig::Select(c) => JsonStep::Select(Select::from_config(c).map_err(at)?),
        OpConfig::ParseJson(_) => JsonStep::ParseJson,
        OpConfig::ToJson(_) => JsonStep::ToJson,
        other => {
            return Err(cx.error(
                cx.field_span("op"),
                format!("`{}` is not a built-in record operation", other.name()),
            ))
        }
    };
    Ok(NarrowStep::Json(step))
}

/// A setting of a built-in record operation that is wrong: the field and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingError {
    /// The setting (`key`, `fields`, `cmp`, …), or `op` for the stream as a whole.
    pub field: &'static str,
    /// A sentence.
    pub message: String,
}

impl SettingError {
    fn new(field: &'static str, message: impl Into<String>) -> Self {
        SettingError {
            field,
            message: message.into(),
        }
    }
}

/// Why a step rejected a record (a sentence once displayed; built only on that path).
#[derive(Debug)]
pub enum Problem<'s> {
    /// A field the step needs is not there.
    Lookup(LookupError<'s>),
    /// `filter` cannot order the field against the value.
    Compare {
        path: &'s FieldPath,
        found: &'static str,
        cmp: &'static str,
        operand: &'s Operand,
    },
    /// `select` with `rename` alone met a record that is not a map.
    NotMap(&'static str),
    /// `select` would rename a field onto one the record already has.
    Collision { old: &'s str, new: &'s str },
    /// `parse_json` met a record that is not a string.
    NotText(&'static str),
    /// `parse_json` met invalid JSON.
    Json(serde_json::Error),
    /// `to_json` met a record with no JSON form.
    NoJson(JsonError),
    /// The record is not valid MessagePack.
    Malformed(DecodeError),
}

impl fmt::Display for Problem<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Lookup(e) => e.fmt(f),
            Problem::Compare {
                path,
                found,
                cmp,
                operand,
            } => {
                let want = if matches!(operand, Operand::Str(_)) {
                    "string"
                } else {
                    "number"
                };
                write!(
                    f,
                    "field `{}` is {found}; `{cmp} {operand}` needs a {want}",
                    path.text()
                )
            }
            Problem::NotMap(found) => write!(f, "the record is not a map (found {found})"),
            Problem::Collision { old, new } => write!(
                f,
                "renaming `{old}` to `{new}` would repeat field `{new}`, which the record has"
            ),
            Problem::NotText(found) => {
                write!(f, "expected a string (a text line), found {found}")
            }
            Problem::Json(e) => write!(f, "invalid JSON: {e}"),
            Problem::NoJson(e) => e.fmt(f),
            Problem::Malformed(e) => write!(f, "malformed record: {e}"),
        }
    }
}

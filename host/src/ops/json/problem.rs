//! Why a built-in record operation refused a setting ([`SettingError`]) or a record
//! ([`Problem`]).

use std::fmt;

use sluice_abi::msgpack::DecodeError;

use super::operand::Operand;
use super::path::{FieldPath, LookupError};
use crate::record::JsonError;

/// A setting of a built-in record operation that is wrong: the field and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingError {
    /// The setting (`key`, `fields`, `cmp`, …), or `op` for the stream as a whole.
    pub field: &'static str,
    /// A sentence.
    pub message: String,
}

impl SettingError {
    pub(super) fn new(field: &'static str, message: impl Into<String>) -> Self {
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

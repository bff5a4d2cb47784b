//! `select`: keeps and/or renames fields. With `fields`, the output is a map of exactly
//! those fields in that order (pointers allowed, named after their last step unless
//! renamed; an array record works too: `fields = ["/0", "/1"]` turns a pair into a map).
//! With `rename` alone, every top-level field is kept in record order and the listed ones
//! get new names. A field `select` names that the record lacks is a per-record error.

use std::collections::BTreeSet;

use sluice_abi::msgpack;

use super::config::SelectConfig;
use super::cursor::{a_value_of, Cursor};
use super::path::{FieldPath, Lookup, LookupError, LookupKind};
use super::{Problem, SettingError};
use crate::record::Partition;

/// A field and the name it is written under.
#[derive(Debug, Clone)]
pub struct Named {
    path: FieldPath,
    name: String,
    /// `name`, encoded.
    key: Vec<u8>,
}

/// The `select` step.
#[derive(Debug, Clone)]
pub enum Select {
    /// Exactly these fields, in order.
    Keep(Vec<Named>),
    /// Every top-level field, these renamed (`path` is a plain name).
    Rename(Vec<Named>),
}

impl Select {
    /// The step a `[streams.NAME]` table with `op = "select"` describes.
    ///
    /// # Errors
    /// A [`SettingError`] at `fields` or `rename` for an empty selection, a bad field, a
    /// rename of a field that is not selected, or two fields with one output name.
    pub fn from_config(c: &SelectConfig) -> Result<Select, SettingError> {
        let named = |old: &str, new: Option<&String>| -> Result<Named, SettingError> {
            let path = FieldPath::parse(old).map_err(|m| SettingError::new("fields", m))?;
            let name = new.map_or_else(
                || String::from_utf8_lossy(path.leaf()).into_owned(),
                String::clone,
            );
            let mut key = Vec::with_capacity(name.len() + 2);
            msgpack::write_str(&mut key, &name);
            Ok(Named { path, name, key })
        };
        let step = match &c.fields {
            Some(fields) if fields.is_empty() => {
                return Err(SettingError::new(
                    "fields",
                    "`fields` is empty: list the fields to keep",
                ))
            }
            Some(fields) => {
                if let Some(old) = c.rename.keys().find(|k| !fields.contains(k)) {
                    return Err(SettingError::new(
                        "rename",
                        format!("rename `{old}`: `{old}` is not in `fields`"),
                    ));
                }
                let kept = fields
                    .iter()
                    .map(|f| named(f, c.rename.get(f)))
                    .collect::<Result<Vec<_>, _>>()?;
                Select::Keep(kept)
            }
            None if c.rename.is_empty() => {
                return Err(SettingError::new(
                    "op",
                    "`select` needs `fields` (the fields kept, in order) and/or `rename` (`{ old = \"new\" }`)",
                ))
            }
            None => {
                if let Some(old) = c.rename.keys().find(|k| k.starts_with('/')) {
                    return Err(SettingError::new(
                        "rename",
                        format!("rename `{old}`: without `fields`, `select` keeps the top-level fields, renamed by name; list a pointer in `fields` to pick it"),
                    ));
                }
                let renames = c
                    .rename
                    .iter()
                    .map(|(old, new)| named(old, Some(new)))
                    .collect::<Result<Vec<_>, _>>()?;
                Select::Rename(renames)
            }
        };
        let (Select::Keep(f) | Select::Rename(f)) = &step;
        let mut seen = BTreeSet::new();
        if let Some(dup) = f.iter().find(|n| !seen.insert(n.name.as_str())) {
            return Err(SettingError::new(
                if c.rename.is_empty() {
                    "fields"
                } else {
                    "rename"
                },
                format!("two selected fields would both be named `{}`", dup.name),
            ));
        }
        Ok(step)
    }

    /// Appends the selected map for `record` to `out`.
    ///
    /// # Errors
    /// A [`Problem`] for a missing field, a record that is not a map, or a rename onto a
    /// field the record already has; `out` is then unchanged.
    pub fn apply<'s>(&'s self, record: &'s [u8], out: &mut Partition) -> Result<(), Problem<'s>> {
        out.try_push_with(|b| match self {
            Select::Keep(fields) => {
                msgpack::write_map_len(b, fields.len() as u32);
                for f in fields {
                    let value = f.path.find(record).map_err(|lookup| {
                        Problem::Lookup(LookupError {
                            path: &f.path,
                            lookup,
                        })
                    })?;
                    b.extend_from_slice(&f.key);
                    b.extend_from_slice(value);
                }
                Ok(())
            }
            Select::Rename(renames) => rename(renames, record, b),
        })
    }
}

fn rename<'s>(renames: &'s [Named], record: &'s [u8], b: &mut Vec<u8>) -> Result<(), Problem<'s>> {
    let mut c = Cursor::new(record);
    let m = c.peek().map_err(Problem::Malformed)?;
    let n = c.map_len().map_err(|_| Problem::NotMap(a_value_of(m)))?;
    msgpack::write_map_len(b, n);
    let mut renamed = 0usize;
    for _ in 0..n {
        let start = c.position();
        let name = c.str_bytes();
        if name.is_none() {
            c.skip().map_err(Problem::Malformed)?;
        }
        let key = &record[start..c.position()];
        match name.and_then(|k| renames.iter().find(|r| r.path.leaf() == k)) {
            Some(r) => {
                renamed += 1;
                b.extend_from_slice(&r.key);
            }
            None => {
                if let Some(r) = renames.iter().find(|r| name == Some(r.name.as_bytes())) {
                    return Err(Problem::Collision {
                        old: r.path.text(),
                        new: &r.name,
                    });
                }
                b.extend_from_slice(key);
            }
        }
        b.extend_from_slice(c.value().map_err(Problem::Malformed)?);
    }
    if renamed < renames.len() {
        // (A map with duplicate keys could hide a missing field here; JSON maps do not
        // repeat keys.)
        if let Some(r) = renames.iter().find(|r| r.path.find(record).is_err()) {
            let lookup = Lookup {
                depth: 0,
                kind: LookupKind::Missing,
            };
            return Err(Problem::Lookup(LookupError {
                path: &r.path,
                lookup,
            }));
        }
    }
    Ok(())
}

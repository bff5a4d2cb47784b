//! `key_by`: each record becomes the pair `[key, value]`, the key from a field (or the
//! array of several fields' values), the value a field (or fields) or the whole record, so
//! that JSON records reach `reduce_by_key`, joins and keyed state without a plugin.

use sluice_abi::msgpack;

use super::config::KeyByConfig;
use super::path::{FieldPath, LookupError};
use super::{Problem, SettingError};
use crate::record::Partition;

/// One field, or several whose values make an array.
#[derive(Debug, Clone)]
pub enum Fields {
    /// The field's value.
    One(FieldPath),
    /// The array of the fields' values, in order.
    Many(Vec<FieldPath>),
}

impl Fields {
    /// Reads `key = "user"` or `key = ["user", "/geo/country"]`.
    ///
    /// # Errors
    /// A sentence when the setting is neither a field nor a non-empty array of fields.
    pub fn from_toml(name: &'static str, v: &toml::Value) -> Result<Fields, SettingError> {
        let parse = |s: &str| FieldPath::parse(s).map_err(|m| SettingError::new(name, m));
        match v {
            toml::Value::String(s) => parse(s).map(Fields::One),
            toml::Value::Array(items) if !items.is_empty() => items
                .iter()
                .map(|i| match i {
                    toml::Value::String(s) => parse(s),
                    other => Err(SettingError::new(
                        name,
                        format!("`{name}` lists fields, and {other} is not a string"),
                    )),
                })
                .collect::<Result<_, _>>()
                .map(Fields::Many),
            _ => Err(SettingError::new(
                name,
                format!("`{name}` must be a field (\"user\", \"/user/id\") or a non-empty array of fields"),
            )),
        }
    }

    /// Appends the value(s) the fields name in `record`.
    fn write<'s>(&'s self, record: &'s [u8], out: &mut Vec<u8>) -> Result<(), Problem<'s>> {
        let find = |path: &'s FieldPath| {
            path.find(record)
                .map_err(|lookup| Problem::Lookup(LookupError { path, lookup }))
        };
        match self {
            Fields::One(path) => out.extend_from_slice(find(path)?),
            Fields::Many(paths) => {
                msgpack::write_array_len(out, paths.len() as u32);
                for path in paths {
                    out.extend_from_slice(find(path)?);
                }
            }
        }
        Ok(())
    }
}

/// The `key_by` step.
#[derive(Debug, Clone)]
pub struct KeyBy {
    key: Fields,
    value: Option<Fields>,
}

impl KeyBy {
    /// Pairs `[key, value]`; `value: None` is the whole record.
    pub fn new(key: Fields, value: Option<Fields>) -> Self {
        KeyBy { key, value }
    }

    /// The step a `[streams.NAME]` table with `op = "key_by"` describes.
    ///
    /// # Errors
    /// A [`SettingError`] at `key` or `value` when it is not a field or an array of
    /// fields.
    pub fn from_config(c: &KeyByConfig) -> Result<KeyBy, SettingError> {
        let key = Fields::from_toml("key", &c.key)?;
        let value = c
            .value
            .as_ref()
            .map(|v| Fields::from_toml("value", v))
            .transpose()?;
        Ok(KeyBy::new(key, value))
    }

    /// Appends the pair for `record` to `out`.
    ///
    /// # Errors
    /// A [`Problem`] naming a field the record lacks; `out` is then unchanged.
    pub fn apply<'s>(&'s self, record: &'s [u8], out: &mut Partition) -> Result<(), Problem<'s>> {
        out.try_push_with(|b| {
            b.push(0x92);
            self.key.write(record, b)?;
            match &self.value {
                Some(v) => v.write(record, b),
                None => {
                    b.extend_from_slice(record);
                    Ok(())
                }
            }
        })
    }
}

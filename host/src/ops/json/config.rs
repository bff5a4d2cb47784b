//! Job-file settings of the built-in record operations (config types only; the sibling
//! modules build the steps). Fields are a name (`user`) or a JSON Pointer (`/user/id`).

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::job::FnRef;

/// `op = "filter"`: a plugin function (`fn`) or a built-in comparison of one field.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilterConfig {
    /// `plugin.function`: keeps the records the plugin returns.
    #[serde(default, rename = "fn")]
    pub func: Option<FnRef>,
    /// The field compared (built-in form).
    #[serde(default)]
    pub field: Option<String>,
    /// `==`, `!=`, `<`, `<=`, `>`, `>=` or `exists`.
    #[serde(default)]
    pub cmp: Option<String>,
    /// What the field is compared with: an integer, float, string or boolean.
    #[serde(default)]
    pub value: Option<toml::Value>,
}

/// `op = "key_by"`: pairs `[key, value]` from fields of each record.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyByConfig {
    /// The key: a field, or an array of fields (the key is then the array of their values).
    pub key: toml::Value,
    /// The value: as `key`; default: the whole record.
    #[serde(default)]
    pub value: Option<toml::Value>,
}

/// `op = "select"`: keeps and/or renames fields of map records.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SelectConfig {
    /// The fields kept, in this order; default: every top-level field, in record order.
    #[serde(default)]
    pub fields: Option<Vec<String>>,
    /// New names: `{ old = "new" }` (an old name that is a pointer is quoted: `"/a/b"`).
    #[serde(default)]
    pub rename: BTreeMap<String, String>,
}

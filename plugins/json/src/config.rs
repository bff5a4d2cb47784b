//! The params of the json plugin and how a record is matched against them.

use serde::Deserialize;
use serde_json::{Map, Value};

/// The plugin's params from the job file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Which records to keep; all when absent.
    #[serde(rename = "where")]
    pub where_: Option<Where>,
    /// Which fields to keep; all when absent.
    pub fields: Option<Vec<String>>,
}

/// A test on one field.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Where {
    /// A dotted path into the record: `"level"`, `"http.status"`.
    pub field: String,
    /// The field equals this value (numbers compare by value).
    pub equals: Option<Value>,
    /// The field is missing or differs from this value.
    pub not_equals: Option<Value>,
    /// The field is a string containing this one.
    pub contains: Option<String>,
    /// The field exists (`true`) or not (`false`).
    pub exists: Option<bool>,
}

/// The one test a `where` applies.
#[derive(Debug, Clone, PartialEq)]
pub enum Test {
    Equals(Value),
    NotEquals(Value),
    Contains(String),
    Exists(bool),
}

impl Where {
    /// The one test this `where` applies.
    ///
    /// # Errors
    /// Unless exactly one test is given.
    pub fn test(&self) -> Result<Test, String> {
        let mut tests = Vec::new();
        if let Some(v) = &self.equals {
            tests.push(Test::Equals(v.clone()));
        }
        if let Some(v) = &self.not_equals {
            tests.push(Test::NotEquals(v.clone()));
        }
        if let Some(s) = &self.contains {
            tests.push(Test::Contains(s.clone()));
        }
        if let Some(b) = self.exists {
            tests.push(Test::Exists(b));
        }
        match tests.len() {
            1 => Ok(tests.remove(0)),
            n => Err(format!(
                "params.where needs exactly one of equals, not_equals, contains, exists; found {n}"
            )),
        }
    }
}

impl Params {
    /// Checks the params make sense.
    ///
    /// # Errors
    /// A message naming the field in error.
    pub fn validate(&self) -> Result<(), String> {
        if let Some(w) = &self.where_ {
            if w.field.is_empty() {
                return Err("params.where.field is empty".into());
            }
            w.test()?;
        }
        Ok(())
    }

    /// Whether `record` passes `where`.
    pub fn matches(&self, record: &Value) -> bool {
        let Some(w) = &self.where_ else {
            return true;
        };
        let Ok(test) = w.test() else {
            return false;
        };
        let found = match record {
            Value::Object(map) => lookup(map, &w.field),
            _ => None,
        };
        match (test, found) {
            (Test::Exists(want), found) => found.is_some() == want,
            (Test::Equals(v), Some(f)) => json_eq(&v, f),
            (Test::NotEquals(v), Some(f)) => !json_eq(&v, f),
            (Test::NotEquals(_), None) => true,
            (Test::Contains(s), Some(Value::String(f))) => f.contains(&s),
            _ => false,
        }
    }
}

/// The value at a dotted path, if any.
pub fn lookup<'a>(map: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    if let Some(v) = map.get(path) {
        return Some(v);
    }
    let mut parts = path.split('.');
    let mut cur = map.get(parts.next()?)?;
    for p in parts {
        cur = cur.as_object()?.get(p)?;
    }
    Some(cur)
}

/// Equality where numbers compare by value (`500 == 500.0`).
fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(i), Some(j)) => i == j,
            _ => x.as_f64() == y.as_f64(),
        },
        _ => a == b,
    }
}

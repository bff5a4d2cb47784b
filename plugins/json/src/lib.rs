//! JSON records: parse JSON text, filter by a field, project fields.
//!
//! Params (all optional), given once through `sluice_init`:
//!
//! ```json
//! { "where": {"field": "level", "equals": "error"}, "fields": ["ts", "msg"] }
//! ```
//!
//! `where` takes a `field` (a dotted path: `"http.status"`) and one test: `equals`,
//! `not_equals` (any JSON value; numbers compare by value), `contains` (a substring of a
//! string field) or `exists` (`true`/`false`). Exports: `select` (parse, filter, project),
//! `parse`, `filter`, `project`. Records are JSON text (strings) or maps; outputs are maps.
//! Malformed JSON is a per-record error with serde_json's reason.

mod config;

use std::cell::RefCell;

use serde_json::{Map, Value};

pub use config::{Params, Test, Where};

thread_local! {
    static PARAMS: RefCell<Params> = RefCell::new(Params::default());
}

/// Stores the params; `None` (no params in the job) keeps every record and field.
pub fn init(params: Option<Params>) -> Result<(), String> {
    let params = params.unwrap_or_default();
    params.validate()?;
    sluice_plugin::info!(
        "json: where {}, fields {}",
        params
            .where_
            .as_ref()
            .map_or("(all records)".to_string(), |w| format!("{w:?}")),
        params
            .fields
            .as_ref()
            .map_or("(all)".to_string(), |f| f.join(", "))
    );
    PARAMS.with(|p| *p.borrow_mut() = params);
    Ok(())
}
sluice_plugin::init!(init);

/// A record as a JSON value: JSON text is parsed, anything else is taken as it is.
pub fn parse(record: Value) -> Result<Value, String> {
    match record {
        Value::String(text) => {
            serde_json::from_str(&text).map_err(|e| format!("malformed JSON: {e}"))
        }
        other => Ok(other),
    }
}
sluice_plugin::map!(parse);

/// Keeps the records that match `where` (all records without it).
pub fn filter(record: &Value) -> Result<bool, String> {
    let parsed;
    let record = match record {
        Value::String(_) => {
            parsed = parse(record.clone())?;
            &parsed
        }
        other => other,
    };
    Ok(PARAMS.with(|p| p.borrow().matches(record)))
}
sluice_plugin::filter!(filter);

/// Keeps only `fields` of a map record (all of them without the param); a missing field
/// is left out.
pub fn project(record: Value) -> Result<Value, String> {
    let record = parse(record)?;
    PARAMS.with(|p| match &p.borrow().fields {
        None => Ok(record),
        Some(fields) => {
            let Value::Object(map) = record else {
                return Err(format!("expected a JSON object, found {}", kind(&record)));
            };
            let mut out = Map::new();
            for f in fields {
                if let Some(v) = config::lookup(&map, f) {
                    out.insert(f.clone(), v.clone());
                }
            }
            Ok(Value::Object(out))
        }
    })
}
sluice_plugin::map!(project);

/// Parses, filters by `where`, then projects to `fields`.
pub fn select(record: Value) -> Result<Option<Value>, String> {
    let record = parse(record)?;
    if !PARAMS.with(|p| p.borrow().matches(&record)) {
        return Ok(None);
    }
    project(record).map(Some)
}
sluice_plugin::flat_map!(select);

/// The JSON type of a value, for messages.
fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn with_params(p: Value) {
        init(Some(serde_json::from_value(p).unwrap())).unwrap();
    }

    #[test]
    fn selects_and_projects() {
        with_params(
            json!({"where": {"field": "level", "equals": "error"}, "fields": ["ts", "msg"]}),
        );
        let r = select(json!(
            r#"{"ts": 1, "level": "error", "msg": "boom", "x": 2}"#
        ))
        .unwrap();
        assert_eq!(r, Some(json!({"ts": 1, "msg": "boom"})));
        let r = select(json!({"ts": 2, "level": "info", "msg": "fine"})).unwrap();
        assert_eq!(r, None);
        let err = select(json!("{\"ts\": ")).unwrap_err();
        assert!(err.starts_with("malformed JSON: EOF"), "{err}");
    }

    #[test]
    fn tests_and_paths() {
        with_params(json!({"where": {"field": "http.status", "equals": 500.0}}));
        assert!(filter(&json!({"http": {"status": 500}})).unwrap());
        assert!(!filter(&json!({"http": {"status": 404}})).unwrap());
        with_params(json!({"where": {"field": "msg", "contains": "oo"}}));
        assert!(filter(&json!({"msg": "boom"})).unwrap());
        with_params(json!({"where": {"field": "msg", "exists": false}}));
        assert!(!filter(&json!({"msg": "boom"})).unwrap());
        let bad: Params = serde_json::from_value(json!({"where": {"field": "a"}})).unwrap();
        assert!(init(Some(bad)).is_err());
        assert!(serde_json::from_value::<Params>(json!({"wher": {}})).is_err());
        let typo = json!({"where": {"field": "a", "equalz": 1}});
        assert!(serde_json::from_value::<Params>(typo).is_err());
    }
}

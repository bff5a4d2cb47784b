//! Compares collected outputs with a case's expectations; a failure is a short diff.

use serde_json::Value;

use crate::drive::Output;

fn text(v: &Value) -> String {
    v.to_string()
}

fn sorted(mut v: Vec<Value>) -> Vec<Value> {
    v.sort_by_key(text);
    v
}

fn short(v: &impl std::fmt::Display) -> String {
    let s = v.to_string();
    if s.len() > 160 {
        format!(
            "{}…",
            &s[..s.char_indices().nth(157).map_or(s.len(), |(i, _)| i)]
        )
    } else {
        s
    }
}

/// Sorts the value lists inside a record as `inner_shape` says.
fn normalize_inner(record: &Value, shape: &str) -> Value {
    let sort_list = |v: &Value| match v {
        Value::Array(items) => Value::Array(sorted(items.clone())),
        other => other.clone(),
    };
    match (shape, record) {
        ("list", r) => sort_list(r),
        ("kv_list", Value::Array(kv)) if kv.len() == 2 => {
            Value::Array(vec![kv[0].clone(), sort_list(&kv[1])])
        }
        ("kv_list_pair", Value::Array(kv)) if kv.len() == 2 => {
            let inner = match &kv[1] {
                Value::Array(lists) => Value::Array(lists.iter().map(sort_list).collect()),
                other => other.clone(),
            };
            Value::Array(vec![kv[0].clone(), inner])
        }
        (_, r) => r.clone(),
    }
}

/// Compares one batch (records) with its expectation.
fn batch_matches(case: &Value, got: &[Value], want: &[Value]) -> bool {
    let inner = case
        .get("inner_compare")
        .and_then(Value::as_str)
        .unwrap_or("ordered");
    let shape = case
        .get("inner_shape")
        .and_then(Value::as_str)
        .unwrap_or("");
    let norm = |rs: &[Value]| -> Vec<Value> {
        if inner == "ordered" {
            rs.to_vec()
        } else {
            rs.iter().map(|r| normalize_inner(r, shape)).collect()
        }
    };
    let (got, want) = (norm(got), norm(want));
    match case["compare"].as_str().unwrap_or("ordered") {
        "ordered" => got == want,
        // "set" cases also hold as multisets (see the README), the stricter check.
        _ => sorted(got) == sorted(want),
    }
}

/// Checks a case's outputs; `Err` is the short diff.
pub fn check(
    case: &Value,
    outputs: &[Output],
    expected: &[Value],
    what: &str,
) -> Result<(), String> {
    let first_n = case.get("collect").and_then(Value::as_str) == Some("first_n_nonempty");
    let outputs: Vec<&Output> = if first_n {
        outputs
            .iter()
            .filter(|o| !o.records.is_empty())
            .take(expected.len())
            .collect()
    } else {
        outputs.iter().collect()
    };
    if outputs.len() != expected.len() {
        let times: Vec<i64> = outputs.iter().map(|o| o.time).collect();
        return Err(format!(
            "{what}: {} output batches (at {times:?} ms), expected {}",
            outputs.len(),
            expected.len()
        ));
    }
    if what == "output" && !first_n {
        if let Some(times) = case.get("expected_times_ms").and_then(Value::as_array) {
            let got: Vec<i64> = outputs.iter().map(|o| o.time).collect();
            let want: Vec<i64> = times.iter().filter_map(Value::as_i64).collect();
            if got != want {
                return Err(format!("output times {got:?} ms, expected {want:?}"));
            }
        }
    }
    let checks = case.get("checks");
    for (i, (o, want)) in outputs.iter().zip(expected).enumerate() {
        let want = want.as_array().map(Vec::as_slice).unwrap_or_default();
        let custom_only = case["compare"] == "custom" || case.get("expected").is_none();
        if !custom_only && !batch_matches(case, &o.records, want) {
            return Err(format!(
                "{what} batch {} (at {} ms): got {}, expected {}",
                i + 1,
                o.time,
                short(&Value::Array(o.records.clone())),
                short(&Value::Array(want.to_vec()))
            ));
        }
        if let Some(n) = checks
            .and_then(|c| c.get("partitions_per_batch"))
            .and_then(Value::as_u64)
        {
            if o.partitions as u64 != n {
                return Err(format!(
                    "batch {} (at {} ms): {} partitions, expected {n}",
                    i + 1,
                    o.time,
                    o.partitions
                ));
            }
        }
        if let Some(n) = checks
            .and_then(|c| c.get("elements_per_batch"))
            .and_then(Value::as_u64)
        {
            if o.records.len() as u64 != n {
                return Err(format!(
                    "batch {} (at {} ms): {} records, expected {n}",
                    i + 1,
                    o.time,
                    o.records.len()
                ));
            }
        }
    }
    Ok(())
}

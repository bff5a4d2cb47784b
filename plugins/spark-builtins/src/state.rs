//! Stateful builtins: update_state_by_key and map_with_state functions.

use sluice_plugin::{State, Value};

use crate::value::{add, int, to_string};

type Res<T> = Result<T, String>;

fn sum_values(values: &[Value]) -> Res<Value> {
    let mut acc = Value::from(0);
    for v in values {
        acc = add(&acc, v)?;
    }
    Ok(acc)
}

// --- update_state_by_key ---------------------------------------------------------------

/// `sum(values) + (state ?? 0)`.
pub fn update_sum(values: Vec<Value>, state: Option<Value>) -> Res<Option<Value>> {
    let s = sum_values(&values)?;
    add(&s, &state.unwrap_or(Value::from(0))).map(Some)
}
sluice_plugin::update_state!(update_sum);

/// `(state ?? []) ++ values`.
pub fn update_append(values: Vec<Value>, state: Option<Value>) -> Res<Option<Value>> {
    let mut list = match state {
        None => Vec::new(),
        Some(Value::Array(items)) => items,
        Some(other) => return Err(format!("expected a list state, found {other}")),
    };
    list.extend(values);
    Ok(Some(Value::Array(list)))
}
sluice_plugin::update_state!(update_append);

/// `values non-empty ? batch_time_ms + (state ?? 0) : (state ?? 0)`.
pub fn update_add_batch_time_if_values(
    values: Vec<Value>,
    state: Option<Value>,
) -> Res<Option<Value>> {
    let state = state.unwrap_or(Value::from(0));
    if values.is_empty() {
        return Ok(Some(state));
    }
    let time = Value::from(sluice_plugin::ctx().batch_time_ms);
    add(&time, &state).map(Some)
}
sluice_plugin::update_state!(update_add_batch_time_if_values);

/// State `[counter, idle]` from `[0, 0]`: new values add to the counter and reset idle;
/// a batch without values adds one idle batch; the key is deleted after 2 idle batches.
pub fn update_counter_expire_after_2_idle(
    values: Vec<Value>,
    state: Option<(i64, i64)>,
) -> Res<Option<(i64, i64)>> {
    let (mut counter, mut idle) = state.unwrap_or((0, 0));
    let n = int(&sum_values(&values)?)?;
    if n == 0 {
        idle += 1;
    } else {
        counter += n;
        idle = 0;
    }
    Ok((idle != 2).then_some((counter, idle)))
}
sluice_plugin::update_state!(update_counter_expire_after_2_idle);

/// `s = sum(values) + (state ?? 0)`; the key is deleted when `s > 12`.
pub fn update_sum_drop_above_12(values: Vec<Value>, state: Option<i64>) -> Res<Option<i64>> {
    let s = int(&sum_values(&values)?)? + state.unwrap_or(0);
    Ok((s <= 12).then_some(s))
}
sluice_plugin::update_state!(update_sum_drop_above_12);

// --- map_with_state --------------------------------------------------------------------

/// `s = (value ?? 0) + (state ?? 0)`, stored unless the key is timing out.
fn running_sum(value: Option<Value>, state: &mut State<Value>) -> Res<Value> {
    let prev = state.get().cloned().unwrap_or(Value::from(0));
    let s = add(&value.unwrap_or(Value::from(0)), &prev)?;
    if !state.is_timing_out() {
        state.update(s.clone());
    }
    Ok(s)
}

/// Running sum, emitting the sum.
pub fn mws_running_sum_emit_sum(
    _key: &Value,
    value: Option<Value>,
    state: &mut State<Value>,
) -> Res<Option<Value>> {
    running_sum(value, state).map(Some)
}
sluice_plugin::map_with_state!(mws_running_sum_emit_sum);

/// Running sum, emitting the key repeated twice (`key + key`).
pub fn mws_running_sum_emit_key_twice(
    key: &Value,
    value: Option<Value>,
    state: &mut State<Value>,
) -> Res<Option<String>> {
    running_sum(value, state)?;
    let k = to_string(key);
    Ok(Some(format!("{k}{k}")))
}
sluice_plugin::map_with_state!(mws_running_sum_emit_key_twice);

/// Running sum, emitting `[key, sum]`.
pub fn mws_running_sum_emit_key_sum(
    key: &Value,
    value: Option<Value>,
    state: &mut State<Value>,
) -> Res<Option<(Value, Value)>> {
    let s = running_sum(value, state)?;
    Ok(Some((key.clone(), s)))
}
sluice_plugin::map_with_state!(mws_running_sum_emit_key_sum);

/// Running sum, emitting nothing.
pub fn mws_running_sum_emit_nothing(
    _key: &Value,
    value: Option<Value>,
    state: &mut State<Value>,
) -> Res<Option<Value>> {
    running_sum(value, state)?;
    Ok(None)
}
sluice_plugin::map_with_state!(mws_running_sum_emit_nothing);

/// If a state exists remove it and emit the key, else store the value and emit nothing.
pub fn mws_remove_if_exists_else_set(
    key: &Value,
    value: Option<Value>,
    state: &mut State<Value>,
) -> Option<Value> {
    if state.is_timing_out() {
        return None;
    }
    if state.exists() {
        state.remove();
        Some(key.clone())
    } else {
        if let Some(v) = value {
            state.update(v);
        }
        None
    }
}
sluice_plugin::map_with_state!(mws_remove_if_exists_else_set);

/// Stores 1 for every value; emits the key when it times out.
pub fn mws_set_one_emit_key_on_timeout(
    key: &Value,
    value: Option<Value>,
    state: &mut State<Value>,
) -> Option<Value> {
    if value.is_some() {
        state.update(Value::from(1));
    }
    state.is_timing_out().then(|| key.clone())
}
sluice_plugin::map_with_state!(mws_set_one_emit_key_on_timeout);

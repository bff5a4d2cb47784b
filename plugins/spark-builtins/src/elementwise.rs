//! Element-wise builtins: map, flat_map, filter, map_values, flat_map_values,
//! map_partitions.

use sluice_plugin::Value;

use crate::value::{add, int, is_positive, is_zero, mul, text, to_string};

type Res<T> = Result<T, String>;

fn pair(k: Value, v: Value) -> Value {
    Value::Array(vec![k, v])
}

fn chars(s: &str) -> impl Iterator<Item = Value> + '_ {
    s.chars().map(|c| Value::from(c.to_string()))
}

// --- map -------------------------------------------------------------------------------

/// `x -> str(x)`.
pub fn to_string_(x: Value) -> String {
    to_string(&x)
}
sluice_plugin::map!(to_string_ as "to_string");

/// `x -> x + 4`.
pub fn add_4(x: Value) -> Res<Value> {
    add(&x, &Value::from(4))
}
sluice_plugin::map!(add_4);

/// `x -> x + 8`.
pub fn add_8(x: Value) -> Res<Value> {
    add(&x, &Value::from(8))
}
sluice_plugin::map!(add_8);

/// `x -> [x, 1]`.
pub fn pair_with_one(x: Value) -> Value {
    pair(x, Value::from(1))
}
sluice_plugin::map!(pair_with_one);

/// `x -> [x, "x"]`.
pub fn pair_with_x(x: Value) -> Value {
    pair(x, Value::from("x"))
}
sluice_plugin::map!(pair_with_x);

/// `s -> [s, len(s)]` (characters).
pub fn pair_with_length(s: String) -> (String, i64) {
    let n = s.chars().count() as i64;
    (s, n)
}
sluice_plugin::map!(pair_with_length);

/// `s -> len(s)` (characters).
pub fn str_length(s: String) -> i64 {
    s.chars().count() as i64
}
sluice_plugin::map!(str_length);

/// `[k, v] -> [v, k]`.
pub fn swap((k, v): (Value, Value)) -> Value {
    pair(v, k)
}
sluice_plugin::map!(swap);

/// `[k, v] -> v`.
pub fn pair_value((_, v): (Value, Value)) -> Value {
    v
}
sluice_plugin::map!(pair_value);

// --- flat_map --------------------------------------------------------------------------

/// `x -> [x, 2x]`.
pub fn dup_and_double(x: Value) -> Res<[Value; 2]> {
    let double = mul(&x, &Value::from(2))?;
    Ok([x, double])
}
sluice_plugin::flat_map!(dup_and_double);

/// `s -> its characters`, as 1-character strings.
pub fn split_chars(s: String) -> Vec<Value> {
    chars(&s).collect()
}
sluice_plugin::flat_map!(split_chars);

/// `s -> [[len(s), c] for c in s]`.
pub fn length_char_pairs(s: String) -> Vec<Value> {
    let n = Value::from(s.chars().count() as i64);
    chars(&s).map(|c| pair(n.clone(), c)).collect()
}
sluice_plugin::flat_map!(length_char_pairs);

/// `[k, v] -> [[v, c] for c in k]`.
pub fn key_chars_with_value((k, v): (Value, Value)) -> Res<Vec<Value>> {
    Ok(chars(text(&k)?).map(|c| pair(v.clone(), c)).collect())
}
sluice_plugin::flat_map!(key_chars_with_value);

// --- filter ----------------------------------------------------------------------------

/// `x % 2 == 0`.
pub fn is_even(x: &Value) -> Res<bool> {
    Ok(int(x)? % 2 == 0)
}
sluice_plugin::filter!(is_even);

/// The string contains "a".
pub fn contains_a(s: &Value) -> Res<bool> {
    Ok(text(s)?.contains('a'))
}
sluice_plugin::filter!(contains_a);

/// `[k, v]`: k contains "a".
pub fn key_contains_a((k, _): &(Value, Value)) -> Res<bool> {
    Ok(text(k)?.contains('a'))
}
sluice_plugin::filter!(key_contains_a);

/// `[k, v]`: v != 0 (reduceByKeyAndWindow's filterFunc).
pub fn value_nonzero((_, v): &(Value, Value)) -> Res<bool> {
    Ok(!is_zero(v)?)
}
sluice_plugin::filter!(value_nonzero);

/// `[k, v]`: v > 0.
pub fn value_positive((_, v): &(Value, Value)) -> Res<bool> {
    is_positive(v)
}
sluice_plugin::filter!(value_positive);

// --- map_values / flat_map_values ------------------------------------------------------

/// `v -> v + 10`.
pub fn add_10(v: Value) -> Res<Value> {
    add(&v, &Value::from(10))
}
sluice_plugin::map_values!(add_10);

/// `v -> upper-case v` (ASCII).
pub fn to_upper(v: String) -> String {
    v.to_ascii_uppercase()
}
sluice_plugin::map_values!(to_upper);

/// `[counter, idle] -> counter`.
pub fn state_counter((counter, _idle): (Value, Value)) -> Value {
    counter
}
sluice_plugin::map_values!(state_counter);

/// `v -> [v, v + 10]`.
pub fn dup_plus_10(v: Value) -> Res<[Value; 2]> {
    let plus = add(&v, &Value::from(10))?;
    Ok([v, plus])
}
sluice_plugin::flat_map_values!(dup_plus_10);

/// `v -> [v + "1", v + "2"]`.
pub fn append_1_2(v: String) -> [String; 2] {
    [format!("{v}1"), format!("{v}2")]
}
sluice_plugin::flat_map_values!(append_1_2);

// --- map_partitions --------------------------------------------------------------------

/// `partition -> [sum]`; an empty partition gives `[0]`.
pub fn sum_partition(xs: Vec<Value>) -> Res<[Value; 1]> {
    let mut acc = Value::from(0);
    for x in &xs {
        acc = add(&acc, x)?;
    }
    Ok([acc])
}
sluice_plugin::map_partitions!(sum_partition);

/// `partition -> [concatenation of the upper-cased elements]`.
pub fn upper_concat_partition(xs: Vec<String>) -> [String; 1] {
    [xs.iter().map(|s| s.to_ascii_uppercase()).collect()]
}
sluice_plugin::map_partitions!(upper_concat_partition);

/// `partition -> [swap(x) for x in partition]`.
pub fn swap_each(xs: Vec<(Value, Value)>) -> Vec<Value> {
    xs.into_iter().map(swap).collect()
}
sluice_plugin::map_partitions!(swap_each);

//! Aggregation builtins: reduce, inverse reduce and the combine_by_key triples.

use sluice_plugin::Value;

use crate::value::{self, to_string};

type Res<T> = Result<T, String>;

/// reduce: `(a, b) -> a + b`.
pub fn sum(a: Value, b: Value) -> Res<Value> {
    value::add(&a, &b)
}
sluice_plugin::reduce!(sum);

/// inverse_reduce: `(a, b) -> a - b`.
pub fn sub(a: Value, b: Value) -> Res<Value> {
    value::sub(&a, &b)
}
sluice_plugin::inverse_reduce!(sub);

/// combine_sum createCombiner, a map over values: `v -> v`.
pub fn combine_sum_create(v: Value) -> Value {
    v
}
sluice_plugin::map!(combine_sum_create);

/// combine_sum mergeValue, a fold: `(c, v) -> c + v`.
pub fn combine_sum_merge_value(c: Value, v: Value) -> Res<Value> {
    value::add(&c, &v)
}
sluice_plugin::fold!(combine_sum_merge_value);

/// combine_sum mergeCombiners, a reduce: `(c1, c2) -> c1 + c2`.
pub fn combine_sum_merge_combiners(a: Value, b: Value) -> Res<Value> {
    value::add(&a, &b)
}
sluice_plugin::reduce!(combine_sum_merge_combiners);

/// combine_str_concat createCombiner, a map over values: `v -> str(v)`.
pub fn combine_str_concat_create(v: Value) -> String {
    to_string(&v)
}
sluice_plugin::map!(combine_str_concat_create);

/// combine_str_concat mergeValue, a fold: `(c, v) -> c + str(v)`.
pub fn combine_str_concat_merge_value(c: String, v: Value) -> String {
    c + &to_string(&v)
}
sluice_plugin::fold!(combine_str_concat_merge_value);

/// combine_str_concat mergeCombiners, a reduce: `(c1, c2) -> c1 + c2`.
pub fn combine_str_concat_merge_combiners(a: String, b: String) -> String {
    a + &b
}
sluice_plugin::reduce!(combine_str_concat_merge_combiners);

//! Whole-RDD builtins: transform (one input, the records of the call) and
//! transform_with / context_transform (items are one array of records per input).
//!
//! `rdd_sort`, `rdd_sort_by_key` and `rdd_cartesian_self` see only the records of one call:
//! they are exact when the host passes the whole RDD in one call.

use sluice_plugin::Value;

use crate::value::{add, natural_cmp, to_string};

type Res<T> = Result<T, String>;

fn pair(k: Value, v: Value) -> Value {
    Value::Array(vec![k, v])
}

/// `rdd.map(to_string)`.
pub fn rdd_map_to_string(xs: Vec<Value>) -> Vec<String> {
    xs.iter().map(to_string).collect()
}
sluice_plugin::map_partitions!(rdd_map_to_string);

/// `rdd.map(x -> x + 2)`.
pub fn rdd_add_2(xs: Vec<Value>) -> Res<Vec<Value>> {
    xs.iter().map(|x| add(x, &Value::from(2))).collect()
}
sluice_plugin::map_partitions!(rdd_add_2);

/// Pairs sorted ascending by key (stable).
pub fn rdd_sort_by_key(mut xs: Vec<(Value, Value)>) -> Vec<(Value, Value)> {
    xs.sort_by(|a, b| natural_cmp(&a.0, &b.0));
    xs
}
sluice_plugin::map_partitions!(rdd_sort_by_key);

/// `rdd.map(pair -> key)`.
pub fn rdd_keys(xs: Vec<(Value, Value)>) -> Vec<Value> {
    xs.into_iter().map(|(k, _)| k).collect()
}
sluice_plugin::map_partitions!(rdd_keys);

/// `cartesian(rdd, rdd)` as pairs `[a, b]`.
pub fn rdd_cartesian_self(xs: Vec<Value>) -> Vec<Value> {
    let mut out = Vec::with_capacity(xs.len() * xs.len());
    for a in &xs {
        for b in &xs {
            out.push(pair(a.clone(), b.clone()));
        }
    }
    out
}
sluice_plugin::map_partitions!(rdd_cartesian_self);

/// All records sorted ascending in natural order.
pub fn rdd_sort(mut xs: Vec<Value>) -> Vec<Value> {
    xs.sort_by(natural_cmp);
    xs
}
sluice_plugin::map_partitions!(rdd_sort);

fn inputs<const N: usize>(rdds: Vec<Vec<Value>>, name: &str) -> Res<[Vec<Value>; N]> {
    let n = rdds.len();
    rdds.try_into()
        .map_err(|_| format!("{name} takes {N} inputs, got {n}"))
}

fn as_pair(v: &Value) -> Res<(&Value, &Value)> {
    match v {
        Value::Array(kv) if kv.len() == 2 => Ok((&kv[0], &kv[1])),
        other => Err(format!("expected a pair [key, value], found {other}")),
    }
}

/// `left.join(right)`: `[k, [v1, v2]]` for every matching pair, in left then right order.
fn join(left: &[Value], right: &[Value]) -> Res<Vec<Value>> {
    let mut out = Vec::new();
    for l in left {
        let (k1, v1) = as_pair(l)?;
        for r in right {
            let (k2, v2) = as_pair(r)?;
            if natural_cmp(k1, k2).is_eq() {
                out.push(pair(k1.clone(), pair(v1.clone(), v2.clone())));
            }
        }
    }
    Ok(out)
}

/// transform_with: `rdd1.join(rdd2)`.
pub fn rdd_join(rdds: Vec<Vec<Value>>) -> Res<Vec<Value>> {
    let [a, b] = inputs(rdds, "rdd_join")?;
    join(&a, &b)
}
sluice_plugin::transform_with!(rdd_join);

/// context_transform: the union of all inputs in order.
pub fn rdd_union_all(rdds: Vec<Vec<Value>>) -> Vec<Value> {
    rdds.into_iter().flatten().collect()
}
sluice_plugin::transform_with!(rdd_union_all);

/// context_transform: `rdd2.union(rdd3).union(rdd1)`.
pub fn rdd_union_2_3_1(rdds: Vec<Vec<Value>>) -> Res<Vec<Value>> {
    let [a, b, c] = inputs(rdds, "rdd_union_2_3_1")?;
    Ok(b.into_iter().chain(c).chain(a).collect())
}
sluice_plugin::transform_with!(rdd_union_2_3_1);

/// context_transform: `rdd1.union(rdd2).map(i -> [i, i]).join(rdd3)`.
pub fn rdd_union12_selfpair_join3(rdds: Vec<Vec<Value>>) -> Res<Vec<Value>> {
    let [a, b, c] = inputs(rdds, "rdd_union12_selfpair_join3")?;
    let paired: Vec<Value> = a.into_iter().chain(b).map(|i| pair(i.clone(), i)).collect();
    join(&paired, &c)
}
sluice_plugin::transform_with!(rdd_union12_selfpair_join3);

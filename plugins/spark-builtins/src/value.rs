//! Arithmetic, text and natural order on dynamic values.

use std::cmp::Ordering;

use sluice_plugin::Value;

/// A number in a record.
#[derive(Debug, Clone, Copy)]
enum Num {
    Int(i64),
    Float(f64),
}

fn num(v: &Value) -> Result<Num, String> {
    match v {
        Value::Integer(i) => i
            .as_i64()
            .map(Num::Int)
            .ok_or_else(|| format!("integer {i} is out of range")),
        Value::F32(f) => Ok(Num::Float(f64::from(*f))),
        Value::F64(f) => Ok(Num::Float(*f)),
        other => Err(format!("expected a number, found {}", kind(other))),
    }
}

fn arith(
    a: &Value,
    b: &Value,
    int: fn(i64, i64) -> Option<i64>,
    float: fn(f64, f64) -> f64,
    op: &str,
) -> Result<Value, String> {
    match (num(a)?, num(b)?) {
        (Num::Int(x), Num::Int(y)) => int(x, y)
            .map(Value::from)
            .ok_or_else(|| format!("integer overflow: {x} {op} {y}")),
        (x, y) => Ok(Value::F64(float(to_f64(x), to_f64(y)))),
    }
}

fn to_f64(n: Num) -> f64 {
    match n {
        Num::Int(i) => i as f64,
        Num::Float(f) => f,
    }
}

/// `a + b` over numbers.
pub fn add(a: &Value, b: &Value) -> Result<Value, String> {
    arith(a, b, i64::checked_add, |x, y| x + y, "+")
}

/// `a - b` over numbers.
pub fn sub(a: &Value, b: &Value) -> Result<Value, String> {
    arith(a, b, i64::checked_sub, |x, y| x - y, "-")
}

/// `a * b` over numbers.
pub fn mul(a: &Value, b: &Value) -> Result<Value, String> {
    arith(a, b, i64::checked_mul, |x, y| x * y, "*")
}

/// Whether a number is zero.
pub fn is_zero(v: &Value) -> Result<bool, String> {
    Ok(match num(v)? {
        Num::Int(i) => i == 0,
        Num::Float(f) => f == 0.0,
    })
}

/// The sign of a number.
pub fn is_positive(v: &Value) -> Result<bool, String> {
    Ok(match num(v)? {
        Num::Int(i) => i > 0,
        Num::Float(f) => f > 0.0,
    })
}

/// The value as an integer.
pub fn int(v: &Value) -> Result<i64, String> {
    match num(v)? {
        Num::Int(i) => Ok(i),
        Num::Float(f) => Err(format!("expected an integer, found {f}")),
    }
}

/// The value as a string.
pub fn text(v: &Value) -> Result<&str, String> {
    match v {
        Value::String(s) => s
            .as_str()
            .ok_or_else(|| "expected a UTF-8 string".to_string()),
        other => Err(format!("expected a string, found {}", kind(other))),
    }
}

/// Scala's `toString` / Python's `str`: integers in decimal, strings as they are.
pub fn to_string(v: &Value) -> String {
    match v {
        Value::String(s) => s.as_str().map_or_else(|| s.to_string(), str::to_owned),
        Value::Integer(i) => i.to_string(),
        Value::F32(f) => format!("{f:?}"),
        Value::F64(f) => format!("{f:?}"),
        Value::Boolean(b) => b.to_string(),
        Value::Nil => "null".to_string(),
        Value::Array(items) => {
            let parts: Vec<String> = items.iter().map(to_string).collect();
            format!("({})", parts.join(","))
        }
        other => other.to_string(),
    }
}

/// What kind of value this is, for messages.
pub fn kind(v: &Value) -> &'static str {
    match v {
        Value::Nil => "nil",
        Value::Boolean(_) => "a boolean",
        Value::Integer(_) | Value::F32(_) | Value::F64(_) => "a number",
        Value::String(_) => "a string",
        Value::Binary(_) => "binary",
        Value::Array(_) => "an array",
        Value::Map(_) => "a map",
        Value::Ext(..) => "an extension",
    }
}

fn rank(v: &Value) -> u8 {
    match v {
        Value::Nil => 0,
        Value::Boolean(_) => 1,
        Value::Integer(_) | Value::F32(_) | Value::F64(_) => 2,
        Value::String(_) => 3,
        Value::Binary(_) => 4,
        Value::Array(_) => 5,
        Value::Map(_) => 6,
        Value::Ext(..) => 7,
    }
}

/// A total natural order: nil < booleans < numbers (by value) < strings (by bytes) <
/// binary < arrays (lexicographically) < maps < extensions.
pub fn natural_cmp(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::Boolean(x), Value::Boolean(y)) => x.cmp(y),
        (Value::Integer(x), Value::Integer(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(i), Some(j)) => i.cmp(&j),
            _ => x.as_u64().cmp(&y.as_u64()),
        },
        (Value::String(x), Value::String(y)) => x.as_bytes().cmp(y.as_bytes()),
        (Value::Binary(x), Value::Binary(y)) => x.cmp(y),
        (Value::Array(x), Value::Array(y)) => lexicographic(x.iter(), y.iter()),
        (Value::Map(x), Value::Map(y)) => lexicographic(
            x.iter().flat_map(|(k, v)| [k, v]),
            y.iter().flat_map(|(k, v)| [k, v]),
        ),
        _ if rank(a) == 2 && rank(b) == 2 => {
            let (x, y) = (num(a).map(to_f64), num(b).map(to_f64));
            match (x, y) {
                (Ok(x), Ok(y)) => x.total_cmp(&y),
                _ => Ordering::Equal,
            }
        }
        _ => rank(a).cmp(&rank(b)),
    }
}

fn lexicographic<'a>(
    mut x: impl Iterator<Item = &'a Value>,
    mut y: impl Iterator<Item = &'a Value>,
) -> Ordering {
    loop {
        match (x.next(), y.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(a), Some(b)) => match natural_cmp(a, b) {
                Ordering::Equal => {}
                o => return o,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_naturally() {
        let mut vs = [
            Value::from("b"),
            Value::from(10),
            Value::Array(vec![Value::from(1), Value::from("z")]),
            Value::from(2.5),
            Value::from("a"),
            Value::from(-3),
            Value::Array(vec![Value::from(1)]),
            Value::Nil,
        ];
        vs.sort_by(natural_cmp);
        let shown: Vec<String> = vs.iter().map(to_string).collect();
        assert_eq!(shown, ["null", "-3", "2.5", "10", "a", "b", "(1)", "(1,z)"]);
    }

    #[test]
    fn arithmetic_checks_types_and_overflow() {
        assert_eq!(add(&Value::from(1), &Value::from(2)), Ok(Value::from(3)));
        assert_eq!(add(&Value::from(1), &Value::from(0.5)), Ok(Value::F64(1.5)));
        assert!(add(&Value::from(i64::MAX), &Value::from(1))
            .unwrap_err()
            .contains("overflow"));
        assert_eq!(
            add(&Value::from("a"), &Value::from(1)).unwrap_err(),
            "expected a number, found a string"
        );
    }
}

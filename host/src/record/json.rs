//! Conversion between JSON values and MessagePack records (for JSON-lines I/O).

use serde_json::Value;
use sluice_abi::msgpack::{self, DecodeError, Reader};

/// Why a MessagePack record has no JSON form.
#[derive(Debug, thiserror::Error)]
pub enum JsonError {
    /// The record is not valid MessagePack.
    #[error("malformed record: {0}")]
    Malformed(DecodeError),
    /// A map key that is not a string, number or boolean.
    #[error("a map key of type {0} has no JSON form")]
    UnsupportedKey(&'static str),
}

// Not `#[from]`: that would also make the decode error the `source()`, and a chain
// printed with `{:#}` would say it twice (the crate's error convention).
impl From<DecodeError> for JsonError {
    fn from(e: DecodeError) -> Self {
        JsonError::Malformed(e)
    }
}

/// Appends the MessagePack encoding of a JSON value (integers in canonical form).
pub fn json_to_msgpack(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Null => msgpack::write_nil(out),
        Value::Bool(b) => msgpack::write_bool(out, *b),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                msgpack::write_int(out, i);
            } else if let Some(u) = n.as_u64() {
                out.push(0xcf);
                out.extend_from_slice(&u.to_be_bytes());
            } else {
                msgpack::write_f64(out, n.as_f64().unwrap_or(f64::NAN));
            }
        }
        Value::String(s) => msgpack::write_str(out, s),
        Value::Array(items) => {
            msgpack::write_array_len(out, items.len() as u32);
            for item in items {
                json_to_msgpack(item, out);
            }
        }
        Value::Object(map) => {
            msgpack::write_map_len(out, map.len() as u32);
            for (k, v) in map {
                msgpack::write_str(out, k);
                json_to_msgpack(v, out);
            }
        }
    }
}

/// Decodes one MessagePack record into JSON. Binary becomes an array of bytes, extension
/// values become `{"ext": type, "data": [bytes]}`, non-string map keys become strings.
///
/// # Errors
/// [`JsonError`] if the record is malformed or has a map key with no JSON form.
pub fn msgpack_to_json(record: &[u8]) -> Result<Value, JsonError> {
    let mut r = Reader::new(record);
    let v = read_value(&mut r, 0)?;
    r.finish()?;
    Ok(v)
}

fn read_value(r: &mut Reader<'_>, depth: usize) -> Result<Value, JsonError> {
    if depth > msgpack::MAX_DEPTH {
        r.skip_value()?;
    }
    let m = r.peek()?;
    Ok(match m {
        0xc0 => {
            r.nil()?;
            Value::Null
        }
        0xc2 | 0xc3 => Value::Bool(r.bool()?),
        0x00..=0x7f | 0xe0..=0xff | 0xcc..=0xce | 0xd0..=0xd3 => Value::from(r.int()?),
        0xcf => {
            let raw = r.value()?;
            let u = raw[1..].iter().fold(0u64, |a, &b| (a << 8) | u64::from(b));
            Value::from(u)
        }
        0xca | 0xcb => serde_json::Number::from_f64(r.float()?)
            .map(Value::Number)
            .unwrap_or(Value::Null),
        0xa0..=0xbf | 0xd9..=0xdb => Value::String(r.str()?.to_owned()),
        0x90..=0x9f | 0xdc | 0xdd => {
            let n = r.array_len()?;
            let mut items = Vec::with_capacity(n.min(4096) as usize);
            for _ in 0..n {
                items.push(read_value(r, depth + 1)?);
            }
            Value::Array(items)
        }
        0x80..=0x8f | 0xde | 0xdf => {
            let n = r.map_len()?;
            let mut map = serde_json::Map::new();
            for _ in 0..n {
                let key = match read_value(r, depth + 1)? {
                    Value::String(s) => s,
                    Value::Number(n) => n.to_string(),
                    Value::Bool(b) => b.to_string(),
                    Value::Null => "null".to_owned(),
                    Value::Array(_) => return Err(JsonError::UnsupportedKey("array")),
                    Value::Object(_) => return Err(JsonError::UnsupportedKey("map")),
                };
                map.insert(key, read_value(r, depth + 1)?);
            }
            Value::Object(map)
        }
        0xc4..=0xc6 => {
            let raw = r.value()?;
            let hdr = match m {
                0xc4 => 2,
                0xc5 => 3,
                _ => 5,
            };
            Value::Array(raw[hdr..].iter().map(|&b| Value::from(b)).collect())
        }
        _ => {
            // Extension types: keep the type and payload.
            let raw = r.value()?;
            let (ty, data) = match m {
                0xd4..=0xd8 => (raw[1], &raw[2..]),
                0xc7 => (raw[2], &raw[3..]),
                0xc8 => (raw[3], &raw[4..]),
                _ => (raw[5], &raw[6..]),
            };
            serde_json::json!({ "ext": ty as i8, "data": data })
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_round_trips() {
        for v in [
            json!(null),
            json!([1, -5, "x", true, 2.5, {"a": [1, 2]}]),
            json!(u64::MAX),
            json!(i64::MIN),
        ] {
            let mut buf = Vec::new();
            json_to_msgpack(&v, &mut buf);
            assert_eq!(msgpack_to_json(&buf).unwrap(), v);
        }
    }

    #[test]
    fn integer_map_keys_become_strings() {
        let buf = [0x81, 0x01, 0xa1, b'x'];
        assert_eq!(msgpack_to_json(&buf).unwrap(), json!({"1": "x"}));
    }
}

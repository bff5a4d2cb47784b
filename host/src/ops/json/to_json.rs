//! `to_json`: each record becomes a string record, its compact JSON text (a text line for
//! a plugin or a broker sink that wants text).
//!
//! The text is written straight into the output partition's buffer behind a 5-byte string
//! header that is shortened in place at the end. Values map to JSON as the sinks map them
//! (`record::msgpack_to_json`: binary as an array of bytes, extension values as
//! `{"data": [...], "ext": type}`, non-finite floats as `null`, number, boolean and nil map
//! keys as strings), except that a map keeps its keys in record order.

use std::io::Write;

use sluice_abi::msgpack::{self, DecodeError, DecodeErrorKind, Reader};

use super::Problem;
use crate::record::{JsonError, Partition};

/// Appends the JSON text of `record`, as a string, to `out`.
///
/// # Errors
/// [`Problem::NoJson`] for a record with no JSON form (a map key that is an array or a
/// map, a string that is not UTF-8); `out` is then unchanged.
pub fn apply<'s>(record: &'s [u8], out: &mut Partition) -> Result<(), Problem<'s>> {
    out.try_push_with(|b| {
        let start = b.len();
        b.extend_from_slice(&[0xdb, 0, 0, 0, 0]);
        let mut r = Reader::new(record);
        write_value(&mut r, b, 0)
            .and_then(|()| r.finish().map_err(JsonError::from))
            .map_err(Problem::NoJson)?;
        let len = b.len() - start - 5;
        let (header, h): ([u8; 5], usize) = match len {
            0..=31 => ([0xa0 | len as u8, 0, 0, 0, 0], 1),
            32..=0xff => ([0xd9, len as u8, 0, 0, 0], 2),
            0x100..=0xffff => {
                let [hi, lo] = (len as u16).to_be_bytes();
                ([0xda, hi, lo, 0, 0], 3)
            }
            _ => {
                let [a, b2, c, d] = (len as u32).to_be_bytes();
                ([0xdb, a, b2, c, d], 5)
            }
        };
        b.copy_within(start + 5.., start + h);
        b.truncate(start + h + len);
        b[start..start + h].copy_from_slice(&header[..h]);
        Ok(())
    })
}

fn write_value(r: &mut Reader<'_>, out: &mut Vec<u8>, depth: usize) -> Result<(), JsonError> {
    if depth > msgpack::MAX_DEPTH {
        return Err(JsonError::Malformed(DecodeError {
            offset: r.position(),
            kind: DecodeErrorKind::TooDeep,
        }));
    }
    let m = r.peek()?;
    // Writing to a Vec cannot fail: the io::Results below are always Ok.
    match m {
        0xc0 => {
            r.nil()?;
            out.extend_from_slice(b"null");
        }
        0xc2 | 0xc3 => {
            let v = r.bool()?;
            out.extend_from_slice(if v { b"true" } else { b"false" });
        }
        0xcf => {
            let raw = r.value()?;
            let u = raw[1..].iter().fold(0u64, |a, &b| (a << 8) | u64::from(b));
            let _ = write!(out, "{u}");
        }
        0x00..=0x7f | 0xe0..=0xff | 0xcc..=0xce | 0xd0..=0xd3 => {
            let _ = write!(out, "{}", r.int()?);
        }
        0xca | 0xcb => {
            let _ = serde_json::to_writer(&mut *out, &r.float()?);
        }
        0xa0..=0xbf | 0xd9..=0xdb => {
            let _ = serde_json::to_writer(&mut *out, r.str()?);
        }
        0x90..=0x9f | 0xdc | 0xdd => write_array(r, out, depth)?,
        0x80..=0x8f | 0xde | 0xdf => write_map(r, out, depth)?,
        0xc4..=0xc6 => {
            let raw = r.value()?;
            let head = match m {
                0xc4 => 2,
                0xc5 => 3,
                _ => 5,
            };
            write_bytes(out, &raw[head..]);
        }
        _ => write_ext(r, out, m)?,
    }
    Ok(())
}

/// An array, its elements one level deeper than `depth`.
fn write_array(r: &mut Reader<'_>, out: &mut Vec<u8>, depth: usize) -> Result<(), JsonError> {
    let n = r.array_len()?;
    out.push(b'[');
    for i in 0..n {
        if i > 0 {
            out.push(b',');
        }
        write_value(r, out, depth + 1)?;
    }
    out.push(b']');
    Ok(())
}

/// A map, its values one level deeper than `depth`.
fn write_map(r: &mut Reader<'_>, out: &mut Vec<u8>, depth: usize) -> Result<(), JsonError> {
    let n = r.map_len()?;
    out.push(b'{');
    for i in 0..n {
        if i > 0 {
            out.push(b',');
        }
        write_key(r, out)?;
        out.push(b':');
        write_value(r, out, depth + 1)?;
    }
    out.push(b'}');
    Ok(())
}

/// An extension value (marker `m`) as `{"data": bytes, "ext": type}`.
fn write_ext(r: &mut Reader<'_>, out: &mut Vec<u8>, m: u8) -> Result<(), JsonError> {
    let raw = r.value()?;
    let (ty, data) = match m {
        0xd4..=0xd8 => (raw[1], &raw[2..]),
        0xc7 => (raw[2], &raw[3..]),
        0xc8 => (raw[3], &raw[4..]),
        _ => (raw[5], &raw[6..]),
    };
    out.extend_from_slice(b"{\"data\":");
    write_bytes(out, data);
    let _ = write!(out, ",\"ext\":{}}}", ty as i8);
    Ok(())
}

/// A map key: strings as they are, numbers, booleans and nil as their JSON text quoted.
fn write_key(r: &mut Reader<'_>, out: &mut Vec<u8>) -> Result<(), JsonError> {
    let m = r.peek()?;
    match m {
        0xa0..=0xbf | 0xd9..=0xdb => {
            let _ = serde_json::to_writer(&mut *out, r.str()?);
        }
        0x90..=0x9f | 0xdc | 0xdd | 0xc4..=0xc6 => return Err(JsonError::UnsupportedKey("array")),
        0x80..=0x8f | 0xde | 0xdf | 0xc7..=0xc9 | 0xd4..=0xd8 => {
            return Err(JsonError::UnsupportedKey("map"))
        }
        0xca | 0xcb if !r.clone().float()?.is_finite() => {
            r.float()?;
            out.extend_from_slice(b"\"null\"");
        }
        _ => {
            out.push(b'"');
            write_value(r, out, 0)?;
            out.push(b'"');
        }
    }
    Ok(())
}

fn write_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    out.push(b'[');
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        let _ = write!(out, "{b}");
    }
    out.push(b']');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{json_to_msgpack, msgpack_to_json};

    fn to_json(record: &[u8]) -> Result<String, String> {
        let mut p = Partition::new();
        apply(record, &mut p).map_err(|e| e.to_string())?;
        let mut r = Reader::new(p.get(0).unwrap());
        let s = r.str().unwrap().to_owned();
        r.finish().unwrap();
        Ok(s)
    }

    #[test]
    fn writes_what_the_sinks_write_in_record_order() {
        for v in [
            serde_json::json!({"amount": 5, "user": "alice"}),
            serde_json::json!([null, true, -1, 300, 1.5, u64::MAX, i64::MIN, "é\"\\\n"]),
            serde_json::json!({"a": {"b": [1, [2, [3]]]}, "long": "x".repeat(300)}),
            serde_json::json!("y".repeat(70000)),
            serde_json::json!([]),
        ] {
            let mut rec = Vec::new();
            json_to_msgpack(&v, &mut rec);
            let text = to_json(&rec).unwrap();
            assert_eq!(text, v.to_string());
            assert_eq!(
                msgpack_to_json(&rec).unwrap(),
                serde_json::from_str::<serde_json::Value>(&text).unwrap()
            );
        }
        // Record order, not sorted: {"z": 1, "a": 2}.
        assert_eq!(
            to_json(&[0x82, 0xa1, b'z', 1, 0xa1, b'a', 2]).unwrap(),
            r#"{"z":1,"a":2}"#
        );
    }

    #[test]
    fn odd_values_and_keys_follow_msgpack_to_json() {
        // {1: bin[1,2], nil: ext(5, [9]), true: NaN}
        let rec = [
            0x83, 0x01, 0xc4, 0x02, 1, 2, 0xc0, 0xd4, 0x05, 0x09, 0xc3, 0xcb, 0x7f, 0xf8, 0, 0, 0,
            0, 0, 0,
        ];
        let text = to_json(&rec).unwrap();
        assert_eq!(
            text,
            r#"{"1":[1,2],"null":{"data":[9],"ext":5},"true":null}"#
        );
        assert_eq!(
            msgpack_to_json(&rec).unwrap(),
            serde_json::from_str::<serde_json::Value>(&text).unwrap()
        );
        assert_eq!(
            to_json(&[0x81, 0x91, 0x01, 0x02]).unwrap_err(),
            "a map key of type array has no JSON form"
        );
    }
}

//! `parse_json`: a string record (a text line) becomes the value its JSON text encodes.
//!
//! The JSON is parsed by `serde_json` straight into MessagePack in the output partition's
//! buffer (no `serde_json::Value` in between): the encoding is what `format = "json"`
//! sources give (integers in their shortest form, other numbers as 64-bit floats), except
//! that a map keeps its keys in the order of the text. Containers get a one-byte header
//! that is widened in place when they turn out to have 16 or more items.

use std::fmt;

use serde::de::{DeserializeSeed, MapAccess, SeqAccess, Visitor};
use sluice_abi::msgpack;

use super::cursor::{a_value_of, Cursor};
use super::Problem;
use crate::record::Partition;

/// Appends the parsed value of the string `record` to `out`.
///
/// # Errors
/// [`Problem::NotText`] for a record that is not a string, [`Problem::Json`] for invalid
/// JSON; `out` is then unchanged.
pub fn apply<'s>(record: &'s [u8], out: &mut Partition) -> Result<(), Problem<'s>> {
    let mut c = Cursor::new(record);
    let m = c.peek().map_err(Problem::Malformed)?;
    let text = c.str_bytes().ok_or(Problem::NotText(a_value_of(m)))?;
    out.try_push_with(|b| {
        let mut de = serde_json::Deserializer::from_slice(text);
        Emit(b)
            .deserialize(&mut de)
            .and_then(|()| de.end())
            .map_err(Problem::Json)
    })
}

/// Writes the value it is given as MessagePack to the buffer it holds.
struct Emit<'o>(&'o mut Vec<u8>);

impl<'de> DeserializeSeed<'de> for Emit<'_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Emit<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        msgpack::write_nil(self.0);
        Ok(())
    }

    fn visit_bool<E>(self, v: bool) -> Result<(), E> {
        msgpack::write_bool(self.0, v);
        Ok(())
    }

    fn visit_i64<E>(self, v: i64) -> Result<(), E> {
        msgpack::write_int(self.0, v);
        Ok(())
    }

    fn visit_u64<E>(self, v: u64) -> Result<(), E> {
        match i64::try_from(v) {
            Ok(i) => msgpack::write_int(self.0, i),
            Err(_) => {
                self.0.push(0xcf);
                self.0.extend_from_slice(&v.to_be_bytes());
            }
        }
        Ok(())
    }

    fn visit_f64<E>(self, v: f64) -> Result<(), E> {
        msgpack::write_f64(self.0, v);
        Ok(())
    }

    fn visit_str<E>(self, v: &str) -> Result<(), E> {
        msgpack::write_str(self.0, v);
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let out = self.0;
        let start = out.len();
        out.push(0x90);
        let mut n: u32 = 0;
        while seq.next_element_seed(Emit(&mut *out))?.is_some() {
            n += 1;
        }
        set_header(out, start, n, [0x90, 0xdc, 0xdd]);
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let out = self.0;
        let start = out.len();
        out.push(0x80);
        let mut n: u32 = 0;
        while map.next_key_seed(Emit(&mut *out))?.is_some() {
            map.next_value_seed(Emit(&mut *out))?;
            n += 1;
        }
        set_header(out, start, n, [0x80, 0xde, 0xdf]);
        Ok(())
    }
}

/// Writes the header of the container whose one-byte placeholder is at `start`: the fix
/// form in place, or a 16/32-bit form after shifting the items right.
fn set_header(out: &mut Vec<u8>, start: usize, n: u32, [fix, m16, m32]: [u8; 3]) {
    if n < 16 {
        out[start] = fix | n as u8;
        return;
    }
    let (marker, width) = if n <= 0xffff { (m16, 2) } else { (m32, 4) };
    let end = out.len();
    out.resize(end + width, 0);
    out.copy_within(start + 1..end, start + 1 + width);
    out[start] = marker;
    let be = n.to_be_bytes();
    out[start + 1..start + 1 + width].copy_from_slice(&be[4 - width..]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::json_to_msgpack;

    fn text(s: &str) -> Vec<u8> {
        let mut b = Vec::new();
        msgpack::write_str(&mut b, s);
        b
    }

    fn parse(s: &str) -> Result<Vec<u8>, String> {
        let mut p = Partition::new();
        apply(&text(s), &mut p).map_err(|e| e.to_string())?;
        Ok(p.get(0).unwrap().to_vec())
    }

    #[test]
    fn encodes_like_the_json_sources() {
        // Keys in sorted order, so that serde_json's sorted map agrees.
        let wide: serde_json::Value = (0..40).map(|i| format!("k{i:02}")).collect();
        let big: serde_json::Map<String, serde_json::Value> =
            (0..20).map(|i| (format!("f{i:02}"), i.into())).collect();
        for v in [
            serde_json::json!({"amount": 5, "user": "alice"}),
            serde_json::json!([
                null,
                true,
                -1,
                300,
                -70000,
                1.5,
                1e300,
                u64::MAX,
                i64::MIN,
                "é\"\\n"
            ]),
            serde_json::json!({"a": {"b": [1, [2, [3]]]}, "wide": wide, "z": "x".repeat(300)}),
            serde_json::Value::Object(big),
            serde_json::json!((0..70000).collect::<Vec<i32>>()),
        ] {
            let mut want = Vec::new();
            json_to_msgpack(&v, &mut want);
            assert_eq!(parse(&v.to_string()).unwrap(), want, "{v}");
        }
    }

    #[test]
    fn keeps_key_order_and_rejects_bad_input() {
        assert_eq!(
            parse(r#" {"z": 1, "a": 2} "#).unwrap(),
            [0x82, 0xa1, b'z', 1, 0xa1, b'a', 2]
        );
        assert_eq!(
            parse(r#"{"user": "alice", "amount": }"#).unwrap_err(),
            "invalid JSON: expected value at line 1 column 29"
        );
        assert_eq!(
            parse("{} x").unwrap_err(),
            "invalid JSON: trailing characters at line 1 column 4"
        );
        let mut p = Partition::new();
        let e = apply(&[0x05], &mut p).unwrap_err().to_string();
        assert_eq!(e, "expected a string (a text line), found an integer");
        assert!(p.is_empty());
    }
}

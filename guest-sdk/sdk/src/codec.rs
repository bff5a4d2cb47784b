//! Records to and from Rust values with serde (rmp-serde), with errors that name types.

use serde::de::DeserializeOwned;
use serde::Serialize;
use sluice_abi::msgpack::marker_name;

/// Decodes one record into `T`.
///
/// # Errors
/// `expected <T>: <reason>` when the record does not decode into `T`.
pub fn decode<T: DeserializeOwned>(record: &[u8]) -> Result<T, String> {
    rmp_serde::from_slice(record).map_err(|e| {
        let reason = match e {
            // rmp-serde names the marker ("wrong msgpack marker FixStr(1)"); say the type.
            rmp_serde::decode::Error::TypeMismatch(m) => {
                format!("found a {}", marker_name(m.to_u8()))
            }
            other => other.to_string(),
        };
        format!("expected {}: {reason}", type_label::<T>())
    })
}

/// Appends `value` encoded as one MessagePack value (structs as maps, integers in their
/// shortest form). Nothing is appended on error.
///
/// # Errors
/// The serializer's message (for example a map with non-string keys is fine, but a
/// custom `Serialize` that fails is reported).
pub fn encode<T: Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) -> Result<(), String> {
    let start = out.len();
    let mut ser = rmp_serde::Serializer::new(&mut *out).with_struct_map();
    match value.serialize(&mut ser) {
        Ok(()) => Ok(()),
        Err(e) => {
            out.truncate(start);
            Err(format!("cannot encode {}: {e}", type_label::<T>()))
        }
    }
}

/// A short, readable name of `T`: `(String, i64)` rather than
/// `(alloc::string::String, i64)`.
pub fn type_label<T: ?Sized>() -> String {
    let full = std::any::type_name::<T>();
    let mut out = String::with_capacity(full.len());
    let mut rest = full;
    while let Some(at) = rest.find("::") {
        out.push_str(&rest[..at]);
        // Drop the path segment just written: keep up to the last non-identifier char.
        let keep = out
            .rfind(|c: char| !(c.is_alphanumeric() || c == '_'))
            .map_or(0, |i| i + 1);
        out.truncate(keep);
        rest = &rest[at + 2..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Value;

    #[test]
    fn type_labels_are_short() {
        assert_eq!(type_label::<String>(), "String");
        assert_eq!(type_label::<(String, i64)>(), "(String, i64)");
        assert_eq!(type_label::<Vec<Option<String>>>(), "Vec<Option<String>>");
        assert_eq!(type_label::<Value>(), "Value");
    }

    #[test]
    fn decode_names_the_expected_type() {
        let err = decode::<String>(&[0x05]).unwrap_err();
        assert!(err.starts_with("expected String: "), "{err}");
        let err = decode::<(String, i64)>(&[0x92, 0xa1, b'a', 0xa1, b'b']).unwrap_err();
        assert!(err.starts_with("expected (String, i64): "), "{err}");
    }

    #[test]
    fn encodes_canonically_and_structs_as_maps() {
        #[derive(Serialize)]
        struct P {
            a: i64,
        }
        let mut out = Vec::new();
        encode(&mut out, &(String::from("k"), 1i64)).unwrap();
        assert_eq!(out, [0x92, 0xa1, b'k', 0x01]);
        out.clear();
        encode(&mut out, &P { a: 200 }).unwrap();
        assert_eq!(out, [0x81, 0xa1, b'a', 0xcc, 200]);
        out.clear();
        encode(&mut out, &-1i64).unwrap();
        assert_eq!(out, [0xff]);
    }

    #[test]
    fn values_round_trip() {
        let v = Value::Array(vec![Value::from("x"), Value::from(-3), Value::Nil]);
        let mut out = Vec::new();
        encode(&mut out, &v).unwrap();
        assert_eq!(decode::<Value>(&out).unwrap(), v);
    }
}

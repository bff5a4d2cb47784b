//! Message bytes ↔ records: how Kafka and Redis payloads become MessagePack records, and
//! how records become keys and payloads again.

use sluice_abi::msgpack;

use crate::job::RecordFormat;
use crate::record::{json_to_msgpack, msgpack_to_json, split_pair};

/// Why a payload is not a record, or a record has no payload form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FormatError(pub String);

impl RecordFormat {
    /// Appends the record for a message to `out`: the decoded value, or the pair
    /// `[key, value]` when `with_key` (the key as a string, nil when the message has none).
    /// A missing payload (a Kafka tombstone) is nil.
    ///
    /// # Errors
    /// [`FormatError`] when the payload or key is not valid UTF-8 or JSON; `out` is then
    /// left as it was.
    pub fn decode(
        self,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        with_key: bool,
        out: &mut Vec<u8>,
    ) -> Result<(), FormatError> {
        let start = out.len();
        let result = self.decode_into(key, value, with_key, out);
        if result.is_err() {
            out.truncate(start);
        }
        result
    }

    fn decode_into(
        self,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        with_key: bool,
        out: &mut Vec<u8>,
    ) -> Result<(), FormatError> {
        if with_key {
            msgpack::write_array_len(out, 2);
            match key {
                None => msgpack::write_nil(out),
                Some(k) => {
                    let k = std::str::from_utf8(k)
                        .map_err(|e| FormatError(format!("the key is not UTF-8 text: {e}")))?;
                    msgpack::write_str(out, k);
                }
            }
        }
        let Some(value) = value else {
            msgpack::write_nil(out);
            return Ok(());
        };
        match self {
            RecordFormat::Text => {
                let text = std::str::from_utf8(value)
                    .map_err(|e| FormatError(format!("the payload is not UTF-8 text: {e}")))?;
                msgpack::write_str(out, text);
            }
            RecordFormat::Json => {
                let v: serde_json::Value = serde_json::from_slice(value)
                    .map_err(|e| FormatError(format!("the payload is not JSON: {e}")))?;
                json_to_msgpack(&v, out);
            }
        }
        Ok(())
    }
}

/// A record as a message for a sink: an optional key and a payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SinkMessage {
    /// The key: the text of a string, the JSON text of anything else.
    pub key: Option<Vec<u8>>,
    /// The payload.
    pub value: Vec<u8>,
}

/// Turns a record into a message. With `key_from_pair`, a pair `[k, v]` gives key `k` and
/// payload `v`; any other record is the payload alone. Payloads are JSON text
/// ([`RecordFormat::Json`]), or with [`RecordFormat::Text`] a string's own text (other
/// values still as JSON).
///
/// # Errors
/// [`FormatError`] when the record is malformed or has no JSON form.
pub fn encode_for_sink(
    record: &[u8],
    key_from_pair: bool,
    format: RecordFormat,
) -> Result<SinkMessage, FormatError> {
    let pair = if key_from_pair {
        split_pair(record).ok()
    } else {
        None
    };
    let (key, value) = match pair {
        Some((k, v)) => (Some(payload(k, RecordFormat::Text)?), v),
        None => (None, record),
    };
    Ok(SinkMessage {
        key,
        value: payload(value, format)?,
    })
}

fn payload(value: &[u8], format: RecordFormat) -> Result<Vec<u8>, FormatError> {
    let json = msgpack_to_json(value).map_err(|e| FormatError(e.to_string()))?;
    Ok(match (format, json) {
        (RecordFormat::Text, serde_json::Value::String(s)) => s.into_bytes(),
        (_, v) => v.to_string().into_bytes(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decoded(
        format: RecordFormat,
        key: Option<&[u8]>,
        value: &[u8],
        with_key: bool,
    ) -> serde_json::Value {
        let mut out = Vec::new();
        format.decode(key, Some(value), with_key, &mut out).unwrap();
        msgpack_to_json(&out).unwrap()
    }

    #[test]
    fn text_json_and_pairs() {
        assert_eq!(
            decoded(RecordFormat::Text, None, b"a b", false),
            serde_json::json!("a b")
        );
        assert_eq!(
            decoded(RecordFormat::Json, Some(b"k"), br#"{"n":1}"#, true),
            serde_json::json!(["k", {"n": 1}])
        );
        assert_eq!(
            decoded(RecordFormat::Text, None, b"v", true),
            serde_json::json!([null, "v"])
        );
    }

    #[test]
    fn bad_payloads_leave_the_buffer_alone() {
        let mut out = vec![0x01];
        let e = RecordFormat::Json
            .decode(Some(b"k"), Some(b"{"), true, &mut out)
            .unwrap_err();
        assert!(e.0.contains("not JSON"), "{e}");
        assert_eq!(out, vec![0x01]);
        assert!(RecordFormat::Text
            .decode(None, Some(&[0xff]), false, &mut out)
            .is_err());
        assert_eq!(out, vec![0x01]);
    }

    #[test]
    fn pairs_become_key_and_json_value() {
        let mut rec = Vec::new();
        json_to_msgpack(&serde_json::json!(["word", 3]), &mut rec);
        let m = encode_for_sink(&rec, true, RecordFormat::Json).unwrap();
        assert_eq!(m.key.as_deref(), Some(&b"word"[..]));
        assert_eq!(m.value, b"3");
        let m = encode_for_sink(&rec, false, RecordFormat::Json).unwrap();
        assert_eq!((m.key, m.value), (None, br#"["word",3]"#.to_vec()));
        let mut s = Vec::new();
        json_to_msgpack(&serde_json::json!("plain"), &mut s);
        assert_eq!(
            encode_for_sink(&s, true, RecordFormat::Text).unwrap().value,
            b"plain"
        );
        assert_eq!(
            encode_for_sink(&s, true, RecordFormat::Json).unwrap().value,
            br#""plain""#
        );
    }
}

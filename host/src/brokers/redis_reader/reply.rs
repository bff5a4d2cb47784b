//! Parsing the replies of Redis stream commands (RESP2 and RESP3 forms) and entry ids.

use redis::Value;

/// An entry as `XREADGROUP` returns it; `fields` is `None` for a deleted pending entry.
pub(super) struct RawEntry {
    pub(super) id: String,
    pub(super) fields: Option<Vec<(Vec<u8>, Vec<u8>)>>,
}

/// Parses `[[key, [[id, [f, v, ...] | nil], ...]]]` (RESP2) or its RESP3 map form.
pub(super) fn parse_entries(v: &Value) -> Vec<RawEntry> {
    let streams: Vec<&Value> = match v {
        Value::Array(s) => s
            .iter()
            .filter_map(|s| match s {
                Value::Array(kv) if kv.len() == 2 => Some(&kv[1]),
                _ => None,
            })
            .collect(),
        Value::Map(m) => m.iter().map(|(_, v)| v).collect(),
        _ => Vec::new(),
    };
    let mut out = Vec::new();
    for entries in streams {
        let Value::Array(entries) = entries else {
            continue;
        };
        for e in entries {
            let Value::Array(parts) = e else { continue };
            let Some(id) = parts.first().and_then(text) else {
                continue;
            };
            let fields = match parts.get(1) {
                Some(Value::Array(fv)) => Some(
                    fv.chunks(2)
                        .filter_map(|p| Some((bytes(&p[0])?, bytes(p.get(1)?)?)))
                        .collect(),
                ),
                _ => None,
            };
            out.push(RawEntry { id, fields });
        }
    }
    out
}

/// Ids in an `XPENDING` extended reply: `[[id, consumer, idle, deliveries], ...]`.
pub(super) fn pending_ids(v: &Value) -> Vec<String> {
    match v {
        Value::Array(items) => items
            .iter()
            .filter_map(|i| match i {
                Value::Array(p) => p.first().and_then(text),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

fn bytes(v: &Value) -> Option<Vec<u8>> {
    match v {
        Value::BulkString(b) => Some(b.clone()),
        Value::SimpleString(s) => Some(s.clone().into_bytes()),
        Value::Int(i) => Some(i.to_string().into_bytes()),
        _ => None,
    }
}

fn text(v: &Value) -> Option<String> {
    bytes(v).and_then(|b| String::from_utf8(b).ok())
}

/// `ms-seq` (or `ms`) as a comparable pair.
pub(in crate::brokers) fn parse_id(id: &str) -> Option<(u64, u64)> {
    let (ms, seq) = id.split_once('-').unwrap_or((id, "0"));
    Some((ms.parse().ok()?, seq.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_compare_numerically() {
        assert!(parse_id("10-0") > parse_id("9-5"));
        assert!(parse_id("5-10") > parse_id("5-9"));
        assert_eq!(parse_id("7"), Some((7, 0)));
        assert_eq!(parse_id("x-1"), None);
    }

    #[test]
    fn parses_entries_and_deleted_ones() {
        let b = |s: &str| Value::BulkString(s.as_bytes().to_vec());
        let reply = Value::Array(vec![Value::Array(vec![
            b("s"),
            Value::Array(vec![
                Value::Array(vec![b("1-0"), Value::Array(vec![b("value"), b("x")])]),
                Value::Array(vec![b("2-0"), Value::Nil]),
            ]),
        ])]);
        let e = parse_entries(&reply);
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].id, "1-0");
        assert_eq!(
            e[0].fields.as_deref(),
            Some(&[(b"value".to_vec(), b"x".to_vec())][..])
        );
        assert!(e[1].fields.is_none());
    }
}

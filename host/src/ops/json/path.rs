//! Field paths (a field name or a JSON Pointer), and finding the value a path names inside
//! an encoded record with the cursor, without decoding or allocating.

use std::fmt;

use sluice_abi::msgpack;

use super::cursor::{a_value_of, Cursor};

/// A field as written in a job file: a top-level name (`user`) or, starting with `/`, a
/// JSON Pointer (RFC 6901: `/user/id`, `/items/0`, `~1` for `/`, `~0` for `~`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldPath {
    text: String,
    segments: Vec<Segment>,
}

/// One step of a path: a map key, which in a pointer is also an array index when it is
/// one (a plain field name only names a map key).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Segment {
    name: Vec<u8>,
    index: Option<usize>,
    in_pointer: bool,
}

impl FieldPath {
    /// Parses a field name or a JSON Pointer.
    ///
    /// # Errors
    /// A sentence for an empty field or an invalid `~` escape in a pointer.
    pub fn parse(text: &str) -> Result<FieldPath, String> {
        if text.is_empty() {
            return Err(
                "an empty field: write a field name (`user`) or a JSON Pointer (`/user/id`)"
                    .to_owned(),
            );
        }
        let segments = match text.strip_prefix('/') {
            None => vec![Segment::new(text.as_bytes().to_vec(), false)],
            Some(rest) => rest
                .split('/')
                .map(|s| unescape(s).map(|name| Segment::new(name, true)))
                .collect::<Result<_, _>>()
                .map_err(|()| {
                    format!("`{text}` is not a JSON Pointer: `~` must be followed by `0` or `1`")
                })?,
        };
        Ok(FieldPath {
            text: text.to_owned(),
            segments,
        })
    }

    /// The path as written.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The last step's name: what `select` calls the field unless it is renamed.
    pub fn leaf(&self) -> &[u8] {
        self.segments.last().map_or(&[], |s| s.name.as_slice())
    }

    /// The encoded value the path names in `record`.
    ///
    /// # Errors
    /// A [`Lookup`] saying why there is no such value.
    pub fn find<'a>(&self, record: &'a [u8]) -> Result<&'a [u8], Lookup> {
        let mut value = record;
        for (depth, seg) in self.segments.iter().enumerate() {
            value = seg.find_in(value).map_err(|kind| Lookup { depth, kind })?;
        }
        Ok(value)
    }
}

impl Segment {
    fn new(name: Vec<u8>, in_pointer: bool) -> Segment {
        let digits = in_pointer && !name.is_empty() && name.iter().all(u8::is_ascii_digit);
        let canonical = name == b"0" || name.first() != Some(&b'0');
        let index = (digits && canonical)
            .then(|| std::str::from_utf8(&name).ok()?.parse().ok())
            .flatten();
        Segment {
            name,
            index,
            in_pointer,
        }
    }

    /// The value under this step in `container` (a map, or an array for an index).
    fn find_in<'a>(&self, container: &'a [u8]) -> Result<&'a [u8], LookupKind> {
        let mut c = Cursor::new(container);
        let m = c.peek()?;
        match m {
            0x80..=0x8f | 0xde | 0xdf => {
                let n = c.map_len()?;
                for _ in 0..n {
                    let key = c.str_bytes();
                    let hit = key == Some(self.name.as_slice());
                    if key.is_none() {
                        c.skip()?;
                    }
                    if hit {
                        return Ok(c.value()?);
                    }
                    c.skip()?;
                }
                Err(LookupKind::Missing)
            }
            0x90..=0x9f | 0xdc | 0xdd => {
                let Some(i) = self.index else {
                    return Err(if self.in_pointer {
                        LookupKind::NotIndex
                    } else {
                        LookupKind::NotContainer("an array")
                    });
                };
                let n = c.array_len()? as usize;
                if i >= n {
                    return Err(LookupKind::Missing);
                }
                for _ in 0..i {
                    c.skip()?;
                }
                Ok(c.value()?)
            }
            _ => Err(LookupKind::NotContainer(a_value_of(m))),
        }
    }
}

/// Undoes RFC 6901 escapes; `Err` for a `~` not followed by `0` or `1`.
fn unescape(s: &str) -> Result<Vec<u8>, ()> {
    let mut out = Vec::with_capacity(s.len());
    let mut bytes = s.bytes();
    while let Some(b) = bytes.next() {
        out.push(match (b, b == b'~') {
            (_, false) => b,
            (_, true) => match bytes.next() {
                Some(b'0') => b'~',
                Some(b'1') => b'/',
                _ => return Err(()),
            },
        });
    }
    Ok(out)
}

/// Why a path names no value in a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lookup {
    /// The step (0 = the record itself) that failed.
    pub depth: usize,
    /// What was wrong there.
    pub kind: LookupKind,
}

/// The kinds of [`Lookup`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LookupKind {
    /// The map has no such key, or the array is shorter.
    Missing,
    /// Neither a map nor an array: the named type.
    NotContainer(&'static str),
    /// An array, and the step is not an index.
    NotIndex,
    /// The record is not valid MessagePack.
    Malformed(msgpack::DecodeError),
}

impl From<msgpack::DecodeError> for LookupKind {
    fn from(e: msgpack::DecodeError) -> Self {
        LookupKind::Malformed(e)
    }
}

/// A [`Lookup`] of a path, for messages: `field `/a/b` is missing`.
#[derive(Debug)]
pub struct LookupError<'p> {
    /// The path looked up.
    pub path: &'p FieldPath,
    /// Why it failed.
    pub lookup: Lookup,
}

impl fmt::Display for LookupError<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = self.path.text();
        // What the failing step looked into: the record, or a prefix of the pointer.
        let parent = if self.lookup.depth == 0 {
            "the record".to_owned()
        } else {
            let prefix: Vec<&str> = path.split('/').take(self.lookup.depth + 1).collect();
            format!("`{}`", prefix.join("/"))
        };
        match &self.lookup.kind {
            LookupKind::Missing => write!(f, "field `{path}` is missing"),
            LookupKind::NotContainer(found) => write!(
                f,
                "no field `{path}`: {parent} is not a map (found {found})"
            ),
            LookupKind::NotIndex => {
                let step = path
                    .split('/')
                    .nth(self.lookup.depth + 1)
                    .unwrap_or_default();
                write!(
                    f,
                    "no field `{path}`: {parent} is an array and `{step}` is not an index"
                )
            }
            LookupKind::Malformed(e) => write!(f, "malformed record: {e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::json_to_msgpack;

    fn enc(v: serde_json::Value) -> Vec<u8> {
        let mut b = Vec::new();
        json_to_msgpack(&v, &mut b);
        b
    }

    #[test]
    fn names_and_pointers_find_values() {
        let rec =
            enc(serde_json::json!({"user": {"id": 7, "a/b": 1, "m~n": 2}, "items": [10, 20]}));
        let find = |p: &str| FieldPath::parse(p).unwrap().find(&rec).map(<[u8]>::to_vec);
        assert_eq!(find("items").unwrap(), enc(serde_json::json!([10, 20])));
        assert_eq!(find("/user/id").unwrap(), vec![7]);
        assert_eq!(find("/user/a~1b").unwrap(), vec![1]);
        assert_eq!(find("/user/m~0n").unwrap(), vec![2]);
        assert_eq!(find("/items/1").unwrap(), vec![20]);
        // A plain name is one key, slashes included.
        assert_eq!(find("user/id").unwrap_err().kind, LookupKind::Missing);
        assert_eq!(find("/items/2").unwrap_err().kind, LookupKind::Missing);
        assert_eq!(find("/items/01").unwrap_err().kind, LookupKind::NotIndex);
        let pair = enc(serde_json::json!(["k", 1]));
        let on_pair = |p: &str| FieldPath::parse(p).unwrap().find(&pair).map(<[u8]>::to_vec);
        assert_eq!(on_pair("/1").unwrap(), vec![1]);
        // A plain name never indexes an array.
        assert_eq!(
            on_pair("1").unwrap_err().kind,
            LookupKind::NotContainer("an array")
        );
        let e = find("/user/id/x").unwrap_err();
        assert_eq!(
            (e.depth, e.kind),
            (2, LookupKind::NotContainer("an integer"))
        );
    }

    #[test]
    fn messages_name_the_path_and_what_was_found() {
        let rec = enc(serde_json::json!({"user": "alice"}));
        let msg = |p: &str, rec: &[u8]| {
            let path = FieldPath::parse(p).unwrap();
            let lookup = path.find(rec).unwrap_err();
            LookupError {
                path: &path,
                lookup,
            }
            .to_string()
        };
        assert_eq!(msg("amount", &rec), "field `amount` is missing");
        assert_eq!(
            msg("/user/id", &rec),
            "no field `/user/id`: `/user` is not a map (found a string)"
        );
        assert_eq!(
            msg("user", &enc(serde_json::json!("line"))),
            "no field `user`: the record is not a map (found a string)"
        );
        assert_eq!(
            msg("/items/x", &enc(serde_json::json!({"items": [1]}))),
            "no field `/items/x`: `/items` is an array and `x` is not an index"
        );
    }

    #[test]
    fn bad_paths_are_refused() {
        assert!(FieldPath::parse("").is_err());
        assert!(FieldPath::parse("/a~2")
            .unwrap_err()
            .contains("`~` must be followed"));
        assert_eq!(FieldPath::parse("/").unwrap().leaf(), b"");
    }

    #[test]
    fn wide_string_keys_and_truncated_records() {
        // A key written with str8 (as some guests do) still matches.
        let rec = [0x81, 0xd9, 0x01, b'a', 0x05];
        assert_eq!(FieldPath::parse("a").unwrap().find(&rec).unwrap(), &[0x05]);
        let cut = [0x82, 0xa1, b'a', 0x05];
        assert!(matches!(
            FieldPath::parse("b").unwrap().find(&cut).unwrap_err().kind,
            LookupKind::Malformed(_)
        ));
    }
}

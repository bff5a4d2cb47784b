//! Input and output documents of operator functions.
//!
//! Every input document is `[items, ctx]` and every output document is `[items, errors]`
//! (see [`crate::Shape`] for what the items are). Arrays, not maps, so that a guest in C
//! or WAT can read them with a few lines; a later minor version may append elements to
//! either array, and readers ignore elements they do not know.

use crate::msgpack::{self, DecodeError, DecodeErrorKind, Reader};

/// Context of a call: which batch and which partition it processes, and whether the
/// call's output feeds a built-in reduce the guest may combine into.
///
/// Encoded as a map `{"batch_time_ms": int, "partition": int}`, plus `"combine": str` when
/// [`Ctx::combine`] is set; readers ignore other keys (and `combine` values they do not
/// know).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Ctx {
    /// The batch time, in milliseconds since the Unix epoch (or since zero in tests).
    pub batch_time_ms: i64,
    /// The partition index within the batch.
    pub partition: u32,
    /// The combine hint: the output of this (transform) call feeds only a built-in
    /// reduce, so a guest may merge its `[key, integer]` pairs per key before returning
    /// them (docs/abi.md, "The combine hint"). Guests may ignore it.
    pub combine: Option<Combine>,
}

/// The built-in reduce a transform call's output feeds: the value of the `combine` key
/// of the context.
///
/// Only reduces whose result does not change when some of a key's values are merged
/// first are hinted: `count` is not (it counts records).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Combine {
    /// Integer values of a key are added.
    Sum,
    /// The smallest integer value of a key is kept.
    Min,
    /// The largest integer value of a key is kept.
    Max,
}

impl Combine {
    /// The name written in the context: `"sum"`, `"min"` or `"max"`.
    pub const fn name(self) -> &'static str {
        match self {
            Combine::Sum => "sum",
            Combine::Min => "min",
            Combine::Max => "max",
        }
    }

    /// The hint named `name`; `None` for a name this version does not know.
    pub fn from_name(name: &str) -> Option<Combine> {
        match name {
            "sum" => Some(Combine::Sum),
            "min" => Some(Combine::Min),
            "max" => Some(Combine::Max),
            _ => None,
        }
    }
}

impl Ctx {
    /// A context without a combine hint.
    pub const fn new(batch_time_ms: i64, partition: u32) -> Ctx {
        Ctx {
            batch_time_ms,
            partition,
            combine: None,
        }
    }

    /// Appends the encoded context (keys in byte order: `batch_time_ms`, `combine`,
    /// `partition`).
    pub fn write(&self, out: &mut Vec<u8>) {
        msgpack::write_map_len(out, if self.combine.is_some() { 3 } else { 2 });
        msgpack::write_str(out, "batch_time_ms");
        msgpack::write_int(out, self.batch_time_ms);
        if let Some(c) = self.combine {
            msgpack::write_str(out, "combine");
            msgpack::write_str(out, c.name());
        }
        msgpack::write_str(out, "partition");
        msgpack::write_int(out, i64::from(self.partition));
    }

    /// Reads a context map, ignoring unknown keys and unknown `combine` values.
    pub fn read(r: &mut Reader<'_>) -> Result<Ctx, DecodeError> {
        let mut ctx = Ctx::default();
        for _ in 0..r.map_len()? {
            let at = r.position();
            match r.str()? {
                "batch_time_ms" => ctx.batch_time_ms = r.int()?,
                "partition" => {
                    ctx.partition = u32::try_from(r.int()?).map_err(|_| DecodeError {
                        offset: at,
                        kind: DecodeErrorKind::OutOfRange,
                    })?
                }
                "combine" if matches!(r.peek()?, 0xa0..=0xbf | 0xd9..=0xdb) => {
                    ctx.combine = Combine::from_name(r.str()?);
                }
                _ => r.skip_value()?,
            }
        }
        Ok(ctx)
    }
}

/// Writes an input document `[items, ctx]` from `count` already-encoded items.
pub fn write_input(out: &mut Vec<u8>, count: u32, items: &[u8], ctx: &Ctx) {
    msgpack::write_array_len(out, 2);
    msgpack::write_array_len(out, count);
    out.extend_from_slice(items);
    ctx.write(out);
}

/// Alias of [`write_input`] for transform calls, whose items are records.
pub fn write_records_input(out: &mut Vec<u8>, count: u32, records: &[u8], ctx: &Ctx) {
    write_input(out, count, records, ctx);
}

/// A per-item error reported by a guest, or a whole-call error when `index` is `None`.
///
/// Encoded as `[index, message]` with `index` an integer or nil.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordError {
    /// The 0-based position of the input item that failed; `None` fails the whole call.
    pub index: Option<u32>,
    /// What went wrong, for the job's log and dead-letter sink.
    pub message: String,
}

impl RecordError {
    /// Appends the encoded error.
    pub fn write(&self, out: &mut Vec<u8>) {
        msgpack::write_array_len(out, 2);
        match self.index {
            Some(i) => msgpack::write_int(out, i64::from(i)),
            None => msgpack::write_nil(out),
        }
        msgpack::write_str(out, &self.message);
    }
}

/// Writes an output document `[items, errors]` from `count` already-encoded items.
pub fn write_output(out: &mut Vec<u8>, count: u32, items: &[u8], errors: &[RecordError]) {
    msgpack::write_array_len(out, 2);
    msgpack::write_array_len(out, count);
    out.extend_from_slice(items);
    msgpack::write_array_len(out, errors.len() as u32);
    for e in errors {
        e.write(out);
    }
}

/// The items of a document: `count` encoded values laid end to end in `bytes`.
#[derive(Debug, Clone, Copy)]
pub struct ItemsView<'a> {
    /// Number of items.
    pub count: u32,
    /// The items' encoded bytes, without the array header.
    pub bytes: &'a [u8],
}

impl<'a> ItemsView<'a> {
    /// Iterates over the encoded items.
    pub fn iter(&self) -> Items<'a> {
        Items {
            reader: Reader::new(self.bytes),
            remaining: self.count,
        }
    }
}

/// An iterator over encoded items; yields an error once if an item is malformed.
#[derive(Debug, Clone)]
pub struct Items<'a> {
    reader: Reader<'a>,
    remaining: u32,
}

impl<'a> Iterator for Items<'a> {
    type Item = Result<&'a [u8], DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.remaining == 0 {
            return None;
        }
        self.remaining -= 1;
        let item = self.reader.value();
        if item.is_err() {
            self.remaining = 0;
        }
        Some(item)
    }
}

/// Reads `count` items at the reader and returns them as one slice, checking each.
fn read_items<'a>(buf: &'a [u8], r: &mut Reader<'a>) -> Result<ItemsView<'a>, DecodeError> {
    let count = r.array_len()?;
    let start = r.position();
    for _ in 0..count {
        r.skip_value()?;
    }
    Ok(ItemsView {
        count,
        bytes: &buf[start..r.position()],
    })
}

/// A parsed input document.
#[derive(Debug, Clone, Copy)]
pub struct InputView<'a> {
    /// The items (records, groups or entries, by shape).
    pub items: ItemsView<'a>,
    /// The call's context.
    pub ctx: Ctx,
}

impl<'a> InputView<'a> {
    /// Iterates over the encoded items.
    pub fn items(&self) -> Items<'a> {
        self.items.iter()
    }
}

/// Reads an input document `[items, ctx, ...]`.
pub fn read_input(buf: &[u8]) -> Result<InputView<'_>, DecodeError> {
    let mut r = Reader::new(buf);
    let n = top_level(&mut r, "the input document")?;
    let items = read_items(buf, &mut r)?;
    let ctx = Ctx::read(&mut r)?;
    for _ in 2..n {
        r.skip_value()?;
    }
    r.finish()?;
    Ok(InputView { items, ctx })
}

fn top_level(r: &mut Reader<'_>, _what: &'static str) -> Result<u32, DecodeError> {
    let n = r.array_len()?;
    if n < 2 {
        return Err(DecodeError {
            offset: 0,
            kind: DecodeErrorKind::Unexpected {
                expected: "an array of at least 2 elements",
                found: 0x90 | n as u8,
            },
        });
    }
    Ok(n)
}

/// A parsed output document.
#[derive(Debug, Clone)]
pub struct OutputView<'a> {
    /// The produced items, checked to be well-formed values.
    pub items: ItemsView<'a>,
    /// Per-item errors, in the order the guest wrote them.
    pub errors: Vec<RecordError>,
}

impl<'a> OutputView<'a> {
    /// The message of the first whole-call error (an error without an index), if any.
    pub fn call_error(&self) -> Option<&str> {
        self.errors
            .iter()
            .find(|e| e.index.is_none())
            .map(|e| e.message.as_str())
    }
}

/// Reads an output document `[items, errors, ...]`, checking every item is well-formed.
pub fn read_output(buf: &[u8]) -> Result<OutputView<'_>, DecodeError> {
    let mut r = Reader::new(buf);
    let n = top_level(&mut r, "the output document")?;
    let items = read_items(buf, &mut r)?;
    let n_errors = r.array_len()?;
    let mut errors = Vec::with_capacity(n_errors.min(1024) as usize);
    for _ in 0..n_errors {
        let at = r.position();
        if r.array_len()? < 2 {
            return Err(DecodeError {
                offset: at,
                kind: DecodeErrorKind::Unexpected {
                    expected: "an error [index, message]",
                    found: buf[at],
                },
            });
        }
        let index = if r.nil()? {
            None
        } else {
            let i_at = r.position();
            let i = r.int()?;
            Some(u32::try_from(i).map_err(|_| DecodeError {
                offset: i_at,
                kind: DecodeErrorKind::OutOfRange,
            })?)
        };
        let message = r.str()?.to_owned();
        errors.push(RecordError { index, message });
    }
    for _ in 2..n {
        r.skip_value()?;
    }
    r.finish()?;
    Ok(OutputView { items, errors })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_round_trips_with_errors() {
        let mut items = Vec::new();
        msgpack::write_int(&mut items, 7);
        let errors = vec![
            RecordError {
                index: Some(3),
                message: "bad".into(),
            },
            RecordError {
                index: None,
                message: "all bad".into(),
            },
        ];
        let mut out = Vec::new();
        write_output(&mut out, 1, &items, &errors);
        let view = read_output(&out).unwrap();
        assert_eq!(view.items.count, 1);
        assert_eq!(view.items.bytes, &[7]);
        assert_eq!(view.errors, errors);
        assert_eq!(view.call_error(), Some("all bad"));
    }

    #[test]
    fn output_rejects_garbage_and_lies() {
        assert!(read_output(b"garbage!").is_err());
        assert!(read_output(&[0x92, 0x93, 0x01, 0x90]).is_err()); // 3 items, 1 present
        assert!(read_output(&[0x92, 0x90, 0x90, 0x01]).is_err()); // trailing byte
        assert!(read_output(&[0x91, 0x90]).is_err()); // too short
                                                      // An appended element is ignored (forward compatibility).
        assert!(read_output(&[0x93, 0x90, 0x90, 0xc0]).is_ok());
    }

    #[test]
    fn input_ignores_unknown_ctx_keys() {
        let mut buf = vec![0x92, 0x90, 0x83];
        for (k, v) in [("partition", 4), ("future", 1), ("batch_time_ms", 9)] {
            msgpack::write_str(&mut buf, k);
            msgpack::write_int(&mut buf, v);
        }
        let view = read_input(&buf).unwrap();
        assert_eq!(
            view.ctx,
            Ctx {
                batch_time_ms: 9,
                partition: 4,
                combine: None,
            }
        );
        assert_eq!(view.items.count, 0);
    }

    #[test]
    fn the_combine_hint_round_trips_and_unknown_hints_are_ignored() {
        for combine in [
            None,
            Some(Combine::Sum),
            Some(Combine::Min),
            Some(Combine::Max),
        ] {
            let ctx = Ctx {
                combine,
                ..Ctx::new(7, 3)
            };
            let mut buf = Vec::new();
            write_input(&mut buf, 0, &[], &ctx);
            assert_eq!(read_input(&buf).unwrap().ctx, ctx);
        }
        // A later hint (or a non-string one) reads as no hint.
        for value in [&[0xa6, b'm', b'e', b'd', b'i', b'a', b'n'][..], &[0x01]] {
            let mut buf = vec![0x92, 0x90, 0x81];
            msgpack::write_str(&mut buf, "combine");
            buf.extend_from_slice(value);
            assert_eq!(read_input(&buf).unwrap().ctx.combine, None);
        }
    }
}

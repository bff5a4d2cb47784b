//! A small cursor over one encoded MessagePack value: reads map/array headers and string
//! bytes, and steps over values without decoding them (scalars and short strings
//! directly, containers with the ABI's checked skipper). Also names value types for
//! messages.

use sluice_abi::msgpack::{self, marker_name};

/// What a value starting with marker `m` is, for messages: `a string`, `an array`,
/// `null`.
pub fn a_value_of(m: u8) -> &'static str {
    match marker_name(m) {
        "integer" => "an integer",
        "map" => "a map",
        "array" => "an array",
        "string" => "a string",
        "nil" => "null",
        "boolean" => "a boolean",
        "binary" => "a binary",
        "float" => "a float",
        "extension" => "an extension value",
        _ => "a reserved marker",
    }
}

/// A cursor over one encoded value that reads headers and steps over values.
#[derive(Debug, Clone)]
pub struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    /// A cursor at the start of `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Cursor { buf, pos: 0 }
    }

    /// The current byte offset.
    pub fn position(&self) -> usize {
        self.pos
    }

    fn truncated(&self) -> msgpack::DecodeError {
        msgpack::DecodeError {
            offset: self.pos,
            kind: msgpack::DecodeErrorKind::Truncated,
        }
    }

    /// The marker of the next value.
    ///
    /// # Errors
    /// At the end of the buffer.
    pub fn peek(&self) -> Result<u8, msgpack::DecodeError> {
        self.buf
            .get(self.pos)
            .copied()
            .ok_or_else(|| self.truncated())
    }

    /// Reads a map header: the number of pairs.
    ///
    /// # Errors
    /// When the next value is not a map.
    pub fn map_len(&mut self) -> Result<u32, msgpack::DecodeError> {
        let mut r = msgpack::Reader::new(&self.buf[self.pos..]);
        let n = r.map_len().map_err(|e| self.shift(e))?;
        self.pos += r.position();
        Ok(n)
    }

    /// Reads an array header.
    ///
    /// # Errors
    /// When the next value is not an array.
    pub fn array_len(&mut self) -> Result<u32, msgpack::DecodeError> {
        let mut r = msgpack::Reader::new(&self.buf[self.pos..]);
        let n = r.array_len().map_err(|e| self.shift(e))?;
        self.pos += r.position();
        Ok(n)
    }

    fn shift(&self, e: msgpack::DecodeError) -> msgpack::DecodeError {
        msgpack::DecodeError {
            offset: e.offset + self.pos,
            ..e
        }
    }

    /// If the next value is a string, consumes it and returns its bytes (not checked to
    /// be UTF-8); otherwise leaves the cursor where it is.
    pub fn str_bytes(&mut self) -> Option<&'a [u8]> {
        let m = *self.buf.get(self.pos)?;
        let (head, len) = match m {
            0xa0..=0xbf => (1, usize::from(m & 0x1f)),
            0xd9 => (2, usize::from(*self.buf.get(self.pos + 1)?)),
            0xda => (3, be(self.buf.get(self.pos + 1..self.pos + 3)?)),
            0xdb => (5, be(self.buf.get(self.pos + 1..self.pos + 5)?)),
            _ => return None,
        };
        let start = self.pos + head;
        let bytes = self.buf.get(start..start.checked_add(len)?)?;
        self.pos = start + len;
        Some(bytes)
    }

    /// Consumes the next value and returns its encoded bytes.
    ///
    /// # Errors
    /// A [`msgpack::DecodeError`] when it is malformed.
    pub fn value(&mut self) -> Result<&'a [u8], msgpack::DecodeError> {
        let start = self.pos;
        self.skip()?;
        Ok(&self.buf[start..self.pos])
    }

    /// Steps over the next value: scalars and short strings directly, containers with the
    /// ABI's checked skipper.
    ///
    /// # Errors
    /// A [`msgpack::DecodeError`] when it is malformed.
    pub fn skip(&mut self) -> Result<(), msgpack::DecodeError> {
        let m = self.peek()?;
        let len = match m {
            0x00..=0x7f | 0xe0..=0xff | 0xc0 | 0xc2 | 0xc3 => 1,
            0xa0..=0xbf => 1 + usize::from(m & 0x1f),
            0xcc | 0xd0 => 2,
            0xcd | 0xd1 => 3,
            0xca | 0xce | 0xd2 => 5,
            0xcb | 0xcf | 0xd3 => 9,
            _ => msgpack::value_len(&self.buf[self.pos..]).map_err(|e| self.shift(e))?,
        };
        if self.pos + len > self.buf.len() {
            return Err(self.truncated());
        }
        self.pos += len;
        Ok(())
    }
}

fn be(bytes: &[u8]) -> usize {
    bytes.iter().fold(0usize, |a, &b| (a << 8) | usize::from(b))
}

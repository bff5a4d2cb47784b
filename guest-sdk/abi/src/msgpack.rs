//! A minimal MessagePack reader and writer for framing documents.
//!
//! Records stay encoded bytes end to end: the host never decodes a record it does not have
//! to. This module finds value boundaries ([`skip`]), reads the few scalars the ABI needs,
//! and writes headers. Every read is bounds-checked and nesting is limited to
//! [`MAX_DEPTH`], so hostile input yields a [`DecodeError`], never a panic.

use std::fmt;

/// Deepest nesting of arrays and maps [`skip`] accepts.
pub const MAX_DEPTH: usize = 128;

/// Nesting levels [`Reader::skip_value`] tracks without allocating.
const SHALLOW: usize = 16;

/// Why a MessagePack document could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    /// Byte offset in the document where the problem was found.
    pub offset: usize,
    /// What was wrong.
    pub kind: DecodeErrorKind,
}

/// The kinds of [`DecodeError`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeErrorKind {
    /// The document ended in the middle of a value.
    Truncated,
    /// The marker byte `0xc1`, which MessagePack never uses.
    ReservedMarker,
    /// Nesting deeper than [`MAX_DEPTH`].
    TooDeep,
    /// A value of another type than expected.
    Unexpected { expected: &'static str, found: u8 },
    /// A string that is not UTF-8.
    InvalidUtf8,
    /// An integer that does not fit the expected type.
    OutOfRange,
    /// Bytes left over after the document's last value.
    TrailingBytes,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            DecodeErrorKind::Truncated => write!(f, "document truncated at byte {}", self.offset),
            DecodeErrorKind::ReservedMarker => {
                write!(f, "reserved marker 0xc1 at byte {}", self.offset)
            }
            DecodeErrorKind::TooDeep => write!(
                f,
                "nesting deeper than {MAX_DEPTH} levels at byte {}",
                self.offset
            ),
            DecodeErrorKind::Unexpected { expected, found } => write!(
                f,
                "expected {expected} at byte {}, found marker 0x{found:02x} ({})",
                self.offset,
                marker_name(*found)
            ),
            DecodeErrorKind::InvalidUtf8 => {
                write!(f, "string at byte {} is not UTF-8", self.offset)
            }
            DecodeErrorKind::OutOfRange => {
                write!(f, "integer at byte {} is out of range", self.offset)
            }
            DecodeErrorKind::TrailingBytes => {
                write!(
                    f,
                    "unexpected bytes after the document at byte {}",
                    self.offset
                )
            }
        }
    }
}

impl std::error::Error for DecodeError {}

fn err(offset: usize, kind: DecodeErrorKind) -> DecodeError {
    DecodeError { offset, kind }
}

/// A human name for the type a marker byte starts.
pub fn marker_name(m: u8) -> &'static str {
    match m {
        0x00..=0x7f | 0xe0..=0xff | 0xcc..=0xd3 => "integer",
        0x80..=0x8f | 0xde | 0xdf => "map",
        0x90..=0x9f | 0xdc | 0xdd => "array",
        0xa0..=0xbf | 0xd9..=0xdb => "string",
        0xc0 => "nil",
        0xc1 => "reserved",
        0xc2 | 0xc3 => "boolean",
        0xc4..=0xc6 => "binary",
        0xca | 0xcb => "float",
        0xc7..=0xc9 | 0xd4..=0xd8 => "extension",
    }
}

/// A cursor over a MessagePack buffer.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// A reader at the start of `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    /// The current byte offset.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// Whether every byte has been read.
    pub fn is_at_end(&self) -> bool {
        self.pos >= self.buf.len()
    }

    /// Fails unless every byte has been read.
    pub fn finish(&self) -> Result<(), DecodeError> {
        if self.is_at_end() {
            Ok(())
        } else {
            Err(err(self.pos, DecodeErrorKind::TrailingBytes))
        }
    }

    /// The marker of the next value, without consuming it.
    pub fn peek(&self) -> Result<u8, DecodeError> {
        self.buf
            .get(self.pos)
            .copied()
            .ok_or(err(self.pos, DecodeErrorKind::Truncated))
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.buf.len())
            .ok_or(err(self.pos, DecodeErrorKind::Truncated))?;
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn be(&mut self, n: usize) -> Result<u64, DecodeError> {
        Ok(self
            .take(n)?
            .iter()
            .fold(0u64, |acc, &b| (acc << 8) | u64::from(b)))
    }

    /// Consumes one whole value and returns its encoded bytes.
    pub fn value(&mut self) -> Result<&'a [u8], DecodeError> {
        let start = self.pos;
        self.skip_value()?;
        Ok(&self.buf[start..self.pos])
    }

    /// Consumes one whole value.
    pub fn skip_value(&mut self) -> Result<(), DecodeError> {
        // Iterative: `pending` counts values still to skip at the current nesting.
        let mut pending: u64 = 1;
        let mut depth = 0usize;
        // The counts of the enclosing levels: the first few inline (zeroing a full
        // MAX_DEPTH array per value dominated the cost of skipping small records), deeper
        // ones on the heap.
        let mut shallow = [0u64; SHALLOW];
        let mut deep: Vec<u64> = Vec::new();
        loop {
            while pending == 0 {
                if depth == 0 {
                    return Ok(());
                }
                depth -= 1;
                pending = if depth < SHALLOW {
                    shallow[depth]
                } else {
                    deep.pop().unwrap_or(0)
                };
            }
            pending -= 1;
            let at = self.pos;
            let m = self.peek()?;
            self.pos += 1;
            let children: u64 = match m {
                0x00..=0x7f | 0xe0..=0xff | 0xc0 | 0xc2 | 0xc3 => 0,
                0x80..=0x8f => 2 * u64::from(m & 0x0f),
                0x90..=0x9f => u64::from(m & 0x0f),
                0xa0..=0xbf => {
                    self.take(usize::from(m & 0x1f))?;
                    0
                }
                0xc1 => return Err(err(at, DecodeErrorKind::ReservedMarker)),
                0xc4 | 0xd9 => self.skip_sized(1, 0)?,
                0xc5 | 0xda => self.skip_sized(2, 0)?,
                0xc6 | 0xdb => self.skip_sized(4, 0)?,
                0xc7 => self.skip_sized(1, 1)?,
                0xc8 => self.skip_sized(2, 1)?,
                0xc9 => self.skip_sized(4, 1)?,
                0xca => self.skip_fixed(4)?,
                0xcb => self.skip_fixed(8)?,
                0xcc | 0xd0 => self.skip_fixed(1)?,
                0xcd | 0xd1 => self.skip_fixed(2)?,
                0xce | 0xd2 => self.skip_fixed(4)?,
                0xcf | 0xd3 => self.skip_fixed(8)?,
                0xd4 => self.skip_fixed(2)?,
                0xd5 => self.skip_fixed(3)?,
                0xd6 => self.skip_fixed(5)?,
                0xd7 => self.skip_fixed(9)?,
                0xd8 => self.skip_fixed(17)?,
                0xdc => self.be(2)?,
                0xdd => self.be(4)?,
                0xde => 2 * self.be(2)?,
                0xdf => 2 * self.be(4)?,
            };
            if children > 0 {
                // Each child needs at least one byte: reject impossible counts early.
                if children > (self.buf.len() - self.pos) as u64 {
                    return Err(err(at, DecodeErrorKind::Truncated));
                }
                if depth == MAX_DEPTH {
                    return Err(err(at, DecodeErrorKind::TooDeep));
                }
                if depth < SHALLOW {
                    shallow[depth] = pending;
                } else {
                    deep.push(pending);
                }
                depth += 1;
                pending = children;
            }
        }
    }

    fn skip_fixed(&mut self, n: usize) -> Result<u64, DecodeError> {
        self.take(n)?;
        Ok(0)
    }

    fn skip_sized(&mut self, len_bytes: usize, extra: usize) -> Result<u64, DecodeError> {
        let n = self.be(len_bytes)? as usize;
        self.take(n.saturating_add(extra))?;
        Ok(0)
    }

    fn unexpected(&self, at: usize, expected: &'static str) -> DecodeError {
        err(
            at,
            DecodeErrorKind::Unexpected {
                expected,
                found: self.buf.get(at).copied().unwrap_or(0),
            },
        )
    }

    /// Reads an array header and returns the element count.
    pub fn array_len(&mut self) -> Result<u32, DecodeError> {
        let at = self.pos;
        let m = self.peek()?;
        self.pos += 1;
        Ok(match m {
            0x90..=0x9f => u32::from(m & 0x0f),
            0xdc => self.be(2)? as u32,
            0xdd => self.be(4)? as u32,
            _ => {
                self.pos = at;
                return Err(self.unexpected(at, "an array"));
            }
        })
    }

    /// Reads a map header and returns the number of key/value pairs.
    pub fn map_len(&mut self) -> Result<u32, DecodeError> {
        let at = self.pos;
        let m = self.peek()?;
        self.pos += 1;
        Ok(match m {
            0x80..=0x8f => u32::from(m & 0x0f),
            0xde => self.be(2)? as u32,
            0xdf => self.be(4)? as u32,
            _ => {
                self.pos = at;
                return Err(self.unexpected(at, "a map"));
            }
        })
    }

    /// Reads nil, returning `true`, or leaves the reader unchanged and returns `false`.
    pub fn nil(&mut self) -> Result<bool, DecodeError> {
        if self.peek()? == 0xc0 {
            self.pos += 1;
            Ok(true)
        } else {
            Ok(false)
        }
    }

    /// Reads a boolean.
    pub fn bool(&mut self) -> Result<bool, DecodeError> {
        let at = self.pos;
        match self.peek()? {
            0xc2 => {
                self.pos += 1;
                Ok(false)
            }
            0xc3 => {
                self.pos += 1;
                Ok(true)
            }
            _ => Err(self.unexpected(at, "a boolean")),
        }
    }

    /// Reads any integer that fits an `i64`.
    pub fn int(&mut self) -> Result<i64, DecodeError> {
        let at = self.pos;
        let m = self.peek()?;
        self.pos += 1;
        let v = match m {
            0x00..=0x7f => i64::from(m),
            0xe0..=0xff => i64::from(m as i8),
            0xcc => self.be(1)? as i64,
            0xcd => self.be(2)? as i64,
            0xce => self.be(4)? as i64,
            0xcf => {
                let v = self.be(8)?;
                i64::try_from(v).map_err(|_| err(at, DecodeErrorKind::OutOfRange))?
            }
            0xd0 => i64::from(self.be(1)? as u8 as i8),
            0xd1 => i64::from(self.be(2)? as u16 as i16),
            0xd2 => i64::from(self.be(4)? as u32 as i32),
            0xd3 => self.be(8)? as i64,
            _ => {
                self.pos = at;
                return Err(self.unexpected(at, "an integer"));
            }
        };
        Ok(v)
    }

    /// Reads a float (32 or 64 bit) as `f64`.
    pub fn float(&mut self) -> Result<f64, DecodeError> {
        let at = self.pos;
        match self.peek()? {
            0xca => {
                self.pos += 1;
                Ok(f64::from(f32::from_bits(self.be(4)? as u32)))
            }
            0xcb => {
                self.pos += 1;
                Ok(f64::from_bits(self.be(8)?))
            }
            _ => Err(self.unexpected(at, "a float")),
        }
    }

    /// Reads a UTF-8 string.
    pub fn str(&mut self) -> Result<&'a str, DecodeError> {
        let at = self.pos;
        let m = self.peek()?;
        self.pos += 1;
        let n = match m {
            0xa0..=0xbf => usize::from(m & 0x1f),
            0xd9 => self.be(1)? as usize,
            0xda => self.be(2)? as usize,
            0xdb => self.be(4)? as usize,
            _ => {
                self.pos = at;
                return Err(self.unexpected(at, "a string"));
            }
        };
        let bytes = self.take(n)?;
        std::str::from_utf8(bytes).map_err(|_| err(at, DecodeErrorKind::InvalidUtf8))
    }
}

/// Returns the length of the first value in `buf`.
pub fn value_len(buf: &[u8]) -> Result<usize, DecodeError> {
    let mut r = Reader::new(buf);
    r.skip_value()?;
    Ok(r.position())
}

/// Appends an array header for `n` elements.
pub fn write_array_len(out: &mut Vec<u8>, n: u32) {
    match n {
        0..=15 => out.push(0x90 | n as u8),
        16..=0xffff => {
            out.push(0xdc);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        _ => {
            out.push(0xdd);
            out.extend_from_slice(&n.to_be_bytes());
        }
    }
}

/// Appends a map header for `n` key/value pairs.
pub fn write_map_len(out: &mut Vec<u8>, n: u32) {
    match n {
        0..=15 => out.push(0x80 | n as u8),
        16..=0xffff => {
            out.push(0xde);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        _ => {
            out.push(0xdf);
            out.extend_from_slice(&n.to_be_bytes());
        }
    }
}

/// Appends a string in its shortest encoding.
pub fn write_str(out: &mut Vec<u8>, s: &str) {
    let n = s.len();
    if n < 32 {
        out.push(0xa0 | n as u8);
    } else if n <= 0xff {
        out.push(0xd9);
        out.push(n as u8);
    } else if n <= 0xffff {
        out.push(0xda);
        out.extend_from_slice(&(n as u16).to_be_bytes());
    } else {
        out.push(0xdb);
        out.extend_from_slice(&(n as u32).to_be_bytes());
    }
    out.extend_from_slice(s.as_bytes());
}

/// Appends an integer in its canonical (shortest) encoding: non-negative values use the
/// unsigned markers, negative ones the signed markers, as rmp does.
pub fn write_int(out: &mut Vec<u8>, v: i64) {
    if v >= 0 {
        let u = v as u64;
        if u < 128 {
            out.push(u as u8);
        } else if u <= 0xff {
            out.extend_from_slice(&[0xcc, u as u8]);
        } else if u <= 0xffff {
            out.push(0xcd);
            out.extend_from_slice(&(u as u16).to_be_bytes());
        } else if u <= 0xffff_ffff {
            out.push(0xce);
            out.extend_from_slice(&(u as u32).to_be_bytes());
        } else {
            out.push(0xcf);
            out.extend_from_slice(&u.to_be_bytes());
        }
    } else if v >= -32 {
        out.push(v as i8 as u8);
    } else if v >= i64::from(i8::MIN) {
        out.extend_from_slice(&[0xd0, v as i8 as u8]);
    } else if v >= i64::from(i16::MIN) {
        out.push(0xd1);
        out.extend_from_slice(&(v as i16).to_be_bytes());
    } else if v >= i64::from(i32::MIN) {
        out.push(0xd2);
        out.extend_from_slice(&(v as i32).to_be_bytes());
    } else {
        out.push(0xd3);
        out.extend_from_slice(&v.to_be_bytes());
    }
}

/// Appends a 64-bit float.
pub fn write_f64(out: &mut Vec<u8>, v: f64) {
    out.push(0xcb);
    out.extend_from_slice(&v.to_bits().to_be_bytes());
}

/// Appends nil.
pub fn write_nil(out: &mut Vec<u8>) {
    out.push(0xc0);
}

/// Appends a boolean.
pub fn write_bool(out: &mut Vec<u8>, v: bool) {
    out.push(if v { 0xc3 } else { 0xc2 });
}

#[cfg(test)]
mod tests;

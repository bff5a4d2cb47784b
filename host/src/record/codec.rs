//! The compact binary encoding of operator snapshots: a 4-byte tag and a version byte,
//! then LEB128 varints, length-prefixed byte strings and encoded batches.

use std::sync::Arc;

use crate::record::{Batch, Partition};

/// Snapshot format version written after the tag.
pub const VERSION: u8 = 1;

/// Appends snapshot fields to a buffer.
#[derive(Debug, Default)]
pub struct Writer {
    /// The encoded bytes.
    pub buf: Vec<u8>,
}

impl Writer {
    /// A writer that starts with `tag` and the version.
    pub fn new(tag: &[u8; 4]) -> Self {
        let mut buf = Vec::with_capacity(64);
        buf.extend_from_slice(tag);
        buf.push(VERSION);
        Writer { buf }
    }

    /// An unsigned varint.
    pub fn u64(&mut self, mut v: u64) {
        loop {
            let b = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                self.buf.push(b);
                return;
            }
            self.buf.push(b | 0x80);
        }
    }

    /// A signed varint (zigzag).
    pub fn i64(&mut self, v: i64) {
        self.u64(((v << 1) ^ (v >> 63)) as u64);
    }

    /// A length-prefixed byte string.
    pub fn bytes(&mut self, b: &[u8]) {
        self.u64(b.len() as u64);
        self.buf.extend_from_slice(b);
    }

    /// A batch: partition count, then per partition its record count and bytes.
    pub fn batch(&mut self, b: &Batch) {
        self.u64(b.partitions.len() as u64);
        for p in &b.partitions {
            self.u64(p.len() as u64);
            self.bytes(p.bytes());
        }
    }

    /// The finished bytes.
    pub fn finish(self) -> Vec<u8> {
        self.buf
    }
}

/// Reads snapshot fields; every error is a sentence for `restore`.
#[derive(Debug)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// Checks the tag and version of `buf`.
    ///
    /// # Errors
    /// When the snapshot belongs to another operator or another format version.
    pub fn new(buf: &'a [u8], tag: &[u8; 4], op: &str) -> Result<Self, String> {
        if buf.len() < 5 || &buf[..4] != tag {
            return Err(format!(
                "the snapshot is not the state of a `{op}` operator"
            ));
        }
        if buf[4] != VERSION {
            return Err(format!(
                "`{op}` snapshot format version {} is not supported (expected {VERSION})",
                buf[4]
            ));
        }
        Ok(Reader { buf, pos: 5 })
    }

    fn truncated(&self) -> String {
        format!("snapshot truncated or corrupt at byte {}", self.pos)
    }

    /// An unsigned varint.
    ///
    /// # Errors
    /// When the data ends early or the varint is too long.
    pub fn u64(&mut self) -> Result<u64, String> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = *self.buf.get(self.pos).ok_or_else(|| self.truncated())?;
            self.pos += 1;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(self.truncated())
    }

    /// A count that must fit in memory (bounded by the remaining bytes).
    ///
    /// # Errors
    /// As [`Reader::u64`], or when the count exceeds the remaining bytes.
    pub fn count(&mut self) -> Result<usize, String> {
        let n = self.u64()?;
        if n > (self.buf.len() - self.pos) as u64 {
            return Err(self.truncated());
        }
        Ok(n as usize)
    }

    /// A signed varint.
    ///
    /// # Errors
    /// As [`Reader::u64`].
    pub fn i64(&mut self) -> Result<i64, String> {
        let u = self.u64()?;
        Ok(((u >> 1) as i64) ^ -((u & 1) as i64))
    }

    /// A length-prefixed byte string.
    ///
    /// # Errors
    /// When the data ends early.
    pub fn bytes(&mut self) -> Result<&'a [u8], String> {
        let n = self.count()?;
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    /// A batch written by [`Writer::batch`], checking every record.
    ///
    /// # Errors
    /// When the data ends early or a record is malformed.
    pub fn batch(&mut self) -> Result<Arc<Batch>, String> {
        let n = self.count()?;
        let mut parts = Vec::with_capacity(n);
        for _ in 0..n {
            let count = self.u64()?;
            let bytes = self.bytes()?;
            let count = u32::try_from(count).map_err(|_| self.truncated())?;
            parts.push(Partition::from_encoded(count, bytes).map_err(|e| e.to_string())?);
        }
        Ok(Batch::new(parts))
    }

    /// Fails unless every byte was read.
    ///
    /// # Errors
    /// When bytes are left over.
    pub fn finish(&self) -> Result<(), String> {
        if self.pos == self.buf.len() {
            Ok(())
        } else {
            Err(format!(
                "{} unexpected bytes at the end of the snapshot",
                self.buf.len() - self.pos
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_checks_tags() {
        let mut w = Writer::new(b"TEST");
        w.u64(300);
        w.i64(-5);
        w.bytes(b"abc");
        let mut p = Partition::new();
        p.push(&[0x01]);
        w.batch(&Batch {
            partitions: vec![p.clone(), Partition::new()],
        });
        let buf = w.finish();
        let mut r = Reader::new(&buf, b"TEST", "test").unwrap();
        assert_eq!(r.u64().unwrap(), 300);
        assert_eq!(r.i64().unwrap(), -5);
        assert_eq!(r.bytes().unwrap(), b"abc");
        let b = r.batch().unwrap();
        assert_eq!(b.partitions, vec![p, Partition::new()]);
        r.finish().unwrap();
        assert!(Reader::new(&buf, b"NOPE", "x")
            .unwrap_err()
            .contains("not the state"));
        let mut r = Reader::new(&buf[..7], b"TEST", "test").unwrap();
        assert!(r.u64().is_ok());
        assert!(r.i64().is_err());
    }
}

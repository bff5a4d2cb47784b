//! [`Partition`]: records laid end to end in one buffer; [`Batch`]: one RDD of a stream.

use std::sync::Arc;

use sluice_abi::msgpack::{self, DecodeError};

/// A partition of records: encoded MessagePack values stored end to end.
///
/// Record `i` is `buf[ends[i - 1]..ends[i]]` (with `ends[-1] = 0`). A partition holds at
/// most 4 GiB of encoded records.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Partition {
    buf: Vec<u8>,
    ends: Vec<u32>,
}

impl Partition {
    /// An empty partition.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty partition with room for `records` records of `bytes` bytes in all.
    pub fn with_capacity(records: usize, bytes: usize) -> Self {
        Partition {
            buf: Vec::with_capacity(bytes),
            ends: Vec::with_capacity(records),
        }
    }

    /// Builds a partition from `count` encoded values laid end to end, checking each.
    ///
    /// # Errors
    /// A [`DecodeError`] if `bytes` does not hold exactly `count` well-formed values.
    pub fn from_encoded(count: u32, bytes: &[u8]) -> Result<Self, DecodeError> {
        let (p, used) = Self::from_encoded_prefix(count, bytes)?;
        msgpack::Reader::new(&bytes[used..])
            .finish()
            .map_err(|e| DecodeError {
                offset: e.offset + used,
                ..e
            })?;
        Ok(p)
    }

    /// Builds a partition from the first `count` encoded values of `bytes`, checking
    /// each, in one scan; returns it and the number of bytes it took (what follows is the
    /// caller's, e.g. the rest of a plugin's output document).
    ///
    /// # Errors
    /// A [`DecodeError`] (offsets into `bytes`) if a value is malformed or missing.
    pub fn from_encoded_prefix(count: u32, bytes: &[u8]) -> Result<(Self, usize), DecodeError> {
        let mut ends = Vec::with_capacity(count as usize);
        let mut pos = 0usize;
        for _ in 0..count {
            pos += match small_pair_len(&bytes[pos..]) {
                Some(n) => n,
                None => {
                    let mut r = msgpack::Reader::new(&bytes[pos..]);
                    r.skip_value().map_err(|e| DecodeError {
                        offset: e.offset + pos,
                        ..e
                    })?;
                    r.position()
                }
            };
            ends.push(pos as u32);
        }
        let p = Partition {
            buf: bytes[..pos].to_vec(),
            ends,
        };
        Ok((p, pos))
    }

    /// Appends one encoded record. The caller guarantees `record` is one MessagePack value.
    pub fn push(&mut self, record: &[u8]) {
        self.buf.extend_from_slice(record);
        self.ends.push(self.buf.len() as u32);
    }

    /// Appends one record written by `write`, which must write exactly one value.
    pub fn push_with(&mut self, write: impl FnOnce(&mut Vec<u8>)) {
        write(&mut self.buf);
        self.ends.push(self.buf.len() as u32);
    }

    /// Appends one record written by `write`, which must write exactly one value when it
    /// succeeds; when it fails, whatever it wrote is removed and its error returned.
    ///
    /// # Errors
    /// The error of `write`.
    pub fn try_push_with<E>(
        &mut self,
        write: impl FnOnce(&mut Vec<u8>) -> Result<(), E>,
    ) -> Result<(), E> {
        let start = self.buf.len();
        match write(&mut self.buf) {
            Ok(()) => {
                self.ends.push(self.buf.len() as u32);
                Ok(())
            }
            Err(e) => {
                self.buf.truncate(start);
                Err(e)
            }
        }
    }

    /// Gives back the buffers' spare capacity when it is more than a quarter of them.
    pub fn shrink_to_fit(&mut self) {
        if self.buf.capacity() - self.buf.len() > self.buf.capacity() / 4 {
            self.buf.shrink_to_fit();
        }
        if self.ends.capacity() - self.ends.len() > self.ends.capacity() / 4 {
            self.ends.shrink_to_fit();
        }
    }

    /// Appends every record of `other`.
    pub fn extend_from(&mut self, other: &Partition) {
        let base = self.buf.len() as u32;
        self.buf.extend_from_slice(&other.buf);
        self.ends.extend(other.ends.iter().map(|e| e + base));
    }

    /// The number of records.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Whether there are no records.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The encoded bytes of all records, end to end.
    pub fn bytes(&self) -> &[u8] {
        &self.buf
    }

    /// Record `i`, if there is one.
    pub fn get(&self, i: usize) -> Option<&[u8]> {
        let end = *self.ends.get(i)? as usize;
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        Some(&self.buf[start..end])
    }

    /// Iterates over the encoded records.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &[u8]> + '_ {
        let mut start = 0usize;
        self.ends.iter().map(move |&end| {
            let s = &self.buf[start..end as usize];
            start = end as usize;
            s
        })
    }
}

/// The length of a `[fixstr, fixint]` pair at the start of `b` (what word counts emit), so
/// that framing skips the general value scanner for it; `None` for anything else (which
/// [`msgpack::Reader::skip_value`] then frames, with the same result for this shape).
#[inline]
fn small_pair_len(b: &[u8]) -> Option<usize> {
    match *b {
        [0x92, m @ 0xa0..=0xbf, ..] => {
            let n = usize::from(m & 0x1f) + 3;
            let v = *b.get(n - 1)?;
            (v <= 0x7f || v >= 0xe0).then_some(n)
        }
        _ => None,
    }
}

impl<'a> FromIterator<&'a [u8]> for Partition {
    fn from_iter<I: IntoIterator<Item = &'a [u8]>>(iter: I) -> Self {
        let mut p = Partition::new();
        for r in iter {
            p.push(r);
        }
        p
    }
}

/// One RDD: the partitions a stream produced at one batch time. Shared, never mutated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Batch {
    /// The partitions, in order.
    pub partitions: Vec<Partition>,
}

impl Batch {
    /// A batch of the given partitions, behind an [`Arc`] for sharing between streams.
    pub fn new(partitions: Vec<Partition>) -> Arc<Batch> {
        Arc::new(Batch { partitions })
    }

    /// The total number of records.
    pub fn len(&self) -> usize {
        self.partitions.iter().map(Partition::len).sum()
    }

    /// Whether there are no records in any partition.
    pub fn is_empty(&self) -> bool {
        self.partitions.iter().all(Partition::is_empty)
    }

    /// Iterates over every record, partition by partition.
    pub fn records(&self) -> impl Iterator<Item = &[u8]> + '_ {
        self.partitions.iter().flat_map(Partition::iter)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_get_iter_and_extend() {
        let mut p = Partition::new();
        p.push(&[0x01]);
        p.push_with(|b| msgpack::write_str(b, "ab"));
        assert_eq!(p.len(), 2);
        assert_eq!(p.get(1), Some(&[0xa2, b'a', b'b'][..]));
        assert_eq!(p.get(2), None);
        let mut q = Partition::from_encoded(1, &[0x05]).unwrap();
        q.extend_from(&p);
        let all: Vec<&[u8]> = q.iter().collect();
        assert_eq!(all, vec![&[0x05][..], &[0x01][..], &[0xa2, b'a', b'b'][..]]);
    }

    #[test]
    fn from_encoded_checks_count() {
        assert!(Partition::from_encoded(2, &[0x01]).is_err());
        assert!(Partition::from_encoded(1, &[0x01, 0x02]).is_err());
    }

    #[test]
    fn small_pairs_frame_like_the_general_scanner() {
        // [fixstr, fixint] pairs take the fast path; truncated or other shapes do not.
        let recs: &[&[u8]] = &[
            &[0x92, 0xa2, b'h', b'i', 0x05],
            &[0x92, 0xa0, 0xff],
            &[0x92, 0xa1, b'a', 0xcc, 0x80],
            &[0x92, 0x01, 0x02],
            &[0x91, 0xa1, b'x'],
        ];
        let bytes: Vec<u8> = recs.concat();
        let p = Partition::from_encoded(recs.len() as u32, &bytes).unwrap();
        assert_eq!(p.iter().collect::<Vec<_>>(), recs);
        assert_eq!(small_pair_len(recs[0]), Some(5));
        assert_eq!(small_pair_len(recs[2]), None);
        assert_eq!(small_pair_len(&[0x92, 0xa2, b'h', b'i']), None);
        assert!(Partition::from_encoded(1, &[0x92, 0xa2, b'h', b'i']).is_err());
        let (q, used) = Partition::from_encoded_prefix(1, &[0x92, 0xa0, 0x01, 0x90]).unwrap();
        assert_eq!((q.len(), used), (1, 3));
    }
}

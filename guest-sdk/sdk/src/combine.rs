//! The combine hint (docs/abi.md, "The combine hint"): when the host says that a
//! transform call's output feeds only a built-in `sum`, `min` or `max`, the SDK merges the
//! emitted `[key, integer]` pairs per key before returning them (Spark's map-side
//! combine, inside the guest).
//!
//! Only records that are exactly `[string, integer]` (a UTF-8 string key, a canonically
//! encoded integer that fits `i64`) are merged, on the key's bytes as written. At the
//! first record of any other form (or a sum that would overflow) combining stops for the
//! rest of the call: the pairs merged so far are written, in the order their keys first
//! appeared, followed by that record and everything after it as emitted. Each merged pair
//! covers a prefix of its key's values, so the host's reduce computes exactly what it
//! would have without the hint.

use sluice_abi::msgpack::{self, Reader};
use sluice_abi::Combine;

/// One distinct key: its first 16 encoded bytes inline (zero-padded; the header byte
/// makes keys of different lengths differ), where all its bytes are in
/// [`Combiner::keys`] when it is longer, and its accumulator.
#[derive(Debug, Clone, Copy)]
struct Entry {
    words: [u64; 2],
    key_at: u32,
    key_len: u32,
    acc: i64,
}

/// Keys of at most this many encoded bytes are compared as two words (most words of a
/// text: a fixstr of up to 15 bytes).
const INLINE: usize = 16;

/// Pairs merged per key, keys in order of first appearance.
#[derive(Debug)]
pub(crate) struct Combiner {
    how: Combine,
    /// The encoded bytes of keys longer than [`INLINE`], end to end.
    keys: Vec<u8>,
    entries: Vec<Entry>,
    /// Open addressing, linear probing: 0 is empty, `i + 1` is `entries[i]`.
    slots: Vec<u32>,
}

/// How far [`Combiner::absorb`] got through a buffer of records.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Absorbed {
    /// Every record was merged.
    All,
    /// The record at byte `at` (after `records` merged ones) cannot be merged.
    StoppedAt { at: usize, records: u32 },
}

thread_local! {
    /// The table of the previous call, kept so that its memory is reused (a guest runs
    /// one call at a time).
    static SPARE: std::cell::Cell<Option<Combiner>> = const { std::cell::Cell::new(None) };
}

impl Combiner {
    /// An empty combiner, reusing the previous call's table when there is one.
    pub(crate) fn new(how: Combine) -> Combiner {
        match SPARE.with(std::cell::Cell::take) {
            Some(mut c) => {
                c.how = how;
                c
            }
            None => Combiner {
                how,
                keys: Vec::new(),
                entries: Vec::new(),
                slots: vec![0; 1024],
            },
        }
    }

    /// Empties the combiner and keeps its memory for the next call.
    pub(crate) fn recycle(mut self) {
        self.keys.clear();
        self.entries.clear();
        self.slots.fill(0);
        SPARE.with(|s| s.set(Some(self)));
    }

    /// The number of distinct keys.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Merges the records laid end to end in `buf`, up to the first that cannot be.
    pub(crate) fn absorb(&mut self, buf: &[u8]) -> Absorbed {
        let mut at = 0;
        let mut records = 0;
        while at < buf.len() {
            let Some((key, value, len)) = combinable(&buf[at..]) else {
                return Absorbed::StoppedAt { at, records };
            };
            if !self.merge(key, value) {
                return Absorbed::StoppedAt { at, records };
            }
            at += len;
            records += 1;
        }
        Absorbed::All
    }

    /// Appends one `[key, acc]` pair per key, in order of first appearance.
    pub(crate) fn write_pairs(&self, out: &mut Vec<u8>) {
        out.reserve(self.entries.len() * (INLINE + 10) + self.keys.len());
        for e in &self.entries {
            out.push(0x92);
            let len = e.key_len as usize;
            if len <= INLINE {
                let mut bytes = [0u8; INLINE];
                bytes[..8].copy_from_slice(&e.words[0].to_le_bytes());
                bytes[8..].copy_from_slice(&e.words[1].to_le_bytes());
                out.extend_from_slice(&bytes[..len]);
            } else {
                let at = e.key_at as usize;
                out.extend_from_slice(&self.keys[at..at + len]);
            }
            msgpack::write_int(out, e.acc);
        }
    }

    /// Merges one value into its key; false (and nothing changed) if a sum would
    /// overflow.
    fn merge(&mut self, key: &[u8], value: i64) -> bool {
        let words = key_words(key);
        let hash = hash(words, key);
        let mask = self.slots.len() - 1;
        let mut slot = hash as usize & mask;
        loop {
            let i = self.slots[slot];
            if i == 0 {
                break;
            }
            let e = &self.entries[i as usize - 1];
            if e.words == words && e.key_len as usize == key.len() && self.long_key_is(e, key) {
                let e = &mut self.entries[i as usize - 1];
                return match self.how {
                    Combine::Sum => match e.acc.checked_add(value) {
                        Some(s) => {
                            e.acc = s;
                            true
                        }
                        None => false,
                    },
                    Combine::Min => {
                        e.acc = e.acc.min(value);
                        true
                    }
                    Combine::Max => {
                        e.acc = e.acc.max(value);
                        true
                    }
                };
            }
            slot = (slot + 1) & mask;
        }
        let key_at = self.keys.len() as u32;
        if key.len() > INLINE {
            self.keys.extend_from_slice(key);
        }
        self.entries.push(Entry {
            words,
            key_at,
            key_len: key.len() as u32,
            acc: value,
        });
        self.slots[slot] = self.entries.len() as u32;
        if self.entries.len() * 2 > self.slots.len() {
            self.grow();
        }
        true
    }

    /// For a key longer than [`INLINE`] bytes (whose first words matched), whether the
    /// rest matches too.
    fn long_key_is(&self, e: &Entry, key: &[u8]) -> bool {
        key.len() <= INLINE || {
            let at = e.key_at as usize;
            self.keys[at..at + key.len()] == *key
        }
    }

    fn grow(&mut self) {
        let mut slots = vec![0u32; self.slots.len() * 2];
        let mask = slots.len() - 1;
        for (i, e) in self.entries.iter().enumerate() {
            let key = if e.key_len as usize > INLINE {
                let at = e.key_at as usize;
                &self.keys[at..at + e.key_len as usize]
            } else {
                &[]
            };
            let mut slot = hash(e.words, key) as usize & mask;
            while slots[slot] != 0 {
                slot = (slot + 1) & mask;
            }
            slots[slot] = i as u32 + 1;
        }
        self.slots = slots;
    }
}

/// The first [`INLINE`] bytes of a key as two little-endian words, zero-padded.
#[inline]
fn key_words(key: &[u8]) -> [u64; 2] {
    let mut bytes = [0u8; INLINE];
    let n = key.len().min(INLINE);
    bytes[..n].copy_from_slice(&key[..n]);
    let (a, b) = bytes.split_at(8);
    [
        u64::from_le_bytes(a.try_into().unwrap_or_default()),
        u64::from_le_bytes(b.try_into().unwrap_or_default()),
    ]
}

/// A 32-bit hash of a key: its first two words, then (for long keys) the rest, mixed so
/// that the low bits the table uses depend on every byte.
#[inline]
fn hash(words: [u64; 2], key: &[u8]) -> u32 {
    const K: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut h = words[0].wrapping_mul(K) ^ words[1];
    if key.len() > INLINE {
        for c in key[INLINE..].chunks(8) {
            let mut w = [0u8; 8];
            w[..c.len()].copy_from_slice(c);
            h = (h.rotate_left(23) ^ u64::from_le_bytes(w)).wrapping_mul(K);
        }
    }
    let h = h.wrapping_mul(K);
    (h >> 32) as u32
}

/// `(key bytes, value, record length)` if the record at the start of `buf` is exactly
/// `[string, integer]` with a UTF-8 key and a canonically encoded `i64`.
fn combinable(buf: &[u8]) -> Option<(&[u8], i64, usize)> {
    // The common case, `[fixstr, positive fixint]`, without the general reader.
    if let [0x92, m @ 0xa0..=0xbf, rest @ ..] = buf {
        let n = usize::from(m & 0x1f);
        if let Some(&v @ 0..=0x7f) = rest.get(n) {
            let key = &buf[1..2 + n];
            let text = &key[1..];
            return (text.is_ascii() || std::str::from_utf8(text).is_ok()).then_some((
                key,
                i64::from(v),
                n + 3,
            ));
        }
    }
    let mut r = Reader::new(buf);
    if r.array_len().ok()? != 2 {
        return None;
    }
    let key_at = r.position();
    r.str().ok()?;
    let key = &buf[key_at..r.position()];
    let value_at = r.position();
    let value = r.int().ok()?;
    let mut canonical = Vec::with_capacity(9);
    msgpack::write_int(&mut canonical, value);
    (canonical == buf[value_at..r.position()]).then_some((key, value, r.position()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(out: &mut Vec<u8>, k: &str, v: i64) {
        msgpack::write_array_len(out, 2);
        msgpack::write_str(out, k);
        msgpack::write_int(out, v);
    }

    fn combined(how: Combine, pairs: &[(&str, i64)]) -> (Vec<u8>, Absorbed) {
        let mut buf = Vec::new();
        for (k, v) in pairs {
            pair(&mut buf, k, *v);
        }
        let mut c = Combiner::new(how);
        let got = c.absorb(&buf);
        let mut out = Vec::new();
        c.write_pairs(&mut out);
        (out, got)
    }

    #[test]
    fn merges_per_key_in_first_seen_order() {
        let long = "a key longer than thirty-one bytes, so str8";
        let input = [
            ("b", 1),
            ("a", 300),
            ("b", -5),
            (long, 2),
            ("a", 1),
            (long, 2),
        ];
        let mut want = Vec::new();
        for (k, v) in [("b", -4), ("a", 301), (long, 4)] {
            pair(&mut want, k, v);
        }
        assert_eq!(combined(Combine::Sum, &input), (want, Absorbed::All));
        let mut want = Vec::new();
        for (k, v) in [("b", -5), ("a", 1), (long, 2)] {
            pair(&mut want, k, v);
        }
        assert_eq!(combined(Combine::Min, &input).0, want);
        let mut want = Vec::new();
        for (k, v) in [("b", 1), ("a", 300), (long, 2)] {
            pair(&mut want, k, v);
        }
        assert_eq!(combined(Combine::Max, &input).0, want);
    }

    #[test]
    fn many_keys_grow_the_table() {
        let keys: Vec<String> = (0..5000).map(|i| format!("w{i}")).collect();
        let mut input: Vec<(&str, i64)> = keys.iter().map(|k| (k.as_str(), 1)).collect();
        input.extend(keys.iter().map(|k| (k.as_str(), 2)));
        let mut want = Vec::new();
        for k in &keys {
            pair(&mut want, k, 3);
        }
        assert_eq!(combined(Combine::Sum, &input), (want, Absorbed::All));
    }

    #[test]
    fn stops_at_what_it_cannot_merge() {
        let mut buf = Vec::new();
        pair(&mut buf, "a", 1);
        let at = buf.len();
        // A float value, a non-canonical integer, a non-string key, a triple, an
        // overflowing sum, invalid UTF-8: each stops combining where it is.
        let float = [0x92, 0xa1, b'a', 0xcb, 0, 0, 0, 0, 0, 0, 0, 0];
        let wide = [0x92, 0xa1, b'a', 0xd0, 0x01];
        let int_key = [0x92, 0x01, 0x01];
        let triple = [0x93, 0xa1, b'a', 0x01, 0x01];
        let not_utf8 = [0x92, 0xa1, 0xff, 0x01];
        let mut overflow = vec![];
        pair(&mut overflow, "a", i64::MAX);
        for bad in [&float[..], &wide, &int_key, &triple, &not_utf8, &overflow] {
            let mut b = buf.clone();
            b.extend_from_slice(bad);
            pair(&mut b, "a", 1);
            let mut fresh = Combiner::new(Combine::Sum);
            assert_eq!(
                fresh.absorb(&b),
                Absorbed::StoppedAt { at, records: 1 },
                "{bad:02x?}"
            );
        }
    }
}

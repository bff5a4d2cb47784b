//! Pair records `[key, value]` and canonical keys.
//!
//! Pair records are two-element arrays, like Spark's tuples. Keys are compared by their
//! canonical encoding: integers, strings, binaries, arrays and maps in their shortest form
//! (non-negative integers with the unsigned markers), so that `1` written as `0xd0 0x01` by
//! one guest and `0x01` by another are the same key.

use std::borrow::Cow;

use sluice_abi::msgpack::{self, DecodeError, Reader};

/// Why a record is not a pair.
#[derive(Debug, thiserror::Error)]
pub enum PairError {
    /// The record is not a two-element array.
    #[error("expected a pair [key, value], found a {found}")]
    NotAPair { found: &'static str },
    /// The record is not valid MessagePack.
    #[error("malformed record: {0}")]
    Malformed(DecodeError),
}

// Not `#[from]`: that would also make the decode error the `source()`, and a chain
// printed with `{:#}` would say it twice (the crate's error convention).
impl From<DecodeError> for PairError {
    fn from(e: DecodeError) -> Self {
        PairError::Malformed(e)
    }
}

/// Splits a pair record into its encoded key and value.
///
/// # Errors
/// [`PairError::NotAPair`] unless the record is an array of exactly two values.
pub fn split_pair(record: &[u8]) -> Result<(&[u8], &[u8]), PairError> {
    let mut r = Reader::new(record);
    let first = r.peek()?;
    match r.array_len() {
        Ok(2) => {}
        Ok(_) => {
            return Err(PairError::NotAPair {
                found: "array whose length is not 2",
            })
        }
        Err(_) => {
            return Err(PairError::NotAPair {
                found: msgpack::marker_name(first),
            })
        }
    }
    let key = r.value()?;
    let value = r.value()?;
    r.finish()?;
    Ok((key, value))
}

/// Appends the pair `[key, value]` from encoded parts.
pub fn write_pair(out: &mut Vec<u8>, key: &[u8], value: &[u8]) {
    out.push(0x92);
    out.extend_from_slice(key);
    out.extend_from_slice(value);
}

/// The canonical encoding of a key: borrowed when it already is canonical (the usual case).
///
/// # Errors
/// A [`DecodeError`] if `key` is not one well-formed value.
pub fn canonical_key(key: &[u8]) -> Result<Cow<'_, [u8]>, DecodeError> {
    let mut r = Reader::new(key);
    if is_canonical(&mut r)? {
        r.finish()?;
        return Ok(Cow::Borrowed(key));
    }
    let mut out = Vec::with_capacity(key.len());
    let mut r = Reader::new(key);
    canonicalize(&mut r, &mut out, 0)?;
    r.finish()?;
    Ok(Cow::Owned(out))
}

fn is_canonical(r: &mut Reader<'_>) -> Result<bool, DecodeError> {
    let start = r.position();
    let m = r.peek()?;
    match m {
        0xcc..=0xd3 => {
            let v = r.int()?;
            let mut tmp = Vec::with_capacity(9);
            msgpack::write_int(&mut tmp, v);
            Ok(tmp.len() == r.position() - start)
        }
        0xd9 => {
            let s = r.str()?;
            Ok(s.len() >= 32)
        }
        0xda => Ok(r.str()?.len() > 0xff),
        0xdb => Ok(r.str()?.len() > 0xffff),
        0xdc..=0xdf => Ok(false),
        0x90..=0x9f => {
            let n = r.array_len()?;
            for _ in 0..n {
                if !is_canonical(r)? {
                    return Ok(false);
                }
            }
            Ok(true)
        }
        0x80..=0x8f => {
            let n = r.map_len()?;
            for _ in 0..2 * n {
                if !is_canonical(r)? {
                    return Ok(false);
                }
            }
            Ok(true)
        }
        _ => {
            r.skip_value()?;
            Ok(true)
        }
    }
}

fn canonicalize(r: &mut Reader<'_>, out: &mut Vec<u8>, depth: usize) -> Result<(), DecodeError> {
    if depth > msgpack::MAX_DEPTH {
        // Let the skipper produce the precise error.
        r.skip_value()?;
    }
    match r.peek()? {
        0x00..=0x7f | 0xe0..=0xff | 0xcc..=0xd3 => msgpack::write_int(out, r.int()?),
        0xa0..=0xbf | 0xd9..=0xdb => msgpack::write_str(out, r.str()?),
        0x90..=0x9f | 0xdc | 0xdd => {
            let n = r.array_len()?;
            msgpack::write_array_len(out, n);
            for _ in 0..n {
                canonicalize(r, out, depth + 1)?;
            }
        }
        0x80..=0x8f | 0xde | 0xdf => {
            let n = r.map_len()?;
            msgpack::write_map_len(out, n);
            for _ in 0..2 * n {
                canonicalize(r, out, depth + 1)?;
            }
        }
        _ => out.extend_from_slice(r.value()?),
    }
    Ok(())
}

/// The key and value of a `[fixstr, positive fixint]` pair (what word counts produce),
/// without the general parse: a fixstr key is always canonical, so this agrees with
/// [`split_pair`], [`canonical_key`] and decoding the number on such records. `None` for
/// any other shape.
#[inline]
pub fn short_str_int_pair(r: &[u8]) -> Option<(&[u8], i64)> {
    match *r {
        [0x92, m @ 0xa0..=0xbf, ..] if r.len() == usize::from(m & 0x1f) + 3 => {
            let v = r[r.len() - 1];
            (v <= 0x7f).then(|| (&r[1..r.len() - 1], i64::from(v)))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_pairs() {
        let rec = [0x92, 0xa1, b'a', 0x05];
        assert_eq!(split_pair(&rec).unwrap(), (&[0xa1, b'a'][..], &[0x05][..]));
        assert!(matches!(
            split_pair(&[0x91, 0x01]),
            Err(PairError::NotAPair { .. })
        ));
        let err = split_pair(&[0x05]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "expected a pair [key, value], found a integer"
        );
        assert!(split_pair(&[0x92, 0x01]).is_err());
    }

    #[test]
    fn canonical_keys_normalize_wide_encodings() {
        assert!(matches!(canonical_key(&[0x01]).unwrap(), Cow::Borrowed(_)));
        assert_eq!(canonical_key(&[0xd0, 0x01]).unwrap().as_ref(), &[0x01]);
        assert_eq!(
            canonical_key(&[0xcd, 0x00, 0x80]).unwrap().as_ref(),
            &[0xcc, 0x80]
        );
        assert_eq!(
            canonical_key(&[0xd9, 1, b'x']).unwrap().as_ref(),
            &[0xa1, b'x']
        );
        assert_eq!(
            canonical_key(&[0xdc, 0, 2, 0xd0, 1, 0xa0])
                .unwrap()
                .as_ref(),
            &[0x92, 0x01, 0xa0]
        );
        assert!(canonical_key(&[0x92, 0x01]).is_err());
    }
}

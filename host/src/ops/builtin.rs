//! Built-in reducers (`sum`, `count`, `min`, `max`) computed on encoded values in the host.
//!
//! Numbers are MessagePack integers or floats: integers add with overflow checks, a float
//! on either side gives a float. `min`/`max` also order strings (byte order). `count`
//! counts records: each raw value counts 1, and partial counts add up.

use std::cmp::Ordering;

use sluice_abi::msgpack::{self, Reader};

/// A reducer the host computes itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Builtin {
    /// Adds numbers; the inverse subtracts.
    Sum,
    /// Counts records; the inverse subtracts.
    Count,
    /// The smallest number or string; no inverse.
    Min,
    /// The largest number or string; no inverse.
    Max,
}

impl Builtin {
    /// The built-in of this name, as written in job files.
    pub fn from_name(name: &str) -> Option<Builtin> {
        Some(match name {
            "sum" => Builtin::Sum,
            "count" => Builtin::Count,
            "min" => Builtin::Min,
            "max" => Builtin::Max,
            _ => return None,
        })
    }

    /// The name as written in job files.
    pub fn name(self) -> &'static str {
        match self {
            Builtin::Sum => "sum",
            Builtin::Count => "count",
            Builtin::Min => "min",
            Builtin::Max => "max",
        }
    }

    /// Whether an inverse exists (for incremental windows).
    pub fn has_inverse(self) -> bool {
        matches!(self, Builtin::Sum | Builtin::Count)
    }

    /// Reduces raw input values (each counts 1 for `count`).
    ///
    /// # Errors
    /// A sentence naming the offending value when it is not a number (or string for
    /// min/max), or on integer overflow.
    pub fn reduce_raw<'v>(
        self,
        values: impl IntoIterator<Item = &'v [u8]>,
    ) -> Result<Vec<u8>, String> {
        match self {
            Builtin::Count => {
                let n = values.into_iter().count();
                let mut out = Vec::with_capacity(9);
                msgpack::write_int(&mut out, n as i64);
                Ok(out)
            }
            _ => self.merge(values),
        }
    }

    /// Merges partial results (a count's partial results add up).
    ///
    /// # Errors
    /// As [`Builtin::reduce_raw`].
    pub fn merge<'v>(self, values: impl IntoIterator<Item = &'v [u8]>) -> Result<Vec<u8>, String> {
        let mut it = values.into_iter();
        let first = it.next().ok_or("nothing to reduce")?;
        match self {
            Builtin::Sum | Builtin::Count => {
                let mut acc = Num::read(first)?;
                for v in it {
                    acc = acc.checked_add(Num::read(v)?)?;
                }
                Ok(acc.encode())
            }
            Builtin::Min | Builtin::Max => {
                let want = if self == Builtin::Min {
                    Ordering::Less
                } else {
                    Ordering::Greater
                };
                let mut best = Ord_::read(first)?;
                let mut best_raw = first;
                for v in it {
                    let o = Ord_::read(v)?;
                    if o.cmp(&best)? == want {
                        best = o;
                        best_raw = v;
                    }
                }
                Ok(best_raw.to_vec())
            }
        }
    }

    /// `acc - removed` for `sum` and `count`.
    ///
    /// # Errors
    /// When there is no inverse or the values are not numbers.
    pub fn inverse(self, acc: &[u8], removed: &[u8]) -> Result<Vec<u8>, String> {
        if !self.has_inverse() {
            return Err(format!("the built-in `{}` has no inverse", self.name()));
        }
        Ok(Num::read(acc)?.checked_sub(Num::read(removed)?)?.encode())
    }

    /// Running state for update_state_by_key: `state + reduce_raw(values)`; the state is
    /// unchanged when there are no values.
    ///
    /// # Errors
    /// As [`Builtin::merge`].
    pub fn update(self, state: Option<&[u8]>, values: &[&[u8]]) -> Result<Option<Vec<u8>>, String> {
        if values.is_empty() {
            return Ok(state.map(<[u8]>::to_vec));
        }
        let batch = self.reduce_raw(values.iter().copied())?;
        match state {
            None => Ok(Some(batch)),
            Some(s) => self.merge([s, batch.as_slice()]).map(Some),
        }
    }
}

/// A number decoded from MessagePack.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Num {
    Int(i64),
    Float(f64),
}

impl Num {
    /// Decodes an integer or a float.
    ///
    /// # Errors
    /// A sentence when the value is not a number.
    pub fn read(v: &[u8]) -> Result<Num, String> {
        let mut r = Reader::new(v);
        let m = r.peek().map_err(|e| e.to_string())?;
        let n =
            match m {
                0xca | 0xcb => Num::Float(r.float().map_err(|e| e.to_string())?),
                _ => Num::Int(r.int().map_err(|_| {
                    format!("expected a number, found a {}", msgpack::marker_name(m))
                })?),
            };
        Ok(n)
    }

    fn as_f64(self) -> f64 {
        match self {
            Num::Int(i) => i as f64,
            Num::Float(f) => f,
        }
    }

    /// `self + o`, checked for integers.
    ///
    /// # Errors
    /// On integer overflow.
    pub fn checked_add(self, o: Num) -> Result<Num, String> {
        match (self, o) {
            (Num::Int(a), Num::Int(b)) => a
                .checked_add(b)
                .map(Num::Int)
                .ok_or_else(|| format!("integer overflow adding {a} and {b}")),
            (a, b) => Ok(Num::Float(a.as_f64() + b.as_f64())),
        }
    }

    /// `self - o`, checked for integers.
    ///
    /// # Errors
    /// On integer overflow.
    pub fn checked_sub(self, o: Num) -> Result<Num, String> {
        match (self, o) {
            (Num::Int(a), Num::Int(b)) => a
                .checked_sub(b)
                .map(Num::Int)
                .ok_or_else(|| format!("integer overflow subtracting {b} from {a}")),
            (a, b) => Ok(Num::Float(a.as_f64() - b.as_f64())),
        }
    }

    /// Appends the canonical encoding to `out`.
    pub fn write(self, out: &mut Vec<u8>) {
        match self {
            Num::Int(i) => msgpack::write_int(out, i),
            Num::Float(f) => msgpack::write_f64(out, f),
        }
    }

    /// The canonical encoding.
    pub fn encode(self) -> Vec<u8> {
        let mut out = Vec::with_capacity(9);
        match self {
            Num::Int(i) => msgpack::write_int(&mut out, i),
            Num::Float(f) => msgpack::write_f64(&mut out, f),
        }
        out
    }

    /// Whether the number is zero.
    pub fn is_zero(self) -> bool {
        match self {
            Num::Int(i) => i == 0,
            Num::Float(f) => f == 0.0,
        }
    }
}

/// A value min/max can order: a number or a string.
enum Ord_<'a> {
    Num(Num),
    Str(&'a str),
}

impl<'a> Ord_<'a> {
    fn read(v: &'a [u8]) -> Result<Ord_<'a>, String> {
        let mut r = Reader::new(v);
        match r.peek().map_err(|e| e.to_string())? {
            0xa0..=0xbf | 0xd9..=0xdb => Ok(Ord_::Str(r.str().map_err(|e| e.to_string())?)),
            _ => Ok(Ord_::Num(Num::read(v)?)),
        }
    }

    fn cmp(&self, o: &Ord_<'_>) -> Result<Ordering, String> {
        match (self, o) {
            (Ord_::Str(a), Ord_::Str(b)) => Ok(a.cmp(b)),
            (Ord_::Num(Num::Int(a)), Ord_::Num(Num::Int(b))) => Ok(a.cmp(b)),
            (Ord_::Num(a), Ord_::Num(b)) => Ok(a.as_f64().total_cmp(&b.as_f64())),
            _ => Err("min/max cannot compare a number with a string".to_owned()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn int(v: i64) -> Vec<u8> {
        Num::Int(v).encode()
    }

    #[test]
    fn sums_counts_and_inverts() {
        let (a, b) = (int(3), int(-5));
        assert_eq!(Builtin::Sum.reduce_raw([&a[..], &b[..]]).unwrap(), int(-2));
        assert_eq!(Builtin::Count.reduce_raw([&a[..], &b[..]]).unwrap(), int(2));
        assert_eq!(Builtin::Count.merge([&a[..], &b[..]]).unwrap(), int(-2));
        assert_eq!(Builtin::Sum.inverse(&a, &b).unwrap(), int(8));
        assert!(Builtin::Max.inverse(&a, &b).is_err());
        let f = Num::Float(0.5).encode();
        assert_eq!(
            Builtin::Sum.merge([&a[..], &f[..]]).unwrap(),
            Num::Float(3.5).encode()
        );
    }

    #[test]
    fn min_max_order_numbers_and_strings() {
        let (a, b) = (int(3), int(-5));
        assert_eq!(Builtin::Min.merge([&a[..], &b[..]]).unwrap(), b);
        assert_eq!(Builtin::Max.merge([&a[..], &b[..]]).unwrap(), a);
        let (x, y) = (vec![0xa1, b'x'], vec![0xa1, b'y']);
        assert_eq!(Builtin::Max.merge([&x[..], &y[..]]).unwrap(), y);
        assert!(Builtin::Max.merge([&x[..], &a[..]]).is_err());
    }

    #[test]
    fn rejects_non_numbers_and_overflow() {
        let s = [0xa1, b'x'];
        let err = Builtin::Sum.merge([&int(1)[..], &s[..]]).unwrap_err();
        assert_eq!(err, "expected a number, found a string");
        assert!(Builtin::Sum
            .merge([&int(i64::MAX)[..], &int(1)[..]])
            .is_err());
    }

    #[test]
    fn update_keeps_state_without_values() {
        let s = int(4);
        assert_eq!(Builtin::Sum.update(Some(&s), &[]).unwrap(), Some(int(4)));
        assert_eq!(
            Builtin::Count.update(Some(&s), &[&int(9)[..]]).unwrap(),
            Some(int(5))
        );
        assert_eq!(Builtin::Sum.update(None, &[]).unwrap(), None);
    }
}

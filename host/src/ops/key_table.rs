//! [`KeyTable`]: one accumulator per canonical key, in first-appearance order, for the
//! combine loops of the built-in reducers (map side and reduce side).
//!
//! Keys of up to 16 encoded bytes (every word of a word count) are held inline as two
//! machine words next to their accumulator: a lookup is one probe of a small index table
//! and one comparison of two words, with no pointer to the key's bytes to follow and no
//! allocation per key. Longer keys go through a [`FastMap`]. Inline keys are zero-padded;
//! since a MessagePack value is never a prefix of another value, two distinct keys never
//! pad to the same words.

use std::borrow::Cow;

use super::hash::FastMap;

/// Keys up to this many encoded bytes are stored inline.
const INLINE: usize = 16;
const EMPTY: u32 = u32::MAX;

#[derive(Debug)]
struct Slot<V> {
    /// The zero-padded key (all zero for a long key, which the index never points to).
    words: [u64; 2],
    value: V,
}

/// Accumulators by canonical key, in the order keys first appeared.
#[derive(Debug)]
pub struct KeyTable<'a, V> {
    /// Positions in `slots` of inline keys, open addressing with linear probing; the
    /// length is a power of two, at most half full.
    index: Vec<u32>,
    slots: Vec<Slot<V>>,
    keys: Vec<Cow<'a, [u8]>>,
    long: FastMap<Cow<'a, [u8]>, u32>,
}

impl<V> Default for KeyTable<'_, V> {
    fn default() -> Self {
        KeyTable {
            index: Vec::new(),
            slots: Vec::new(),
            keys: Vec::new(),
            long: FastMap::default(),
        }
    }
}

#[inline]
fn inline_words(key: &[u8]) -> [u64; 2] {
    let mut b = [0u8; INLINE];
    b[..key.len()].copy_from_slice(key);
    let (lo, hi) = b.split_at(8);
    [
        u64::from_le_bytes(lo.try_into().unwrap_or_default()),
        u64::from_le_bytes(hi.try_into().unwrap_or_default()),
    ]
}

#[inline]
fn hash(w: [u64; 2]) -> usize {
    let h = (w[0] ^ w[1].rotate_left(29)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    (h ^ (h >> 32)) as usize
}

impl<'a, V> KeyTable<'a, V> {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// The number of keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// The position of an inline key in `index` (its slot or the empty one to fill).
    #[inline]
    fn probe(&self, w: [u64; 2]) -> (usize, Option<u32>) {
        let mask = self.index.len() - 1;
        let mut i = hash(w) & mask;
        loop {
            let s = self.index[i];
            if s == EMPTY {
                return (i, None);
            }
            if self.slots[s as usize].words == w {
                return (i, Some(s));
            }
            i = (i + 1) & mask;
        }
    }

    fn grow(&mut self) {
        let cap = (self.index.len() * 2).max(64);
        self.index = vec![EMPTY; cap];
        let mask = cap - 1;
        for (n, (slot, key)) in self.slots.iter().zip(&self.keys).enumerate() {
            if key.len() > INLINE {
                continue;
            }
            let mut i = hash(slot.words) & mask;
            while self.index[i] != EMPTY {
                i = (i + 1) & mask;
            }
            self.index[i] = n as u32;
        }
    }

    /// Adds `value` under `key`: stored when the key is new, else `merge(acc, value)`.
    ///
    /// # Errors
    /// What `merge` returns; the accumulator is then left as `merge` left it.
    #[inline]
    pub fn upsert<E>(
        &mut self,
        key: Cow<'a, [u8]>,
        value: V,
        merge: impl FnOnce(&mut V, V) -> Result<(), E>,
    ) -> Result<(), E> {
        if key.len() > INLINE || key.is_empty() {
            return self.upsert_long(key, value, merge);
        }
        let w = inline_words(&key);
        if (self.keys.len() + 1) * 2 > self.index.len() {
            self.grow();
        }
        match self.probe(w) {
            (_, Some(s)) => merge(&mut self.slots[s as usize].value, value),
            (i, None) => {
                self.index[i] = self.slots.len() as u32;
                self.slots.push(Slot { words: w, value });
                self.keys.push(key);
                Ok(())
            }
        }
    }

    fn upsert_long<E>(
        &mut self,
        key: Cow<'a, [u8]>,
        value: V,
        merge: impl FnOnce(&mut V, V) -> Result<(), E>,
    ) -> Result<(), E> {
        if let Some(&s) = self.long.get(key.as_ref()) {
            return merge(&mut self.slots[s as usize].value, value);
        }
        self.long.insert(key.clone(), self.slots.len() as u32);
        self.slots.push(Slot {
            words: [0, 0],
            value,
        });
        self.keys.push(key);
        Ok(())
    }

    /// Iterates over `(key, accumulator)` in first-appearance order.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &V)> + '_ {
        self.keys
            .iter()
            .map(|k| k.as_ref())
            .zip(self.slots.iter().map(|s| &s.value))
    }

    /// The `(key, accumulator)` pairs in first-appearance order.
    pub fn into_entries(self) -> impl Iterator<Item = (Cow<'a, [u8]>, V)> {
        self.keys
            .into_iter()
            .zip(self.slots.into_iter().map(|s| s.value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn add<'a>(t: &mut KeyTable<'a, i64>, k: &'a [u8], v: i64) {
        t.upsert(Cow::Borrowed(k), v, |a, v| {
            *a += v;
            Ok::<(), ()>(())
        })
        .unwrap();
    }

    #[test]
    fn sums_in_first_appearance_order_across_growth() {
        let keys: Vec<Vec<u8>> = (0..5000u32)
            .map(|i| {
                let mut k = vec![0xa0 | (i % 20) as u8];
                k.extend_from_slice(&format!("{i:019}").as_bytes()[..(i % 20) as usize]);
                k.extend_from_slice(&i.to_le_bytes());
                k
            })
            .collect();
        let mut t = KeyTable::new();
        for round in 0..3 {
            for k in &keys {
                add(&mut t, k, round + 1);
            }
        }
        assert_eq!(t.len(), keys.len());
        for ((k, v), want) in t.iter().zip(&keys) {
            assert_eq!(k, &want[..]);
            assert_eq!(*v, 6);
        }
    }

    #[test]
    fn padding_never_merges_distinct_keys() {
        let mut t = KeyTable::new();
        add(&mut t, &[0x00], 1);
        add(&mut t, &[0xa1, 0x00], 1);
        add(&mut t, &[0xa0], 1);
        add(&mut t, &[0x00], 1);
        let all: Vec<_> = t.into_entries().map(|(k, v)| (k.into_owned(), v)).collect();
        assert_eq!(
            all,
            vec![(vec![0x00], 2), (vec![0xa1, 0x00], 1), (vec![0xa0], 1)]
        );
    }

    #[test]
    fn merge_errors_are_returned() {
        let mut t: KeyTable<'_, i64> = KeyTable::new();
        let k = [0xa1, b'x'];
        t.upsert(Cow::Borrowed(&k[..]), 1, |_, _| Err("no"))
            .unwrap();
        assert_eq!(
            t.upsert(Cow::Borrowed(&k[..]), 1, |_, _| Err("no")),
            Err("no")
        );
    }
}

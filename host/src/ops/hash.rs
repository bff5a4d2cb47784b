//! In-memory hashing of encoded keys: [`KeyHasher`] and the [`FastMap`] / [`FastSet`]
//! built on it, and [`sorted_by_key`], the replay-stable order of keyed state. (The
//! partitioning hash is the shuffle's, `ops/shuffle.rs`.)

use std::collections::{HashMap, HashSet};
use std::hash::BuildHasherDefault;

/// A fast hash map for in-memory grouping by encoded keys (not for partitioning: see
/// `keyed::key_partition`).
pub type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<KeyHasher>>;
/// A fast hash set, as [`FastMap`].
pub type FastSet<K> = HashSet<K, BuildHasherDefault<KeyHasher>>;

/// The entries of a keyed map in key byte order. Hash-map order depends on the map's
/// history, which a restore from a checkpoint does not reproduce; operators that emit
/// from keyed state use this order, so a batch replayed after a restore lists its records
/// exactly as before (sinks that number records per batch rely on it).
pub fn sorted_by_key<V>(map: &FastMap<Vec<u8>, V>) -> Vec<(&Vec<u8>, &V)> {
    let mut entries: Vec<(&Vec<u8>, &V)> = map.iter().collect();
    entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
    entries
}

/// A hasher for short byte keys: word-at-a-time multiply-xor, then a full avalanche, so
/// that keys differing in a few bits (encoded integers) spread over all hash bits (Fx
/// alone leaves the high bits that hashbrown probes with poorly mixed).
#[derive(Debug, Default, Clone, Copy)]
pub struct KeyHasher(u64);

impl std::hash::Hasher for KeyHasher {
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut h = self.0;
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let w = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
            h = (h.rotate_left(5) ^ w).wrapping_mul(K);
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut buf = [0u8; 8];
            buf[..rest.len()].copy_from_slice(rest);
            h = (h.rotate_left(5) ^ u64::from_le_bytes(buf) ^ ((rest.len() as u64) << 59))
                .wrapping_mul(K);
        }
        self.0 = h;
    }

    fn write_usize(&mut self, n: usize) {
        self.0 = (self.0.rotate_left(5) ^ n as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }

    fn finish(&self) -> u64 {
        let mut h = self.0;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h
    }
}

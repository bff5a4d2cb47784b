//! Keyed state held by the host: `N` partitions (by the stable hash of the canonical key),
//! each a hash map from canonical key bytes to the encoded state and the batch time of its
//! last update, with a dirty set so that a checkpoint's cost can follow the changed keys.
//!
//! Snapshots: [`StateStore::write_full`] writes every entry; [`StateStore::write_delta`]
//! writes the entries changed or removed since the previous delta (and clears the dirty
//! sets). Restoring is a full snapshot followed by the deltas taken after it, in order;
//! deltas are idempotent (upserts and removals), so a delta that also covers changes
//! before the full snapshot is harmless.

use rayon::prelude::*;

use super::keyed::key_partition;

use super::hash::{sorted_by_key, FastMap, FastSet};
use crate::record::codec::{Reader, Writer};
use crate::record::BatchTime;
use crate::record::{write_pair, Batch, Partition};

/// One key's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateEntry {
    /// The encoded state value.
    pub state: Vec<u8>,
    /// The batch time of the last update (for idle timeouts).
    pub updated: BatchTime,
}

/// Bytes counted per entry besides its key and state: the two vectors' headers, the
/// update time and the hash table's slot (an estimate; `sluice serve`'s `max_memory`).
const ENTRY_OVERHEAD: usize = 64;

fn entry_bytes(key: &[u8], state: &[u8]) -> usize {
    key.len() + state.len() + ENTRY_OVERHEAD
}

/// One partition of the state.
#[derive(Debug, Default)]
pub struct StatePartition {
    map: FastMap<Vec<u8>, StateEntry>,
    dirty: FastSet<Vec<u8>>,
    /// [`entry_bytes`] summed over the entries.
    bytes: usize,
}

impl StatePartition {
    /// Inserts or replaces an entry, keeping the byte count.
    fn insert_entry(&mut self, key: Vec<u8>, entry: StateEntry) {
        let added = entry_bytes(&key, &entry.state);
        let key_len = key.len();
        if let Some(old) = self.map.insert(key, entry) {
            self.bytes -= key_len + old.state.len() + ENTRY_OVERHEAD;
        }
        self.bytes += added;
    }

    /// Removes an entry, keeping the byte count; whether it existed.
    fn remove_entry(&mut self, key: &[u8]) -> bool {
        match self.map.remove(key) {
            Some(old) => {
                self.bytes -= entry_bytes(key, &old.state);
                true
            }
            None => false,
        }
    }

    /// Bytes held by the entries (keys, states and a per-entry overhead; an estimate).
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// The entry of a key.
    pub fn get(&self, key: &[u8]) -> Option<&StateEntry> {
        self.map.get(key)
    }

    /// Sets a key's state, marking it dirty when something changed.
    pub fn put(&mut self, key: &[u8], state: Vec<u8>, updated: BatchTime) {
        match self.map.get_mut(key) {
            Some(e) => {
                if e.state != state || e.updated != updated {
                    self.bytes = self.bytes + state.len() - e.state.len();
                    e.state = state;
                    e.updated = updated;
                    self.dirty.insert(key.to_vec());
                }
            }
            None => {
                self.insert_entry(key.to_vec(), StateEntry { state, updated });
                self.dirty.insert(key.to_vec());
            }
        }
    }

    /// Removes a key, marking it dirty if it existed.
    pub fn remove(&mut self, key: &[u8]) {
        if self.remove_entry(key) {
            self.dirty.insert(key.to_vec());
        }
    }

    /// Iterates over `(key, entry)` (in no particular order).
    pub fn iter(&self) -> impl Iterator<Item = (&Vec<u8>, &StateEntry)> {
        self.map.iter()
    }

    /// Whether there are no keys.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// The number of keys changed since the last delta.
    #[cfg(test)]
    pub fn dirty_len(&self) -> usize {
        self.dirty.len()
    }
}

/// State partitioned by key.
#[derive(Debug, Default)]
pub struct StateStore {
    /// The partitions; a key lives in `key_partition(key, parts.len())`.
    pub parts: Vec<StatePartition>,
}

const REMOVED: u64 = 0;
const PRESENT: u64 = 1;

impl StateStore {
    /// An empty store of `n` partitions.
    pub fn new(n: usize) -> Self {
        StateStore {
            parts: (0..n.max(1)).map(|_| StatePartition::default()).collect(),
        }
    }

    /// The partition a canonical key belongs to.
    pub fn partition_of(&self, key: &[u8]) -> usize {
        key_partition(key, self.parts.len())
    }

    /// The total number of keys.
    pub fn len(&self) -> usize {
        self.parts.iter().map(|p| p.map.len()).sum()
    }

    /// Whether there are no keys.
    pub fn is_empty(&self) -> bool {
        self.parts.iter().all(StatePartition::is_empty)
    }

    /// Bytes held by every partition's entries (see [`StatePartition::bytes`]).
    pub fn bytes(&self) -> usize {
        self.parts.iter().map(StatePartition::bytes).sum()
    }

    /// Every entry as a `[key, state]` pair record, one output partition per state
    /// partition, keys in byte order inside each ([`sorted_by_key`]).
    pub fn to_pairs(&self) -> std::sync::Arc<Batch> {
        let parts = self
            .parts
            .par_iter()
            .map(|part| {
                let entries = sorted_by_key(&part.map);
                let mut p = Partition::with_capacity(entries.len(), entries.len() * 16);
                for (k, e) in entries {
                    p.push_with(|out| write_pair(out, k, &e.state));
                }
                p
            })
            .collect();
        Batch::new(parts)
    }

    /// Writes every entry.
    pub fn write_full(&self, w: &mut Writer) {
        w.u64(self.parts.len() as u64);
        let encoded: Vec<Vec<u8>> = self
            .parts
            .par_iter()
            .map(|p| {
                let mut pw = Writer::default();
                pw.u64(p.map.len() as u64);
                for (k, e) in &p.map {
                    pw.bytes(k);
                    pw.i64(e.updated);
                    pw.bytes(&e.state);
                }
                pw.finish()
            })
            .collect();
        for part in encoded {
            w.buf.extend_from_slice(&part);
        }
    }

    /// Reads a store written by [`StateStore::write_full`].
    ///
    /// # Errors
    /// When the data is truncated or corrupt.
    pub fn read_full(r: &mut Reader<'_>) -> Result<StateStore, String> {
        // Exactly `n` partitions: a store snapshotted before its first batch has none yet.
        let n = r.count()?;
        let mut store = StateStore {
            parts: (0..n).map(|_| StatePartition::default()).collect(),
        };
        for part in &mut store.parts {
            let len = r.count()?;
            part.map.reserve(len);
            for _ in 0..len {
                let k = r.bytes()?.to_vec();
                let updated = r.i64()?;
                let state = r.bytes()?.to_vec();
                part.insert_entry(k, StateEntry { state, updated });
            }
        }
        Ok(store)
    }

    /// Writes the entries changed since the last delta, and clears the dirty sets.
    pub fn write_delta(&mut self, w: &mut Writer) {
        w.u64(self.parts.len() as u64);
        for p in &mut self.parts {
            w.u64(p.dirty.len() as u64);
            for k in p.dirty.drain() {
                w.bytes(&k);
                match p.map.get(&k) {
                    Some(e) => {
                        w.u64(PRESENT);
                        w.i64(e.updated);
                        w.bytes(&e.state);
                    }
                    None => w.u64(REMOVED),
                }
            }
        }
    }

    /// Applies a delta written by [`StateStore::write_delta`].
    ///
    /// # Errors
    /// When the data is corrupt or has another partition count.
    pub fn apply_delta(&mut self, r: &mut Reader<'_>) -> Result<(), String> {
        let n = r.count()?;
        if n != self.parts.len() && self.is_empty() {
            // The base snapshot was taken before the first batch sized the store.
            *self = StateStore::new(n);
        }
        if n != self.parts.len() {
            return Err(format!(
                "the delta has {n} state partitions, the state has {}",
                self.parts.len()
            ));
        }
        for p in &mut self.parts {
            for _ in 0..r.count()? {
                let k = r.bytes()?.to_vec();
                match r.u64()? {
                    PRESENT => {
                        let updated = r.i64()?;
                        let state = r.bytes()?.to_vec();
                        p.insert_entry(k, StateEntry { state, updated });
                    }
                    REMOVED => {
                        p.remove_entry(&k);
                    }
                    other => return Err(format!("unknown delta entry kind {other}")),
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_snapshot_taken_before_the_first_batch_takes_later_deltas() {
        let mut w = Writer::new(b"TEST");
        StateStore::default().write_full(&mut w);
        let empty = w.finish();
        let mut sized = StateStore::new(4);
        for i in 0..10u8 {
            let p = sized.partition_of(&[i]);
            sized.parts[p].put(&[i], vec![i], 1000);
        }
        let mut w = Writer::new(b"TEST");
        sized.write_delta(&mut w);
        let delta = w.finish();

        let mut r = Reader::new(&empty, b"TEST", "test").unwrap();
        let mut restored = StateStore::read_full(&mut r).unwrap();
        r.finish().unwrap();
        assert!(restored.parts.is_empty());
        let mut r = Reader::new(&delta, b"TEST", "test").unwrap();
        restored.apply_delta(&mut r).unwrap();
        assert_eq!(restored.parts.len(), 4);
        assert_eq!(restored.len(), 10);
        let p = restored.partition_of(&[3]);
        assert_eq!(
            restored.parts[p].get(&[3]).map(|e| e.state.clone()),
            Some(vec![3])
        );
    }

    #[test]
    fn deltas_follow_changed_keys() {
        let mut s = StateStore::new(4);
        for i in 0..100u8 {
            let p = s.partition_of(&[i]);
            s.parts[p].put(&[i], vec![i], 1000);
        }
        let mut w = Writer::new(b"TEST");
        s.write_delta(&mut w);
        let mut full = Writer::new(b"TEST");
        s.write_full(&mut full);
        let full = full.finish();

        // Change 2 keys (one unchanged put, one removal, one update).
        let p = s.partition_of(&[5]);
        s.parts[p].put(&[5], vec![5], 1000);
        let p = s.partition_of(&[6]);
        s.parts[p].put(&[6], vec![60], 2000);
        let p = s.partition_of(&[7]);
        s.parts[p].remove(&[7]);
        assert_eq!(
            s.parts.iter().map(StatePartition::dirty_len).sum::<usize>(),
            2
        );
        let mut d = Writer::new(b"TEST");
        s.write_delta(&mut d);
        let d = d.finish();
        assert!(d.len() < 40, "delta of 2 keys is {} bytes", d.len());

        let mut r = Reader::new(&full, b"TEST", "t").unwrap();
        let mut restored = StateStore::read_full(&mut r).unwrap();
        restored
            .apply_delta(&mut Reader::new(&d, b"TEST", "t").unwrap())
            .unwrap();
        assert_eq!(restored.len(), 99);
        let p = restored.partition_of(&[6]);
        assert_eq!(
            restored.parts[p].get(&[6]),
            Some(&StateEntry {
                state: vec![60],
                updated: 2000
            })
        );
        assert!(restored.parts[restored.partition_of(&[7])]
            .get(&[7])
            .is_none());
    }
}

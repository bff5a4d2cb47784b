//! Hash shuffles: moving records to the partition that owns their key.
//!
//! Reusable by every keyed operator (`reduce_by_key`, `group_by_key`, joins, windows,
//! state): [`scatter`] cuts each input partition into `n` buckets in parallel, [`gather`]
//! concatenates bucket `j` of every input (in input order) into output partition `j`.
//! The partition of a key is [`partition_of`] its canonical encoding, stable across runs
//! and machines, so keyed state and checkpoints agree with the shuffle.

use rayon::prelude::*;
use std::borrow::Cow;

use super::{OpContext, OpError};
use crate::record::{canonical_key, split_pair, Batch, Partition};

/// A 64-bit hash of bytes that never changes between runs, versions or machines.
pub fn stable_hash(bytes: &[u8]) -> u64 {
    // FNV-1a over 8-byte words, then a final avalanche (murmur3 fmix64).
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ bytes.len() as u64;
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        let w = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
        h = (h ^ w).wrapping_mul(0x0000_0100_0000_01b3);
    }
    for &b in chunks.remainder() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

/// The output partition (of `n`) that owns a canonical key.
pub fn partition_of(canonical: &[u8], n: usize) -> usize {
    ((u128::from(stable_hash(canonical)) * n as u128) >> 64) as usize
}

/// The number of partitions a shuffle produces: the configured count, else the number of
/// input partitions (at least 1).
pub fn output_partitions(configured: Option<usize>, inputs: &[&Batch]) -> usize {
    configured
        .unwrap_or_else(|| inputs.iter().map(|b| b.partitions.len()).max().unwrap_or(1))
        .max(1)
}

/// A pair's canonical key and encoded value.
pub type KeyValue<'r> = (Cow<'r, [u8]>, &'r [u8]);

/// The canonical key of a pair record, rejecting (under the error policy) records that
/// are not pairs. `Ok(None)` means the record was rejected and must be dropped.
pub fn pair_key<'r>(record: &'r [u8], cx: &OpContext<'_>) -> Result<Option<KeyValue<'r>>, OpError> {
    match split_pair(record) {
        Ok((k, v)) => match canonical_key(k) {
            Ok(key) => Ok(Some((key, v))),
            Err(e) => cx
                .reject(record, format!("malformed key: {e}"))
                .map(|()| None),
        },
        Err(e) => cx.reject(record, e.to_string()).map(|()| None),
    }
}

/// Cuts every input partition into `n` buckets in parallel: `write(index, partition,
/// buckets)` fills the `n` buckets of input partition `index`. Returns `[input][bucket]`.
pub fn scatter<F>(inputs: &[&Partition], n: usize, write: F) -> Result<Vec<Vec<Partition>>, OpError>
where
    F: Fn(usize, &Partition, &mut [Partition]) -> Result<(), OpError> + Sync,
{
    inputs
        .par_iter()
        .enumerate()
        .map(|(i, p)| {
            let mut buckets = vec![Partition::new(); n];
            write(i, p, &mut buckets)?;
            Ok(buckets)
        })
        .collect()
}

/// Transposes scattered buckets: output `j` lists bucket `j` of every input, in order.
pub fn gather(scattered: Vec<Vec<Partition>>, n: usize) -> Vec<Vec<Partition>> {
    let mut out: Vec<Vec<Partition>> = (0..n)
        .map(|_| Vec::with_capacity(scattered.len()))
        .collect();
    for buckets in scattered {
        for (j, b) in buckets.into_iter().enumerate() {
            out[j].push(b);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_is_stable_and_partitions_spread() {
        // Pinned: changing the hash would move keyed state between partitions.
        assert_eq!(format!("{:x}", stable_hash(b"word")), "aa9461a9af7401fa");
        assert_eq!(stable_hash(b"abc"), stable_hash(b"abc"));
        assert_ne!(stable_hash(b"abc"), stable_hash(b"abd"));
        let mut counts = [0usize; 4];
        for i in 0..4000u32 {
            counts[partition_of(&i.to_le_bytes(), 4)] += 1;
        }
        assert!(counts.iter().all(|&c| c > 800), "{counts:?}");
    }
}

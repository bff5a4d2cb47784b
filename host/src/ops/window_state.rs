//! The state of `reduce_by_key_and_window` ([`super::reduce_window`]): its checkpoint
//! encoding and its measured size (keys and bytes, for metrics and quotas).

use super::hash::FastMap;
use super::window::TimeBuffer;
use crate::record::codec;

/// Per-batch reduced values: `(canonical key, value)` lists, one per partition.
pub(super) type Reduced = Vec<Entries>;
/// `(canonical key, value)` entries of one partition.
pub(super) type Entries = Vec<(Vec<u8>, Vec<u8>)>;

const TAG: &[u8; 4] = b"SRKW";

/// Keys of the previous output (`incremental`: with an inverse) or of the buffered
/// batches, and the bytes of every key and value held; linear in the entries, like the
/// output written every batch.
pub(super) fn measure(
    state: &[FastMap<Vec<u8>, Vec<u8>>],
    buffer: &TimeBuffer<Reduced>,
    incremental: bool,
) -> (usize, usize) {
    let size = |k: &Vec<u8>, v: &Vec<u8>| k.len() + v.len();
    let state_keys: usize = state.iter().map(FastMap::len).sum();
    let mut bytes: usize = state
        .iter()
        .flat_map(|m| m.iter())
        .map(|(k, v)| size(k, v))
        .sum();
    let mut buffered_keys = 0;
    for (_, reduced) in buffer.iter() {
        for part in reduced {
            buffered_keys += part.len();
            bytes += part.iter().map(|(k, v)| size(k, v)).sum::<usize>();
        }
    }
    let keys = if incremental {
        state_keys
    } else {
        buffered_keys
    };
    (keys, bytes)
}

/// The checkpoint of the previous output by partition and the buffered batches.
pub(super) fn encode(state: &[FastMap<Vec<u8>, Vec<u8>>], buffer: &TimeBuffer<Reduced>) -> Vec<u8> {
    let mut w = codec::Writer::new(TAG);
    w.u64(state.len() as u64);
    for part in state {
        write_entries(&mut w, part.iter());
    }
    w.u64(buffer.len() as u64);
    for (t, reduced) in buffer.iter() {
        w.i64(*t);
        w.u64(reduced.len() as u64);
        for part in reduced {
            write_entries(&mut w, part.iter().map(|(k, v)| (k, v)));
        }
    }
    w.finish()
}

/// What [`encode`] wrote: the previous output by partition and the buffered batches.
pub(super) type Decoded = (Vec<FastMap<Vec<u8>, Vec<u8>>>, TimeBuffer<Reduced>);

/// Reads a checkpoint [`encode`] wrote; `kind` names the operator in errors.
pub(super) fn decode(data: &[u8], kind: &str) -> Result<Decoded, String> {
    let mut r = codec::Reader::new(data, TAG, kind)?;
    let mut state = Vec::new();
    for _ in 0..r.count()? {
        state.push(read_entries(&mut r)?.into_iter().collect());
    }
    let mut buffer = TimeBuffer::default();
    for _ in 0..r.count()? {
        let t = r.i64()?;
        let mut reduced = Vec::new();
        for _ in 0..r.count()? {
            reduced.push(read_entries(&mut r)?);
        }
        buffer.push(t, reduced);
    }
    r.finish()?;
    Ok((state, buffer))
}

fn write_entries<'e>(
    w: &mut codec::Writer,
    entries: impl ExactSizeIterator<Item = (&'e Vec<u8>, &'e Vec<u8>)>,
) {
    w.u64(entries.len() as u64);
    for (k, v) in entries {
        w.bytes(k);
        w.bytes(v);
    }
}

fn read_entries(r: &mut codec::Reader<'_>) -> Result<Entries, String> {
    let n = r.count()?;
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let k = r.bytes()?.to_vec();
        out.push((k, r.bytes()?.to_vec()));
    }
    Ok(out)
}

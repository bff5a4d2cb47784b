//! The payloads of WAL records: a received block (its sequence number, records and dead
//! letters) and a batch allocation (which blocks a batch time consumed).

use crate::record::codec::{Reader, Writer};
use crate::record::{DeadLetter, Partition};

const BLOCK_TAG: &[u8; 4] = b"WBLK";
const ALLOC_TAG: &[u8; 4] = b"WALC";

/// One WAL record.
#[derive(Debug, Clone)]
pub enum WalRecord {
    /// A block of received records.
    Block {
        /// The block's sequence number in its source's log.
        seq: u64,
        /// The records.
        records: Partition,
        /// Input that could not be read.
        dead_letters: Vec<DeadLetter>,
    },
    /// The batch at `time` consumed blocks `from..to`.
    Allocation {
        /// The batch time.
        time: i64,
        /// First block sequence number.
        from: u64,
        /// One past the last.
        to: u64,
    },
}

impl WalRecord {
    /// The payload bytes.
    pub fn encode(&self) -> Vec<u8> {
        match self {
            WalRecord::Block {
                seq,
                records,
                dead_letters,
            } => Self::encode_block(*seq, records, dead_letters),
            WalRecord::Allocation { time, from, to } => {
                let mut w = Writer::new(ALLOC_TAG);
                w.i64(*time);
                w.u64(*from);
                w.u64(*to);
                w.finish()
            }
        }
    }

    /// The payload of a block record, from borrowed parts (no copy of the records).
    pub fn encode_block(seq: u64, records: &Partition, dead_letters: &[DeadLetter]) -> Vec<u8> {
        let mut w = Writer::new(BLOCK_TAG);
        w.u64(seq);
        w.u64(records.len() as u64);
        w.bytes(records.bytes());
        w.u64(dead_letters.len() as u64);
        for d in dead_letters {
            w.bytes(d.stream.as_bytes());
            w.bytes(&d.record);
            w.bytes(d.reason.as_bytes());
        }
        w.finish()
    }

    /// Decodes a payload written by [`WalRecord::encode`].
    ///
    /// # Errors
    /// A sentence when the payload is not a WAL record.
    pub fn decode(payload: &[u8]) -> Result<Self, String> {
        if payload.starts_with(ALLOC_TAG) {
            let mut r = Reader::new(payload, ALLOC_TAG, "wal allocation")?;
            let rec = WalRecord::Allocation {
                time: r.i64()?,
                from: r.u64()?,
                to: r.u64()?,
            };
            r.finish()?;
            return Ok(rec);
        }
        let mut r = Reader::new(payload, BLOCK_TAG, "wal block")?;
        let seq = r.u64()?;
        let count = u32::try_from(r.u64()?).map_err(|_| "record count too large".to_owned())?;
        let records = Partition::from_encoded(count, r.bytes()?).map_err(|e| e.to_string())?;
        let n = r.count()?;
        let mut dead_letters = Vec::with_capacity(n);
        for _ in 0..n {
            let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
            dead_letters.push(DeadLetter {
                stream: text(r.bytes()?),
                record: r.bytes()?.to_vec(),
                reason: text(r.bytes()?),
            });
        }
        r.finish()?;
        Ok(WalRecord::Block {
            seq,
            records,
            dead_letters,
        })
    }
}

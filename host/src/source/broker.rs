//! What the broker sources (`kafka`, `redis`) share: how far a batch reads, the rate
//! limits per partition, and dead letters that keep a prefix of the raw payload.

use sluice_abi::msgpack;

use crate::record::DeadLetter;

/// Longest payload prefix kept in a dead letter.
const DEAD_PREFIX: usize = 1024;

/// How far a batch reads each partition (a Kafka partition, a Redis stream).
pub(super) enum Extent<End> {
    /// At most this many records per partition, of those available now (a new batch).
    Cap(u64),
    /// Exactly up to these ends, in partition order (a batch replayed after a crash, up
    /// to its logged end).
    To(Vec<End>),
}

/// Rate limits of a broker source: configured per partition, and from backpressure for
/// the whole source.
#[derive(Debug, Clone, Copy)]
pub(super) struct Rates {
    /// The configured limit, records per second per partition.
    pub per_partition: Option<u64>,
    /// Backpressure's limit, records per second for the whole source.
    pub pressured: Option<f64>,
}

impl Rates {
    /// Records per partition a batch of `batch_ms` may take over `partitions`: the
    /// tighter limit times the interval, at least 1; unlimited without limits.
    pub fn cap(&self, batch_ms: i64, partitions: usize) -> u64 {
        let secs = batch_ms as f64 / 1e3;
        let configured = self.per_partition.map(|r| r as f64);
        let pressured = self.pressured.map(|r| r / partitions.max(1) as f64);
        match (configured, pressured) {
            (None, None) => u64::MAX,
            (a, b) => {
                let per_second = a.unwrap_or(f64::MAX).min(b.unwrap_or(f64::MAX));
                ((per_second * secs).ceil() as u64).max(1)
            }
        }
    }

    /// The limit in force for the whole source over `partitions`, records per second.
    pub fn total(&self, partitions: usize) -> Option<f64> {
        let configured = self.per_partition.map(|r| r as f64 * partitions as f64);
        match (configured, self.pressured) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

/// A dead letter for a payload that did not decode: the record is the payload's first
/// KiB as a string, the reason says where it was (`Kafka t/2 offset 7: ...`).
pub(super) fn dead_letter(source: &str, payload: Option<&[u8]>, reason: String) -> DeadLetter {
    let raw = payload.unwrap_or_default();
    let mut record = Vec::new();
    msgpack::write_str(
        &mut record,
        &String::from_utf8_lossy(&raw[..raw.len().min(DEAD_PREFIX)]),
    );
    DeadLetter {
        stream: source.to_owned(),
        record,
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tighter_limit_caps_each_partition() {
        let r = Rates {
            per_partition: Some(1000),
            pressured: None,
        };
        assert_eq!(r.cap(500, 2), 500, "1000/s per partition over 500 ms");
        assert_eq!(r.total(1), Some(1000.0));
        let r = Rates {
            per_partition: Some(1000),
            pressured: Some(600.0),
        };
        assert_eq!(r.cap(500, 2), 150, "600/s over 2 partitions over 500 ms");
        assert_eq!(r.total(2), Some(600.0));
        let r = Rates {
            per_partition: None,
            pressured: None,
        };
        assert_eq!((r.cap(500, 3), r.total(3)), (u64::MAX, None));
        let r = Rates {
            per_partition: None,
            pressured: Some(0.5),
        };
        assert_eq!(r.cap(500, 3), 1, "never below one record per batch");
    }

    #[test]
    fn dead_letters_keep_a_prefix() {
        let d = dead_letter("in", Some(&[b'x'; 5000]), "why".to_owned());
        assert_eq!((d.stream.as_str(), d.reason.as_str()), ("in", "why"));
        assert!(d.record.len() < 1100);
    }
}

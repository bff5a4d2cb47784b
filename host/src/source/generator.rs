//! The `generator` source: deterministic synthetic records at a fixed rate.
//!
//! Batch k (k = 1, 2, …) holds `rate * batch_interval` records split over a fixed number of
//! partitions; each partition's records are a pure function of (seed, k, partition, count),
//! so a replay from a recorded position yields identical batches. Under backpressure a
//! batch holds fewer records (the estimator's rate times the interval); the position
//! records where the JSON ids continue, and a replay cut at a recorded end takes the same
//! count again.

use rayon::prelude::*;
use serde_json::Value;
use sluice_abi::msgpack;

use super::{DirectSource, SourceBatch, SourceError};
use crate::job::{Format, GeneratorConfig, MAX_VOCABULARY};
use crate::ops::BatchTime;
use crate::record::{Batch, Partition};

const SYLLABLES_C: &[u8] = b"bcdfghjklmnprstvwxyz";
const SYLLABLES_V: &[u8] = b"aeiou";

/// Word `i` of the generator's vocabulary: two or more consonant-vowel syllables, distinct
/// for distinct `i` (the first syllable is digit 0 of `i` in base 100, each later one digit
/// d shifted by digit 0, so words vary in every syllable).
pub fn vocabulary_word(i: usize) -> String {
    let mut out = Vec::new();
    push_word(i, &mut out);
    out.into_iter().map(char::from).collect()
}

/// Appends [`vocabulary_word`]`(i)` to `out` (ASCII). Words are computed when drawn, so a
/// vocabulary of any size costs no memory and no start-up time.
pub fn push_word(i: usize, out: &mut Vec<u8>) {
    let mut syllable = |s: usize| {
        out.push(SYLLABLES_C[s / 5]);
        out.push(SYLLABLES_V[s % 5]);
    };
    let first = i % 100;
    syllable(first);
    let mut n = i / 100;
    loop {
        syllable((n % 100 + first * 37) % 100);
        n /= 100;
        if n == 0 {
            break;
        }
    }
}

/// A seeded generator of text lines or JSON records.
#[derive(Debug)]
pub struct GeneratorSource {
    name: String,
    format: Format,
    per_batch: u64,
    words_per_line: usize,
    partitions: usize,
    seed: u64,
    /// Words are drawn from `0..vocabulary` (at most `MAX_VOCABULARY`, checked when the
    /// job is loaded, so that the draw's arithmetic cannot overflow).
    vocabulary: usize,
    next: u64,
    /// The JSON id of the next batch's first record.
    next_id: u64,
    batch_ms: i64,
    /// Records per second from backpressure.
    rate: Option<f64>,
}

impl GeneratorSource {
    /// A generator for batches of `batch_ms` milliseconds.
    pub fn new(name: &str, config: &GeneratorConfig, batch_ms: i64) -> Self {
        let vocabulary = config.vocabulary.clamp(1, MAX_VOCABULARY);
        GeneratorSource {
            name: name.to_owned(),
            format: config.format,
            per_batch: config.rate.saturating_mul(batch_ms as u64) / 1000,
            words_per_line: config.words_per_line.max(1),
            partitions: config.partitions.unwrap_or(2).max(1),
            seed: config.seed,
            vocabulary,
            next: 1,
            next_id: 0,
            batch_ms,
            rate: None,
        }
    }

    /// Records in the next batch: the configured count, or fewer under backpressure.
    fn next_count(&self) -> u64 {
        match self.rate {
            Some(r) => self
                .per_batch
                .min((r * self.batch_ms as f64 / 1000.0).floor() as u64),
            None => self.per_batch,
        }
    }

    fn batch(&mut self, count: u64) -> SourceBatch {
        let k = self.next;
        let first_id = self.next_id;
        self.next += 1;
        self.next_id += count;
        let partitions = (0..self.partitions)
            .into_par_iter()
            .map(|p| self.partition(k, p, count as usize, first_id))
            .collect();
        SourceBatch {
            batch: Some(Batch::new(partitions)),
            dead_letters: Vec::new(),
        }
    }

    fn partition(&self, k: u64, p: usize, n: usize, first_id: u64) -> Partition {
        let (lo, hi) = (p * n / self.partitions, (p + 1) * n / self.partitions);
        let count = hi - lo;
        let mut rng = Rng::new(self.seed, k, p as u64);
        let mut part = Partition::with_capacity(count, count * (self.words_per_line * 6 + 3));
        let mut line: Vec<u8> = Vec::with_capacity(self.words_per_line * 12);
        for j in lo..hi {
            line.clear();
            match self.format {
                Format::Text => {
                    for w in 0..self.words_per_line {
                        if w > 0 {
                            line.push(b' ');
                        }
                        push_word(rng.below(self.vocabulary), &mut line);
                    }
                    // Vocabulary words are ASCII, so the line is UTF-8.
                    let s = std::str::from_utf8(&line).unwrap_or_default();
                    part.push_with(|b| msgpack::write_str(b, s));
                }
                Format::Json => {
                    push_word(rng.below(self.vocabulary), &mut line);
                    let word = std::str::from_utf8(&line).unwrap_or_default();
                    let value = rng.below(100) as i64;
                    part.push_with(|b| {
                        msgpack::write_map_len(b, 3);
                        msgpack::write_str(b, "id");
                        msgpack::write_int(b, first_id as i64 + j as i64);
                        msgpack::write_str(b, "word");
                        msgpack::write_str(b, word);
                        msgpack::write_str(b, "value");
                        msgpack::write_int(b, value);
                    });
                }
            }
        }
        part
    }
}

impl DirectSource for GeneratorSource {
    fn next_batch(&mut self, _time: BatchTime) -> Result<SourceBatch, SourceError> {
        let count = self.next_count();
        Ok(self.batch(count))
    }

    /// The batch again with the count it had: the recorded end says where its ids ended
    /// (a position without `next_id`, written before backpressure could shrink batches,
    /// means the configured count).
    fn next_batch_to(&mut self, _time: BatchTime, end: &Value) -> Result<SourceBatch, SourceError> {
        let count = match end.get("next_id").and_then(Value::as_u64) {
            Some(id) => id
                .checked_sub(self.next_id)
                .ok_or_else(|| SourceError::Seek {
                    source_name: self.name.clone(),
                    position: end.to_string(),
                    message: format!("ends before the next record id {}", self.next_id),
                })?,
            None => self.per_batch,
        };
        Ok(self.batch(count))
    }

    fn position(&self) -> Value {
        serde_json::json!({ "next_batch": self.next, "next_id": self.next_id })
    }

    fn seek(&mut self, position: &Value) -> Result<(), SourceError> {
        match position.get("next_batch").and_then(Value::as_u64) {
            Some(n) if n >= 1 => {
                self.next = n;
                self.next_id = position
                    .get("next_id")
                    .and_then(Value::as_u64)
                    .unwrap_or((n - 1) * self.per_batch);
                Ok(())
            }
            _ => Err(SourceError::Seek {
                source_name: self.name.clone(),
                position: position.to_string(),
                message: "expected {\"next_batch\": n} with n >= 1".to_owned(),
            }),
        }
    }

    fn set_rate(&mut self, per_second: Option<f64>) {
        self.rate = per_second;
    }

    fn rate_limit(&self) -> Option<f64> {
        let configured = self.per_batch as f64 * 1000.0 / self.batch_ms.max(1) as f64;
        self.rate.map(|r| r.min(configured))
    }
}

/// xorshift64* seeded with splitmix64 of (seed, batch, partition).
struct Rng(u64);

impl Rng {
    fn new(seed: u64, k: u64, p: u64) -> Self {
        let mut z =
            seed ^ k.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ p.wrapping_mul(0xD1B5_4A32_D192_ED03);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        Rng((z ^ (z >> 31)) | 1)
    }

    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let r = self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 32;
        ((r * n as u64) >> 32) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(rate: u64) -> GeneratorConfig {
        toml::from_str(&format!(
            "rate = {rate}\nvocabulary = 50\nwords_per_line = 3"
        ))
        .unwrap()
    }

    #[test]
    fn batches_are_deterministic_and_sized_by_rate() {
        let mut a = GeneratorSource::new("g", &config(100), 500);
        let mut b = GeneratorSource::new("g", &config(100), 500);
        let a1 = a.next_batch(500).unwrap().batch.unwrap();
        assert_eq!(a1.len(), 50);
        assert_eq!(a1.partitions.len(), 2);
        let pos = a.position();
        let a2 = a.next_batch(1000).unwrap().batch.unwrap();
        assert_eq!(b.next_batch(500).unwrap().batch.unwrap(), a1);
        assert_ne!(a1, a2);
        b.seek(&pos).unwrap();
        assert_eq!(b.next_batch(1000).unwrap().batch.unwrap(), a2);
        let line = crate::record::msgpack_to_json(a1.partitions[0].get(0).unwrap()).unwrap();
        assert_eq!(line.as_str().unwrap().split(' ').count(), 3);
    }

    #[test]
    fn backpressure_shrinks_batches_and_replays_keep_their_count() {
        let json: GeneratorConfig = toml::from_str("rate = 1000\nformat = \"json\"").unwrap();
        let mut a = GeneratorSource::new("g", &json, 1000);
        let mut b = GeneratorSource::new("g", &json, 1000);
        assert_eq!(a.next_batch(1000).unwrap().batch.unwrap().len(), 1000);
        a.set_rate(Some(250.0));
        assert_eq!(a.rate_limit(), Some(250.0));
        let start = a.position();
        let small = a.next_batch(2000).unwrap().batch.unwrap();
        let end = a.position();
        assert_eq!(small.len(), 250);
        let id = |batch: &Batch, i: usize| {
            crate::record::msgpack_to_json(batch.records().nth(i).unwrap()).unwrap()["id"]
                .as_u64()
                .unwrap()
        };
        assert_eq!((id(&small, 0), id(&small, 249)), (1000, 1249));
        // A replay without the estimator's rate cuts the batch where it ended.
        b.seek(&start).unwrap();
        assert_eq!(b.next_batch_to(2000, &end).unwrap().batch.unwrap(), small);
        assert_eq!(b.position(), end);
        // More than the configured rate is not a limit.
        a.set_rate(Some(5000.0));
        assert_eq!(a.rate_limit(), Some(1000.0));
        assert_eq!(a.next_batch(3000).unwrap().batch.unwrap().len(), 1000);
        // Positions written before `next_id` existed continue the old ids.
        b.seek(&serde_json::json!({"next_batch": 3})).unwrap();
        assert_eq!(b.position()["next_id"], 2000);
    }

    #[test]
    fn words_are_computed_as_before_and_any_vocabulary_starts_at_once() {
        // The words the generator drew from a precomputed table before they were lazy.
        for (i, word) in [
            (0, "baba"),
            (7, "cipu"),
            (99, "zuro"),
            (100, "babe"),
            (12345, "maxose"),
            (99_999_999, "zuririri"),
            (4_294_967_295, "zaxidecupi"),
        ] {
            assert_eq!(vocabulary_word(i), word);
        }
        let config: GeneratorConfig =
            toml::from_str("rate = 100\nvocabulary = 4294967296\nformat = \"json\"").unwrap();
        let started = std::time::Instant::now();
        let mut g = GeneratorSource::new("g", &config, 1000);
        assert_eq!(g.next_batch(1000).unwrap().batch.unwrap().len(), 100);
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
    }

    #[test]
    fn vocabulary_words_are_distinct() {
        let words: std::collections::HashSet<String> = (0..20_000).map(vocabulary_word).collect();
        assert_eq!(words.len(), 20_000);
    }
}

//! The `kafka` source: a direct stream (Spark's `KafkaUtils.createDirectStream`). At each
//! batch time every partition is read from the offset the previous batch ended at, up to
//! the rate limit; one Kafka partition is one partition of the batch. The position is the
//! next offset of every partition, so a batch is replayed from the checkpoint exactly; the
//! group gets the offsets after each checkpoint, for monitoring tools.

use serde_json::{json, Map, Value};

use super::broker::{dead_letter, Extent, Rates};
use super::{DirectSource, SourceBatch, SourceError};
use crate::brokers::{KafkaReader, KafkaReaderConfig};
use crate::job::KafkaSourceConfig;
use crate::record::BatchTime;
use crate::record::{Batch, Partition};

/// Reads Kafka topics as a direct stream. Connects at the first batch (or seek).
pub struct KafkaSource {
    name: String,
    config: KafkaSourceConfig,
    batch_ms: i64,
    reader: Option<KafkaReader>,
    pending_seek: Option<Vec<(String, i32, i64)>>,
    /// Records per second for the whole source, from backpressure.
    rate: Option<f64>,
}

impl KafkaSource {
    /// A source named `name` (used in errors and dead letters).
    pub fn new(name: &str, config: &KafkaSourceConfig, batch_ms: i64) -> Self {
        KafkaSource {
            name: name.to_owned(),
            config: config.clone(),
            batch_ms,
            reader: None,
            pending_seek: None,
            rate: None,
        }
    }

    fn invalid(&self, message: String) -> SourceError {
        SourceError::Io {
            source_name: self.name.clone(),
            message,
        }
    }

    fn reader(&mut self) -> Result<&mut KafkaReader, SourceError> {
        if self.reader.is_none() {
            let c = &self.config;
            let config = KafkaReaderConfig {
                bootstrap: c.bootstrap_servers.clone(),
                topics: c.topics.clone(),
                group: c
                    .group
                    .clone()
                    .unwrap_or_else(|| format!("sluice-{}", self.name)),
                properties: c
                    .properties
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
                timeout: c.timeout.to_std(),
            };
            let mut reader =
                KafkaReader::open(config, c.start).map_err(|e| self.invalid(e.to_string()))?;
            if let Some(offsets) = self.pending_seek.take() {
                reader
                    .seek(&offsets)
                    .map_err(|e| self.invalid(e.to_string()))?;
            }
            tracing::info!(source = %self.name, "Kafka source reading from {}.", describe(&reader));
            self.reader = Some(reader);
        }
        Ok(self.reader.as_mut().expect("opened above"))
    }

    /// Records per partition this batch may take: the rate limits times the interval.
    fn cap(&self, partitions: usize) -> u64 {
        self.rates().cap(self.batch_ms, partitions)
    }

    fn rates(&self) -> Rates {
        Rates {
            per_partition: self.config.max_rate_per_partition,
            pressured: self.rate,
        }
    }

    fn offsets(&self) -> Option<Vec<(String, i32, i64)>> {
        let r = self.reader.as_ref()?;
        Some(
            r.partitions()
                .zip(r.offsets())
                .map(|((t, p), o)| (t.to_owned(), p, o))
                .collect(),
        )
    }
}

fn describe(r: &KafkaReader) -> String {
    r.partitions()
        .zip(r.offsets())
        .map(|((t, p), o)| format!("{t}/{p}@{o}"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl KafkaSource {
    /// Reads every partition as far as `extent` says, decoding the records.
    fn pull(&mut self, extent: Extent<i64>) -> Result<SourceBatch, SourceError> {
        let name = self.name.clone();
        let (format, with_key) = (self.config.format, self.config.key);
        let timeout = self.config.timeout.to_std();
        let n = self.reader()?.partitions().len();
        let reader = self.reader.as_mut().expect("opened above");
        let mut partitions = Vec::with_capacity(n);
        let mut dead_letters = Vec::new();
        let mut buf = Vec::new();
        for i in 0..n {
            let (topic, part) = reader
                .partitions()
                .nth(i)
                .map(|(t, p)| (t.to_owned(), p))
                .unwrap_or_default();
            let mut records = Partition::new();
            let mut on = |offset: i64, key: Option<&[u8]>, payload: Option<&[u8]>| {
                buf.clear();
                match format.decode(key, payload, with_key, &mut buf) {
                    Ok(()) => records.push(&buf),
                    Err(e) => dead_letters.push(dead_letter(
                        &name,
                        payload,
                        format!("Kafka {topic}/{part} offset {offset}: {}", e.0),
                    )),
                }
            };
            match &extent {
                Extent::Cap(cap) => reader.read(i, *cap, &mut on),
                Extent::To(ends) => reader.read_range(i, ends[i], timeout, &mut on),
            }
            .map_err(|e| SourceError::Io {
                source_name: name.clone(),
                message: e.to_string(),
            })?;
            partitions.push(records);
        }
        Ok(SourceBatch {
            batch: Some(Batch::new(partitions)),
            dead_letters,
        })
    }

    /// The offsets of a recorded batch end, in partition order; each at or after the
    /// partition's current offset.
    fn ends(&mut self, end: &Value) -> Result<Vec<i64>, SourceError> {
        let name = self.name.clone();
        let seek_error = |message: String| SourceError::Seek {
            source_name: name.clone(),
            position: end.to_string(),
            message,
        };
        let recorded = parse_position(end).map_err(&seek_error)?;
        let reader = self.reader()?;
        let mut ends = Vec::with_capacity(reader.partitions().len());
        for ((topic, part), next) in reader.partitions().zip(reader.offsets()) {
            let until = recorded
                .iter()
                .find(|(t, p, _)| t == topic && *p == part)
                .map(|(_, _, o)| *o)
                .ok_or_else(|| {
                    seek_error(format!(
                        "the recorded batch end has no offset for {topic}/{part}"
                    ))
                })?;
            if until < next {
                return Err(seek_error(format!(
                    "the recorded batch end {topic}/{part}@{until} is before the current offset {next}"
                )));
            }
            ends.push(until);
        }
        Ok(ends)
    }
}

impl DirectSource for KafkaSource {
    fn next_batch(&mut self, _time: BatchTime) -> Result<SourceBatch, SourceError> {
        let n = self.reader()?.partitions().len();
        let cap = self.cap(n);
        self.pull(Extent::Cap(cap))
    }

    /// Reads every partition exactly up to the offsets of `end`, fetching and waiting up to
    /// the source's `timeout` for them; fails naming the partition when the broker no
    /// longer has them.
    fn next_batch_to(&mut self, _time: BatchTime, end: &Value) -> Result<SourceBatch, SourceError> {
        let ends = self.ends(end)?;
        self.pull(Extent::To(ends))
    }

    fn position(&self) -> Value {
        let offsets = self
            .offsets()
            .or_else(|| self.pending_seek.clone())
            .unwrap_or_default();
        let map: Map<String, Value> = offsets
            .into_iter()
            .map(|(t, p, o)| (format!("{t}/{p}"), json!(o)))
            .collect();
        json!({ "offsets": map })
    }

    fn seek(&mut self, position: &Value) -> Result<(), SourceError> {
        let offsets = parse_position(position).map_err(|message| SourceError::Seek {
            source_name: self.name.clone(),
            position: position.to_string(),
            message,
        })?;
        match self.reader.as_mut() {
            Some(r) => r.seek(&offsets).map_err(|e| SourceError::Seek {
                source_name: self.name.clone(),
                position: position.to_string(),
                message: e.to_string(),
            })?,
            None => self.pending_seek = Some(offsets),
        }
        Ok(())
    }

    fn committed(&mut self, position: &Value) {
        // Monitoring only: a failure is logged, and the next checkpoint commits again.
        let Ok(offsets) = parse_position(position) else {
            return;
        };
        if let Some(r) = self.reader.as_ref() {
            if let Err(e) = r.commit(&offsets) {
                tracing::warn!(source = %self.name, "Cannot commit offsets to the group: {e}");
            }
        }
    }

    fn set_rate(&mut self, per_second: Option<f64>) {
        self.rate = per_second;
    }

    fn rate_limit(&self) -> Option<f64> {
        let n = self.reader.as_ref().map_or(1, |r| r.partitions().len());
        self.rates().total(n)
    }
}

fn parse_position(position: &Value) -> Result<Vec<(String, i32, i64)>, String> {
    let map = position
        .get("offsets")
        .and_then(Value::as_object)
        .ok_or("expected {\"offsets\": {\"topic/partition\": offset, ...}}")?;
    map.iter()
        .map(|(tp, o)| {
            let (t, p) = tp
                .rsplit_once('/')
                .ok_or(format!("`{tp}` is not topic/partition"))?;
            let p: i32 = p
                .parse()
                .map_err(|_| format!("`{tp}` is not topic/partition"))?;
            let o = o
                .as_i64()
                .ok_or(format!("the offset of `{tp}` is not an integer"))?;
            Ok((t.to_owned(), p, o))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_round_trip() {
        let p = json!({"offsets": {"a.b/0": 5, "a.b/1": 7}});
        assert_eq!(
            parse_position(&p).unwrap(),
            vec![("a.b".to_owned(), 0, 5), ("a.b".to_owned(), 1, 7)]
        );
        assert!(parse_position(&json!({"offsets": {"x": 1}})).is_err());
        assert!(parse_position(&json!(3)).is_err());
    }

    #[test]
    fn backpressure_and_configured_rates_cap_each_partition() {
        let config: KafkaSourceConfig = toml::from_str(
            "bootstrap_servers = \"x:1\"\ntopics = [\"t\"]\nmax_rate_per_partition = 1000",
        )
        .unwrap();
        let mut s = KafkaSource::new("in", &config, 500);
        assert_eq!(s.cap(2), 500, "1000/s per partition over 500 ms");
        assert_eq!(
            s.rate_limit(),
            Some(1000.0),
            "one partition known before connecting"
        );
        s.set_rate(Some(600.0));
        assert_eq!(s.cap(2), 150, "600/s over 2 partitions over 500 ms");
        assert_eq!(s.rate_limit(), Some(600.0));
        let unlimited: KafkaSourceConfig =
            toml::from_str("bootstrap_servers = \"x:1\"\ntopics = [\"t\"]").unwrap();
        let mut s = KafkaSource::new("in", &unlimited, 500);
        assert_eq!((s.cap(3), s.rate_limit()), (u64::MAX, None));
        s.set_rate(Some(0.5));
        assert_eq!(s.cap(3), 1, "never below one record per batch");
    }
}

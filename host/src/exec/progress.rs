//! The per-batch progress line (Spark's streaming UI numbers), printed on stderr, and the
//! warning when batches fall behind their schedule.

use std::time::Duration;

use serde_json::json;

use super::executor::BatchReport;
use super::report::StageTime;

/// `batch 2000 ms: 1000 records in, 9876 out, processing 12.3 ms, scheduling delay 0 ms`
/// (plus rejected records when there are any). Every field is defined in docs/jobs.md.
pub fn progress_line(job: &str, r: &BatchReport) -> String {
    let mut line = format!(
        "[{job}] batch {} ms: {} records in, {} out, processing {:.1} ms, scheduling delay {} ms",
        r.time,
        r.records_in,
        r.records_out,
        r.processing.as_secs_f64() * 1e3,
        r.scheduling_delay.as_millis()
    );
    if r.rejected > 0 {
        line.push_str(&format!(", {} rejected", r.rejected));
    }
    line
}

/// How `sluice run` reports each batch on stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ProgressFormat {
    /// [`progress_line`].
    #[default]
    Text,
    /// [`batch_json`] on one line.
    Json,
}

/// Milliseconds with microsecond precision.
fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e6).round() / 1e3
}

/// One batch as JSON, as `--progress json` prints it and the JSON API serves it: times
/// in ms, total delay = scheduling delay + processing, the input rate in records per
/// second of batch interval, and every source, stream and sink with its records and time
/// (fields in docs/observability.md).
pub fn batch_json(job: &str, r: &BatchReport, batch_ms: i64) -> serde_json::Value {
    let stages = |v: &[StageTime]| -> Vec<serde_json::Value> {
        v.iter()
            .map(|s| {
                let mut v = json!({"name": &*s.name, "records": s.records, "ms": ms(s.took)});
                if let Some(st) = s.state {
                    v["state_keys"] = json!(st.keys);
                    v["state_bytes"] = json!(st.bytes);
                }
                v
            })
            .collect()
    };
    let sources: Vec<serde_json::Value> = r
        .sources
        .iter()
        .map(|s| {
            json!({
                "name": &*s.name,
                "records": s.records,
                "ms": ms(s.took),
                "buffered_bytes": s.buffered_bytes,
                "rate_limit": s.rate_limit,
            })
        })
        .collect();
    let checkpoint = r.checkpoint.as_ref().map(|c| {
        json!({"index": c.index, "bytes": c.bytes, "full": c.full, "deltas": c.deltas,
               "ms": ms(c.took)})
    });
    json!({
        "job": job,
        "time": r.time,
        "records_in": r.records_in,
        "records_out": r.records_out,
        "rejected": r.rejected,
        "input_rate": r.records_in as f64 * 1000.0 / batch_ms.max(1) as f64,
        "processing_ms": ms(r.processing),
        "scheduling_delay_ms": ms(r.scheduling_delay),
        "total_delay_ms": ms(r.processing + r.scheduling_delay),
        "state_bytes": r.state_bytes,
        "wal_bytes": r.wal_bytes,
        "sources": sources,
        "streams": stages(&r.streams),
        "sinks": stages(&r.sinks),
        "checkpoint": checkpoint,
    })
}

/// Watches the scheduling delay of successive batches and warns, once per run, when it
/// has grown [`DelayWatch::BATCHES`] batches in a row: the job processes more slowly than
/// data arrives, and the delay (and memory) will grow without bound.
#[derive(Debug, Clone)]
pub struct DelayWatch {
    batch_ms: i64,
    backpressure: bool,
    last: Duration,
    grew: u32,
    warned: bool,
}

impl DelayWatch {
    /// Consecutive batches of growing delay before the warning.
    pub const BATCHES: u32 = 5;

    /// A watch for a job with this batch interval, with or without backpressure.
    pub fn new(batch_ms: i64, backpressure: bool) -> Self {
        DelayWatch {
            batch_ms,
            backpressure,
            last: Duration::ZERO,
            grew: 0,
            warned: false,
        }
    }

    /// Feeds one batch's report; logs the warning the first time the delay has grown
    /// [`Self::BATCHES`] times in a row.
    pub fn observe(&mut self, job: &str, r: &BatchReport) {
        if let Some(w) = self.check(r) {
            tracing::warn!(job, "{w}");
        }
    }

    fn check(&mut self, r: &BatchReport) -> Option<String> {
        let delay = r.scheduling_delay;
        self.grew = if delay > self.last { self.grew + 1 } else { 0 };
        self.last = delay;
        if self.warned || self.grew < Self::BATCHES {
            return None;
        }
        self.warned = true;
        let hint = if self.backpressure {
            "backpressure is on but does not keep up: add partitions (`[job] partitions`, a \
             `repartition` before the slow stream, or its own `partitions`) or lengthen \
             `batch_interval`"
        } else {
            "enable backpressure (`[job] backpressure = true`) so that sources slow down, or \
             add partitions (`[job] partitions`, a `repartition` before the slow stream, or \
             its own `partitions`)"
        };
        Some(format!(
            "Falling behind: the scheduling delay grew {} batches in a row, to {} ms; the \
             last batch took {:.0} ms for a {} ms batch interval. To keep up, {hint}.",
            self.grew,
            delay.as_millis(),
            r.processing.as_secs_f64() * 1e3,
            self.batch_ms
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(delay_ms: u64) -> BatchReport {
        BatchReport {
            processing: Duration::from_millis(300),
            scheduling_delay: Duration::from_millis(delay_ms),
            ..BatchReport::default()
        }
    }

    #[test]
    fn warns_once_after_five_batches_of_growing_delay() {
        let mut w = DelayWatch::new(200, false);
        // Growth interrupted by a batch that caught up does not count.
        for d in [0, 100, 200, 300, 400, 0, 100, 200, 300, 400] {
            assert_eq!(w.check(&report(d)), None, "{d}");
        }
        let text = w.check(&report(500)).expect("the fifth growth in a row");
        assert!(
            text.contains("grew 5 batches in a row, to 500 ms"),
            "{text}"
        );
        assert!(
            text.contains("300 ms for a 200 ms batch interval"),
            "{text}"
        );
        assert!(text.contains("backpressure = true"), "{text}");
        for d in [600, 700, 800, 0, 100, 200, 300, 400, 500] {
            assert_eq!(w.check(&report(d)), None, "only once per run");
        }
    }

    #[test]
    fn with_backpressure_the_hint_is_partitions() {
        let mut w = DelayWatch::new(1000, true);
        let text = (1..=5).find_map(|i| w.check(&report(i * 10))).unwrap();
        assert!(text.contains("backpressure is on"), "{text}");
        assert!(!text.contains("backpressure = true"), "{text}");
    }
}

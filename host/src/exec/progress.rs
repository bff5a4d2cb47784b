//! The per-batch progress line (Spark's streaming UI numbers), printed on stderr.

use serde_json::json;

use super::executor::{BatchReport, StageTime};

/// `batch 2000 ms: 1000 records in, 9876 out, processing 12.3 ms, scheduling delay 0 ms`
/// (plus rejected records when there are any).
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
fn ms(d: std::time::Duration) -> f64 {
    (d.as_secs_f64() * 1e6).round() / 1e3
}

/// One batch as JSON, as `--progress json` prints it and the UI's JSON API serves it:
/// times in ms, total delay = scheduling delay + processing, the input rate in records
/// per second of batch interval, and every source, stream and sink with its records and
/// time.
pub fn batch_json(job: &str, r: &BatchReport, batch_ms: i64) -> serde_json::Value {
    let stages = |v: &[StageTime]| -> Vec<serde_json::Value> {
        v.iter()
            .map(|s| json!({"name": &*s.name, "records": s.records, "ms": ms(s.took)}))
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
        "sources": sources,
        "streams": stages(&r.streams),
        "sinks": stages(&r.sinks),
        "checkpoint": checkpoint,
    })
}

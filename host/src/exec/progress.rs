//! The per-batch progress line (Spark's streaming UI numbers), printed on stderr.

use super::executor::BatchReport;

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

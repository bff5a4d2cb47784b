//! Per-function call statistics of a plugin: lock-free counters updated on every call
//! (calls, a duration histogram, failures by kind, rejected records, guest memory) and
//! the latest errors with the record that caused them (a lock taken only on errors).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sluice_abi::RecordError;

use super::error::Failure;
use crate::record::{msgpack_to_json, Partition};

/// Upper bounds (seconds) of the call duration histogram's buckets (`+Inf` follows).
pub const CALL_BUCKETS: [f64; 14] = [
    0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0,
    5.0,
];

/// Errors kept per plugin (the newest).
pub const KEPT_ERRORS: usize = 50;

/// Characters of a record kept in an error (its JSON form, cut).
pub const RECORD_CHARS: usize = 300;

/// Counters of one exported function. Every field only grows, except `memory_bytes`.
#[derive(Debug, Default)]
pub struct FunctionStats {
    /// Calls made.
    pub calls: AtomicU64,
    /// Total call time, ns.
    pub duration_ns: AtomicU64,
    /// Calls per histogram bucket (not cumulative); the last one is `+Inf`.
    pub buckets: [AtomicU64; CALL_BUCKETS.len() + 1],
    /// Calls that trapped (a guest fault or `proc_exit`).
    pub traps: AtomicU64,
    /// Calls stopped by the deadline.
    pub deadline: AtomicU64,
    /// Calls that hit the memory limit.
    pub memory_limit: AtomicU64,
    /// Calls that ran out of fuel.
    pub fuel: AtomicU64,
    /// Calls that failed otherwise (bad output, a whole-call guest error).
    pub other_failures: AtomicU64,
    /// Input records the function rejected with a per-record error.
    pub rejected: AtomicU64,
    /// The linear memory of the instance after its latest call, bytes.
    pub memory_bytes: AtomicU64,
}

impl FunctionStats {
    /// Counts one call of `took`, leaving `memory_bytes` of guest memory.
    pub(crate) fn record_call(&self, took: Duration, memory_bytes: u64) {
        self.calls.fetch_add(1, Relaxed);
        let ns = u64::try_from(took.as_nanos()).unwrap_or(u64::MAX);
        self.duration_ns.fetch_add(ns, Relaxed);
        let secs = took.as_secs_f64();
        let bucket = CALL_BUCKETS
            .iter()
            .position(|&b| secs <= b)
            .unwrap_or(CALL_BUCKETS.len());
        self.buckets[bucket].fetch_add(1, Relaxed);
        if memory_bytes > 0 {
            self.memory_bytes.store(memory_bytes, Relaxed);
        }
    }

    /// Counts a failed call by its kind.
    pub(crate) fn record_failure(&self, failure: &Failure) {
        let counter = match failure {
            Failure::Trap(_) | Failure::Exit(_) => &self.traps,
            Failure::Deadline(_) => &self.deadline,
            Failure::MemoryLimit { .. } => &self.memory_limit,
            Failure::OutOfFuel(_) => &self.fuel,
            Failure::Other(_) | Failure::BadOutput(_) | Failure::Guest(_) => &self.other_failures,
        };
        counter.fetch_add(1, Relaxed);
    }
}

/// One error of a plugin call, as the UI and the JSON API show it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PluginErrorEntry {
    /// When it happened (wall clock, ms since the Unix epoch).
    pub at_ms: i64,
    /// The batch time of the call.
    pub batch_time: i64,
    /// The plugin's name in the job.
    pub plugin: String,
    /// The function called.
    pub function: String,
    /// `record` (a record rejected with a per-record error) or the kind of whole-call
    /// failure (`trap`, `deadline`, `memory_limit`, `fuel`, `failed`).
    pub kind: &'static str,
    /// The message.
    pub message: String,
    /// The record (JSON, cut to [`RECORD_CHARS`] characters), for a rejected record.
    pub record: Option<String>,
}

/// The statistics of one plugin: one [`FunctionStats`] per exported operator function
/// (in the order of `Plugin::functions`) and the latest errors.
#[derive(Debug)]
pub struct PluginStats {
    functions: Box<[FunctionStats]>,
    errors: Mutex<VecDeque<PluginErrorEntry>>,
}

impl PluginStats {
    pub(crate) fn new(functions: usize) -> Self {
        PluginStats {
            functions: (0..functions).map(|_| FunctionStats::default()).collect(),
            errors: Mutex::new(VecDeque::new()),
        }
    }

    /// The counters of the function at `index` in `Plugin::functions`.
    pub fn function(&self, index: usize) -> Option<&FunctionStats> {
        self.functions.get(index)
    }

    /// The latest errors, oldest first.
    pub fn errors(&self) -> Vec<PluginErrorEntry> {
        let errors = self.errors.lock().unwrap_or_else(|e| e.into_inner());
        errors.iter().cloned().collect()
    }

    /// Updates the statistics after a call of `took`, leaving `memory` bytes of guest
    /// memory (0: unknown).
    pub(crate) fn record(
        &self,
        site: ErrorSite<'_>,
        took: Duration,
        memory: u64,
        result: &Result<super::CallOutput, Failure>,
    ) {
        if let Some(f) = self.function(site.index) {
            f.record_call(took, memory);
        }
        match result {
            Ok(out) if !out.errors.is_empty() => self.record_rejections(site, &out.errors),
            Ok(_) => {}
            Err(failure) => self.record_failure(site, failure),
        }
    }

    /// Keeps the per-record errors of a call with the records they name.
    pub(crate) fn record_rejections(&self, e: ErrorSite<'_>, errors: &[RecordError]) {
        let stats = &self.functions[e.index];
        stats.rejected.fetch_add(errors.len() as u64, Relaxed);
        let framed = Partition::from_encoded_prefix(e.count, e.items).ok();
        let mut kept = self.errors.lock().unwrap_or_else(|p| p.into_inner());
        // Only the newest KEPT_ERRORS can stay: skip converting the others.
        let skip = errors.len().saturating_sub(KEPT_ERRORS);
        for err in &errors[skip..] {
            let record = err
                .index
                .and_then(|i| framed.as_ref()?.0.get(i as usize).map(record_text));
            push(&mut kept, e.entry("record", err.message.clone(), record));
        }
    }

    /// Keeps a whole-call failure.
    pub(crate) fn record_failure(&self, e: ErrorSite<'_>, failure: &Failure) {
        self.functions[e.index].record_failure(failure);
        let kind = match failure {
            Failure::Trap(_) | Failure::Exit(_) => "trap",
            Failure::Deadline(_) => "deadline",
            Failure::MemoryLimit { .. } => "memory_limit",
            Failure::OutOfFuel(_) => "fuel",
            _ => "failed",
        };
        let entry = e.entry(kind, failure.to_string(), None);
        push(
            &mut self.errors.lock().unwrap_or_else(|p| p.into_inner()),
            entry,
        );
    }
}

/// Where an error happened: the plugin, the function (and its index), the call's input.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ErrorSite<'a> {
    pub plugin: &'a str,
    pub function: &'a str,
    pub index: usize,
    pub batch_time: i64,
    pub count: u32,
    pub items: &'a [u8],
}

impl ErrorSite<'_> {
    fn entry(
        &self,
        kind: &'static str,
        message: String,
        record: Option<String>,
    ) -> PluginErrorEntry {
        PluginErrorEntry {
            at_ms: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as i64),
            batch_time: self.batch_time,
            plugin: self.plugin.to_owned(),
            function: self.function.to_owned(),
            kind,
            message,
            record,
        }
    }
}

fn push(kept: &mut VecDeque<PluginErrorEntry>, entry: PluginErrorEntry) {
    if kept.len() == KEPT_ERRORS {
        kept.pop_front();
    }
    kept.push_back(entry);
}

/// A record's JSON form, cut to [`RECORD_CHARS`] characters (`…` marks a cut).
fn record_text(record: &[u8]) -> String {
    let text = match msgpack_to_json(record) {
        Ok(v) => v.to_string(),
        Err(_) => format!("<{} bytes of MessagePack>", record.len()),
    };
    match text.char_indices().nth(RECORD_CHARS) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_fall_in_their_bucket() {
        let s = FunctionStats::default();
        s.record_call(Duration::from_micros(40), 65536);
        s.record_call(Duration::from_millis(3), 0);
        s.record_call(Duration::from_secs(9), 0);
        assert_eq!(s.calls.load(Relaxed), 3);
        assert_eq!(s.buckets[0].load(Relaxed), 1);
        assert_eq!(s.buckets[6].load(Relaxed), 1);
        assert_eq!(s.buckets[CALL_BUCKETS.len()].load(Relaxed), 1);
        assert_eq!(s.memory_bytes.load(Relaxed), 65536);
    }

    #[test]
    fn rejected_records_are_kept_with_the_record_cut() {
        let stats = PluginStats::new(1);
        let mut items = Vec::new();
        sluice_abi::msgpack::write_str(&mut items, "fine");
        sluice_abi::msgpack::write_str(&mut items, &"x".repeat(1000));
        let site = ErrorSite {
            plugin: "p",
            function: "f",
            index: 0,
            batch_time: 2000,
            count: 2,
            items: &items,
        };
        let err = RecordError {
            index: Some(1),
            message: "too long".into(),
        };
        stats.record_rejections(site, &[err]);
        let kept = stats.errors();
        assert_eq!(kept.len(), 1);
        let record = kept[0].record.as_deref().unwrap();
        assert!(record.starts_with("\"xxx") && record.ends_with('…'));
        assert_eq!(record.chars().count(), RECORD_CHARS + 1);
        assert_eq!(stats.function(0).unwrap().rejected.load(Relaxed), 1);
    }

    #[test]
    fn failures_are_counted_by_kind_and_kept() {
        let stats = PluginStats::new(1);
        let site = ErrorSite {
            plugin: "p",
            function: "f",
            index: 0,
            batch_time: 1000,
            count: 0,
            items: &[],
        };
        let took = Duration::from_millis(1);
        stats.record(site, took, 0, &Err(Failure::Trap("unreachable".into())));
        stats.record(site, took, 0, &Err(Failure::Deadline(took)));
        let limit = Failure::MemoryLimit {
            limit: 1 << 20,
            requested: 2 << 20,
        };
        stats.record(site, took, 0, &Err(limit));
        let f = stats.function(0).unwrap();
        assert_eq!(f.calls.load(Relaxed), 3);
        assert_eq!(f.traps.load(Relaxed), 1);
        assert_eq!(f.deadline.load(Relaxed), 1);
        assert_eq!(f.memory_limit.load(Relaxed), 1);
        let kinds: Vec<&str> = stats.errors().iter().map(|e| e.kind).collect();
        assert_eq!(kinds, ["trap", "deadline", "memory_limit"]);
    }
}

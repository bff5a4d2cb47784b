//! A job's state as the API shows it: the persisted record (`record.json`: who, what,
//! running/stopped/failed and why), the last batches' reports, and the job's log file.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

use super::joblog::JobLog;
use super::ServeError;
use crate::exec::{progress_line, BatchReport};
use crate::wasm::LogSink;

/// Batch reports kept per job.
const KEPT_BATCHES: usize = 20;

/// Where a job is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    /// Running, or to be resumed when the server starts.
    Running,
    /// Stopped on request or after its `batches`.
    Stopped,
    /// Failed; `reason` says why.
    Failed,
}

/// What is kept of a job on disk, in `record.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JobRecord {
    /// The job's id.
    pub id: String,
    /// The tenant that submitted it.
    pub tenant: String,
    /// `[job] name`.
    pub name: String,
    /// When it was submitted, ms since the Unix epoch.
    pub submitted_ms: i64,
    /// Its state.
    pub state: JobState,
    /// Why it failed or stopped.
    pub reason: Option<String>,
    /// Stop after this many batches of its whole life (`?batches=N`).
    pub batches: Option<u64>,
}

/// One batch as the API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct BatchView {
    /// The batch time, ms since the Unix epoch.
    pub time_ms: i64,
    /// Records the sources produced.
    pub records_in: usize,
    /// Records written to sinks.
    pub records_out: usize,
    /// Records rejected.
    pub rejected: usize,
    /// Time to compute the batch and write the sinks, ms.
    pub processing_ms: f64,
    /// How late the batch started after its time (waiting for a worker slot included), ms.
    pub scheduling_delay_ms: f64,
    /// CPU time of the batch on its worker slot, ms.
    pub cpu_ms: f64,
}

/// A job's live status: its record, recent batches and log.
#[derive(Debug)]
pub struct JobStatus {
    dir: PathBuf,
    record: Mutex<JobRecord>,
    batches: Mutex<(u64, VecDeque<BatchView>)>,
    /// CPU time of its batches since the server (re)started it, ns.
    cpu_ns: AtomicU64,
    log: Arc<JobLog>,
}

impl JobStatus {
    /// The status of the job kept in `dir`, with `record`.
    pub fn new(dir: PathBuf, record: JobRecord) -> JobStatus {
        JobStatus {
            log: Arc::new(JobLog::new(dir.clone())),
            dir,
            record: Mutex::new(record),
            batches: Mutex::new((0, VecDeque::new())),
            cpu_ns: AtomicU64::new(0),
        }
    }

    /// Reads `dir/record.json`.
    ///
    /// # Errors
    /// [`ServeError::Store`] when it cannot be read or parsed.
    pub fn load(dir: &Path) -> Result<JobStatus, ServeError> {
        let path = dir.join("record.json");
        let text = std::fs::read_to_string(&path).map_err(|e| ServeError::store(&path, e))?;
        let record: JobRecord = serde_json::from_str(&text)
            .map_err(|e| ServeError::store(&path, std::io::Error::other(e)))?;
        Ok(JobStatus::new(dir.to_owned(), record))
    }

    /// A copy of the record.
    pub fn record(&self) -> JobRecord {
        self.record
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Sets the state and reason and writes the record.
    ///
    /// # Errors
    /// [`ServeError::Store`] when the record cannot be written.
    pub fn set_state(&self, state: JobState, reason: Option<String>) -> Result<(), ServeError> {
        let record = {
            let mut r = self.record.lock().unwrap_or_else(|e| e.into_inner());
            r.state = state;
            r.reason = reason;
            r.clone()
        };
        self.save(&record)
    }

    /// Writes the record atomically.
    ///
    /// # Errors
    /// [`ServeError::Store`] when it cannot be written.
    pub fn save(&self, record: &JobRecord) -> Result<(), ServeError> {
        let json = serde_json::to_vec_pretty(record).unwrap_or_default();
        super::store::write_atomically(&self.dir.join("record.json"), &json)
    }

    /// Records a completed batch that used `cpu` and logs its progress line.
    pub fn batch_done(&self, report: &BatchReport, cpu: std::time::Duration) {
        let view = BatchView {
            time_ms: report.time,
            records_in: report.records_in,
            records_out: report.records_out,
            rejected: report.rejected,
            processing_ms: report.processing.as_secs_f64() * 1e3,
            scheduling_delay_ms: report.scheduling_delay.as_secs_f64() * 1e3,
            cpu_ms: cpu.as_secs_f64() * 1e3,
        };
        self.cpu_ns
            .fetch_add(cpu.as_nanos() as u64, Ordering::Relaxed);
        {
            let mut b = self.batches.lock().unwrap_or_else(|e| e.into_inner());
            b.0 += 1;
            if b.1.len() == KEPT_BATCHES {
                b.1.pop_front();
            }
            b.1.push_back(view);
        }
        let name = self.record().name;
        self.log(&progress_line(&name, report));
    }

    /// CPU time of the job's batches since the server (re)started it.
    pub fn cpu(&self) -> std::time::Duration {
        std::time::Duration::from_nanos(self.cpu_ns.load(Ordering::Relaxed))
    }

    /// Batches run since the server (re)started the job, and the last ones.
    pub fn batches(&self) -> (u64, Vec<BatchView>) {
        let b = self.batches.lock().unwrap_or_else(|e| e.into_inner());
        (b.0, b.1.iter().cloned().collect())
    }

    /// Appends a line (a job event or a batch's progress) to the job's log.
    pub fn log(&self, line: &str) {
        self.log.append(line);
    }

    /// Where the job's plugins' log lines go: its log.
    pub fn plugin_log(&self) -> LogSink {
        self.log.plugin_sink()
    }

    /// The last `tail` lines of the log.
    pub fn log_tail(&self, tail: usize) -> Vec<String> {
        self.log.tail(tail)
    }
}

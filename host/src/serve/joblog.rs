//! A job's log file in serve mode: job events, batch progress lines and the plugins' log
//! lines, appended with a millisecond timestamp, rotated (one old file kept) past 4 MiB.

use std::fs::File;
use std::io::Write as _;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use crate::base::now_ms;
use crate::wasm::{LogLine, LogSink};

/// The log file is rotated (one old file kept) past this size.
const ROTATE_BYTES: u64 = 4 << 20;

/// The append-only log of one job, kept open while the job lives.
#[derive(Debug)]
pub struct JobLog {
    dir: PathBuf,
    /// The open file and its size; `None` until the first line or after an error.
    file: Mutex<Option<(File, u64)>>,
}

impl JobLog {
    /// The log kept in `dir/log.txt`.
    pub fn new(dir: PathBuf) -> JobLog {
        JobLog {
            dir,
            file: Mutex::new(None),
        }
    }

    /// Appends one line; an error is reported to the server's log, not to the job.
    pub fn append(&self, line: &str) {
        let mut file = self.file.lock().unwrap_or_else(|e| e.into_inner());
        if let Err(e) = self.write(&mut file, line) {
            *file = None;
            tracing::warn!(dir = %self.dir.display(), error = %e, "Cannot write the job's log.");
        }
    }

    fn write(&self, file: &mut Option<(File, u64)>, line: &str) -> std::io::Result<()> {
        let path = self.dir.join("log.txt");
        if file.as_ref().is_some_and(|(_, len)| *len > ROTATE_BYTES) {
            *file = None;
            std::fs::rename(&path, self.dir.join("log.1.txt"))?;
        }
        if file.is_none() {
            let f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)?;
            let len = f.metadata()?.len();
            *file = Some((f, len));
        }
        let (f, len) = file.as_mut().expect("opened above");
        let text = format!("{} {line}\n", now_ms());
        f.write_all(text.as_bytes())?;
        *len += text.len() as u64;
        Ok(())
    }

    /// The last `tail` lines of the current file.
    pub fn tail(&self, tail: usize) -> Vec<String> {
        let _file = self.file.lock().unwrap_or_else(|e| e.into_inner());
        let text = std::fs::read_to_string(self.dir.join("log.txt")).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        let from = lines.len().saturating_sub(tail);
        lines[from..].iter().map(|l| (*l).to_owned()).collect()
    }

    /// A sink that appends the job's plugin log lines as
    /// `plugin words.split warn: message` (multi-line messages one line each).
    pub fn plugin_sink(self: &Arc<Self>) -> LogSink {
        let log = Arc::clone(self);
        Arc::new(move |l: &LogLine<'_>| {
            for text in l.message.lines() {
                log.append(&format!(
                    "plugin {}.{} {}: {text}",
                    l.plugin, l.function, l.level
                ));
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotates_past_the_limit_and_keeps_appending() {
        let dir = tempfile::tempdir().unwrap();
        let log = JobLog::new(dir.path().to_owned());
        let line = "x".repeat(1 << 20);
        for _ in 0..6 {
            log.append(&line);
        }
        assert!(dir.path().join("log.1.txt").is_file());
        let kept = std::fs::metadata(dir.path().join("log.txt")).unwrap().len();
        assert!(kept < ROTATE_BYTES, "{kept}");
        // Four lines and a bit pass 4 MiB: the fifth starts the new file.
        assert_eq!(log.tail(10).len(), 2);
    }

    #[test]
    fn plugin_lines_name_plugin_function_and_level() {
        let dir = tempfile::tempdir().unwrap();
        let log = Arc::new(JobLog::new(dir.path().to_owned()));
        let sink = log.plugin_sink();
        sink(&LogLine {
            plugin: "words",
            function: "split",
            level: "warn",
            message: "one\ntwo",
        });
        let tail = log.tail(5);
        assert_eq!(tail.len(), 2);
        assert!(
            tail[0].ends_with(" plugin words.split warn: one"),
            "{}",
            tail[0]
        );
        assert!(
            tail[1].ends_with(" plugin words.split warn: two"),
            "{}",
            tail[1]
        );
    }
}

//! The guest's log: the `sluice.log` host import and captured WASI stdout/stderr, sent to
//! `tracing` with the plugin and function (or to the job's [`LogSink`] when it has one, as
//! `sluice serve` gives each job), capped per call.

use std::sync::Arc;

use sluice_abi::{exports, LogLevel};
use wasmtime::{Caller, Linker};

use super::wasi::{guest_memory, Stream};

/// One line a plugin logged, as a [`LogSink`] receives it.
#[derive(Debug, Clone, Copy)]
pub struct LogLine<'a> {
    /// The plugin's name in the job.
    pub plugin: &'a str,
    /// The function being called (`sluice_init` during start-up).
    pub function: &'a str,
    /// `error`, `warn`, `info`, `debug` or `trace` (captured stdout is `info`, stderr `warn`).
    pub level: &'static str,
    /// The text, without its newline.
    pub message: &'a str,
}

/// Where a job's plugin log lines go instead of the process's `tracing` output; called on
/// the thread of the plugin call, after the per-call cap.
pub type LogSink = Arc<dyn Fn(&LogLine<'_>) + Send + Sync>;

/// Bytes of log text (messages and captured output together) one call may emit.
pub(crate) const LOG_BYTES_PER_CALL: usize = 64 << 10;

/// What the `sluice.log` import needs of the store's data: the instance's log.
pub(crate) trait LogView {
    /// The log of the instance.
    fn log(&mut self) -> &mut GuestLog;
}

/// Per-instance log state: names for the fields, the call's remaining budget, and the
/// partial lines of stdout and stderr.
pub(crate) struct GuestLog {
    plugin: Arc<str>,
    sink: Option<LogSink>,
    function: String,
    remaining: usize,
    dropped: usize,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

impl std::fmt::Debug for GuestLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GuestLog")
            .field("plugin", &self.plugin)
            .field("function", &self.function)
            .field("sink", &self.sink.is_some())
            .finish_non_exhaustive()
    }
}

impl GuestLog {
    pub(crate) fn new(plugin: Arc<str>, sink: Option<LogSink>) -> Self {
        GuestLog {
            plugin,
            sink,
            function: String::new(),
            remaining: LOG_BYTES_PER_CALL,
            dropped: 0,
            stdout: Vec::new(),
            stderr: Vec::new(),
        }
    }

    /// Starts a call of `function` with a fresh budget.
    pub(crate) fn begin_call(&mut self, function: &str) {
        self.function.clear();
        self.function.push_str(function);
        self.remaining = LOG_BYTES_PER_CALL;
        self.dropped = 0;
    }

    /// Flushes partial lines and reports what the cap dropped.
    pub(crate) fn end_call(&mut self) {
        for stream in [Stream::Stdout, Stream::Stderr] {
            let buf = std::mem::take(self.buffer(stream));
            if !buf.is_empty() {
                self.emit_line(stream, &buf);
            }
        }
        if self.dropped > 0 {
            tracing::warn!(
                plugin = %self.plugin,
                function = %self.function,
                dropped_bytes = self.dropped,
                "Plugin log output over {LOG_BYTES_PER_CALL} bytes in one call was dropped."
            );
            self.dropped = 0;
        }
    }

    /// Emits one `sluice.log` message; unknown levels log at info.
    pub(crate) fn log(&mut self, level: i32, bytes: &[u8]) {
        let bytes = self.take_budget(bytes);
        if bytes.is_empty() {
            return;
        }
        let msg = String::from_utf8_lossy(bytes);
        let level = LogLevel::try_from(level).unwrap_or(LogLevel::Info);
        self.emit(level, &msg);
    }

    /// Appends output to a captured stream; complete lines are emitted at once.
    pub(crate) fn write_stream(&mut self, stream: Stream, mut bytes: &[u8]) {
        while let Some(nl) = bytes.iter().position(|&b| b == b'\n') {
            let mut line = std::mem::take(self.buffer(stream));
            line.extend_from_slice(&bytes[..nl]);
            self.emit_line(stream, &line);
            line.clear();
            *self.buffer(stream) = line;
            bytes = &bytes[nl + 1..];
        }
        let room = self.remaining.saturating_sub(self.buffer(stream).len());
        let keep = bytes.len().min(room);
        self.dropped += bytes.len() - keep;
        self.buffer(stream).extend_from_slice(&bytes[..keep]);
    }

    fn buffer(&mut self, stream: Stream) -> &mut Vec<u8> {
        match stream {
            Stream::Stdout => &mut self.stdout,
            Stream::Stderr => &mut self.stderr,
        }
    }

    fn emit_line(&mut self, stream: Stream, line: &[u8]) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let line = self.take_budget(line);
        if line.is_empty() {
            return;
        }
        let msg = String::from_utf8_lossy(line);
        let level = match stream {
            Stream::Stdout => LogLevel::Info,
            Stream::Stderr => LogLevel::Warn,
        };
        self.emit(level, &msg);
    }

    fn emit(&self, level: LogLevel, message: &str) {
        match &self.sink {
            Some(sink) => sink(&LogLine {
                plugin: &self.plugin,
                function: &self.function,
                level: level_name(level),
                message,
            }),
            None => emit(&self.plugin, &self.function, level, message),
        }
    }

    /// Cuts `bytes` to what is left of the call's budget and charges it.
    fn take_budget<'b>(&mut self, bytes: &'b [u8]) -> &'b [u8] {
        let keep = bytes.len().min(self.remaining);
        self.remaining -= keep;
        self.dropped += bytes.len() - keep;
        &bytes[..keep]
    }
}

fn level_name(level: LogLevel) -> &'static str {
    match level {
        LogLevel::Error => "error",
        LogLevel::Warn => "warn",
        LogLevel::Info => "info",
        LogLevel::Debug => "debug",
        LogLevel::Trace => "trace",
    }
}

fn emit(plugin: &str, function: &str, level: LogLevel, msg: &str) {
    match level {
        LogLevel::Error => {
            tracing::error!(target: "sluice::plugin", plugin, function, level = "error", "{msg}")
        }
        LogLevel::Warn => {
            tracing::warn!(target: "sluice::plugin", plugin, function, level = "warn", "{msg}")
        }
        LogLevel::Info => {
            tracing::info!(target: "sluice::plugin", plugin, function, level = "info", "{msg}")
        }
        LogLevel::Debug => {
            tracing::debug!(target: "sluice::plugin", plugin, function, level = "debug", "{msg}")
        }
        LogLevel::Trace => {
            tracing::trace!(target: "sluice::plugin", plugin, function, level = "trace", "{msg}")
        }
    }
}

/// Defines `sluice.log(level, ptr, len)`. A buffer outside memory traps the call.
pub(crate) fn add_to_linker<T: LogView + 'static>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
    linker.func_wrap(
        exports::HOST_MODULE,
        exports::LOG_FN,
        |mut caller: Caller<'_, T>, level: i32, ptr: i32, len: i32| {
            let memory = guest_memory(&mut caller)?;
            let (data, state) = memory.data_and_store_mut(&mut caller);
            let (start, len) = (ptr as u32 as usize, len as u32 as usize);
            let Some(bytes) = start.checked_add(len).and_then(|end| data.get(start..end)) else {
                wasmtime::bail!(
                    "sluice.log: message buffer at {start} of {len} bytes is outside the \
                     instance's memory ({} bytes)",
                    data.len()
                );
            };
            state.log().log(level, bytes);
            Ok(())
        },
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_caps_messages_and_lines() {
        let mut log = GuestLog::new("p".into(), None);
        log.begin_call("f");
        log.log(3, &vec![b'a'; LOG_BYTES_PER_CALL - 10]);
        assert_eq!(log.remaining, 10);
        log.write_stream(Stream::Stdout, b"0123456789abcdef\nrest");
        assert_eq!(log.remaining, 0);
        assert_eq!(log.dropped, 6 + 4);
        log.end_call();
        log.begin_call("f");
        assert_eq!(log.remaining, LOG_BYTES_PER_CALL);
    }

    #[test]
    fn partial_lines_wait_for_the_newline() {
        let mut log = GuestLog::new("p".into(), None);
        log.begin_call("f");
        log.write_stream(Stream::Stderr, b"hel");
        assert_eq!(log.stderr, b"hel");
        log.write_stream(Stream::Stderr, b"lo\nwor");
        assert_eq!(log.stderr, b"wor");
        assert_eq!(log.remaining, LOG_BYTES_PER_CALL - 5);
        log.end_call();
        assert!(log.stderr.is_empty());
        assert_eq!(log.remaining, LOG_BYTES_PER_CALL - 8);
    }
}

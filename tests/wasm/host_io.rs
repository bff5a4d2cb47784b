//! What a guest sees of the host: `sluice.log` and the no-capability WASI preview 1.

use std::io::Write;
use std::sync::{Arc, Mutex};

use sluice::wasm::CallError;
use sluice_abi::Shape;

use crate::common::*;

const TALK: &str = r#"
  (import "sluice" "log" (func $log (param i32 i32 i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (data (i32.const 512) "hello from the guest")
  (data (i32.const 540) "bad \ff utf8")
  (data (i32.const 560) "line one\nline two\npartial")
  (func (export "talk") (param i32 i32) (result i64)
    i32.const 3
    i32.const 512
    i32.const 20
    call $log
    i32.const 2
    i32.const 540
    i32.const 10
    call $log
    i32.const 600
    i32.const 560
    i32.store
    i32.const 604
    i32.const 25
    i32.store
    i32.const 1
    i32.const 600
    i32.const 1
    i32.const 608
    call $fd_write
    drop
    i32.const 16
    i32.const 3
    call $emit)
  (func (export "flood") (param i32 i32) (result i64)
    (local $i i32)
    (loop $again
      i32.const 4
      i32.const 512
      i32.const 20
      call $log
      local.get $i
      i32.const 1
      i32.add
      local.tee $i
      i32.const 10000
      i32.lt_u
      br_if $again)
    i32.const 16
    i32.const 3
    call $emit)
  (func (export "log_oob") (param i32 i32) (result i64)
    i32.const 3
    i32.const -16
    i32.const 100
    call $log
    i64.const 0)
"#;

/// A writer into a shared buffer, for capturing `tracing` output.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Runs `f` with `tracing` captured on this thread (calls run on the calling thread).
pub fn capture_log(f: impl FnOnce()) -> String {
    let buf = Captured::default();
    let writer = buf.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::TRACE)
        .finish();
    tracing::subscriber::with_default(subscriber, f);
    let bytes = buf.0.lock().unwrap().clone();
    String::from_utf8(bytes).unwrap()
}

#[test]
fn log_messages_and_stdout_lines_reach_tracing_with_names() {
    let (p, _dir) = load("talker", &good_module(&[TALK], &[]), test_limits());
    let log = capture_log(|| {
        p.call("talk", Shape::Transform, 0, &[], &ctx(0, 0))
            .unwrap();
    });
    let lines: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("sluice::plugin"))
        .collect();
    assert_eq!(lines.len(), 5, "{log}");
    assert!(
        lines[0].contains(" INFO ") && lines[0].contains("hello from the guest"),
        "{log}"
    );
    assert!(
        lines[0].contains("plugin=\"talker\"") || lines[0].contains("plugin=talker"),
        "{log}"
    );
    assert!(
        lines[0].contains("function=\"talk\"") || lines[0].contains("function=talk"),
        "{log}"
    );
    assert!(
        lines[1].contains(" WARN ") && lines[1].contains("bad \u{fffd} utf8"),
        "{log}"
    );
    assert!(lines[2].contains("line one"), "{log}");
    assert!(lines[3].contains("line two"), "{log}");
    assert!(
        lines[4].contains("partial"),
        "flushed at the end of the call: {log}"
    );
}

#[test]
fn log_output_is_capped_per_call() {
    let (p, _dir) = load("flooder", &good_module(&[TALK], &[]), test_limits());
    let log = capture_log(|| {
        p.call("flood", Shape::Transform, 0, &[], &ctx(0, 0))
            .unwrap();
    });
    let kept = log.matches("hello from the guest").count();
    assert_eq!(kept, (64 << 10) / 20, "64 KiB of 20-byte messages");
    assert!(
        log.contains("dropped_bytes=") && log.contains("was dropped"),
        "{log}"
    );
    // The next call has a fresh budget.
    let log = capture_log(|| {
        p.call("talk", Shape::Transform, 0, &[], &ctx(0, 0))
            .unwrap();
    });
    assert!(log.contains("hello from the guest"));
}

#[test]
fn a_log_buffer_outside_memory_traps_the_call() {
    let (p, _dir) = load("oob", &good_module(&[TALK], &[]), test_limits());
    let err = p
        .call("log_oob", Shape::Transform, 0, &[], &ctx(0, 0))
        .unwrap_err();
    assert!(matches!(err, CallError::Trap { .. }), "{err}");
    assert!(
        err.to_string().contains("sluice.log: message buffer"),
        "{err}"
    );
    p.call("mirror", Shape::Transform, 0, &[], &ctx(0, 0))
        .unwrap();
}

const PROBE: &str = r#"
  (import "wasi_snapshot_preview1" "clock_time_get" (func $clock (param i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "random_get" (func $random (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "environ_sizes_get" (func $env_sizes (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $args_sizes (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_prestat_get" (func $prestat (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  ;; Fills 64..128: clock (8), random (16), environ sizes (8), args sizes (8), nread (4),
  ;; then errnos at 120..128.
  (func (export "probe") (param i32 i32) (result i64)
    i32.const 88
    i64.const -1
    i64.store
    i32.const 96
    i64.const -1
    i64.store
    i32.const 104
    i32.const -1
    i32.store
    i32.const 120
    i32.const 0
    i64.const 1
    i32.const 64
    call $clock
    i32.store8
    i32.const 121
    i32.const 72
    i32.const 16
    call $random
    i32.store8
    i32.const 122
    i32.const 88
    i32.const 92
    call $env_sizes
    i32.store8
    i32.const 123
    i32.const 96
    i32.const 100
    call $args_sizes
    i32.store8
    i32.const 124
    i32.const 0
    i32.const 200
    i32.const 1
    i32.const 104
    call $fd_read
    i32.store8
    i32.const 125
    i32.const 7
    i32.const 200
    i32.const 1
    i32.const 108
    call $fd_write
    i32.store8
    i32.const 126
    i32.const 3
    i32.const 112
    call $prestat
    i32.store8
    i32.const 127
    i32.const 9
    i64.const 0
    i32.const 240
    call $clock
    i32.store8
    i32.const 64
    i32.const 64
    call $mirror_of)
  (func (export "exit") (param i32 i32) (result i64)
    i32.const 3
    call $exit
    i64.const 0)
"#;

fn probe(p: &sluice::wasm::Plugin, batch_time_ms: i64, partition: u32) -> Vec<u8> {
    let out = p
        .call(
            "probe",
            Shape::Transform,
            0,
            &[],
            &ctx(batch_time_ms, partition),
        )
        .unwrap();
    unbin(out.items.get(0).unwrap())
}

#[test]
fn wasi_has_no_capabilities_a_frozen_clock_and_seeded_random() {
    let (p, _dir) = load("probe", &good_module(&[PROBE], &[]), test_limits());
    let a = probe(&p, 1_700_000_000_000, 0);
    assert_eq!(a.len(), 64);
    let clock = u64::from_le_bytes(a[0..8].try_into().unwrap());
    assert_eq!(clock, 1_700_000_000_000_000_000, "frozen at the batch time");
    assert_eq!(&a[24..40], &[0; 16], "no environment, no arguments");
    assert_eq!(&a[40..44], &[0; 4], "stdin is at end of file");
    // errnos: clock, random, env, args, fd_read ok; fd_write(7) and prestat EBADF; bad
    // clock id EINVAL.
    assert_eq!(&a[56..64], &[0, 0, 0, 0, 0, 8, 8, 28]);
    assert_eq!(
        probe(&p, 1_700_000_000_000, 0),
        a,
        "a replay sees the same values"
    );
    let other_partition = probe(&p, 1_700_000_000_000, 1);
    assert_ne!(&other_partition[8..24], &a[8..24]);
    let other_batch = probe(&p, 1_700_000_001_000, 0);
    assert_ne!(&other_batch[8..24], &a[8..24]);
    assert_ne!(&other_batch[0..8], &a[0..8]);
}

#[test]
fn proc_exit_ends_the_call_with_an_error() {
    let (p, _dir) = load("exiter", &good_module(&[PROBE], &[]), test_limits());
    let err = p
        .call("exit", Shape::Transform, 0, &[], &ctx(0, 0))
        .unwrap_err();
    assert!(matches!(err, CallError::Exit { code: 3, .. }), "{err}");
    assert_eq!(
        err.to_string(),
        "plugin `exiter` function `exit`: exited with code 3 (proc_exit)"
    );
    probe(&p, 0, 0);
}

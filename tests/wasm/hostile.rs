//! Hostile modules: each is stopped with a clear message, and the plugin (and runtime)
//! serve a good call afterwards.

use std::time::{Duration, Instant};

use sluice::wasm::{CallError, Limits, Plugin};
use sluice_abi::Shape;

use crate::common::*;

const HOSTILE: &str = r#"
  (func (export "spin") (param i32 i32) (result i64)
    (loop $forever
      br $forever)
    i64.const 0)
  (func (export "grow_bomb") (param i32 i32) (result i64)
    (loop $more
      i32.const 16
      memory.grow
      i32.const -1
      i32.ne
      br_if $more)
    i64.const 0)
  (func $deep (export "recurse") (param i32 i32) (result i64)
    local.get 0
    i32.const 1
    i32.add
    local.get 1
    call $deep)
  (func $crash (export "crash") (param i32 i32) (result i64)
    unreachable)
  (func (export "oob_ptr") (param i32 i32) (result i64)
    i64.const 0xfff0000000000010)
  (func (export "huge_len") (param i32 i32) (result i64)
    i64.const 0x00000400fffffff0)
  (func (export "len_past_end") (param i32 i32) (result i64)
    i32.const 65000
    i32.const 100000
    call $pack)
  (func (export "overlap") (param $p i32) (param $n i32) (result i64)
    local.get $p
    local.get $n
    call $pack)
"#;

fn hostile() -> (Plugin, tempfile::TempDir) {
    let garbage = b"garbage!".to_vec();
    let lying = vec![0x92, 0x93, 0x01, 0x90]; // claims 3 items, has 1
    let bad_index = output_doc(
        &[int(1)],
        &[sluice_abi::RecordError {
            index: Some(9),
            message: "x".into(),
        }],
    );
    let wat = good_module(
        &[HOSTILE],
        &[
            ("garbage", garbage),
            ("lying", lying),
            ("bad_index", bad_index),
        ],
    );
    load("hostile", &wat, test_limits())
}

/// A good call on `p` still works.
fn still_works(p: &Plugin) {
    let out = p
        .call("mirror", Shape::Transform, 1, &int(42), &ctx(1, 2))
        .expect("a good call after a failure");
    assert_eq!(out.items.len(), 1);
}

fn fail(p: &Plugin, function: &str) -> CallError {
    let err = p
        .call(function, Shape::Transform, 1, &int(1), &ctx(0, 0))
        .expect_err(function);
    let msg = err.to_string();
    eprintln!("{msg}");
    assert!(
        msg.starts_with(&format!("plugin `hostile` function `{function}`: ")),
        "{msg}"
    );
    assert_eq!((err.plugin(), err.function()), ("hostile", function));
    still_works(p);
    err
}

#[test]
fn an_infinite_loop_is_stopped_within_twice_the_deadline() {
    let limits = Limits {
        timeout: Duration::from_secs(1),
        ..test_limits()
    };
    let dir = tempdir();
    let path = write(dir.path(), "spin.wat", good_module(&[HOSTILE], &[]));
    let p = Plugin::load(&runtime(), "hostile", &path, &serde_json::json!({}), limits).unwrap();
    let start = Instant::now();
    let err = p
        .call("spin", Shape::Transform, 1, &int(1), &ctx(0, 0))
        .unwrap_err();
    let took = start.elapsed();
    assert!(matches!(err, CallError::Deadline { .. }), "{err}");
    assert!(
        err.to_string().ends_with("deadline of 1s exceeded"),
        "{err}"
    );
    assert!(took >= Duration::from_secs(1), "stopped early: {took:?}");
    assert!(took < Duration::from_secs(2), "stopped late: {took:?}");
    still_works(&p);
}

#[test]
fn a_memory_grow_bomb_hits_the_memory_limit() {
    let (p, _dir) = hostile();
    let err = fail(&p, "grow_bomb");
    assert!(
        matches!(err, CallError::MemoryLimit { limit, .. } if limit == 16 << 20),
        "{err}"
    );
    assert!(
        err.to_string().contains("memory limit of 16 MiB exceeded"),
        "{err}"
    );
}

#[test]
fn unbounded_recursion_is_a_stack_overflow_trap() {
    let (p, _dir) = hostile();
    let err = fail(&p, "recurse");
    assert!(matches!(err, CallError::Trap { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("call stack exhausted (wasm backtrace: deep x"),
        "{err}"
    );
}

#[test]
fn unreachable_is_a_trap_with_a_backtrace() {
    let (p, _dir) = hostile();
    let err = fail(&p, "crash");
    assert!(matches!(err, CallError::Trap { .. }), "{err}");
    let msg = err.to_string();
    assert!(
        msg.ends_with("trapped: wasm `unreachable` instruction executed (wasm backtrace: crash)"),
        "{msg}"
    );
}

#[test]
fn result_buffers_outside_memory_are_refused() {
    let (p, _dir) = hostile();
    for f in ["oob_ptr", "len_past_end"] {
        let err = fail(&p, f);
        assert!(matches!(err, CallError::BadOutput { .. }), "{err}");
        assert!(
            err.to_string().contains("outside the instance's memory"),
            "{err}"
        );
    }
}

#[test]
fn a_huge_result_length_hits_the_output_cap() {
    let (p, _dir) = hostile();
    let err = fail(&p, "huge_len");
    assert!(matches!(err, CallError::BadOutput { .. }), "{err}");
    assert!(
        err.to_string().contains("exceeds the cap of 1 MiB"),
        "{err}"
    );
}

#[test]
fn garbage_and_lying_documents_are_bad_output() {
    let (p, _dir) = hostile();
    for f in ["garbage", "lying"] {
        let err = fail(&p, f);
        assert!(matches!(err, CallError::BadOutput { .. }), "{err}");
        assert!(
            err.to_string()
                .contains("not a valid [items, errors] document"),
            "{err}"
        );
    }
    let err = fail(&p, "bad_index");
    assert!(
        err.to_string()
            .contains("output has an error for input item 9 but there are 1 items"),
        "{err}"
    );
}

#[test]
fn an_output_overlapping_the_input_is_refused() {
    let (p, _dir) = hostile();
    let err = fail(&p, "overlap");
    assert!(
        err.to_string().contains("overlaps the input buffer"),
        "{err}"
    );
}

#[test]
fn fuel_limits_stop_loops_deterministically() {
    let limits = Limits {
        fuel: Some(100_000),
        timeout: Duration::from_secs(30),
        ..test_limits()
    };
    let dir = tempdir();
    let path = write(dir.path(), "fuel.wat", good_module(&[HOSTILE], &[]));
    let p = Plugin::load(
        &runtime(),
        "hostile",
        &path,
        &serde_json::json!(null),
        limits,
    )
    .unwrap();
    let start = Instant::now();
    let err = fail(&p, "spin");
    assert!(
        matches!(err, CallError::OutOfFuel { fuel: 100_000, .. }),
        "{err}"
    );
    assert!(
        err.to_string().ends_with("fuel limit of 100000 exhausted"),
        "{err}"
    );
    assert!(start.elapsed() < Duration::from_secs(5));
}

/// Allocators that lie.
#[test]
fn a_bad_allocator_fails_the_call() {
    for (body, expect) in [
        ("i32.const 0", "returned 0 (null)"),
        (
            "i32.const 0x7ffffff0",
            "not a buffer inside the instance's memory",
        ),
        ("unreachable", "unreachable"),
    ] {
        let wat = format!(
            r#"(module
                (memory (export "memory") 1)
                (func (export "sluice_abi_version") (result i32) i32.const 1)
                (func (export "sluice_alloc") (param i32) (result i32) {body})
                (func (export "sluice_free") (param i32 i32))
                (func (export "f") (param i32 i32) (result i64) i64.const 0))"#
        );
        let (p, _dir) = load("hostile", &wat, test_limits());
        let err = p
            .call("f", Shape::Transform, 0, &[], &ctx(0, 0))
            .unwrap_err();
        assert!(err.to_string().contains(expect), "{body}: {err}");
        assert_eq!(err.function(), "f");
    }
}

#[test]
fn a_trap_in_one_plugin_does_not_disturb_another() {
    let (bad, _d1) = hostile();
    let (good, _d2) = load("good", &good_module(&[], &[]), test_limits());
    let t = std::thread::spawn(move || bad.call("spin", Shape::Transform, 0, &[], &ctx(0, 0)));
    for _ in 0..20 {
        good.call("mirror", Shape::Transform, 1, &int(1), &ctx(0, 0))
            .unwrap();
    }
    assert!(t.join().unwrap().is_err());
}

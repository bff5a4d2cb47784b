//! Modules that are not valid plugins are refused at load, naming the file and problem.

use sluice::wasm::{Plugin, PluginError};

use crate::common::*;

/// Loads `contents` from a file and returns the error text, which must name the file.
fn refuse(contents: impl AsRef<[u8]>) -> (PluginError, String) {
    let dir = tempdir();
    let path = write(dir.path(), "bad.wasm", contents);
    let err = Plugin::load(
        &runtime(),
        "bad",
        &path,
        &serde_json::json!({"k": 1}),
        test_limits(),
    )
    .expect_err("a bad module must be refused");
    let msg = err.to_string();
    assert!(msg.starts_with(&path.display().to_string()), "{msg}");
    (err, msg)
}

/// A module without the standard parts, from raw WAT fields.
fn bare(fields: &str) -> String {
    format!("(module {fields})")
}

const MEM: &str = r#"(memory (export "memory") 1)"#;
const VER: &str = r#"(func (export "sluice_abi_version") (result i32) i32.const 1)"#;
const ALLOC: &str = r#"(func (export "sluice_alloc") (param i32) (result i32) i32.const 8)"#;
const FREE: &str = r#"(func (export "sluice_free") (param i32 i32))"#;

#[test]
fn not_wasm_and_corrupt_files() {
    let (_, msg) = refuse("hello, I am a text file");
    assert!(msg.contains("not a WebAssembly module"), "{msg}");
    let (_, msg) = refuse(b"\0asm\x01\0\0\0\x99garbage");
    assert!(msg.contains("not a valid WebAssembly module"), "{msg}");
    let (_, msg) = refuse("(module (func $oops (i32.bogus)))");
    assert!(msg.contains("not a valid WebAssembly module"), "{msg}");
}

#[test]
fn a_missing_file_is_an_io_error() {
    let err = Plugin::load(
        &runtime(),
        "x",
        "/nonexistent/plugin.wasm".as_ref(),
        &serde_json::Value::Null,
        test_limits(),
    )
    .unwrap_err();
    assert!(matches!(err, PluginError::Io { .. }));
    assert!(err
        .to_string()
        .starts_with("/nonexistent/plugin.wasm: cannot read"));
}

#[test]
fn missing_exports_are_named() {
    for (fields, missing) in [
        (vec![VER, ALLOC, FREE], "does not export `memory`"),
        (
            vec![MEM, ALLOC, FREE],
            "does not export `sluice_abi_version` (() -> i32)",
        ),
        (
            vec![MEM, VER, FREE],
            "does not export `sluice_alloc` ((i32) -> i32)",
        ),
        (
            vec![MEM, VER, ALLOC],
            "does not export `sluice_free` ((i32, i32))",
        ),
    ] {
        let (err, msg) = refuse(bare(&fields.concat()));
        assert!(matches!(err, PluginError::Invalid { .. }));
        assert!(msg.contains(missing), "{msg}");
    }
}

#[test]
fn wrong_signatures_are_named() {
    let alloc64 = r#"(func (export "sluice_alloc") (param i64) (result i32) i32.const 8)"#;
    let (_, msg) = refuse(bare(&[MEM, VER, alloc64, FREE].concat()));
    assert!(
        msg.contains("exports `sluice_alloc` with type (i64) -> i32, but the Sluice ABI requires (i32) -> i32"),
        "{msg}"
    );
    let init = r#"(func (export "sluice_init") (param i32 i32) (result i32) i32.const 0)"#;
    let (_, msg) = refuse(bare(&[MEM, VER, ALLOC, FREE, init].concat()));
    assert!(
        msg.contains("exports `sluice_init` with type (i32, i32) -> i32"),
        "{msg}"
    );
}

#[test]
fn a_wrong_abi_version_is_refused() {
    let v2 = r#"(func (export "sluice_abi_version") (result i32) i32.const 2)"#;
    let (err, msg) = refuse(bare(&[MEM, v2, ALLOC, FREE].concat()));
    assert!(matches!(err, PluginError::Invalid { .. }));
    assert!(
        msg.contains("`sluice_abi_version` returned 2; this host speaks ABI version 1"),
        "{msg}"
    );
}

#[test]
fn unknown_imports_are_named() {
    for (import, name) in [
        (r#"(import "env" "foo" (func))"#, "`env.foo`"),
        (
            r#"(import "wasi_snapshot_preview1" "path_open" (func (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))"#,
            "`wasi_snapshot_preview1.path_open`",
        ),
        (r#"(import "env" "memory" (memory 1))"#, "`env.memory`"),
    ] {
        let (_, msg) = refuse(bare(&[import, VER, ALLOC, FREE].concat()));
        assert!(
            msg.contains(&format!("imports {name}, which Sluice does not provide")),
            "{msg}"
        );
    }
    // A served import with the wrong type.
    let log = r#"(import "sluice" "log" (func (param i32)))"#;
    let (_, msg) = refuse(bare(&[log, MEM, VER, ALLOC, FREE].concat()));
    assert!(msg.contains("cannot be linked"), "{msg}");
}

#[test]
fn a_failing_init_refuses_the_plugin_with_the_guest_message() {
    let init = r#"
      (func (export "sluice_init") (param i32 i32) (result i64)
        i32.const 16
        i32.const 23
        call $emit)
      (data (i32.const 16) "\92\90\91\92\c0\b1missing `pattern`")"#;
    let (err, msg) = refuse(module(&[VERSION_1, init], &[]));
    assert!(matches!(err, PluginError::Init { .. }));
    assert!(
        msg.ends_with("plugin `bad` refused to start: `sluice_init` failed: missing `pattern`"),
        "{msg}"
    );
    let trap = r#"(func (export "sluice_init") (param i32 i32) (result i64) unreachable)"#;
    let (_, msg) = refuse(module(&[VERSION_1, trap], &[]));
    assert!(msg.contains("refused to start: trapped"), "{msg}");
}

#[test]
fn extra_exports_are_fine() {
    let extras = r#"
      (global (export "__heap_base") i32 (i32.const 4096))
      (global (export "__data_end") i32 (i32.const 2048))
      (table (export "__indirect_function_table") 1 funcref)
      (func (export "helper") (param i32) (result i32) local.get 0)"#;
    let (p, _dir) = load("extras", &good_module(&[extras], &[]), test_limits());
    assert_eq!(p.functions(), ["counters", "init_input", "mirror"]);
    let err = p
        .call("helper", sluice_abi::Shape::Transform, 0, &[], &ctx(0, 0))
        .unwrap_err();
    assert!(
        err.to_string()
            .ends_with("the export has type (i32) -> i32, not (i32, i32) -> i64, so it is not an operator function"),
        "{err}"
    );
}

#[test]
fn an_initial_memory_over_the_limit_refuses_the_plugin() {
    let big = r#"(memory (export "memory") 1000)"#; // 62.5 MiB, limit 16 MiB
    let (err, msg) = refuse(bare(&[big, VER, ALLOC, FREE].concat()));
    assert!(matches!(err, PluginError::Init { .. }), "{msg}");
    assert!(msg.contains("memory limit of 16 MiB exceeded"), "{msg}");
}

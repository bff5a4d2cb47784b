//! `sluice plugin inspect` and `sluice plugin test` through the real binary.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use sluice_abi::RecordError;

use crate::common::*;

fn sluice(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(args)
        .env("SLUICE_CACHE_DIR", "off")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run sluice");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

const SPIN: &str =
    r#"(func (export "spin") (param i32 i32) (result i64) (loop $l br $l) i64.const 0)"#;

fn cli_plugin(dir: &std::path::Path) -> String {
    // "some": ["x", 2] and an error for item 1.
    let some = output_doc(
        &[string("x"), int(2)],
        &[RecordError {
            index: Some(1),
            message: "bad record".into(),
        }],
    );
    let all = output_doc(&[string("ok")], &[]);
    let wat = good_module(&[SPIN], &[("some", some), ("all", all)]);
    write(dir, "demo.wat", wat).display().to_string()
}

#[test]
fn inspect_shows_version_functions_imports_and_size() {
    let dir = tempdir();
    let path = cli_plugin(dir.path());
    let out = sluice(&["plugin", "inspect", &path], "");
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(stdout.contains("abi version: 1\n"), "{stdout}");
    assert!(
        stdout.contains("functions:   all, counters, init_input, mirror, some, spin\n"),
        "{stdout}"
    );
    assert!(stdout.contains("imports:     (none)\n"), "{stdout}");
    assert!(stdout.contains("init:        sluice_init"), "{stdout}");
    let size = std::fs::metadata(&path).unwrap().len();
    assert!(
        stdout.contains(&format!("size:        {size} bytes")),
        "{stdout}"
    );
}

#[test]
fn inspect_refuses_what_is_not_a_plugin() {
    let dir = tempdir();
    let path = write(dir.path(), "notes.txt", "not wasm at all");
    let out = sluice(&["plugin", "inspect", &path.display().to_string()], "");
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.starts_with(&format!(
            "error: {}: not a WebAssembly module",
            path.display()
        )),
        "{stderr}"
    );
    let path = write(
        dir.path(),
        "nomem.wat",
        r#"(module (func (export "sluice_abi_version") (result i32) i32.const 1))"#,
    );
    let out = sluice(&["plugin", "inspect", &path.display().to_string()], "");
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("does not export `memory`"));
}

#[test]
fn test_prints_records_and_errors_with_line_numbers() {
    let dir = tempdir();
    let path = cli_plugin(dir.path());
    let input = write(dir.path(), "in.jsonl", "{\"a\": 1}\n\n[1, 2]\n\"three\"\n");
    let out = sluice(
        &[
            "plugin",
            "test",
            &path,
            "some",
            "--input",
            &input.display().to_string(),
        ],
        "",
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "\"x\"\n2\n");
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(&format!("{}:3: bad record", input.display())),
        "{stderr}"
    );
}

#[test]
fn test_reads_stdin_and_succeeds() {
    let dir = tempdir();
    let path = cli_plugin(dir.path());
    let out = sluice(
        &["plugin", "test", &path, "all", "--shape", "reduce"],
        "[\"k\", [1, 2]]\n",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "\"ok\"\n");
}

#[test]
fn test_fails_on_a_failed_call() {
    let dir = tempdir();
    let path = cli_plugin(dir.path());
    let out = sluice(
        &["plugin", "test", &path, "spin", "--timeout", "200ms"],
        "1\n",
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("plugin `demo` function `spin`: deadline of 200ms exceeded"),
        "{stderr}"
    );
    // Wrong count for a reduce is a failed call too.
    let out = sluice(
        &["plugin", "test", &path, "all", "--shape", "reduce"],
        "1\n2\n",
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("returned 1 items for 2 inputs"));
    // Bad JSON names the line.
    let out = sluice(&["plugin", "test", &path, "all"], "1\n{x\n");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("stdin:2: not valid JSON"),
        "{}",
        text(&out.stderr)
    );
}

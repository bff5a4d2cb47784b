//! Plugins written from `docs/abi.md` alone in other languages: zig-lengths (Zig,
//! wasm32-freestanding, no imports) and go-reverse (Go, wasip1 reactor with
//! `_initialize`), through the runtime and through `sluice plugin test`.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use serde_json::{json, Value};
use sluice_abi::{Ctx, Shape};

use crate::support::{call, dist, json_out, load, ok_items};

/// Records of every string length class (fixstr, str8, str16, str32) and an input long
/// enough for an array16 header.
fn strings() -> Vec<String> {
    let mut v: Vec<String> = ["", "abc", "héllo", "日本"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    for n in [31, 32, 255, 256, 65_535, 65_536, 100_000] {
        v.push("xy".repeat(n / 2) + &"z".repeat(n % 2));
    }
    v.extend((0..10).map(|i| format!("r{i}")));
    v
}

#[test]
fn zig_lengths_pairs_strings_with_their_byte_lengths() {
    let p = load("zig-lengths");
    let s = strings();
    let expected: Vec<Value> = s.iter().map(|s| json!([s, s.len()])).collect();
    let out = ok_items(&p, "lengths", Shape::Transform, json!(s));
    assert_eq!(out, Value::Array(expected));
    assert_eq!(
        ok_items(&p, "lengths", Shape::Transform, json!([])),
        json!([])
    );
}

#[test]
fn go_reverse_reverses_code_points() {
    let p = load("go-reverse");
    let s = strings();
    let expected: Vec<Value> = s
        .iter()
        .map(|s| json!(s.chars().rev().collect::<String>()))
        .collect();
    let out = ok_items(&p, "reverse", Shape::Transform, json!(s));
    assert_eq!(out, Value::Array(expected));
}

#[test]
fn both_report_non_string_records_and_go_on() {
    let input = json!(["ab", 7, null, [1, {"k": [2, 3.5]}], {"m": "x"}, true, -300, 1.5, "cd"]);
    let types = [
        (1, "an integer"),
        (2, "nil"),
        (3, "an array"),
        (4, "a map"),
        (5, "a boolean"),
        (6, "an integer"),
        (7, "a float"),
    ];
    let errors: Vec<(Option<u32>, String)> = types
        .iter()
        .map(|(i, t)| (Some(*i), format!("expected a string, found {t}")))
        .collect();
    for (name, function, items) in [
        ("zig-lengths", "lengths", json!([["ab", 2], ["cd", 2]])),
        ("go-reverse", "reverse", json!(["ba", "dc"])),
    ] {
        let out = call(&load(name), function, Shape::Transform, input.clone(), 1000).unwrap();
        assert_eq!(json_out(&out), (items, errors.clone()), "{name}");
    }
}

/// Items in non-shortest encodings (str32 and str8 for short strings, int16 for a small
/// integer, bin8, fixext 2): readers must accept every valid encoding (docs/abi.md §4).
#[test]
fn both_read_every_valid_encoding() {
    let mut items = vec![0xdb, 0, 0, 0, 2, b'a', b'b'];
    items.extend([0xd9, 1, b'c']);
    items.extend([0xd1, 0, 1]);
    items.extend([0xc4, 2, 9, 9]);
    items.extend([0xd5, 1, 0, 0]);
    let ctx = Ctx::new(1000, 0);
    for (name, function, expected) in [
        ("zig-lengths", "lengths", json!([["ab", 2], ["c", 1]])),
        ("go-reverse", "reverse", json!(["ba", "c"])),
    ] {
        let out = load(name)
            .call(function, Shape::Transform, 5, &items, &ctx)
            .unwrap();
        let errors = vec![
            (Some(2), "expected a string, found an integer".into()),
            (Some(3), "expected a string, found binary".into()),
            (Some(4), "expected a string, found an extension".into()),
        ];
        assert_eq!(json_out(&out), (expected, errors), "{name}");
    }
}

/// Go's runtime only works once `_initialize` has run (it traps otherwise); `inits`
/// reports how many times the module's `init()` ran in the instance serving the call.
#[test]
fn go_initialize_runs_once_per_instance() {
    let p = load("go-reverse");
    for _ in 0..3 {
        assert_eq!(
            ok_items(&p, "inits", Shape::Transform, json!([])),
            json!([1])
        );
    }
}

fn sluice(args: &[&str], stdin: &str) -> Output {
    let cache = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("guest-module-cache");
    let mut child = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(args)
        .env("SLUICE_CACHE_DIR", cache)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run sluice");
    let mut stdin_pipe = child.stdin.take().unwrap();
    stdin_pipe.write_all(stdin.as_bytes()).unwrap();
    drop(stdin_pipe);
    child.wait_with_output().unwrap()
}

#[test]
fn cli_plugin_test_runs_both() {
    let input = "\"abc\"\n7\n\"h\\u00e9llo\"\n[1,{\"a\":2}]\n\"\"\n";
    for (name, function, stdout) in [
        (
            "zig-lengths",
            "lengths",
            "[\"abc\",3]\n[\"héllo\",6]\n[\"\",0]\n",
        ),
        ("go-reverse", "reverse", "\"cba\"\n\"olléh\"\n\"\"\n"),
    ] {
        let path = dist().join(format!("{name}.wasm"));
        let out = sluice(&["plugin", "test", path.to_str().unwrap(), function], input);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{name}: {stderr}");
        assert_eq!(String::from_utf8_lossy(&out.stdout), stdout, "{name}");
        assert!(
            stderr.contains("stdin:2: expected a string, found an integer\n")
                && stderr.contains("stdin:4: expected a string, found an array\n"),
            "{name}: {stderr}"
        );
    }
    let path = dist().join("go-reverse.wasm");
    let out = sluice(&["plugin", "test", path.to_str().unwrap(), "inits"], "");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "1\n");
}

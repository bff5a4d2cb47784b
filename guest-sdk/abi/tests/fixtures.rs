//! Golden fixtures of docs/abi.md: every document in `docs/abi/fixtures/` as MessagePack
//! (`<name>.msgpack`) and JSON (`<name>.json`). This test checks that each pair encodes
//! the same document both ways and parses as an input or output document. Run it with
//! `SLUICE_BLESS=1` to (re)write the files from the definitions below.

use std::path::PathBuf;

use serde_json::Value;
use sluice_abi::doc;
use sluice_abi::msgpack::{self, Reader};

const CTX: &str = r#"{"batch_time_ms": 1000, "partition": 0}"#;

/// `(name, document as JSON)`. Inputs end in `_input`, outputs in `_output`; each output
/// is what the function named in docs/abi/fixtures/README.md returns for the input.
fn definitions() -> Vec<(&'static str, String)> {
    let with_ctx = |items: &str| format!("[{items}, {CTX}]");
    vec![
        ("transform_input", with_ctx(r#"["the cat", "sat"]"#)),
        (
            "transform_output",
            r#"[[["the", 1], ["cat", 1], ["sat", 1]], []]"#.into(),
        ),
        ("transform_errors_input", with_ctx(r#"["a", 5, "b"]"#)),
        (
            "transform_errors_output",
            r#"[["A", "B"], [[1, "expected String: invalid type: integer `5`, expected a string"]]]"#
                .into(),
        ),
        (
            "call_error_output",
            r#"[[], [[null, "params: expected Params: missing field `where`"]]]"#.into(),
        ),
        (
            "reduce_input",
            with_ctx(r#"[["a", [1, 2, 3]], ["b", [4]], [["c", 1], [5, "x"]]]"#),
        ),
        (
            "reduce_output",
            r#"[[6, 4, null], [[2, "value 1: expected i64: found a string"]]]"#
                .into(),
        ),
        ("fold_input", with_ctx(r#"[["k", ["1", 2, 3]], ["j", ["x"]]]"#)),
        ("fold_output", r#"[["123", "x"], []]"#.into()),
        ("inverse_reduce_input", with_ctx(r#"[["a", 10, 3], ["b", 4, 4]]"#)),
        ("inverse_reduce_output", r#"[[7, 0], []]"#.into()),
        (
            "update_state_input",
            with_ctx(r#"[["a", [1, 2], [], false], ["b", [], [5], false], ["c", [10], [4], false]]"#),
        ),
        (
            "update_state_output",
            r#"[[[[3], []], [[5], []], [[], []]], []]"#.into(),
        ),
        (
            "map_with_state_input",
            with_ctx(r#"[["a", [1, 2], [10], false], ["b", [], [4], true]]"#),
        ),
        (
            "map_with_state_output",
            r#"[[[[13], [["a", 11], ["a", 13]]], [[], [["b", 4]]]], []]"#.into(),
        ),
        (
            "transform_with_input",
            with_ctx(r#"[[["a", 1], ["b", 2]], [["a", "x"], ["c", "y"]]]"#),
        ),
        ("transform_with_output", r#"[[["a", [1, "x"]]], []]"#.into()),
        (
            "init_input",
            r#"[[{"fields": ["ts", "msg"], "where": {"equals": "error", "field": "level"}}], {"batch_time_ms": 0, "partition": 0}]"#
                .into(),
        ),
        ("init_output", r#"[[], []]"#.into()),
        (
            "extended_input",
            r#"[["x"], {"batch_time_ms": 1000, "partition": 2, "zz_future": true}, "a later element"]"#
                .into(),
        ),
        ("extended_output", r#"[["x"], [], "a later element"]"#.into()),
        (
            "combine_input",
            r#"[["the cat sat", "the cat", "cat"], {"batch_time_ms": 1000, "combine": "sum", "partition": 0}]"#
                .into(),
        ),
        (
            "combine_output",
            r#"[[["the", 2], ["cat", 3], ["sat", 1]], []]"#.into(),
        ),
    ]
}

fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/abi/fixtures")
}

/// JSON to MessagePack: integers canonical, map keys in the JSON text's (sorted) order.
fn encode(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Null => msgpack::write_nil(out),
        Value::Bool(b) => msgpack::write_bool(out, *b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => msgpack::write_int(out, i),
            None => msgpack::write_f64(out, n.as_f64().expect("a finite number")),
        },
        Value::String(s) => msgpack::write_str(out, s),
        Value::Array(items) => {
            msgpack::write_array_len(out, items.len() as u32);
            items.iter().for_each(|i| encode(i, out));
        }
        Value::Object(map) => {
            msgpack::write_map_len(out, map.len() as u32);
            for (k, v) in map {
                msgpack::write_str(out, k);
                encode(v, out);
            }
        }
    }
}

/// MessagePack to JSON, for the subset the fixtures use.
fn decode(r: &mut Reader<'_>) -> Value {
    let m = r.peek().unwrap();
    match m {
        0xc0 => {
            r.nil().unwrap();
            Value::Null
        }
        0xc2 | 0xc3 => Value::Bool(r.bool().unwrap()),
        0xca | 0xcb => serde_json::json!(r.float().unwrap()),
        0x90..=0x9f | 0xdc | 0xdd => {
            let n = r.array_len().unwrap();
            Value::Array((0..n).map(|_| decode(r)).collect())
        }
        0x80..=0x8f | 0xde | 0xdf => {
            let n = r.map_len().unwrap();
            let mut map = serde_json::Map::new();
            for _ in 0..n {
                let k = r.str().unwrap().to_owned();
                map.insert(k, decode(r));
            }
            Value::Object(map)
        }
        0xa0..=0xbf | 0xd9..=0xdb => Value::String(r.str().unwrap().to_owned()),
        _ => Value::from(r.int().unwrap()),
    }
}

#[test]
fn fixtures_round_trip_and_parse() {
    let dir = fixtures_dir();
    let bless = std::env::var_os("SLUICE_BLESS").is_some_and(|v| v == "1");
    let defs = definitions();
    assert!(defs.len() >= 20, "at least 10 input/output pairs");
    for (name, json_text) in &defs {
        let value: Value = serde_json::from_str(json_text)
            .unwrap_or_else(|e| panic!("definition {name} is not JSON: {e}"));
        let mut bytes = Vec::new();
        encode(&value, &mut bytes);
        let json_path = dir.join(format!("{name}.json"));
        let mp_path = dir.join(format!("{name}.msgpack"));
        if bless {
            std::fs::create_dir_all(&dir).unwrap();
            let pretty = serde_json::to_string(&value).unwrap() + "\n";
            std::fs::write(&json_path, pretty).unwrap();
            std::fs::write(&mp_path, &bytes).unwrap();
        }
        let on_disk_json: Value =
            serde_json::from_slice(&std::fs::read(&json_path).unwrap_or_else(|e| {
                panic!("{}: {e} (run with SLUICE_BLESS=1)", json_path.display())
            }))
            .unwrap();
        let on_disk_mp = std::fs::read(&mp_path).unwrap();
        assert_eq!(
            on_disk_json, value,
            "{name}.json differs from its definition"
        );
        assert_eq!(
            on_disk_mp, bytes,
            "{name}.msgpack is not the encoding of {name}.json"
        );
        let mut r = Reader::new(&on_disk_mp);
        assert_eq!(
            decode(&mut r),
            on_disk_json,
            "{name}.msgpack decodes to another document"
        );
        r.finish().unwrap();
        if name.ends_with("_input") {
            let view = doc::read_input(&on_disk_mp).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(view.items().count() as u32, view.items.count);
        } else {
            doc::read_output(&on_disk_mp).unwrap_or_else(|e| panic!("{name}: {e}"));
        }
    }
    // No stale files: every fixture on disk has a definition.
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let (Some(stem), Some(ext)) = (path.file_stem(), path.extension()) else {
            continue;
        };
        if ext == "json" || ext == "msgpack" {
            let stem = stem.to_string_lossy();
            assert!(
                defs.iter().any(|(n, _)| *n == stem),
                "{} has no definition in guest-sdk/abi/tests/fixtures.rs",
                path.display()
            );
        }
    }
}

#[test]
fn the_combine_hint_is_read_from_its_fixture() {
    let bytes = std::fs::read(fixtures_dir().join("combine_input.msgpack")).unwrap();
    let view = doc::read_input(&bytes).unwrap();
    assert_eq!(view.ctx.combine, Some(sluice_abi::Combine::Sum));
    // Written by the host's writer, the context is byte for byte the fixture's.
    let mut ctx = Vec::new();
    view.ctx.write(&mut ctx);
    assert!(bytes.ends_with(&ctx), "{ctx:02x?}");
}

#[test]
fn extended_documents_keep_their_meaning() {
    let bytes = std::fs::read(fixtures_dir().join("extended_input.msgpack")).unwrap();
    let view = doc::read_input(&bytes).unwrap();
    assert_eq!(view.ctx.partition, 2);
    assert_eq!(view.items.count, 1);
    let bytes = std::fs::read(fixtures_dir().join("extended_output.msgpack")).unwrap();
    let view = doc::read_output(&bytes).unwrap();
    assert_eq!(view.items.count, 1);
    assert!(view.errors.is_empty());
}

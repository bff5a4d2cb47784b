//! The SDK against the golden fixtures of docs/abi.md: each `<shape>_input.msgpack` run
//! through the function docs/abi/fixtures/README.md names gives `<shape>_output.msgpack`,
//! byte for byte.

use std::path::PathBuf;

use serde::Deserialize;
use sluice_plugin::{run, State, Value};

fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../docs/abi/fixtures")
        .join(format!("{name}.msgpack"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn check(shape: &str, run: impl FnOnce(&[u8]) -> Vec<u8>) {
    let out = run(&fixture(&format!("{shape}_input")));
    let expected = fixture(&format!("{shape}_output"));
    assert_eq!(
        out, expected,
        "{shape}: output differs from the fixture\n got {:02x?}\nwant {:02x?}",
        out, expected
    );
}

#[test]
fn transform() {
    check("transform", |input| {
        run::flat_map(input, |line: String| {
            Ok(line
                .split_whitespace()
                .map(|w| (w.to_owned(), 1i64))
                .collect::<Vec<_>>())
        })
    });
    check("transform_errors", |input| {
        run::map(input, |s: String| Ok(s.to_uppercase()))
    });
}

#[test]
fn combine_hint() {
    // The same split as `transform`; the SDK merges the pairs per key (the hint is sum).
    check("combine", |input| {
        run::flat_map(input, |line: String| {
            Ok(line
                .split_whitespace()
                .map(|w| (w.to_owned(), 1i64))
                .collect::<Vec<_>>())
        })
    });
    // The raw fast path of the words plugin is merged the same way.
    check("combine", |input| {
        run::raw(input, |_, record, out| {
            let line: String = sluice_plugin::decode(record)?;
            for w in line.split_whitespace() {
                out.push(&(w, 1))?;
            }
            Ok(())
        })
    });
}

#[test]
fn extended_input_is_read_as_v1() {
    // A later minor version's input (extra ctx key, trailing element) reads as v1.
    let out = run::map(&fixture("extended_input"), |s: String| {
        assert_eq!(sluice_plugin::ctx().partition, 2);
        Ok(s)
    });
    assert_eq!(out, [0x92, 0x91, 0xa1, b'x', 0x90]);
}

#[test]
fn call_error() {
    #[derive(Deserialize)]
    #[allow(dead_code, reason = "only decoded")]
    struct Params {
        r#where: Value,
    }
    let mut input = Vec::new();
    sluice_plugin::abi::doc::write_input(&mut input, 1, &[0x80], &Default::default());
    let out = run::init(&input, |_: Params| Ok(()));
    assert_eq!(out, fixture("call_error_output"));
}

#[test]
fn init() {
    check("init", |input| run::init(input, |_: Value| Ok(())));
}

#[test]
fn reduce_and_fold() {
    check("reduce", |input| {
        run::fold(input, |a: i64, b: i64| Ok(a + b))
    });
    check("fold", |input| {
        run::fold(input, |c: String, v: Value| {
            Ok(match v {
                Value::String(s) => c + s.as_str().unwrap_or(""),
                other => format!("{c}{other}"),
            })
        })
    });
    check("inverse_reduce", |input| {
        run::inverse(input, |a: i64, r: i64| Ok(a - r))
    });
}

#[test]
fn update_state() {
    // update_sum_drop_above_12.
    check("update_state", |input| {
        run::update_state(input, |_: Value, vs: Vec<i64>, s: Option<i64>| {
            let sum = vs.iter().sum::<i64>() + s.unwrap_or(0);
            Ok((sum <= 12).then_some(sum))
        })
    });
    // mws_running_sum_emit_key_sum; on timeout, emit [key, state].
    check("map_with_state", |input| {
        run::map_with_state(input, |k: &Value, v: Option<i64>, st: &mut State<i64>| {
            let prev = st.get().copied().unwrap_or(0);
            if st.is_timing_out() {
                return Ok(Some((k.clone(), prev)));
            }
            let s = v.unwrap_or(0) + prev;
            st.update(s);
            Ok(Some((k.clone(), s)))
        })
    });
}

#[test]
fn transform_with() {
    check("transform_with", |input| {
        run::transform_with(input, |rdds: Vec<Vec<(Value, Value)>>| {
            let mut joined = Vec::new();
            for (k1, v1) in &rdds[0] {
                for (k2, v2) in &rdds[1] {
                    if k1 == k2 {
                        joined.push((k1.clone(), (v1.clone(), v2.clone())));
                    }
                }
            }
            Ok(joined)
        })
    });
}

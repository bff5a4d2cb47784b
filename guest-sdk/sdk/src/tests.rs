//! Native tests of the shape runtimes: documents in, documents out.

use serde::Deserialize;
use sluice_abi::{doc, Ctx};

use crate::{run, State, Value};

fn v(json: &str) -> Value {
    let j: serde_json::Value = serde_json::from_str(json).unwrap();
    to_value(&j)
}

fn to_value(j: &serde_json::Value) -> Value {
    match j {
        serde_json::Value::Null => Value::Nil,
        serde_json::Value::Bool(b) => Value::from(*b),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => Value::from(i),
            None => Value::from(n.as_f64().unwrap()),
        },
        serde_json::Value::String(s) => Value::from(s.as_str()),
        serde_json::Value::Array(a) => Value::Array(a.iter().map(to_value).collect()),
        serde_json::Value::Object(m) => Value::Map(
            m.iter()
                .map(|(k, x)| (Value::from(k.as_str()), to_value(x)))
                .collect(),
        ),
    }
}

/// An input document from a JSON array of items.
fn input(items: &str) -> Vec<u8> {
    input_at(items, 0)
}

fn input_at(items: &str, batch_time_ms: i64) -> Vec<u8> {
    let Value::Array(items) = v(items) else {
        panic!("items must be an array")
    };
    let mut bytes = Vec::new();
    for item in &items {
        rmpv::encode::write_value(&mut bytes, item).unwrap();
    }
    let mut buf = Vec::new();
    let ctx = Ctx::new(batch_time_ms, 3);
    doc::write_input(&mut buf, items.len() as u32, &bytes, &ctx);
    buf
}

/// The items of an output document as a JSON-like value, and its errors.
fn output(buf: &[u8]) -> (Value, Vec<(Option<u32>, String)>) {
    let view = doc::read_output(buf).unwrap();
    let items = view
        .items
        .iter()
        .map(|i| rmpv::decode::read_value(&mut &i.unwrap()[..]).unwrap())
        .collect();
    let errors = view
        .errors
        .into_iter()
        .map(|e| (e.index, e.message))
        .collect();
    (Value::Array(items), errors)
}

#[test]
fn map_decodes_encodes_and_reports_bad_records() {
    let out = run::map(&input(r#"["a", 5, "bc"]"#), |s: String| Ok(s.len() as i64));
    let (items, errors) = output(&out);
    assert_eq!(items, v("[1, 2]"));
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].0, Some(1));
    assert!(
        errors[0].1.starts_with("expected String"),
        "{}",
        errors[0].1
    );
}

#[test]
fn errors_from_the_function_are_per_record() {
    let out = run::map(&input("[1, -1, 2]"), |x: i64| {
        if x < 0 {
            Err(format!("negative: {x}"))
        } else {
            Ok(x * 10)
        }
    });
    assert_eq!(
        output(&out),
        (v("[10, 20]"), vec![(Some(1), "negative: -1".into())])
    );
}

#[test]
fn filter_keeps_original_bytes() {
    // 1 encoded non-canonically (0xd0 0x01) survives unchanged.
    let mut items = vec![0xd0, 0x01];
    sluice_abi::msgpack::write_int(&mut items, 2);
    let mut buf = Vec::new();
    doc::write_input(&mut buf, 2, &items, &Ctx::default());
    let out = run::filter(&buf, |x: &i64| Ok(*x == 1));
    let view = doc::read_output(&out).unwrap();
    assert_eq!(view.items.bytes, &[0xd0, 0x01]);
}

#[test]
fn flat_map_and_pairs() {
    let out = run::flat_map(&input(r#"["a b", ""]"#), |s: String| {
        Ok(s.split_whitespace()
            .map(|w| (w.to_owned(), 1i64))
            .collect::<Vec<_>>())
    });
    assert_eq!(output(&out).0, v(r#"[["a", 1], ["b", 1]]"#));
}

#[test]
fn map_values_keeps_keys_and_rejects_non_pairs() {
    let out = run::map_values(&input(r#"[["k", 1], [[1, 2], 5], "x"]"#), |x: i64| {
        Ok(x + 10)
    });
    let (items, errors) = output(&out);
    assert_eq!(items, v(r#"[["k", 11], [[1, 2], 15]]"#));
    assert_eq!(errors[0].0, Some(2));
    assert!(errors[0].1.contains("expected a pair"), "{}", errors[0].1);

    let out = run::flat_map_values(&input(r#"[["k", 1]]"#), |x: i64| Ok([x, x + 10]));
    assert_eq!(output(&out).0, v(r#"[["k", 1], ["k", 11]]"#));
}

#[test]
fn map_partitions_and_transform_with() {
    let out = run::map_partitions(&input("[1, 2, 3]"), |xs: Vec<i64>| {
        Ok(Some(xs.iter().sum::<i64>()))
    });
    assert_eq!(output(&out).0, v("[6]"));

    let out = run::transform_with(&input(r#"[[1, 2], [3, "x"]]"#), |xs: Vec<Vec<i64>>| {
        Ok(xs.into_iter().map(|x| x.len() as i64).collect::<Vec<_>>())
    });
    let (items, errors) = output(&out);
    assert_eq!(items, v("[2, 1]"));
    assert_eq!(errors[0].0, Some(1));
    assert!(errors[0].1.starts_with("input 1, record 1: expected i64"));

    let out = run::map_partitions(&input("[1]"), |_: Vec<i64>| {
        Err::<Vec<i64>, _>("no".to_string())
    });
    assert_eq!(output(&out), (v("[]"), vec![(None, "no".into())]));
}

#[test]
fn reduce_folds_groups_with_placeholders_for_failures() {
    let out = run::fold(
        &input(r#"[["a", [1, 2, 3]], ["b", [1, "x"]], ["c", [4]], ["d", []]]"#),
        |a: i64, b: i64| Ok(a + b),
    );
    let (items, errors) = output(&out);
    assert_eq!(items, v("[6, null, 4, null]"));
    assert_eq!(errors[0].0, Some(1));
    assert!(
        errors[0].1.starts_with("value 1: expected i64"),
        "{}",
        errors[0].1
    );
    assert_eq!(errors[1].0, Some(3));

    // A fold whose accumulator differs from the values (combine_by_key's merge_value).
    let out = run::fold(&input(r#"[["k", ["1", 2, 3]]]"#), |c: String, v: i64| {
        Ok(format!("{c}{v}"))
    });
    assert_eq!(output(&out).0, v(r#"["123"]"#));
}

#[test]
fn inverse_reduce() {
    let out = run::inverse(
        &input(r#"[["a", 10, 3], ["b", 1, 1]]"#),
        |a: i64, r: i64| Ok(a - r),
    );
    assert_eq!(output(&out).0, v("[7, 0]"));
}

#[test]
fn update_state_sets_and_removes() {
    let doc = input_at(
        r#"[["a", [1, 2], [], false], ["b", [], [5], false], ["c", [], [1], false]]"#,
        7000,
    );
    let out = run::update_state(&doc, |k: String, vs: Vec<i64>, s: Option<i64>| {
        assert_eq!(crate::ctx().batch_time_ms, 7000);
        if k == "c" {
            return Ok(None);
        }
        Ok(Some(vs.iter().sum::<i64>() + s.unwrap_or(0)))
    });
    assert_eq!(output(&out).0, v("[[[3], []], [[5], []], [[], []]]"));
}

#[test]
fn map_with_state_runs_once_per_value_and_on_timeout() {
    #[allow(
        clippy::ptr_arg,
        reason = "the key type is String, as map_with_state passes &K"
    )]
    fn running_sum(key: &String, value: Option<i64>, state: &mut State<i64>) -> Option<Value> {
        if state.is_timing_out() {
            return Some(Value::from(key.as_str()));
        }
        let s = value.unwrap_or(0) + state.get().copied().unwrap_or(0);
        state.update(s);
        Some(Value::from(s))
    }
    let doc = input(r#"[["a", [1, 2, 3], [10], false], ["b", [], [4], true]]"#);
    let out = run::map_with_state(&doc, |k, v, s| Ok(running_sum(k, v, s)));
    assert_eq!(output(&out).0, v(r#"[[[16], [11, 13, 16]], [[], ["b"]]]"#));

    // Updating a timing-out state is a per-entry error; the entry gets the placeholder.
    let out = run::map_with_state(&doc, |_: &String, _: Option<i64>, s: &mut State<i64>| {
        s.update(1);
        Ok(None::<i64>)
    });
    let (items, errors) = output(&out);
    assert_eq!(items, v("[[[1], []], null]"));
    assert_eq!(
        errors,
        vec![(Some(1), "cannot update a state that is timing out".into())]
    );
}

#[test]
fn init_decodes_params_or_fails_the_call() {
    #[derive(Deserialize)]
    struct Params {
        n: i64,
    }
    let out = run::init(&input(r#"[{"n": 3}]"#), |p: Params| {
        assert_eq!(p.n, 3);
        Ok(())
    });
    assert_eq!(output(&out), (v("[]"), vec![]));
    let out = run::init(&input(r#"[{"m": 3}]"#), |_: Params| Ok(()));
    let (_, errors) = output(&out);
    assert_eq!(errors[0].0, None);
    assert!(
        errors[0].1.starts_with("params: expected Params"),
        "{}",
        errors[0].1
    );
}

#[test]
fn malformed_input_fails_the_whole_call() {
    let out = run::map(b"\x92\x93\x01", |x: i64| Ok(x));
    let (_, errors) = output(&out);
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].0, None);
    assert!(errors[0].1.starts_with("malformed input document"));
    for bad in [
        &[0x91, 0x90][..],
        &[0x92, 0x90, 0x80, 0x01],
        &[0x92, 0x91, 0x90, 0x05],
    ] {
        let (_, errors) = output(&run::map(bad, |x: i64| Ok(x)));
        assert_eq!(errors[0].0, None, "{bad:02x?}");
    }
}

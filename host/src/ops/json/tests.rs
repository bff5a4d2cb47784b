//! Unit tests of the built-in record operations: each op on good records, its per-record
//! errors under each policy, its settings errors, and a fused chain.

use serde_json::{json, Value};

use super::config::{FilterConfig, KeyByConfig, SelectConfig};
use super::filter::{self, Form};
use super::key_by::KeyBy;
use super::select::Select;
use super::{JsonStep, SettingError};
use crate::ops::narrow::{NarrowChain, NarrowStep};
use crate::ops::testutil::Harness;
use crate::ops::ErrorPolicy;
use crate::record::{json_to_msgpack, msgpack_to_json, Partition};

fn partition(records: &Value) -> Partition {
    let mut p = Partition::new();
    for r in records.as_array().unwrap() {
        p.push_with(|b| json_to_msgpack(r, b));
    }
    p
}

fn records(p: &Partition) -> Vec<Value> {
    p.iter().map(|r| msgpack_to_json(r).unwrap()).collect()
}

/// Runs `step` under `skip`: the output and the reasons of the rejected records.
fn run(step: &JsonStep, input: Value) -> (Vec<Value>, Vec<String>) {
    let mut h = Harness::new(1000);
    h.policy = ErrorPolicy::Skip;
    let out = step.run(&partition(&input), &h.cx(1000)).unwrap();
    let rejected = h.rejected.into_inner().unwrap();
    (
        records(&out),
        rejected.into_iter().map(|d| d.reason).collect(),
    )
}

fn key_by(text: &str) -> Result<JsonStep, SettingError> {
    let c: KeyByConfig = toml::from_str(text).unwrap();
    KeyBy::from_config(&c).map(JsonStep::KeyBy)
}

fn select(text: &str) -> Result<JsonStep, SettingError> {
    let c: SelectConfig = toml::from_str(text).unwrap();
    Select::from_config(&c).map(JsonStep::Select)
}

fn filter(text: &str) -> Result<JsonStep, SettingError> {
    let c: FilterConfig = toml::from_str(text).unwrap();
    match filter::form(&c)? {
        Form::Field(f) => Ok(JsonStep::Filter(f)),
        Form::Plugin(f) => panic!("plugin form {f}"),
    }
}

fn events() -> Value {
    json!([
        {"user": "alice", "amount": 5, "geo": {"country": "fr"}},
        {"user": "bob", "amount": 2.5, "geo": {"country": "de"}},
        {"usr": "carol", "amount": 7},
        "not a map",
    ])
}

#[test]
fn key_by_takes_keys_and_values_from_fields_and_pointers() {
    let (out, errs) = run(&key_by(r#"key = "user""#).unwrap(), events());
    assert_eq!(
        out[0],
        json!(["alice", {"user": "alice", "amount": 5, "geo": {"country": "fr"}}])
    );
    assert_eq!(out.len(), 2);
    assert_eq!(
        errs,
        [
            "`key_by`: field `user` is missing",
            "`key_by`: no field `user`: the record is not a map (found a string)",
        ]
    );
    let step = key_by(
        r#"key = ["user", "/geo/country"]
value = "amount""#,
    )
    .unwrap();
    let (out, errs) = run(&step, events());
    assert_eq!(
        out,
        [json!([["alice", "fr"], 5]), json!([["bob", "de"], 2.5])]
    );
    assert_eq!(errs[0], "`key_by`: field `user` is missing");
    let (_, errs) = run(&key_by(r#"key = "/geo/country""#).unwrap(), events());
    assert_eq!(errs[0], "`key_by`: field `/geo/country` is missing");
}

#[test]
fn key_by_settings_errors_name_the_setting() {
    let e = key_by("key = 3").unwrap_err();
    assert_eq!(e.field, "key");
    assert_eq!(
        e.message,
        r#"`key` must be a field ("user", "/user/id") or a non-empty array of fields"#
    );
    assert_eq!(key_by("key = []").unwrap_err().field, "key");
    let e = key_by("key = \"a\"\nvalue = [\"b\", 1]").unwrap_err();
    assert_eq!(
        (e.field, e.message.as_str()),
        ("value", "`value` lists fields, and 1 is not a string")
    );
    assert_eq!(key_by(r#"key = """#).unwrap_err().field, "key");
}

#[test]
fn select_keeps_renames_and_turns_pairs_into_maps() {
    let step = select(
        r#"fields = ["amount", "/geo/country", "user"]
rename = { user = "name" }"#,
    )
    .unwrap();
    let (out, errs) = run(&step, events());
    assert_eq!(
        out,
        [
            json!({"amount": 5, "country": "fr", "name": "alice"}),
            json!({"amount": 2.5, "country": "de", "name": "bob"}),
        ]
    );
    assert_eq!(errs[0], "`select`: field `/geo/country` is missing");
    // Output fields come in the order of `fields`, not sorted.
    let mut p = Partition::new();
    let JsonStep::Select(s) = &step else {
        unreachable!()
    };
    s.apply(partition(&events()).get(0).unwrap(), &mut p)
        .unwrap();
    assert_eq!(
        p.get(0).unwrap()[..8],
        [0x83, 0xa6, b'a', b'm', b'o', b'u', b'n', b't']
    );

    let pairs = select(
        r#"fields = ["/0", "/1"]
rename = { "/0" = "user", "/1" = "total" }"#,
    )
    .unwrap();
    let (out, _) = run(&pairs, json!([["alice", 12]]));
    assert_eq!(out, [json!({"user": "alice", "total": 12})]);
}

#[test]
fn select_rename_alone_keeps_every_field() {
    let step = select(r#"rename = { amount = "total", user = "amount" }"#).unwrap();
    let (out, errs) = run(&step, events());
    assert_eq!(
        out[0],
        json!({"amount": "alice", "total": 5, "geo": {"country": "fr"}})
    );
    assert_eq!(out.len(), 2);
    assert_eq!(
        errs,
        [
            "`select`: field `user` is missing",
            "`select`: the record is not a map (found a string)",
        ]
    );
    let clash = select(r#"rename = { usr = "amount" }"#).unwrap();
    let (_, errs) = run(&clash, json!([{"usr": "x", "amount": 1}]));
    assert_eq!(
        errs,
        ["`select`: renaming `usr` to `amount` would repeat field `amount`, which the record has"]
    );
}

#[test]
fn select_settings_errors() {
    let err = |t: &str| select(t).unwrap_err();
    assert_eq!(err("").field, "op");
    assert_eq!(err("fields = []").field, "fields");
    assert_eq!(
        err("fields = [\"a\"]\nrename = { b = \"c\" }").message,
        "rename `b`: `b` is not in `fields`"
    );
    assert_eq!(
        err("fields = [\"a\", \"/x/a\"]").message,
        "two selected fields would both be named `a`"
    );
    assert_eq!(err("rename = { \"/a/b\" = \"c\" }").field, "rename");
}

#[test]
fn filter_compares_numbers_across_kinds_and_strings_by_bytes() {
    let keep = |settings: &str, input: Value| run(&filter(settings).unwrap(), input);
    let nums = json!([{"a": 1}, {"a": 1.0}, {"a": 1.5}, {"a": 2}, {"a": -3}, {"a": u64::MAX}]);
    let (out, errs) = keep("field = \"a\"\ncmp = \">=\"\nvalue = 1.5", nums.clone());
    assert_eq!(
        out,
        [json!({"a": 1.5}), json!({"a": 2}), json!({"a": u64::MAX})]
    );
    assert!(errs.is_empty());
    let (out, _) = keep("field = \"a\"\ncmp = \"==\"\nvalue = 1", nums.clone());
    assert_eq!(out, [json!({"a": 1}), json!({"a": 1.0})]);
    let (out, _) = keep("field = \"a\"\ncmp = \"<\"\nvalue = 1", nums.clone());
    assert_eq!(out, [json!({"a": -3})]);
    let (out, _) = keep("field = \"a\"\ncmp = \"!=\"\nvalue = 1.0", nums);
    assert_eq!(out.len(), 4);
    let words = json!([{"w": "apple"}, {"w": "b"}, {"w": "Zoo"}, {"w": "é"}]);
    let (out, _) = keep("field = \"w\"\ncmp = \">\"\nvalue = \"a\"", words.clone());
    assert_eq!(
        out,
        [json!({"w": "apple"}), json!({"w": "b"}), json!({"w": "é"})]
    );
    let (out, _) = keep("field = \"w\"\ncmp = \"<=\"\nvalue = \"b\"", words);
    assert_eq!(
        out,
        [
            json!({"w": "apple"}),
            json!({"w": "b"}),
            json!({"w": "Zoo"})
        ]
    );
    let (out, _) = keep(
        "field = \"/f/ok\"\ncmp = \"==\"\nvalue = true",
        json!([{"f": {"ok": true}}, {"f": {"ok": false}}, {"f": {"ok": 1}}]),
    );
    assert_eq!(out, [json!({"f": {"ok": true}})]);
}

#[test]
fn filter_null_missing_and_type_mismatches() {
    let input = json!([{"a": null}, {"a": "5"}, {"b": 1}, [1], {"a": 6}]);
    // Equality: other types are unequal, no error; a missing field is an error.
    let (out, errs) = run(
        &filter("field = \"a\"\ncmp = \"!=\"\nvalue = 5").unwrap(),
        input.clone(),
    );
    assert_eq!(
        out,
        [json!({"a": null}), json!({"a": "5"}), json!({"a": 6})]
    );
    assert_eq!(
        errs,
        [
            "`filter`: field `a` is missing",
            "`filter`: no field `a`: the record is not a map (found an array)",
        ]
    );
    // Ordering: anything but a number (here) is an error naming what was found.
    let (out, errs) = run(
        &filter("field = \"a\"\ncmp = \">\"\nvalue = 5").unwrap(),
        input.clone(),
    );
    assert_eq!(out, [json!({"a": 6})]);
    assert_eq!(errs[0], "`filter`: field `a` is null; `> 5` needs a number");
    assert_eq!(
        errs[1],
        "`filter`: field `a` is a string; `> 5` needs a number"
    );
    assert_eq!(errs.len(), 4);
    // exists: present (even null), never an error.
    let (out, errs) = run(&filter("field = \"a\"\ncmp = \"exists\"").unwrap(), input);
    assert_eq!(
        out,
        [json!({"a": null}), json!({"a": "5"}), json!({"a": 6})]
    );
    assert!(errs.is_empty());
}

#[test]
fn filter_settings_errors_name_the_setting() {
    let err = |t: &str| filter(t).unwrap_err();
    assert_eq!(err("").field, "op");
    assert_eq!(err("fn = \"p.f\"\nfield = \"a\"").field, "field");
    assert_eq!(err("fn = \"p.f\"\nvalue = 1").field, "value");
    assert_eq!(
        err("field = \"a\"\ncmp = \"=\"\nvalue = 1").message,
        "unknown comparison `=`: use one of ==, !=, <, <=, >, >=, exists"
    );
    assert_eq!(err("field = \"a\"\nvalue = 1").field, "field");
    assert_eq!(err("field = \"a\"\ncmp = \">\"").field, "cmp");
    assert_eq!(
        err("field = \"a\"\ncmp = \"exists\"\nvalue = 1").field,
        "value"
    );
    assert_eq!(
        err("field = \"a\"\ncmp = \"<\"\nvalue = true").message,
        "`<` orders numbers or strings; a boolean `value` takes `==` or `!=`"
    );
    assert_eq!(
        err("field = \"a\"\ncmp = \"==\"\nvalue = [1]").message,
        "`value` must be a number, a string or a boolean, not an array"
    );
    let c: FilterConfig = toml::from_str("fn = \"p.f\"").unwrap();
    assert!(matches!(filter::form(&c), Ok(Form::Plugin(f)) if f == "p.f"));
}

#[test]
fn text_lines_parse_and_render_under_each_policy() {
    let lines = json!([r#"{"user": "alice", "amount": 5}"#, "{oops", 7]);
    let (out, errs) = run(&JsonStep::ParseJson, lines.clone());
    assert_eq!(out, [json!({"user": "alice", "amount": 5})]);
    assert_eq!(
        errs,
        [
            "`parse_json`: invalid JSON: key must be a string at line 1 column 2",
            "`parse_json`: expected a string (a text line), found an integer",
        ]
    );
    // Under `fail` the first bad record stops the batch, naming the stream.
    let h = Harness::new(1000);
    let e = JsonStep::ParseJson
        .run(&partition(&lines), &h.cx(1000))
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "stream `s`: record rejected: `parse_json`: invalid JSON: key must be a string at line 1 column 2"
    );
    let (out, errs) = run(&JsonStep::ToJson, json!([{"a": [1, "x"]}, null]));
    assert_eq!(out, [json!(r#"{"a":[1,"x"]}"#), json!("null")]);
    assert!(errs.is_empty());
}

#[test]
fn a_fused_chain_parses_filters_and_keys() {
    let chain = NarrowChain::new("events", NarrowStep::Json(JsonStep::ParseJson))
        .then(NarrowChain::new(
            "big",
            NarrowStep::Json(filter("field = \"amount\"\ncmp = \">=\"\nvalue = 5").unwrap()),
        ))
        .then(NarrowChain::new(
            "pairs",
            NarrowStep::Json(key_by("key = \"user\"\nvalue = \"amount\"").unwrap()),
        ));
    let lines = json!([
        r#"{"user": "alice", "amount": 5}"#,
        r#"{"user": "bob", "amount": 4}"#,
        r#"{"user": "carol", "amount": 9.5}"#,
    ]);
    let h = Harness::new(1000);
    let out = chain
        .run_partition(&partition(&lines), 0, &h.cx(1000))
        .unwrap();
    assert_eq!(records(&out), [json!(["alice", 5]), json!(["carol", 9.5])]);
}

/// The best of five runs of `f` over `input`, printed as records per second.
fn measure(what: &str, input: &Partition, f: impl Fn(&Partition) -> Partition) {
    let mut best = f64::INFINITY;
    for _ in 0..5 {
        let t = std::time::Instant::now();
        let out = f(input);
        best = best.min(t.elapsed().as_secs_f64());
        assert!(!out.is_empty());
    }
    let n = input.len();
    println!(
        "{what}: {n} records ({} bytes) in {:.1} ms: {:.1} M records/s (one thread)",
        input.bytes().len(),
        best * 1e3,
        n as f64 / best / 1e6
    );
}

/// Throughput of `key_by` on 1M records, and of `parse_json → filter → key_by` on 1M
/// lines; run in release, by hand:
/// `cargo test --release -p sluice --lib ops::json::tests::throughput -- --ignored --nocapture`.
#[test]
#[ignore = "a measurement, not a check: run by hand in release"]
fn throughput() {
    let users = [
        "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi",
    ];
    let (mut records, mut lines) = (Partition::new(), Partition::new());
    for i in 0..1_000_000usize {
        let v =
            json!({"id": i, "user": users[i % users.len()], "amount": i % 100, "country": "fr"});
        records.push_with(|b| json_to_msgpack(&v, b));
        lines.push_with(|b| json_to_msgpack(&Value::String(v.to_string()), b));
    }
    let h = Harness::new(1000);
    let cx = h.cx(1000);
    let key_by = key_by("key = \"user\"\nvalue = \"amount\"").unwrap();
    measure("key_by", &records, |p| key_by.run(p, &cx).unwrap());
    let chain = NarrowChain::new("events", NarrowStep::Json(JsonStep::ParseJson))
        .then(NarrowChain::new(
            "big",
            NarrowStep::Json(filter("field = \"amount\"\ncmp = \">=\"\nvalue = 50").unwrap()),
        ))
        .then(NarrowChain::new("pairs", NarrowStep::Json(key_by)));
    measure("parse_json -> filter -> key_by", &lines, |p| {
        chain.run_partition(p, 0, &cx).unwrap()
    });
}

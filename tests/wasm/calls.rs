//! Every shape through real modules: documents in and out, init, reuse and recycling.

use std::sync::Arc;

use sluice::record::json_to_msgpack;
use sluice::wasm::{CallError, Plugin};
use sluice_abi::{doc, RecordError, Shape};

use crate::common::*;

#[test]
fn transform_input_document_is_items_then_ctx() {
    let (p, _dir) = load("mirror", &good_module(&[], &[]), test_limits());
    let items = [string("a"), int(7), string("ccc")].concat();
    let out = p
        .call(
            "mirror",
            Shape::Transform,
            3,
            &items,
            &ctx(1_700_000_000_000, 4),
        )
        .unwrap();
    let mut expected = Vec::new();
    doc::write_input(&mut expected, 3, &items, &ctx(1_700_000_000_000, 4));
    assert_eq!(unbin(out.items.get(0).unwrap()), expected);
    assert!(out.errors.is_empty());
}

#[test]
fn init_gets_params_once_per_instance_after_initialize() {
    let dir = tempdir();
    let path = write(dir.path(), "init.wat", good_module(&[], &[]));
    let params = serde_json::json!({"threshold": 3, "names": ["a", "b"]});
    let p = Plugin::load(&runtime(), "init", &path, &params, test_limits()).unwrap();
    let out = p
        .call("init_input", Shape::Transform, 0, &[], &ctx(5, 5))
        .unwrap();
    let mut encoded = Vec::new();
    json_to_msgpack(&params, &mut encoded);
    let mut expected = Vec::new();
    doc::write_input(&mut expected, 1, &encoded, &ctx(0, 0));
    assert_eq!(unbin(out.items.get(0).unwrap()), expected);
    // inits, _initialize calls, operator calls (`init_input` does not count).
    assert_eq!(counters(&p), [1, 1, 1]);
}

#[test]
fn instances_are_reused_across_calls() {
    let (p, _dir) = load("reuse", &good_module(&[], &[]), test_limits());
    assert_eq!(counters(&p), [1, 1, 1]);
    assert_eq!(counters(&p), [1, 1, 2]);
    assert_eq!(counters(&p), [1, 1, 3]);
    assert_eq!(p.idle_instances(), 1);
}

#[test]
fn reduce_inverse_reduce_and_update_state_need_one_output_per_input() {
    let two = output_doc(&[int(1), int(2)], &[]);
    let (p, _dir) = load("shapes", &good_module(&[], &[("two", two)]), test_limits());
    for shape in [Shape::Reduce, Shape::InverseReduce, Shape::UpdateState] {
        let out = p.call("two", shape, 2, &[int(0), int(0)].concat(), &ctx(0, 0));
        assert_eq!(records(&out.unwrap()), vec![int(1), int(2)], "{shape:?}");
        let err = p
            .call(
                "two",
                shape,
                3,
                &[int(0), int(0), int(0)].concat(),
                &ctx(0, 0),
            )
            .unwrap_err();
        assert!(matches!(err, CallError::BadOutput { .. }), "{err}");
        assert!(
            err.to_string().contains(&format!(
                "returned 2 items for 3 inputs; a {} function",
                shape.name()
            )),
            "{err}"
        );
    }
    // A transform may return any number.
    let out = p.call("two", Shape::Transform, 5, &int(0).repeat(5), &ctx(0, 0));
    assert_eq!(out.unwrap().items.len(), 2);
}

#[test]
fn update_state_entries_round_trip() {
    // Output per entry: [state_opt, [emitted]]: keep state 5 and emit "x"; remove state.
    let mut keep = vec![0x92, 0x91];
    keep.extend(int(5));
    keep.push(0x91);
    keep.extend(string("x"));
    let remove = vec![0x92, 0x90, 0x90];
    let doc_bytes = output_doc(&[keep.clone(), remove.clone()], &[]);
    let (p, _dir) = load(
        "state",
        &good_module(&[], &[("update", doc_bytes)]),
        test_limits(),
    );
    let out = p
        .call(
            "update",
            Shape::UpdateState,
            2,
            &[int(0), int(0)].concat(),
            &ctx(0, 0),
        )
        .unwrap();
    assert_eq!(records(&out), vec![keep, remove]);
}

#[test]
fn per_record_errors_come_back_with_their_index() {
    let errors = [RecordError {
        index: Some(1),
        message: "not a number".into(),
    }];
    let d = output_doc(&[int(1)], &errors);
    let (p, _dir) = load("errs", &good_module(&[], &[("half", d)]), test_limits());
    let out = p
        .call(
            "half",
            Shape::Transform,
            2,
            &[int(1), string("x")].concat(),
            &ctx(0, 0),
        )
        .unwrap();
    assert_eq!(records(&out), vec![int(1)]);
    assert_eq!(out.errors, errors);
}

#[test]
fn a_whole_call_error_is_a_guest_error_and_keeps_the_instance() {
    let errors = [RecordError {
        index: None,
        message: "the partition is cursed".into(),
    }];
    let d = output_doc(&[], &errors);
    let (p, _dir) = load("cursed", &good_module(&[], &[("cursed", d)]), test_limits());
    assert_eq!(counters(&p), [1, 1, 1]);
    let err = p
        .call("cursed", Shape::Transform, 0, &[], &ctx(0, 0))
        .unwrap_err();
    assert!(matches!(err, CallError::Guest { .. }));
    assert_eq!(
        err.to_string(),
        "plugin `cursed` function `cursed`: the partition is cursed"
    );
    assert_eq!(counters(&p), [1, 1, 2], "the same instance serves on");
}

#[test]
fn unknown_functions_are_named_with_what_exists() {
    let (p, _dir) = load("named", &good_module(&[], &[]), test_limits());
    assert!(p.has_function("mirror"));
    assert!(!p.has_function("sluice_alloc"));
    assert!(!p.has_function("nope"));
    let err = p
        .call("nope", Shape::Transform, 0, &[], &ctx(0, 0))
        .unwrap_err();
    let msg = err.to_string();
    assert!(msg.starts_with("plugin `named` function `nope`: "), "{msg}");
    assert!(
        msg.contains("operator functions: counters, init_input, mirror"),
        "{msg}"
    );
    let err = p
        .call("sluice_free", Shape::Transform, 0, &[], &ctx(0, 0))
        .unwrap_err();
    assert!(err.to_string().contains("part of the ABI"), "{err}");
}

#[test]
fn calls_from_many_threads_at_once() {
    let (p, _dir) = load("threads", &good_module(&[], &[]), test_limits());
    let p = Arc::new(p);
    let handles: Vec<_> = (0..8u32)
        .map(|t| {
            let p = p.clone();
            std::thread::spawn(move || {
                for i in 0..50u32 {
                    let items = int(i64::from(t * 1000 + i));
                    let c = ctx(i64::from(i), t);
                    let out = p.call("mirror", Shape::Transform, 1, &items, &c).unwrap();
                    let mut expected = Vec::new();
                    doc::write_input(&mut expected, 1, &items, &c);
                    assert_eq!(unbin(out.items.get(0).unwrap()), expected);
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert!(p.idle_instances() >= 1 && p.idle_instances() <= 8);
}

/// Grows memory to 10 MiB (limit 16 MiB, high-water mark 8 MiB), returns nothing.
const GROW_10MIB: &str = r#"
  (func (export "grow_10mib") (param i32 i32) (result i64)
    i32.const 159
    memory.grow
    drop
    i32.const 16
    i32.const 3
    call $emit)
"#;

#[test]
fn instances_past_the_memory_high_water_mark_are_recycled() {
    let (p, _dir) = load("hungry", &good_module(&[GROW_10MIB], &[]), test_limits());
    assert_eq!(counters(&p), [1, 1, 1]);
    let out = p
        .call("grow_10mib", Shape::Transform, 0, &[], &ctx(0, 0))
        .unwrap();
    assert!(out.items.is_empty());
    // A fresh instance (initialised again) answers next.
    assert_eq!(counters(&p), [1, 1, 1]);
}

/// Grows memory by 70 MiB, returns nothing.
const GROW_70MIB: &str = r#"
  (func (export "grow_70mib") (param i32 i32) (result i64)
    i32.const 1120
    memory.grow
    drop
    i32.const 16
    i32.const 3
    call $emit)
"#;

#[test]
fn instances_that_grew_by_more_than_64_mib_are_recycled() {
    // Under half of a 256 MiB limit either way: only the growth decides.
    let limits = sluice::wasm::Limits {
        memory_bytes: 256 << 20,
        ..test_limits()
    };
    let (p, _dir) = load(
        "grower",
        &good_module(&[GROW_10MIB, GROW_70MIB], &[]),
        limits,
    );
    assert_eq!(p.idle_instances(), 1);
    p.call("grow_10mib", Shape::Transform, 0, &[], &ctx(0, 0))
        .unwrap();
    assert_eq!(p.idle_instances(), 1, "grown by 10 MiB: kept");
    p.call("grow_70mib", Shape::Transform, 0, &[], &ctx(0, 0))
        .unwrap();
    assert_eq!(
        p.idle_instances(),
        0,
        "grown by 80 MiB, past {} bytes: dropped",
        sluice::wasm::MAX_KEPT_GROWTH
    );
}

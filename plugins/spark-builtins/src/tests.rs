//! Native tests of the builtins, directly and through the SDK's document runtimes.

use sluice_plugin::abi::{doc, Ctx};
use sluice_plugin::{run, State, Value};

use crate::{aggregate::*, elementwise::*, rdd::*, state::*};

fn s(x: &str) -> Value {
    Value::from(x)
}
fn i(x: i64) -> Value {
    Value::from(x)
}
fn arr(xs: Vec<Value>) -> Value {
    Value::Array(xs)
}

fn input(items: &[Value], batch_time_ms: i64) -> Vec<u8> {
    let mut bytes = Vec::new();
    for item in items {
        sluice_plugin::encode(&mut bytes, item).unwrap();
    }
    let mut buf = Vec::new();
    let ctx = Ctx::new(batch_time_ms, 0);
    doc::write_input(&mut buf, items.len() as u32, &bytes, &ctx);
    buf
}

fn items(out: &[u8]) -> Vec<Value> {
    let view = doc::read_output(out).unwrap();
    assert!(view.errors.is_empty(), "{:?}", view.errors);
    view.items
        .iter()
        .map(|b| sluice_plugin::decode(b.unwrap()).unwrap())
        .collect()
}

#[test]
fn element_wise() {
    assert_eq!(to_string_(i(1)), "1");
    assert_eq!(add_4(i(1)), Ok(i(5)));
    assert_eq!(pair_with_length("héllo".into()), ("héllo".into(), 5));
    assert_eq!(swap((s("k"), i(1))), arr(vec![i(1), s("k")]));
    assert_eq!(dup_and_double(i(3)), Ok([i(3), i(6)]));
    assert_eq!(split_chars("ab".into()), vec![s("a"), s("b")]);
    assert_eq!(
        key_chars_with_value((s("ab"), i(7))),
        Ok(vec![arr(vec![i(7), s("a")]), arr(vec![i(7), s("b")])])
    );
    assert_eq!(is_even(&i(4)), Ok(true));
    assert!(is_even(&s("x")).is_err());
    assert_eq!(value_nonzero(&(s("a"), i(0))), Ok(false));
    assert_eq!(append_1_2("v".into()), ["v1".to_string(), "v2".to_string()]);
    assert_eq!(sum_partition(vec![]), Ok([i(0)]));
    assert_eq!(
        upper_concat_partition(vec!["giants".into(), "dodgers".into()]),
        ["GIANTSDODGERS".to_string()]
    );
}

#[test]
fn combine_by_key_triples() {
    assert_eq!(combine_str_concat_create(i(1)), "1");
    assert_eq!(combine_str_concat_merge_value("1".into(), i(2)), "12");
    assert_eq!(combine_sum_merge_value(i(1), i(2)), Ok(i(3)));
    // merge_value is a fold on the wire: the first value is the combiner.
    let group = arr(vec![s("k"), arr(vec![s("1"), i(2), i(3)])]);
    let out = run::fold(&input(&[group], 0), |c: String, v: Value| {
        Ok(combine_str_concat_merge_value(c, v))
    });
    assert_eq!(items(&out), vec![s("123")]);
}

#[test]
fn whole_rdd_transforms() {
    let sorted = rdd_sort(vec![s("b"), i(3), i(-1), s("a")]);
    assert_eq!(sorted, vec![i(-1), i(3), s("a"), s("b")]);
    let joined = rdd_join(vec![
        vec![arr(vec![s("a"), s("b")]), arr(vec![s("a"), s("")])],
        vec![arr(vec![s("a"), i(1)])],
    ])
    .unwrap();
    assert_eq!(
        joined,
        vec![
            arr(vec![s("a"), arr(vec![s("b"), i(1)])]),
            arr(vec![s("a"), arr(vec![s(""), i(1)])]),
        ]
    );
    assert_eq!(
        rdd_union_2_3_1(vec![vec![i(1)], vec![i(2)], vec![i(3)]]),
        Ok(vec![i(2), i(3), i(1)])
    );
    assert!(rdd_union_2_3_1(vec![vec![i(1)]]).is_err());
    let out =
        rdd_union12_selfpair_join3(vec![vec![i(1)], vec![i(3)], vec![arr(vec![i(1), s("x")])]])
            .unwrap();
    assert_eq!(out, vec![arr(vec![i(1), arr(vec![i(1), s("x")])])]);
    assert_eq!(rdd_cartesian_self(vec![i(1), i(2)]).len(), 4);
}

#[test]
fn update_state_functions() {
    assert_eq!(update_sum(vec![i(1), i(1)], Some(i(3))), Ok(Some(i(5))));
    assert_eq!(
        update_append(vec![i(2)], Some(arr(vec![i(1)]))),
        Ok(Some(arr(vec![i(1), i(2)])))
    );
    assert_eq!(
        update_counter_expire_after_2_idle(vec![], Some((3, 1))),
        Ok(None)
    );
    assert_eq!(
        update_counter_expire_after_2_idle(vec![i(1)], Some((3, 1))),
        Ok(Some((4, 0)))
    );
    assert_eq!(update_sum_drop_above_12(vec![i(5)], Some(8)), Ok(None));
    // The batch time comes from the call's ctx.
    let entry = arr(vec![
        s("a"),
        arr(vec![i(1)]),
        arr(vec![i(5)]),
        Value::Boolean(false),
    ]);
    let out = run::update_state(&input(&[entry], 3000), |_: Value, v, st| {
        update_add_batch_time_if_values(v, st)
    });
    assert_eq!(
        items(&out),
        vec![arr(vec![arr(vec![i(3005)]), arr(vec![])])]
    );
}

#[test]
fn map_with_state_functions() {
    let mut st = State::new(Some(i(2)), false);
    assert_eq!(
        mws_running_sum_emit_key_sum(&s("a"), Some(i(3)), &mut st),
        Ok(Some((s("a"), i(5))))
    );
    assert_eq!(st.get(), Some(&i(5)));
    assert_eq!(
        mws_running_sum_emit_key_twice(&s("ab"), Some(i(1)), &mut st),
        Ok(Some("abab".to_string()))
    );
    let mut st = State::new(Some(i(1)), false);
    assert_eq!(
        mws_remove_if_exists_else_set(&s("k"), Some(i(9)), &mut st),
        Some(s("k"))
    );
    assert!(!st.exists());
    let mut st = State::new(Some(i(1)), true);
    assert_eq!(
        mws_set_one_emit_key_on_timeout(&s("k"), None, &mut st),
        Some(s("k"))
    );
    assert_eq!(st.into_inner(), Ok(Some(i(1))));
    // A running sum on a timing-out key does not update the state (not allowed).
    let mut st = State::new(Some(i(4)), true);
    assert_eq!(
        mws_running_sum_emit_sum(&s("k"), None, &mut st),
        Ok(Some(i(4)))
    );
    assert!(st.into_inner().is_ok());
}

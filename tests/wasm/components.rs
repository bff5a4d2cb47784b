//! Component plugins (Python with componentize-py, JavaScript with ComponentizeJS): the
//! same calls, shapes, limits and errors as core modules, through the same `Plugin`.
//! Plugins whose toolchain is missing are skipped with one line saying so.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use sluice::wasm::{inspect, CallError, Limits, Plugin, PluginError};
use sluice_abi::Shape;

use crate::common::*;
use crate::plugins::dist;

/// `plugins/dist/<name>.wasm`, or `None` (with one line on stderr) when plugins/build.sh
/// skipped it because its toolchain is missing.
pub fn component(name: &str) -> Option<PathBuf> {
    let path = dist().join(format!("{name}.wasm"));
    if path.is_file() {
        return Some(path);
    }
    let tool = if name.starts_with("js-") {
        "componentize-js (npm ci in guest-sdk/js)"
    } else {
        "componentize-py (pip install componentize-py==0.25.1)"
    };
    eprintln!("skipped: {} not built: {tool} is missing", path.display());
    None
}

fn load(name: &str, params: Value, limits: Limits) -> Option<Result<Plugin, PluginError>> {
    let path = component(name)?;
    Some(Plugin::load(&runtime(), name, &path, &params, limits))
}

fn encode(values: &[Value]) -> Vec<u8> {
    let mut out = Vec::new();
    for v in values {
        sluice::record::json_to_msgpack(v, &mut out);
    }
    out
}

/// A rejected input: its index and the message.
type Rejected = (Option<u32>, String);

fn call(
    p: &Plugin,
    f: &str,
    shape: Shape,
    items: &[Value],
) -> Result<(Vec<Value>, Vec<Rejected>), CallError> {
    let out = p.call(f, shape, items.len() as u32, &encode(items), &ctx(1000, 1))?;
    let values = out
        .items
        .iter()
        .map(|r| sluice::record::msgpack_to_json(r).unwrap())
        .collect();
    let errors = out
        .errors
        .into_iter()
        .map(|e| (e.index, e.message))
        .collect();
    Ok((values, errors))
}

#[test]
fn python_and_javascript_words_give_the_rust_plugins_results() {
    let rust = Plugin::load(
        &runtime(),
        "words",
        &dist().join("words.wasm"),
        &json!({}),
        Limits::default(),
    )
    .unwrap();
    let lines = [
        json!("the cat  sat"),
        json!(""),
        json!("  été à la  plage\tthe "),
        json!("x"),
    ];
    let groups = [
        json!(["a", [1, 2, 3]]),
        json!(["b", [40]]),
        json!(["c", [-5, 2]]),
    ];
    let (want_pairs, _) = call(&rust, "split_pairs", Shape::Transform, &lines).unwrap();
    let (want_words, _) = call(&rust, "split", Shape::Transform, &lines).unwrap();
    let (want_sums, _) = call(&rust, "sum", Shape::Reduce, &groups).unwrap();
    assert_eq!(want_sums, [json!(6), json!(40), json!(-3)]);
    for name in ["py-words", "js-words"] {
        let Some(p) = load(name, json!({}), Limits::default()) else {
            continue;
        };
        let p = p.unwrap();
        assert!(p.is_component());
        assert_eq!(
            p.functions(),
            ["running_sum", "split", "split_pairs", "sum"]
        );
        assert_eq!(
            call(&p, "split_pairs", Shape::Transform, &lines).unwrap(),
            (want_pairs.clone(), vec![]),
            "{name}"
        );
        assert_eq!(
            call(&p, "split", Shape::Transform, &lines).unwrap().0,
            want_words,
            "{name}"
        );
        assert_eq!(
            call(&p, "sum", Shape::Reduce, &groups).unwrap().0,
            want_sums,
            "{name}"
        );
        // A running sum: [key, [values], state_opt, timing_out] -> [state_opt, []].
        let entries = [
            json!(["a", [1, 2], [], false]),
            json!(["b", [], [5], false]),
            json!(["c", [3], [4], false]),
        ];
        let (states, errors) = call(&p, "running_sum", Shape::UpdateState, &entries).unwrap();
        assert_eq!(
            states,
            [json!([[3], []]), json!([[5], []]), json!([[7], []])],
            "{name}"
        );
        assert!(errors.is_empty());
    }
}

#[test]
fn exceptions_reject_only_their_records() {
    for name in ["py-words", "js-words"] {
        let Some(p) = load(name, json!({}), Limits::default()) else {
            continue;
        };
        let p = p.unwrap();
        let (pairs, errors) = call(
            &p,
            "split_pairs",
            Shape::Transform,
            &[json!("a b"), json!(5), json!("c")],
        )
        .unwrap();
        assert_eq!(
            pairs,
            [json!(["a", 1]), json!(["b", 1]), json!(["c", 1])],
            "{name}"
        );
        assert_eq!(errors.len(), 1, "{name}: {errors:?}");
        assert_eq!(errors[0].0, Some(1));
        assert!(errors[0].1.contains("split"), "{name}: {}", errors[0].1);
        // One output per input: the failed group keeps its place with nil (1 + "x" raises
        // in Python; JavaScript throws adding a number and a BigInt, past 2^53).
        let bad = if name == "js-words" {
            json!(u64::MAX)
        } else {
            json!("x")
        };
        let groups = [json!(["a", [1, 2]]), json!(["b", [1, bad]])];
        let (sums, errors) = call(&p, "sum", Shape::Reduce, &groups).unwrap();
        assert_eq!(sums, [json!(3), Value::Null], "{name}");
        assert_eq!(errors[0].0, Some(1), "{name}");
    }
}

#[test]
fn an_unknown_function_lists_the_components_functions() {
    let Some(p) = load("py-words", json!({}), Limits::default()) else {
        return;
    };
    let err = call(&p.unwrap(), "nope", Shape::Transform, &[json!("a")]).unwrap_err();
    let text = err.to_string();
    assert!(
        text.starts_with("plugin `py-words` function `nope`: "),
        "{text}"
    );
    assert!(
        text.contains("operator functions: running_sum, split, split_pairs, sum"),
        "{text}"
    );
}

fn limits(timeout_ms: u64, memory_mib: u64, output_kib: u64) -> Limits {
    Limits {
        timeout: Duration::from_millis(timeout_ms),
        memory_bytes: memory_mib << 20,
        output_bytes: output_kib << 10,
        fuel: None,
    }
}

#[test]
fn the_deadline_stops_a_python_loop_and_the_plugin_goes_on() {
    let Some(p) = load("py-limits", json!({"tag": "t"}), limits(1000, 256, 1024)) else {
        return;
    };
    let p = p.unwrap();
    let start = Instant::now();
    let err = call(&p, "spin", Shape::Transform, &[json!(1)]).unwrap_err();
    assert!(matches!(err, CallError::Deadline { .. }), "{err}");
    assert_eq!(
        err.to_string(),
        "plugin `py-limits` function `spin`: deadline of 1s exceeded"
    );
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );
    // The instance was discarded; a new one (with init again) serves the next call.
    assert_eq!(
        call(&p, "param", Shape::Transform, &[json!(1)]).unwrap().0,
        [json!([1, "t"])]
    );
}

#[test]
fn the_memory_limit_and_the_output_cap_hold() {
    let Some(p) = load("py-limits", json!({}), limits(5000, 64, 64)) else {
        return;
    };
    let p = p.unwrap();
    let err = call(&p, "hog", Shape::Transform, &[json!(100)]).unwrap_err();
    assert!(
        matches!(err, CallError::MemoryLimit { limit, .. } if limit == 64 << 20),
        "{err}"
    );
    assert!(
        err.to_string().contains("memory limit of 64 MiB exceeded"),
        "{err}"
    );
    assert_eq!(
        call(&p, "hog", Shape::Transform, &[json!(1)]).unwrap().0,
        [json!(1 << 20)]
    );
    let err = call(&p, "big", Shape::Transform, &[json!(100)]).unwrap_err();
    assert!(matches!(err, CallError::BadOutput { .. }), "{err}");
    assert!(
        err.to_string().contains("exceeds the cap of 64 KiB"),
        "{err}"
    );
}

#[test]
fn whole_call_errors_traps_and_init_errors_name_plugin_and_function() {
    let Some(p) = load("py-limits", json!({}), Limits::default()) else {
        return;
    };
    let p = p.unwrap();
    let err = call(&p, "fail", Shape::Transform, &[json!(1), json!(2)]).unwrap_err();
    assert!(matches!(err, CallError::Guest { .. }), "{err}");
    assert_eq!(
        err.to_string(),
        "plugin `py-limits` function `fail`: RuntimeError: cannot handle 2 records"
    );
    // No clock for components: the SDK's `time` reads the batch time, the system clock
    // (`datetime.now()`) traps the call, and the plugin goes on.
    let (seconds, _) = call(&p, "clock", Shape::Transform, &[json!(1)]).unwrap();
    assert_eq!(seconds, [json!(1.0)]);
    let err = call(&p, "now", Shape::Transform, &[json!(1)]).unwrap_err();
    assert!(matches!(err, CallError::Trap { .. }), "{err}");
    assert!(
        err.to_string()
            .starts_with("plugin `py-limits` function `now`: trapped: "),
        "{err}"
    );
    assert!(call(&p, "param", Shape::Transform, &[json!(1)]).is_ok());
    let err = load("py-limits", json!({"refuse": true}), Limits::default())
        .unwrap()
        .unwrap_err();
    assert!(matches!(err, PluginError::Init { .. }), "{err}");
    assert!(
        err.to_string().ends_with(
            "plugin `py-limits` refused to start: `init` failed: ValueError: refused by params"
        ),
        "{err}"
    );
}

#[test]
fn the_context_reaches_the_guest_and_its_logs_do_not_break_the_call() {
    let Some(p) = load("py-limits", json!({}), Limits::default()) else {
        return;
    };
    let (out, errors) = call(&p.unwrap(), "chatty", Shape::Transform, &[json!("r")]).unwrap();
    assert_eq!(out, [json!([1000, 1])]);
    assert!(errors.is_empty());
}

#[test]
fn a_process_holds_many_python_instances() {
    // Each Plugin keeps one live instance; a Python component instance holds about 30 core
    // instances, which once exhausted the pool's 128 instance slots at the 4th.
    let Some(path) = component("py-words") else {
        return;
    };
    let plugins: Vec<Plugin> = (0..16)
        .map(|i| {
            Plugin::load(&runtime(), "py-words", &path, &json!({}), Limits::default())
                .unwrap_or_else(|e| panic!("instance {i}: {e}"))
        })
        .collect();
    for p in &plugins {
        assert_eq!(p.idle_instances(), 1);
    }
}

#[test]
fn inspect_describes_a_component() {
    let Some(path) = component("py-words") else {
        return;
    };
    let info = inspect(&runtime(), &path).unwrap();
    assert!(info.component);
    assert!(info.has_init);
    assert_eq!(
        info.functions,
        ["running_sum", "split", "split_pairs", "sum"]
    );
    assert_eq!(info.imports, ["sluice:plugin/host@1.0.0"]);
}

fn component_file(wat: &str) -> tempfile::NamedTempFile {
    let bytes = wat::parse_str(wat).expect("component text");
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), bytes).unwrap();
    file
}

#[test]
fn a_component_that_imports_wasi_is_refused_naming_the_import() {
    let file = component_file(r#"(component (import "wasi:cli/environment@0.2.9" (instance)))"#);
    let err =
        Plugin::load(&runtime(), "c", file.path(), &json!({}), Limits::default()).unwrap_err();
    assert!(matches!(err, PluginError::Invalid { .. }), "{err}");
    let text = err.to_string();
    assert!(
        text.contains(
            "imports `wasi:cli/environment@0.2.9`, which Sluice does not provide to components"
        ),
        "{text}"
    );
    assert!(text.contains("--stub-wasi"), "{text}");
}

#[test]
fn a_component_without_the_guest_export_is_refused() {
    let file = component_file("(component)");
    let err =
        Plugin::load(&runtime(), "c", file.path(), &json!({}), Limits::default()).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("does not export `sluice:plugin/guest@1.0.0`"),
        "{text}"
    );
    assert!(text.contains("it exports nothing"), "{text}");
}

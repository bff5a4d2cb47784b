//! Building the plugins once, loading them, and documents in and out as JSON.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Command;
use std::sync::{Arc, Mutex, OnceLock};

use serde_json::Value;
use sluice::record::{json_to_msgpack, msgpack_to_json};
use sluice::wasm::{CallError, CallOutput, Limits, Plugin, RuntimeConfig, WasmRuntime};
use sluice_abi::{doc, Ctx, Shape};

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Runs `plugins/build.sh` once per test binary and returns `plugins/dist`.
pub fn dist() -> PathBuf {
    static DIST: OnceLock<PathBuf> = OnceLock::new();
    DIST.get_or_init(|| {
        let script = repo().join("plugins/build.sh");
        let out = Command::new("bash")
            .arg(&script)
            .arg("--quiet")
            .output()
            .unwrap_or_else(|e| panic!("{}: {e}", script.display()));
        assert!(
            out.status.success(),
            "plugins/build.sh failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        repo().join("plugins/dist")
    })
    .clone()
}

/// One runtime per test binary, with a compilation cache under the target directory so
/// that the modules (hundreds of KiB, slow to compile with an unoptimized test build of
/// Cranelift) are compiled once across runs.
fn runtime() -> Arc<WasmRuntime> {
    static RT: OnceLock<Arc<WasmRuntime>> = OnceLock::new();
    RT.get_or_init(|| {
        let cache = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("guest-module-cache");
        WasmRuntime::new(RuntimeConfig {
            cache_dir: Some(cache),
        })
        .expect("runtime")
    })
    .clone()
}

/// Loads `plugins/dist/<name>.wasm` with `params`.
pub fn try_load(name: &str, params: Value) -> Result<Plugin, sluice::wasm::PluginError> {
    let path = dist().join(format!("{name}.wasm"));
    assert!(path.exists(), "{} was not built", path.display());
    Plugin::load(&runtime(), name, &path, &params, Limits::default())
}

/// Loads a plugin without params (once per test binary) that must load.
pub fn load(name: &str) -> Plugin {
    static LOADED: OnceLock<Mutex<HashMap<String, Plugin>>> = OnceLock::new();
    let mut loaded = LOADED
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    loaded
        .entry(name.to_owned())
        .or_insert_with(|| try_load(name, Value::Null).unwrap_or_else(|e| panic!("{name}: {e}")))
        .clone()
}

/// Encodes JSON items as MessagePack records laid end to end.
pub fn items(json: Value) -> (u32, Vec<u8>) {
    let Value::Array(items) = json else {
        panic!("items must be a JSON array")
    };
    let mut bytes = Vec::new();
    for item in &items {
        json_to_msgpack(item, &mut bytes);
    }
    (items.len() as u32, bytes)
}

/// Calls `function` on JSON items at `batch_time_ms`.
pub fn call(
    plugin: &Plugin,
    function: &str,
    shape: Shape,
    json: Value,
    batch_time_ms: i64,
) -> Result<CallOutput, CallError> {
    let (count, bytes) = items(json);
    let ctx = Ctx::new(batch_time_ms, 0);
    plugin.call(function, shape, count, &bytes, &ctx)
}

/// The output items as JSON and the errors as `(index, message)`.
pub fn json_out(out: &CallOutput) -> (Value, Vec<(Option<u32>, String)>) {
    let items = (0..out.items.len())
        .map(|i| msgpack_to_json(out.items.get(i).unwrap()).unwrap())
        .collect();
    let errors = out
        .errors
        .iter()
        .map(|e| (e.index, e.message.clone()))
        .collect();
    (Value::Array(items), errors)
}

/// Calls `function` and returns the output items, failing on any error.
pub fn ok_items(plugin: &Plugin, function: &str, shape: Shape, json: Value) -> Value {
    let out =
        call(plugin, function, shape, json, 1000).unwrap_or_else(|e| panic!("{function}: {e}"));
    let (items, errors) = json_out(&out);
    assert!(errors.is_empty(), "{function}: {errors:?}");
    items
}

/// Calls `function` on a whole input document and returns the output document the
/// guest's output stands for (items and per-record errors).
pub fn call_doc(plugin: &Plugin, function: &str, shape: Shape, input: &[u8]) -> Vec<u8> {
    let view = doc::read_input(input).unwrap();
    let out = plugin
        .call(
            function,
            shape,
            view.items.count,
            view.items.bytes,
            &view.ctx,
        )
        .unwrap_or_else(|e| panic!("{function}: {e}"));
    let mut buf = Vec::new();
    doc::write_output(
        &mut buf,
        out.items.len() as u32,
        out.items.bytes(),
        &out.errors,
    );
    buf
}

/// A fixture of `docs/abi/fixtures`.
pub fn fixture(name: &str) -> Vec<u8> {
    let path = repo().join(format!("docs/abi/fixtures/{name}.msgpack"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

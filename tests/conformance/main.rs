//! Spark DStream conformance: runs every case of `spark_cases.json` (facts from Apache
//! Spark's test suites, see README.md) through the real engine and the real
//! `spark-builtins` plugin, and compares the output batches with Spark's.
//!
//! Prints one line per failing case and a last line `N passed, M failed`; exits non-zero
//! when a case fails. `SLUICE_CONFORMANCE_CASES=FILE` runs another file of the same
//! format; `SLUICE_CONFORMANCE_FILTER=TEXT` only the cases whose id contains `TEXT`;
//! `SLUICE_CONFORMANCE_PLUGIN=NAME|PATH` (or `-- --plugin NAME|PATH`) another plugin with
//! the same functions, e.g. `py-spark`, the Python port.

mod compare;
mod drive;
mod job;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use serde_json::Value;
use sluice::wasm::{RuntimeConfig, WasmRuntime};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// The plugin the builtins map to: `--plugin NAME|PATH` (after `--` on cargo's command
/// line) or `SLUICE_CONFORMANCE_PLUGIN`, else `spark-builtins`. A NAME is
/// `plugins/dist/NAME.wasm` (`py-spark` is the Python port).
fn chosen_plugin() -> String {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--plugin") {
        if let Some(v) = args.get(i + 1) {
            return v.clone();
        }
    }
    std::env::var("SLUICE_CONFORMANCE_PLUGIN")
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "spark-builtins".to_owned())
}

/// Builds the plugins (idempotent) and returns the chosen plugin's module.
fn spark_builtins() -> Result<PathBuf> {
    let root = repo_root();
    let chosen = chosen_plugin();
    let wasm = if chosen.ends_with(".wasm") || chosen.contains('/') {
        PathBuf::from(chosen)
    } else {
        root.join(format!("plugins/dist/{chosen}.wasm"))
    };
    let script = root.join("plugins/build.sh");
    if script.is_file() {
        let status = Command::new("bash")
            .arg(&script)
            .arg("--quiet")
            .status()
            .context("running plugins/build.sh")?;
        if !status.success() && !wasm.is_file() {
            bail!("plugins/build.sh failed ({status})");
        }
    }
    if !wasm.is_file() {
        bail!(
            "{} is missing: build it with plugins/build.sh",
            wasm.display()
        );
    }
    Ok(wasm)
}

fn run_case(runtime: &Arc<WasmRuntime>, plugin: &Path, case: &Value) -> Result<(), String> {
    let job = job::case_job(case, &plugin.to_string_lossy())?;
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let expected: Vec<Value> = case["expected"].as_array().cloned().unwrap_or_default();
    let params = &case["params"];
    let first_n = case.get("collect").and_then(Value::as_str) == Some("first_n_nonempty");
    let num_batches = case["num_batches"].as_u64().unwrap_or(0) as usize;
    let slice_queries: Option<Vec<(i64, i64)>> = (case["op"] == "slice").then(|| {
        params["queries_ms"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|q| Some((q.get(0)?.as_i64()?, q.get(1)?.as_i64()?)))
            .collect()
    });
    let input_len = case
        .get("input")
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    let spec = drive::RunSpec {
        batches: match (&slice_queries, first_n) {
            (Some(_), _) => input_len.max(num_batches),
            (None, true) => num_batches.max(expected.len()) + 10,
            (None, false) => num_batches,
        },
        stop_after_nonempty: first_n.then_some(expected.len()),
        slice_queries,
    };
    let result = drive::run(runtime, dir.path(), &job, &spec);
    if let Some(want) = case.get("expect_error") {
        return match result {
            Err(e) => {
                let msg = format!("{e:#}");
                match want.as_str() {
                    Some(s) if !msg.contains(s) => {
                        Err(format!("error `{msg}` does not mention `{s}`"))
                    }
                    _ => Ok(()),
                }
            }
            Ok(_) => Err("expected an error, the job ran".into()),
        };
    }
    let got = result.map_err(|e| format!("{e:#}"))?;
    compare::check(case, &got.outputs, &expected, "output")?;
    if let Some(states) = case.get("expected_state").and_then(Value::as_array) {
        compare::check(case, &got.states, states, "state")?;
    }
    Ok(())
}

fn main() -> ExitCode {
    match run_all() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("conformance: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run_all() -> Result<bool> {
    let path = std::env::var_os("SLUICE_CONFORMANCE_CASES")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("tests/conformance/spark_cases.json"));
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let doc: Value =
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    let cases = doc["cases"]
        .as_array()
        .with_context(|| format!("{}: no `cases` array", path.display()))?;
    let filter = std::env::var("SLUICE_CONFORMANCE_FILTER").unwrap_or_default();
    let verbose = std::env::var_os("SLUICE_CONFORMANCE_VERBOSE").is_some();
    let plugin = spark_builtins()?;
    println!("conformance: builtins from {}", plugin.display());
    let runtime =
        WasmRuntime::new(RuntimeConfig::from_env()).map_err(|e| anyhow::anyhow!("{e}"))?;
    let (mut passed, mut failed) = (0, 0);
    for case in cases {
        let id = case["id"].as_str().unwrap_or("?");
        if !id.contains(&filter) {
            continue;
        }
        match run_case(&runtime, &plugin, case) {
            Ok(()) => {
                passed += 1;
                if verbose {
                    println!("ok {id}");
                }
            }
            Err(diff) => {
                failed += 1;
                println!("FAIL {id}: {diff}");
            }
        }
    }
    println!("{passed} passed, {failed} failed");
    Ok(failed == 0)
}

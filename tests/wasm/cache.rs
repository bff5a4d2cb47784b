//! The on-disk compilation cache: a second runtime (and a second process) loads compiled
//! code instead of compiling again.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

use sluice::wasm::{CacheStats, Plugin, RuntimeConfig, WasmRuntime};

use crate::common::*;

/// Every compiled-module file under the cache `dir` with its modification time (the
/// cache worker's own bookkeeping files are left out).
fn files(dir: &Path) -> BTreeMap<PathBuf, SystemTime> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.join("modules")];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let entry = entry.unwrap();
            let meta = entry.metadata().unwrap();
            if meta.is_dir() {
                stack.push(entry.path());
            } else if !entry.file_name().to_string_lossy().ends_with(".stats") {
                out.insert(entry.path(), meta.modified().unwrap());
            }
        }
    }
    out
}

#[test]
fn a_second_runtime_loads_from_the_cache() {
    let cache = tempdir();
    let dir = tempdir();
    let path = write(dir.path(), "cached.wat", good_module(&[], &[]));
    let config = RuntimeConfig {
        cache_dir: Some(cache.path().to_owned()),
    };

    let first = WasmRuntime::new(config.clone()).unwrap();
    let p = Plugin::load(
        &first,
        "cached",
        &path,
        &serde_json::json!({}),
        test_limits(),
    )
    .unwrap();
    assert_eq!(first.cache_stats(), Some(CacheStats { hits: 0, misses: 1 }));
    let written = files(cache.path());
    assert_eq!(written.len(), 1, "one compiled module: {written:?}");
    drop((p, first));

    let second = WasmRuntime::new(config).unwrap();
    let p = Plugin::load(
        &second,
        "cached",
        &path,
        &serde_json::json!({}),
        test_limits(),
    )
    .unwrap();
    assert_eq!(
        second.cache_stats(),
        Some(CacheStats { hits: 1, misses: 0 })
    );
    assert_eq!(
        files(cache.path()),
        written,
        "the cache file was not rewritten"
    );
    assert_eq!(counters(&p), [1, 1, 1]);

    // A changed module is a different entry.
    let path2 = write(
        dir.path(),
        "other.wat",
        good_module(&[], &[("c", vec![0x92, 0x90, 0x90])]),
    );
    Plugin::load(
        &second,
        "other",
        &path2,
        &serde_json::json!({}),
        test_limits(),
    )
    .unwrap();
    assert_eq!(
        second.cache_stats(),
        Some(CacheStats { hits: 1, misses: 1 })
    );
}

#[test]
fn a_second_process_does_not_recompile() {
    let cache = tempdir();
    let dir = tempdir();
    let path = write(dir.path(), "proc.wat", good_module(&[], &[]));
    let inspect = || {
        let out = Command::new(env!("CARGO_BIN_EXE_sluice"))
            .args(["plugin", "inspect", &path.display().to_string()])
            .env("SLUICE_CACHE_DIR", cache.path())
            .output()
            .unwrap();
        assert!(out.status.success());
        String::from_utf8(out.stdout).unwrap()
    };
    assert!(inspect().contains("code:        compiled now, cached in"));
    assert!(inspect().contains("code:        loaded from the cache in"));
}

#[test]
fn an_unusable_cache_directory_only_disables_the_cache() {
    let dir = tempdir();
    let file = write(dir.path(), "a-file", "x");
    let rt = WasmRuntime::new(RuntimeConfig {
        cache_dir: Some(file.join("sub")),
    })
    .unwrap();
    assert_eq!(rt.cache_stats(), None);
    let path = write(dir.path(), "p.wat", good_module(&[], &[]));
    Plugin::load(&rt, "p", &path, &serde_json::json!({}), test_limits()).unwrap();
}

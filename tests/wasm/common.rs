//! Helpers: runtimes with a private cache, WAT plugins built from parts, documents.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use sluice::record::Partition;
use sluice::wasm::{CallOutput, Limits, Plugin, RuntimeConfig, WasmRuntime};
use sluice_abi::{doc, msgpack, Ctx, RecordError};

/// The runtime shared by the tests of this binary, with a disk cache in the target
/// directory so that reruns do not compile the real plugins again.
pub fn runtime() -> Arc<WasmRuntime> {
    static RT: OnceLock<Arc<WasmRuntime>> = OnceLock::new();
    RT.get_or_init(|| {
        let cache = Path::new(env!("CARGO_TARGET_TMPDIR")).join("wasm-test-cache");
        WasmRuntime::new(RuntimeConfig {
            cache_dir: Some(cache),
        })
        .expect("runtime")
    })
    .clone()
}

/// Small limits so that hostile tests end quickly (the deadline leaves room for a loaded
/// machine; the deadline test sets its own).
pub fn test_limits() -> Limits {
    Limits {
        timeout: Duration::from_secs(5),
        memory_bytes: 16 << 20,
        output_bytes: 1 << 20,
        fuel: None,
    }
}

/// The ABI core every WAT plugin starts from: memory, version, a bump allocator that grows
/// memory as needed, a no-op free, call counters, and `$emit` (copy a constant document
/// into a fresh buffer and return it packed).
pub const CORE: &str = r#"
  (memory (export "memory") 1)
  (global $heap (mut i32) (i32.const 4096))
  (global $inits (mut i32) (i32.const 0))
  (global $initializes (mut i32) (i32.const 0))
  (global $calls (mut i32) (i32.const 0))
  (global $init_ptr (mut i32) (i32.const 0))
  (global $init_len (mut i32) (i32.const 0))
  (func $alloc (export "sluice_alloc") (param $len i32) (result i32)
    (local $p i32) (local $end i32)
    global.get $heap
    local.set $p
    local.get $p
    local.get $len
    i32.add
    local.set $end
    (block $ok
      (loop $grow
        local.get $end
        memory.size
        i32.const 65536
        i32.mul
        i32.le_u
        br_if $ok
        i32.const 1
        memory.grow
        i32.const -1
        i32.eq
        if
          unreachable
        end
        br $grow))
    local.get $end
    i32.const 7
    i32.add
    i32.const -8
    i32.and
    global.set $heap
    local.get $p)
  (func (export "sluice_free") (param i32 i32))
  (func $pack (param $p i32) (param $n i32) (result i64)
    local.get $p
    i64.extend_i32_u
    i64.const 32
    i64.shl
    local.get $n
    i64.extend_i32_u
    i64.or)
  (func $emit (param $src i32) (param $n i32) (result i64)
    (local $o i32)
    local.get $n
    call $alloc
    local.set $o
    local.get $o
    local.get $src
    local.get $n
    memory.copy
    local.get $o
    local.get $n
    call $pack)
  ;; [[bin(bytes at $p, $n bytes)], []]
  (func $mirror_of (param $p i32) (param $n i32) (result i64)
    (local $o i32)
    local.get $n
    i32.const 8
    i32.add
    call $alloc
    local.set $o
    local.get $o
    i32.const 0xc69192
    i32.store
    local.get $o
    local.get $n
    i32.const 24
    i32.shr_u
    i32.store8 offset=3
    local.get $o
    local.get $n
    i32.const 16
    i32.shr_u
    i32.store8 offset=4
    local.get $o
    local.get $n
    i32.const 8
    i32.shr_u
    i32.store8 offset=5
    local.get $o
    local.get $n
    i32.store8 offset=6
    local.get $o
    i32.const 7
    i32.add
    local.get $p
    local.get $n
    memory.copy
    local.get $o
    local.get $n
    i32.add
    i32.const 0x90
    i32.store8 offset=7
    local.get $o
    local.get $n
    i32.const 8
    i32.add
    call $pack)
  ;; The input document itself, as one bin record.
  (func (export "mirror") (param $p i32) (param $n i32) (result i64)
    global.get $calls
    i32.const 1
    i32.add
    global.set $calls
    local.get $p
    local.get $n
    call $mirror_of)
  ;; What sluice_init received, as one bin record.
  (func (export "init_input") (param i32 i32) (result i64)
    global.get $init_ptr
    global.get $init_len
    call $mirror_of)
  ;; [[inits, initializes, calls], []] (each under 128).
  (func (export "counters") (param i32 i32) (result i64)
    (local $o i32)
    global.get $calls
    i32.const 1
    i32.add
    global.set $calls
    i32.const 6
    call $alloc
    local.set $o
    local.get $o
    i32.const 0x9392
    i32.store16
    local.get $o
    global.get $inits
    i32.store8 offset=2
    local.get $o
    global.get $initializes
    i32.store8 offset=3
    local.get $o
    global.get $calls
    i32.store8 offset=4
    local.get $o
    i32.const 0x90
    i32.store8 offset=5
    local.get $o
    i32.const 6
    call $pack)
"#;

/// The standard version export.
pub const VERSION_1: &str = r#"(func (export "sluice_abi_version") (result i32) i32.const 1)"#;

/// A `sluice_init` that counts and remembers its input.
pub const INIT_OK: &str = r#"
  (func (export "sluice_init") (param $p i32) (param $n i32) (result i64)
    global.get $inits
    i32.const 1
    i32.add
    global.set $inits
    local.get $p
    global.set $init_ptr
    local.get $n
    global.set $init_len
    i32.const 16
    i32.const 3
    call $emit)
  (data (i32.const 16) "\92\90\90")
"#;

/// An `_initialize` that counts.
pub const INITIALIZE: &str = r#"
  (func (export "_initialize")
    global.get $initializes
    i32.const 1
    i32.add
    global.set $initializes)
"#;

/// A module from the core, the version export and `parts`, plus functions returning
/// constant documents: each `(name, doc)` becomes an export returning a copy of `doc`.
pub fn module(parts: &[&str], constants: &[(&str, Vec<u8>)]) -> String {
    let mut wat = String::from("(module\n");
    // Imports come first in the text format.
    let (imports, rest): (Vec<&str>, Vec<&str>) = parts
        .iter()
        .partition(|p| p.trim_start().starts_with("(import"));
    for p in imports.iter().chain([&CORE]).chain(&rest) {
        wat.push_str(p);
        wat.push('\n');
    }
    let mut at = 1024;
    for (name, bytes) in constants {
        let escaped: String = bytes.iter().map(|b| format!("\\{b:02x}")).collect();
        wat.push_str(&format!(
            "(data (i32.const {at}) \"{escaped}\")\n\
             (func (export \"{name}\") (param i32 i32) (result i64)\n  \
             i32.const {at}\n  i32.const {}\n  call $emit)\n",
            bytes.len()
        ));
        at += bytes.len().div_ceil(8) * 8;
        assert!(at < 4096, "constant documents overflow the data area");
    }
    wat.push(')');
    wat
}

/// A complete, well-behaved plugin with `extra` parts and constant functions.
pub fn good_module(extra: &[&str], constants: &[(&str, Vec<u8>)]) -> String {
    let mut parts = vec![VERSION_1, INIT_OK, INITIALIZE];
    parts.extend_from_slice(extra);
    module(&parts, constants)
}

/// A fresh temporary directory, kept for the test's lifetime.
pub fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("tempdir")
}

/// Writes `contents` to `dir/name` and returns the path.
pub fn write(dir: &Path, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, contents).expect("write module");
    path
}

/// Loads `wat` as plugin `name` with `limits` on the shared runtime.
pub fn load(name: &str, wat: &str, limits: Limits) -> (Plugin, tempfile::TempDir) {
    let dir = tempdir();
    let path = write(dir.path(), &format!("{name}.wat"), wat);
    let plugin = Plugin::load(&runtime(), name, &path, &serde_json::json!({}), limits)
        .unwrap_or_else(|e| panic!("load {name}: {e}"));
    (plugin, dir)
}

/// An output document `[items, errors]`.
pub fn output_doc(items: &[Vec<u8>], errors: &[RecordError]) -> Vec<u8> {
    let mut out = Vec::new();
    doc::write_output(&mut out, items.len() as u32, &items.concat(), errors);
    out
}

/// One encoded int.
pub fn int(v: i64) -> Vec<u8> {
    let mut b = Vec::new();
    msgpack::write_int(&mut b, v);
    b
}

/// One encoded string.
pub fn string(s: &str) -> Vec<u8> {
    let mut b = Vec::new();
    msgpack::write_str(&mut b, s);
    b
}

/// A context for tests.
pub fn ctx(batch_time_ms: i64, partition: u32) -> Ctx {
    Ctx::new(batch_time_ms, partition)
}

/// The bytes of a `bin` record (what `mirror` returns).
pub fn unbin(record: &[u8]) -> Vec<u8> {
    assert_eq!(record[0], 0xc6, "a bin32 record");
    let n = u32::from_be_bytes([record[1], record[2], record[3], record[4]]) as usize;
    assert_eq!(record.len(), 5 + n);
    record[5..].to_vec()
}

/// The records of an output as a vector of byte vectors.
pub fn records(out: &CallOutput) -> Vec<Vec<u8>> {
    out.items.iter().map(<[u8]>::to_vec).collect()
}

/// `[inits, initializes, calls]` from the `counters` export.
pub fn counters(plugin: &Plugin) -> [u8; 3] {
    let out = plugin
        .call("counters", sluice_abi::Shape::Transform, 0, &[], &ctx(0, 0))
        .expect("counters");
    let p: &Partition = &out.items;
    [
        p.get(0).unwrap()[0],
        p.get(1).unwrap()[0],
        p.get(2).unwrap()[0],
    ]
}

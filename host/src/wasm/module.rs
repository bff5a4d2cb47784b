//! Loading a plugin module: read, compile (or hit the cache), validate its exports and
//! imports against ABI v1, and link it once into an `InstancePre`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use sluice_abi::exports;
use wasmtime::{ExternType, FuncType, InstancePre, Linker, Module, ValType};

use super::error::PluginError;
use super::instance::InstanceState;
use super::runtime::WasmRuntime;
use super::{host_log, wasi};

/// A compiled, validated and linked plugin module.
pub(crate) struct LoadedModule {
    pub(crate) path: PathBuf,
    pub(crate) size: u64,
    pub(crate) pre: InstancePre<InstanceState>,
    /// Operator functions: exports of type `(i32, i32) -> i64` outside the reserved names.
    pub(crate) functions: Vec<String>,
    /// Other function exports and their types, for messages.
    pub(crate) other_functions: BTreeMap<String, String>,
    /// Imports as `module.name`.
    pub(crate) imports: Vec<String>,
    pub(crate) has_init: bool,
    pub(crate) has_initialize: bool,
    pub(crate) from_cache: bool,
}

/// Reads, compiles (for the engine with fuel metering when `fuel`) and validates `path`.
///
/// # Errors
/// [`PluginError::Io`] or [`PluginError::Invalid`] naming the file and the problem.
pub(crate) fn load(
    runtime: &WasmRuntime,
    path: &Path,
    fuel: bool,
) -> Result<LoadedModule, PluginError> {
    let bytes = std::fs::read(path).map_err(|cause| PluginError::Io {
        path: path.to_owned(),
        cause,
    })?;
    if !bytes.starts_with(b"\0asm") && !looks_like_wat(&bytes) {
        return Err(invalid(
            path,
            "not a WebAssembly module (neither the `\\0asm` magic bytes of a binary nor \
             the text format)",
        ));
    }
    let (module, from_cache) = runtime.compile(path, &bytes, fuel)?;
    let imports = check_imports(&module, path)?;
    let exports = check_exports(&module, path)?;
    let mut linker = Linker::new(runtime.engine(fuel)?);
    host_log::add_to_linker(&mut linker)
        .and_then(|()| wasi::add_to_linker(&mut linker))
        .map_err(|e| PluginError::Runtime(format!("cannot define host functions: {e:#}")))?;
    let pre = linker
        .instantiate_pre(&module)
        .map_err(|e| invalid(path, &format!("cannot be linked: {}", e.root_cause())))?;
    Ok(LoadedModule {
        path: path.to_owned(),
        size: bytes.len() as u64,
        pre,
        functions: exports.functions,
        other_functions: exports.other_functions,
        imports,
        has_init: exports.has_init,
        has_initialize: exports.has_initialize,
        from_cache,
    })
}

/// Whether `bytes` look like the WebAssembly text format (a `(` or a `;;` comment first).
fn looks_like_wat(bytes: &[u8]) -> bool {
    let start = bytes.iter().position(|b| !b.is_ascii_whitespace());
    start.is_some_and(|i| bytes[i] == b'(' || bytes[i..].starts_with(b";;"))
}

fn invalid(path: &Path, message: &str) -> PluginError {
    PluginError::Invalid {
        path: path.to_owned(),
        message: message.to_owned(),
    }
}

/// Checks every import is one Sluice serves; returns them as `module.name`.
fn check_imports(module: &Module, path: &Path) -> Result<Vec<String>, PluginError> {
    let mut names = Vec::new();
    for import in module.imports() {
        let (m, n) = (import.module(), import.name());
        let served = (m == exports::HOST_MODULE && n == exports::LOG_FN)
            || (m == exports::WASI_P1_MODULE && wasi::SERVED.contains(&n));
        if !served {
            return Err(invalid(
                path,
                &format!(
                    "imports `{m}.{n}`, which Sluice does not provide (plugins may import \
                     `{}.{}` and the WASI preview 1 functions listed in docs/runtime.md)",
                    exports::HOST_MODULE,
                    exports::LOG_FN
                ),
            ));
        }
        if !matches!(import.ty(), ExternType::Func(_)) {
            return Err(invalid(
                path,
                &format!("imports `{m}.{n}` as a non-function"),
            ));
        }
        names.push(format!("{m}.{n}"));
    }
    Ok(names)
}

struct Exports {
    functions: Vec<String>,
    other_functions: BTreeMap<String, String>,
    has_init: bool,
    has_initialize: bool,
}

/// Checks the required exports and their types; collects the operator functions.
fn check_exports(module: &Module, path: &Path) -> Result<Exports, PluginError> {
    let mut funcs = BTreeMap::new();
    let mut memory = None;
    for export in module.exports() {
        match export.ty() {
            ExternType::Func(f) => {
                funcs.insert(export.name().to_owned(), f);
            }
            ExternType::Memory(m) if export.name() == exports::MEMORY => memory = Some(m),
            _ => {}
        }
    }
    match memory {
        None => {
            return Err(invalid(
                path,
                &format!("does not export `{}` (its linear memory)", exports::MEMORY),
            ))
        }
        Some(m) if m.is_64() || m.is_shared() => {
            return Err(invalid(
                path,
                &format!(
                    "exports a {} `{}`; plugins use one 32-bit, unshared memory",
                    if m.is_64() { "64-bit" } else { "shared" },
                    exports::MEMORY
                ),
            ))
        }
        Some(_) => {}
    }
    use ValType::{I32, I64};
    let required: [(&str, &[ValType], &[ValType]); 3] = [
        (exports::ABI_VERSION_FN, &[], &[I32]),
        (exports::ALLOC_FN, &[I32], &[I32]),
        (exports::FREE_FN, &[I32, I32], &[]),
    ];
    for (name, params, results) in required {
        let Some(f) = funcs.get(name) else {
            return Err(invalid(
                path,
                &format!(
                    "does not export `{name}` ({}), required by the Sluice ABI",
                    signature_text(params, results)
                ),
            ));
        };
        check_signature(path, name, f, params, results)?;
    }
    let has_init = funcs.contains_key(exports::INIT_FN);
    if let Some(f) = funcs.get(exports::INIT_FN) {
        check_signature(path, exports::INIT_FN, f, &[I32, I32], &[I64])?;
    }
    let has_initialize = funcs.contains_key(exports::INITIALIZE_FN);
    if let Some(f) = funcs.get(exports::INITIALIZE_FN) {
        check_signature(path, exports::INITIALIZE_FN, f, &[], &[])?;
    }
    let mut functions = Vec::new();
    let mut other_functions = BTreeMap::new();
    for (name, f) in &funcs {
        if exports::RESERVED.contains(&name.as_str()) {
            continue;
        }
        if types_are(f, &[I32, I32], &[I64]) {
            functions.push(name.clone());
        } else {
            other_functions.insert(name.clone(), func_text(f));
        }
    }
    Ok(Exports {
        functions,
        other_functions,
        has_init,
        has_initialize,
    })
}

fn check_signature(
    path: &Path,
    name: &str,
    f: &FuncType,
    params: &[ValType],
    results: &[ValType],
) -> Result<(), PluginError> {
    if types_are(f, params, results) {
        return Ok(());
    }
    Err(invalid(
        path,
        &format!(
            "exports `{name}` with type {}, but the Sluice ABI requires {}",
            func_text(f),
            signature_text(params, results)
        ),
    ))
}

fn types_are(f: &FuncType, params: &[ValType], results: &[ValType]) -> bool {
    let same = |a: &ValType, b: &ValType| ValType::eq(a, b);
    f.params().len() == params.len()
        && f.results().len() == results.len()
        && f.params().zip(params).all(|(a, b)| same(&a, b))
        && f.results().zip(results).all(|(a, b)| same(&a, b))
}

/// `(i32, i32) -> i64`.
pub(crate) fn func_text(f: &FuncType) -> String {
    let params: Vec<ValType> = f.params().collect();
    let results: Vec<ValType> = f.results().collect();
    signature_text(&params, &results)
}

fn signature_text(params: &[ValType], results: &[ValType]) -> String {
    let list = |v: &[ValType]| {
        v.iter().fold(String::new(), |mut s, t| {
            if !s.is_empty() {
                s.push_str(", ");
            }
            let _ = write!(s, "{t}");
            s
        })
    };
    match results {
        [] => format!("({})", list(params)),
        [one] => format!("({}) -> {one}", list(params)),
        many => format!("({}) -> ({})", list(params), list(many)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_format_is_recognised() {
        assert!(looks_like_wat(b"  (module)"));
        assert!(looks_like_wat(b";; a plugin\n(module)"));
        assert!(!looks_like_wat(b"hello"));
        assert!(!looks_like_wat(b""));
    }

    #[test]
    fn signatures_print_like_the_docs() {
        use ValType::{I32, I64};
        assert_eq!(signature_text(&[I32, I32], &[I64]), "(i32, i32) -> i64");
        assert_eq!(signature_text(&[I32, I32], &[]), "(i32, i32)");
        assert_eq!(signature_text(&[], &[I32, I32]), "() -> (i32, i32)");
    }
}

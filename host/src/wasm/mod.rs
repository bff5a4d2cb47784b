//! The sandboxed WebAssembly runtime: loading, validating and calling plugins.
//!
//! PUBLIC API CONTRACT (implemented by the runtime work; other modules code against it):
//! - one [`WasmRuntime`] per process (one wasmtime `Engine`, epoch ticker, on-disk cache);
//! - [`Plugin::load`] compiles (or loads from cache) and validates a module once;
//! - [`Plugin::call`] runs one operator function on one partition, on the calling thread
//!   (a rayon worker, never a tokio executor thread), reusing pooled instances.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use sluice_abi::{Ctx, RecordError, Shape};

use crate::record::Partition;

/// Limits applied to every call of a plugin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Wall-clock deadline per call (epoch interruption).
    pub timeout: Duration,
    /// Maximum linear memory per instance, in bytes.
    pub memory_bytes: u64,
    /// Maximum size of one output document, in bytes.
    pub output_bytes: u64,
    /// Fuel per call, when metering is wanted.
    pub fuel: Option<u64>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            timeout: Duration::from_secs(5),
            memory_bytes: 256 << 20,
            output_bytes: 64 << 20,
            fuel: None,
        }
    }
}

/// Process-wide runtime settings.
#[derive(Debug, Clone, Default)]
pub struct RuntimeConfig {
    /// Where compiled modules are cached; `None` disables the cache.
    pub cache_dir: Option<PathBuf>,
}

/// Errors creating the runtime or loading a plugin.
#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    #[error("plugin runtime: {0}")]
    Runtime(String),
}

/// A failed call; always names the plugin and the function.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    #[error("plugin `{plugin}` function `{function}`: {message}")]
    Failed {
        plugin: String,
        function: String,
        message: String,
    },
}

/// The result of a successful call.
#[derive(Debug, Default)]
pub struct CallOutput {
    /// The produced items (records, values or update results, by shape).
    pub items: Partition,
    /// Per-item errors reported by the guest (never a whole-call error: that is a
    /// [`CallError`]).
    pub errors: Vec<RecordError>,
}

/// One wasmtime engine per process.
#[derive(Debug)]
pub struct WasmRuntime {
    _config: RuntimeConfig,
}

impl WasmRuntime {
    /// Creates the runtime.
    pub fn new(config: RuntimeConfig) -> Result<Arc<Self>, PluginError> {
        Ok(Arc::new(WasmRuntime { _config: config }))
    }
}

/// A loaded, validated plugin; cheap to clone and share between threads.
#[derive(Debug, Clone)]
pub struct Plugin {
    name: Arc<str>,
}

impl Plugin {
    /// Compiles (or loads from the cache) and validates `path`, then runs `sluice_init`
    /// with `params` once per instance.
    pub fn load(
        _runtime: &Arc<WasmRuntime>,
        name: &str,
        _path: &Path,
        _params: &serde_json::Value,
        _limits: Limits,
    ) -> Result<Plugin, PluginError> {
        Ok(Plugin { name: name.into() })
    }

    /// The plugin's name in the job.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether the module exports an operator function of this name.
    pub fn has_function(&self, _function: &str) -> bool {
        unimplemented!("wasm runtime not yet implemented")
    }

    /// Calls `function` with `count` encoded items laid end to end in `items`.
    pub fn call(
        &self,
        _function: &str,
        _shape: Shape,
        _count: u32,
        _items: &[u8],
        _ctx: &Ctx,
    ) -> Result<CallOutput, CallError> {
        unimplemented!("wasm runtime not yet implemented")
    }
}

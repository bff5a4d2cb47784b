//! The sandboxed WebAssembly runtime: loading, validating and calling plugins.
//!
//! - one [`WasmRuntime`] per process (a wasmtime `Engine`, a second one with fuel
//!   metering for plugins with a fuel limit, an epoch ticker, the on-disk compilation
//!   cache; [`RuntimeConfig::from_env`] gives the cache directory a `sluice` process uses);
//! - [`Plugin::load`] compiles (or loads from the cache) and validates a module once, and
//!   links it once into an `InstancePre`;
//! - [`Plugin::call`] runs one operator function on one partition, on the calling thread
//!   (a rayon worker, never a tokio executor thread), reusing pooled instances.
//!
//! Lifecycle, limits and the WASI subset are documented in `docs/runtime.md`.
//!
//! ```no_run
//! use sluice::wasm::{Limits, Plugin, RuntimeConfig, WasmRuntime};
//! use sluice_abi::{msgpack, Ctx, Shape};
//!
//! let runtime = WasmRuntime::new(RuntimeConfig::from_env())?;
//! let words = Plugin::load(&runtime, "words", "plugins/dist/words.wasm".as_ref(),
//!     &serde_json::json!({}), Limits::default())?;
//! let mut records = Vec::new();
//! msgpack::write_str(&mut records, "to be or not to be");
//! let out = words.call("split", Shape::Transform, 1, &records, &Ctx::default())?;
//! assert_eq!(out.items.len(), 6);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod call;
mod component;
mod error;
mod host_log;
mod inspect;
mod instance;
mod limits;
mod module;
mod pool;
mod runtime;
mod stats;
mod trap;
mod wasi;

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use sluice_abi::{exports, Ctx, Shape};

pub use call::CallOutput;
pub use component::{GUEST_INTERFACE, HOST_INTERFACE};
pub use error::{CallError, DisplayBytes, DisplayDuration, PluginError};
pub use host_log::{LogLine, LogSink};
pub use inspect::{inspect, PluginInfo};
pub use limits::Limits;
pub use pool::MAX_KEPT_GROWTH;
pub use runtime::{CacheStats, RuntimeConfig, WasmRuntime};
pub use stats::{FunctionStats, PluginErrorEntry, PluginStats, CALL_BUCKETS};
pub use wasi::SERVED as WASI_FUNCTIONS;

use crate::record::json_to_msgpack;
use component::ComponentPlugin;
use error::Failure;
use instance::PluginInstance;
use module::LoadedModule;
use pool::{worth_keeping, InstancePool};
use stats::ErrorSite;

/// A loaded, validated plugin; cheap to clone and share between threads.
#[derive(Clone)]
pub struct Plugin {
    inner: Arc<PluginInner>,
}

struct PluginInner {
    name: Arc<str>,
    code: Code,
    limits: Limits,
    /// The encoded params map, the one item of `sluice_init`'s input.
    params: Vec<u8>,
    /// Per-function call counters and the latest errors.
    stats: PluginStats,
    /// Where the guest's log lines go instead of `tracing`.
    log_sink: Option<LogSink>,
    /// Keeps the engine and its epoch ticker alive while the plugin is.
    _runtime: Arc<WasmRuntime>,
}

/// A plugin's code: a core module speaking ABI v1, or a component of the
/// `sluice:plugin` world (`component`).
enum Code {
    Module {
        module: LoadedModule,
        pool: InstancePool<PluginInstance>,
    },
    Component(ComponentPlugin),
}

impl fmt::Debug for Plugin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Plugin")
            .field("name", &self.inner.name)
            .field("path", &self.path())
            .field("functions", &self.functions())
            .finish_non_exhaustive()
    }
}

impl Plugin {
    /// Compiles (or loads from the cache) and validates `path`, then runs `sluice_init`
    /// with `params` once per instance (here on the first one).
    ///
    /// # Errors
    /// [`PluginError::Io`] when the file cannot be read, [`PluginError::Invalid`] when it
    /// is not a valid plugin (naming the file and the problem), [`PluginError::Init`] when
    /// `_initialize` or `sluice_init` fails.
    pub fn load(
        runtime: &Arc<WasmRuntime>,
        name: &str,
        path: &Path,
        params: &serde_json::Value,
        limits: Limits,
    ) -> Result<Plugin, PluginError> {
        Plugin::load_with_log(runtime, name, path, params, limits, None)
    }

    /// [`Plugin::load`], with the guest's log lines (from `sluice.log`, stdout and stderr,
    /// `sluice_init`'s included) sent to `log_sink` instead of `tracing` when it is given.
    ///
    /// # Errors
    /// As [`Plugin::load`].
    pub fn load_with_log(
        runtime: &Arc<WasmRuntime>,
        name: &str,
        path: &Path,
        params: &serde_json::Value,
        limits: Limits,
        log_sink: Option<LogSink>,
    ) -> Result<Plugin, PluginError> {
        let mut encoded = Vec::new();
        json_to_msgpack(params, &mut encoded);
        let name: Arc<str> = name.into();
        if component::is_component_file(path) {
            let c = ComponentPlugin::load(
                runtime,
                &name,
                path,
                Some(&encoded),
                &limits,
                log_sink.clone(),
            )?;
            tracing::debug!(plugin = %name, path = %path.display(), from_cache = c.from_cache, "Component plugin loaded.");
            return Ok(Plugin {
                inner: Arc::new(PluginInner {
                    name,
                    stats: PluginStats::new(c.functions.len()),
                    code: Code::Component(c),
                    limits,
                    params: encoded,
                    log_sink,
                    _runtime: runtime.clone(),
                }),
            });
        }
        let module = module::load(runtime, path, limits.fuel.is_some())?;
        let from_cache = module.from_cache;
        let plugin = Plugin {
            inner: Arc::new(PluginInner {
                name,
                stats: PluginStats::new(module.functions.len()),
                code: Code::Module {
                    module,
                    pool: InstancePool::for_this_machine(),
                },
                limits,
                params: encoded,
                log_sink,
                _runtime: runtime.clone(),
            }),
        };
        let Code::Module { module, pool } = &plugin.inner.code else {
            unreachable!("built as a module above");
        };
        let first = plugin
            .instantiate(module)
            .map_err(|f| plugin.load_error(f))?;
        pool.give_back(first);
        tracing::debug!(plugin = %plugin.inner.name, path = %path.display(), from_cache, "Plugin loaded.");
        Ok(plugin)
    }

    fn load_error(&self, failure: Failure) -> PluginError {
        let path = self.path().to_owned();
        match failure {
            // A wrong ABI version or a missing export is the module's fault, not init's.
            Failure::Other(message) => PluginError::Invalid { path, message },
            other => PluginError::Init {
                path,
                plugin: self.inner.name.to_string(),
                message: other.to_string(),
            },
        }
    }

    /// A new instance: instantiated, `_initialize`d, version-checked and `sluice_init`ed.
    fn instantiate(&self, m: &LoadedModule) -> Result<PluginInstance, Failure> {
        let inner = &*self.inner;
        let mut instance = PluginInstance::new(
            &m.pre,
            &inner.name,
            inner.log_sink.as_ref(),
            &inner.limits,
            m.has_initialize,
        )?;
        if m.has_init {
            let init = instance.call(
                exports::INIT_FN,
                Shape::Init,
                1,
                &inner.params,
                &Ctx::default(),
            );
            match init {
                Ok(_) => {}
                Err(Failure::Guest(message)) => {
                    return Err(Failure::Guest(format!(
                        "`{}` failed: {message}",
                        exports::INIT_FN
                    )))
                }
                Err(other) => return Err(other),
            }
        }
        instance.mark_ready();
        Ok(instance)
    }

    /// The plugin's name in the job.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// The module file the plugin was loaded from.
    pub fn path(&self) -> &Path {
        match &self.inner.code {
            Code::Module { module, .. } => &module.path,
            Code::Component(c) => &c.path,
        }
    }

    /// Whether the plugin is a WebAssembly component (rather than a core module).
    pub fn is_component(&self) -> bool {
        matches!(self.inner.code, Code::Component(_))
    }

    /// The limits applied to every call.
    pub fn limits(&self) -> &Limits {
        &self.inner.limits
    }

    /// The operator functions the module exports, sorted by name.
    pub fn functions(&self) -> &[String] {
        match &self.inner.code {
            Code::Module { module, .. } => &module.functions,
            Code::Component(c) => &c.functions,
        }
    }

    /// Whether the module exports an operator function of this name.
    pub fn has_function(&self, function: &str) -> bool {
        self.function_index(function).is_some()
    }

    /// The index of an operator function in [`Plugin::functions`].
    fn function_index(&self, function: &str) -> Option<usize> {
        self.functions()
            .binary_search_by(|f| f.as_str().cmp(function))
            .ok()
    }

    /// Call counters per function (in the order of [`Plugin::functions`]) and the latest
    /// errors, for metrics and the UI.
    pub fn stats(&self) -> &PluginStats {
        &self.inner.stats
    }

    /// The number of idle instances kept for reuse (for tests and metrics).
    pub fn idle_instances(&self) -> usize {
        match &self.inner.code {
            Code::Module { pool, .. } => pool.idle(),
            Code::Component(c) => c.idle(),
        }
    }

    /// Calls `function` with `count` encoded items laid end to end in `items`.
    ///
    /// Runs on the calling thread with an idle instance (or a new one). The instance is
    /// discarded after a failed call, and recycled when its memory grew past half the
    /// memory limit or by more than [`MAX_KEPT_GROWTH`] in its calls.
    ///
    /// # Errors
    /// A [`CallError`] naming the plugin and function: no such function, a trap, the
    /// deadline, the memory limit, fuel, bad output, or a whole-call error from the guest.
    pub fn call(
        &self,
        function: &str,
        shape: Shape,
        count: u32,
        items: &[u8],
        ctx: &Ctx,
    ) -> Result<CallOutput, CallError> {
        let inner = &*self.inner;
        let fail = |f: Failure| f.into_call_error(&inner.name, function);
        let Some(index) = self.function_index(function) else {
            return Err(fail(Failure::Other(self.no_such_function(function))));
        };
        let started = std::time::Instant::now();
        let (result, memory) = self.call_code(function, shape, count, items, ctx);
        let site = ErrorSite {
            plugin: &inner.name,
            function,
            index,
            batch_time: ctx.batch_time_ms,
            count,
            items,
        };
        inner.stats.record(site, started.elapsed(), memory, &result);
        result.map_err(fail)
    }

    /// Runs the call on the module's or the component's instances; returns the result
    /// and the instance's memory after it, bytes.
    fn call_code(
        &self,
        function: &str,
        shape: Shape,
        count: u32,
        items: &[u8],
        ctx: &Ctx,
    ) -> (Result<CallOutput, Failure>, u64) {
        let inner = &*self.inner;
        let (module, pool) = match &inner.code {
            Code::Module { module, pool } => (module, pool),
            Code::Component(c) => {
                return c.call(
                    &inner.name,
                    &inner.params,
                    &inner.limits,
                    function,
                    shape,
                    count,
                    items,
                    ctx,
                );
            }
        };
        let mut instance = match pool.take() {
            Some(i) => i,
            None => match self.instantiate(module) {
                Ok(i) => i,
                Err(f) => {
                    let message = format!("cannot start a new instance: {f}");
                    return (Err(Failure::Other(message)), 0);
                }
            },
        };
        let result = instance.call(function, shape, count, items, ctx);
        let memory = instance.memory_size();
        let healthy = match &result {
            Ok(_) => true,
            Err(f) => f.instance_is_healthy(),
        };
        let (high, growth) = (instance.memory_high_water(), instance.memory_growth());
        if healthy && worth_keeping(high, growth, inner.limits.memory_bytes) {
            pool.give_back(instance);
        } else if healthy {
            tracing::debug!(
                plugin = %inner.name,
                function,
                memory_bytes = memory,
                "Instance recycled: its memory grew past half the limit or by more than 64 MiB."
            );
        }
        (result, memory)
    }

    fn no_such_function(&self, function: &str) -> String {
        let listed = |path: &Path, functions: &[String]| {
            format!(
                "{} does not export it (operator functions: {})",
                path.display(),
                if functions.is_empty() {
                    "none".to_owned()
                } else {
                    functions.join(", ")
                }
            )
        };
        let m = match &self.inner.code {
            Code::Module { module, .. } => module,
            Code::Component(c) => return listed(&c.path, &c.functions),
        };
        if let Some(ty) = m.other_functions.get(function) {
            return format!(
                "the export has type {ty}, not (i32, i32) -> i64, so it is not an operator function"
            );
        }
        if exports::RESERVED.contains(&function) {
            return "this export is part of the ABI, not an operator function".into();
        }
        listed(&m.path, &m.functions)
    }
}

//! [`WasmRuntime`]: the process's wasmtime engines, their epoch ticker and the on-disk
//! compilation cache.
//!
//! Fuel metering is a per-engine setting in wasmtime and costs every call of every plugin
//! (about 10–20 % of a string-heavy function), so plugins without a fuel limit run on an
//! engine without metering, and a second engine with metering is created the first time a
//! plugin sets `limits.fuel`.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::Duration;

use wasmtime::component::Component;
use wasmtime::{
    Cache, CacheConfig, Config, Engine, InstanceAllocationStrategy, Module,
    PoolingAllocationConfig, WasmBacktraceDetails,
};

use sha2::{Digest, Sha256};

use super::error::PluginError;

/// How often the ticker advances the engine's epoch; deadlines are checked at this grain.
pub(crate) const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Instance slots of the pooling allocator (memories, tables and instances alike).
const POOL_SLOTS: u32 = 128;

/// Core instance and table slots: a component instance holds several core instances and
/// tables (a Python component about 30 instances), and these slots cost no address space
/// reservation of their own, unlike memories.
const POOL_INSTANCE_SLOTS: u32 = 2048;

/// Process-wide runtime settings.
#[derive(Debug, Clone, Default)]
pub struct RuntimeConfig {
    /// Where compiled modules are cached; `None` disables the cache.
    pub cache_dir: Option<PathBuf>,
}

impl RuntimeConfig {
    /// The settings a `sluice` process uses: the cache in `$SLUICE_CACHE_DIR` if set (the
    /// value `off` disables it), else `$XDG_CACHE_HOME/sluice`, else `~/.cache/sluice`.
    pub fn from_env() -> Self {
        let dir = match std::env::var_os("SLUICE_CACHE_DIR") {
            Some(v) if v == "off" => None,
            Some(v) if !v.is_empty() => Some(PathBuf::from(v)),
            _ => default_cache_dir(),
        };
        RuntimeConfig { cache_dir: dir }
    }
}

fn default_cache_dir() -> Option<PathBuf> {
    if let Some(xdg) = std::env::var_os("XDG_CACHE_HOME").filter(|v| !v.is_empty()) {
        return Some(PathBuf::from(xdg).join("sluice"));
    }
    let home = std::env::var_os("HOME").filter(|v| !v.is_empty())?;
    Some(PathBuf::from(home).join(".cache").join("sluice"))
}

/// Hits and misses of the on-disk compilation cache since the runtime was created.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CacheStats {
    /// Modules loaded from the cache without compiling.
    pub hits: usize,
    /// Modules compiled and written to the cache.
    pub misses: usize,
}

/// The wasmtime engines of a process, with their epoch ticker and compilation cache.
///
/// Dropping the last `Arc` (plugins hold one) stops the ticker thread.
pub struct WasmRuntime {
    /// Without fuel metering: plugins without a fuel limit.
    engine: Engine,
    /// With fuel metering, created for the first plugin with a fuel limit; shared with
    /// the ticker, which advances its epoch too once it exists.
    fuel_engine: Arc<OnceLock<Engine>>,
    cache: Option<Cache>,
    /// Modules compiled by this process, by the SHA-256 of their bytes and whether they
    /// were compiled for the metered engine.
    modules: Mutex<HashMap<([u8; 32], bool), Module>>,
    /// Components compiled by this process, keyed the same way.
    components: Mutex<HashMap<([u8; 32], bool), Component>>,
    pooling: bool,
    _ticker: EpochTicker,
}

impl fmt::Debug for WasmRuntime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WasmRuntime")
            .field("cache_dir", &self.cache_dir())
            .field("pooling", &self.pooling)
            .finish_non_exhaustive()
    }
}

impl WasmRuntime {
    /// Creates the engine without fuel metering (pooling allocator when the system allows
    /// it, on-demand otherwise), the cache and the epoch ticker; the metered engine comes
    /// with the first plugin that has a fuel limit.
    ///
    /// # Errors
    /// [`PluginError::Runtime`] when no engine can be created at all. A cache directory
    /// that cannot be used only disables the cache, with a warning.
    pub fn new(config: RuntimeConfig) -> Result<Arc<Self>, PluginError> {
        let cache = config.cache_dir.as_deref().and_then(open_cache);
        let (engine, pooling) = make_engine(cache.as_ref(), false)?;
        let fuel_engine = Arc::new(OnceLock::new());
        let ticker = EpochTicker::start(engine.clone(), fuel_engine.clone())?;
        Ok(Arc::new(WasmRuntime {
            engine,
            fuel_engine,
            cache,
            modules: Mutex::new(HashMap::new()),
            components: Mutex::new(HashMap::new()),
            pooling,
            _ticker: ticker,
        }))
    }

    /// The engine for plugins with (`fuel`) or without a fuel limit.
    pub(crate) fn engine(&self, fuel: bool) -> Result<&Engine, PluginError> {
        if !fuel {
            return Ok(&self.engine);
        }
        if let Some(e) = self.fuel_engine.get() {
            return Ok(e);
        }
        let (engine, _) = make_engine(self.cache.as_ref(), true)?;
        Ok(self.fuel_engine.get_or_init(|| engine))
    }

    /// The cache directory in use, if the cache is on.
    pub fn cache_dir(&self) -> Option<&Path> {
        self.cache.as_ref().map(|c| c.directory().as_path())
    }

    /// Cache hits and misses so far; `None` when the cache is off.
    pub fn cache_stats(&self) -> Option<CacheStats> {
        self.cache.as_ref().map(|c| CacheStats {
            hits: c.cache_hits(),
            misses: c.cache_misses(),
        })
    }

    /// Whether instances come from the pooling allocator.
    pub fn pooling(&self) -> bool {
        self.pooling
    }

    /// Compiles `bytes` once per process (or loads the compiled code from the disk cache).
    ///
    /// Returns the module and whether it was compiled before (by this process or one
    /// that wrote the disk cache).
    pub(crate) fn compile(
        &self,
        path: &Path,
        bytes: &[u8],
        fuel: bool,
    ) -> Result<(Module, bool), PluginError> {
        let key = (Sha256::digest(bytes).into(), fuel);
        let engine = self.engine(fuel)?;
        let mut modules = self.modules.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(m) = modules.get(&key) {
            return Ok((m.clone(), true));
        }
        let before = self.cache_stats().map_or(0, |s| s.hits);
        let module = Module::new(engine, bytes).map_err(|e| PluginError::Invalid {
            path: path.to_owned(),
            message: format!("not a valid WebAssembly module: {}", e.root_cause()),
        })?;
        let hit = self.cache_stats().is_some_and(|s| s.hits > before);
        modules.insert(key, module.clone());
        Ok((module, hit))
    }

    /// [`WasmRuntime::compile`] for a component: compiled once per process, cached on
    /// disk like modules.
    pub(crate) fn compile_component(
        &self,
        path: &Path,
        bytes: &[u8],
        fuel: bool,
    ) -> Result<(Component, bool), PluginError> {
        let key = (Sha256::digest(bytes).into(), fuel);
        let engine = self.engine(fuel)?;
        let mut components = self.components.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(c) = components.get(&key) {
            return Ok((c.clone(), true));
        }
        let before = self.cache_stats().map_or(0, |s| s.hits);
        let component =
            Component::from_binary(engine, bytes).map_err(|e| PluginError::Invalid {
                path: path.to_owned(),
                message: format!("not a valid WebAssembly component: {}", e.root_cause()),
            })?;
        let hit = self.cache_stats().is_some_and(|s| s.hits > before);
        components.insert(key, component.clone());
        Ok((component, hit))
    }
}

/// An engine (pooling allocator when the system allows it, on-demand otherwise) with or
/// without fuel metering; says whether it pools.
fn make_engine(cache: Option<&Cache>, fuel: bool) -> Result<(Engine, bool), PluginError> {
    let mut cfg = base_config(fuel);
    cfg.cache(cache.cloned());
    let mut pool = PoolingAllocationConfig::new();
    pool.total_core_instances(POOL_INSTANCE_SLOTS)
        .total_memories(POOL_SLOTS)
        .total_tables(POOL_INSTANCE_SLOTS)
        .max_memories_per_module(1)
        .max_tables_per_module(4)
        .linear_memory_keep_resident(1 << 20);
    cfg.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    match Engine::new(&cfg) {
        Ok(engine) => Ok((engine, true)),
        Err(e) => {
            tracing::warn!(error = %format!("{e:#}"), "Pooling allocator unavailable; instances are allocated on demand.");
            cfg.allocation_strategy(InstanceAllocationStrategy::OnDemand);
            let engine = Engine::new(&cfg)
                .map_err(|e| PluginError::Runtime(format!("cannot create engine: {e:#}")))?;
            Ok((engine, false))
        }
    }
}

/// The engine settings every runtime uses (the pooling part is added by the caller).
fn base_config(fuel: bool) -> Config {
    let mut cfg = Config::new();
    cfg.epoch_interruption(true)
        .consume_fuel(fuel)
        .wasm_backtrace_details(WasmBacktraceDetails::Disable)
        .parallel_compilation(true);
    cfg
}

/// Opens the compilation cache in `dir`; warns and returns `None` when it cannot.
fn open_cache(dir: &Path) -> Option<Cache> {
    let result = (|| -> Result<Cache, String> {
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
        let abs = std::fs::canonicalize(dir).map_err(|e| e.to_string())?;
        let mut cc = CacheConfig::new();
        cc.with_directory(abs);
        Cache::new(cc).map_err(|e| format!("{e:#}"))
    })();
    match result {
        Ok(cache) => Some(cache),
        Err(error) => {
            tracing::warn!(dir = %dir.display(), %error, "Compilation cache disabled: cannot use its directory.");
            None
        }
    }
}

/// A thread that increments the engines' epochs every [`EPOCH_TICK`]; stops when dropped.
struct EpochTicker {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl EpochTicker {
    fn start(engine: Engine, fuel_engine: Arc<OnceLock<Engine>>) -> Result<Self, PluginError> {
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("sluice-epoch".into())
            .spawn(move || {
                while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(EPOCH_TICK) {
                    engine.increment_epoch();
                    if let Some(e) = fuel_engine.get() {
                        e.increment_epoch();
                    }
                }
            })
            .map_err(|e| PluginError::Runtime(format!("cannot start the epoch ticker: {e}")))?;
        Ok(EpochTicker {
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticker_advances_the_epoch_and_stops_on_drop() {
        let rt = WasmRuntime::new(RuntimeConfig::default()).unwrap();
        // Both engines (the metered one created on demand) see the ticker.
        for engine in [
            rt.engine(false).unwrap().clone(),
            rt.engine(true).unwrap().clone(),
        ] {
            spin_until_interrupted(&engine);
        }
        drop(rt); // joins the ticker thread; hangs here if it did not stop
    }

    fn spin_until_interrupted(engine: &Engine) {
        // A store sees the epoch through a deadline: one tick beyond now traps soon.
        let mut store = wasmtime::Store::new(engine, ());
        let _ = store.set_fuel(u64::MAX); // an error on the engine without metering
        store.set_epoch_deadline(3);
        store.epoch_deadline_trap();
        let module = Module::new(engine, "(module (func (export \"spin\") (loop br 0)))").unwrap();
        let instance = wasmtime::Instance::new(&mut store, &module, &[]).unwrap();
        let spin = instance
            .get_typed_func::<(), ()>(&mut store, "spin")
            .unwrap();
        let start = std::time::Instant::now();
        let err = spin.call(&mut store, ()).unwrap_err();
        assert_eq!(
            err.downcast_ref::<wasmtime::Trap>(),
            Some(&wasmtime::Trap::Interrupt)
        );
        assert!(start.elapsed() < Duration::from_secs(2));
    }
}

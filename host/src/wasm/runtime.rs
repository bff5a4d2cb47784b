//! [`WasmRuntime`]: the process's one wasmtime `Engine`, its epoch ticker and its on-disk
//! compilation cache.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

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

/// One wasmtime engine per process, with its epoch ticker and compilation cache.
///
/// Dropping the last `Arc` (plugins hold one) stops the ticker thread.
pub struct WasmRuntime {
    engine: Engine,
    cache: Option<Cache>,
    /// Modules compiled by this process, by the SHA-256 of their bytes.
    modules: Mutex<HashMap<[u8; 32], Module>>,
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
    /// Creates the engine (pooling allocator when the system allows it, on-demand
    /// otherwise), the cache and the epoch ticker.
    ///
    /// # Errors
    /// [`PluginError::Runtime`] when no engine can be created at all. A cache directory
    /// that cannot be used only disables the cache, with a warning.
    pub fn new(config: RuntimeConfig) -> Result<Arc<Self>, PluginError> {
        let cache = config.cache_dir.as_deref().and_then(open_cache);
        let mut cfg = base_config();
        cfg.cache(cache.clone());
        let mut pool = PoolingAllocationConfig::new();
        pool.total_core_instances(POOL_SLOTS)
            .total_memories(POOL_SLOTS)
            .total_tables(POOL_SLOTS)
            .max_memories_per_module(1)
            .max_tables_per_module(4)
            .linear_memory_keep_resident(1 << 20);
        cfg.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        let (engine, pooling) = match Engine::new(&cfg) {
            Ok(engine) => (engine, true),
            Err(e) => {
                tracing::warn!(error = %format!("{e:#}"), "Pooling allocator unavailable; instances are allocated on demand.");
                cfg.allocation_strategy(InstanceAllocationStrategy::OnDemand);
                let engine = Engine::new(&cfg)
                    .map_err(|e| PluginError::Runtime(format!("cannot create engine: {e:#}")))?;
                (engine, false)
            }
        };
        let ticker = EpochTicker::start(engine.clone())?;
        Ok(Arc::new(WasmRuntime {
            engine,
            cache,
            modules: Mutex::new(HashMap::new()),
            pooling,
            _ticker: ticker,
        }))
    }

    /// The engine, shared by every plugin.
    pub(crate) fn engine(&self) -> &Engine {
        &self.engine
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
    pub(crate) fn compile(&self, path: &Path, bytes: &[u8]) -> Result<(Module, bool), PluginError> {
        let key: [u8; 32] = Sha256::digest(bytes).into();
        let mut modules = self.modules.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(m) = modules.get(&key) {
            return Ok((m.clone(), true));
        }
        let before = self.cache_stats().map_or(0, |s| s.hits);
        let module = Module::new(&self.engine, bytes).map_err(|e| PluginError::Invalid {
            path: path.to_owned(),
            message: format!("not a valid WebAssembly module: {}", e.root_cause()),
        })?;
        let hit = self.cache_stats().is_some_and(|s| s.hits > before);
        modules.insert(key, module.clone());
        Ok((module, hit))
    }
}

/// The engine settings every runtime uses (the pooling part is added by the caller).
fn base_config() -> Config {
    let mut cfg = Config::new();
    cfg.epoch_interruption(true)
        .consume_fuel(true)
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

/// A thread that increments the engine's epoch every [`EPOCH_TICK`]; stops when dropped.
struct EpochTicker {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl EpochTicker {
    fn start(engine: Engine) -> Result<Self, PluginError> {
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("sluice-epoch".into())
            .spawn(move || {
                while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(EPOCH_TICK) {
                    engine.increment_epoch();
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
        let engine = rt.engine().clone();
        // A store sees the epoch through a deadline: one tick beyond now traps soon.
        let mut store = wasmtime::Store::new(&engine, ());
        store.set_fuel(u64::MAX).unwrap();
        store.set_epoch_deadline(3);
        store.epoch_deadline_trap();
        let module = Module::new(&engine, "(module (func (export \"spin\") (loop br 0)))").unwrap();
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
        drop(rt); // joins the ticker thread; hangs here if it did not stop
    }
}

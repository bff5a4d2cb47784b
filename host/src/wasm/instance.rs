//! [`PluginInstance`]: one instance of a plugin in its own store: instantiation, guest
//! memory I/O (every access bounds-checked) and calls under the plugin's limits.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sluice_abi::{exports, Ctx, Shape, ABI_VERSION};
use wasmtime::{InstancePre, Memory, Store, TypedFunc, UpdateDeadline};

use super::call::{self, CallOutput};
use super::error::Failure;
use super::host_log::{GuestLog, LogSink, LogView};
use super::limits::{Limits, MemoryLimiter};
use super::runtime::EPOCH_TICK;
use super::trap::{classify, DeadlineExceeded};
use super::wasi::{Stream, WasiState, WasiView};

/// The data of an instance's store, seen by host functions.
#[derive(Debug)]
pub(crate) struct InstanceState {
    pub(crate) limiter: MemoryLimiter,
    pub(crate) log: GuestLog,
    pub(crate) wasi: WasiState,
    /// When the current call must end; `None` between calls.
    deadline: Option<Instant>,
}

impl LogView for InstanceState {
    fn log(&mut self) -> &mut GuestLog {
        &mut self.log
    }
}

impl WasiView for InstanceState {
    fn wasi(&mut self) -> &mut WasiState {
        &mut self.wasi
    }

    fn output(&mut self, stream: Stream, bytes: &[u8]) {
        self.log.write_stream(stream, bytes);
    }
}

/// One live instance of a plugin with the typed exports it needs.
pub(crate) struct PluginInstance {
    store: Store<InstanceState>,
    memory: Memory,
    alloc: TypedFunc<i32, i32>,
    free: TypedFunc<(i32, i32), ()>,
    functions: HashMap<Box<str>, TypedFunc<(i32, i32), i64>>,
    instance: wasmtime::Instance,
    limits: Limits,
}

impl PluginInstance {
    /// Instantiates, runs `_initialize` when exported and checks `sluice_abi_version`.
    /// `sluice_init` is the caller's business (it needs the params).
    pub(crate) fn new(
        pre: &InstancePre<InstanceState>,
        plugin: &Arc<str>,
        log_sink: Option<&LogSink>,
        limits: &Limits,
        has_initialize: bool,
    ) -> Result<Self, Failure> {
        let state = InstanceState {
            limiter: MemoryLimiter::new(limits.memory_bytes),
            log: GuestLog::new(plugin.clone(), log_sink.cloned()),
            wasi: WasiState::default(),
            deadline: None,
        };
        let mut store = Store::new(pre.module().engine(), state);
        store.limiter(|s| &mut s.limiter);
        store.epoch_deadline_callback(|cx| {
            let Some(deadline) = cx.data().deadline else {
                return Ok(UpdateDeadline::Continue(1));
            };
            let now = Instant::now();
            if now >= deadline {
                return Err(wasmtime::Error::new(DeadlineExceeded));
            }
            Ok(UpdateDeadline::Continue(ticks(deadline - now)))
        });
        let mut inst = {
            let guard = CallGuard::begin(&mut store, limits, "instantiate", &Ctx::default());
            let instance = pre
                .instantiate(&mut *guard.store)
                .map_err(|e| classify(e, limits));
            drop(guard);
            let instance = instance?;
            let memory = instance
                .get_memory(&mut store, exports::MEMORY)
                .ok_or_else(|| Failure::Other("the instance has no memory".into()))?;
            let alloc = typed(&instance, &mut store, exports::ALLOC_FN)?;
            let free = typed(&instance, &mut store, exports::FREE_FN)?;
            PluginInstance {
                store,
                memory,
                alloc,
                free,
                functions: HashMap::new(),
                instance,
                limits: limits.clone(),
            }
        };
        if has_initialize {
            let f: TypedFunc<(), ()> =
                typed(&inst.instance, &mut inst.store, exports::INITIALIZE_FN)?;
            inst.run(exports::INITIALIZE_FN, &Ctx::default(), |s| f.call(s, ()))?;
        }
        let version: TypedFunc<(), i32> =
            typed(&inst.instance, &mut inst.store, exports::ABI_VERSION_FN)?;
        let v = inst.run(exports::ABI_VERSION_FN, &Ctx::default(), |s| {
            version.call(s, ())
        })?;
        if v != ABI_VERSION {
            return Err(Failure::Other(format!(
                "`{}` returned {v}; this host speaks ABI version {ABI_VERSION}",
                exports::ABI_VERSION_FN
            )));
        }
        Ok(inst)
    }

    /// The current size of the instance's memory, in bytes.
    pub(crate) fn memory_size(&self) -> u64 {
        self.memory.data_size(&self.store) as u64
    }

    /// The largest size the memory has reached, in bytes.
    pub(crate) fn memory_high_water(&self) -> u64 {
        self.store
            .data()
            .limiter
            .high_water()
            .max(self.memory_size())
    }

    /// Runs `f` on the store under the limits, with the log and WASI set up for the call.
    fn run<R>(
        &mut self,
        function: &str,
        ctx: &Ctx,
        f: impl FnOnce(&mut Store<InstanceState>) -> wasmtime::Result<R>,
    ) -> Result<R, Failure> {
        let guard = CallGuard::begin(&mut self.store, &self.limits, function, ctx);
        let r = f(guard.store);
        drop(guard);
        r.map_err(|e| classify(e, &self.limits))
    }

    /// Calls an operator function (or `sluice_init`) on `count` encoded items.
    pub(crate) fn call(
        &mut self,
        function: &str,
        shape: Shape,
        count: u32,
        items: &[u8],
        ctx: &Ctx,
    ) -> Result<CallOutput, Failure> {
        let func = match self.functions.get(function) {
            Some(f) => f.clone(),
            None => {
                let f = typed(&self.instance, &mut self.store, function)?;
                self.functions.insert(function.into(), f.clone());
                f
            }
        };
        let (memory, alloc, free) = (self.memory, self.alloc.clone(), self.free.clone());
        let limits = self.limits.clone();
        self.run(function, ctx, |store| {
            Ok(call::exchange(
                store, memory, &alloc, &free, &func, shape, count, items, ctx, &limits,
            ))
        })?
    }
}

fn typed<P, R>(
    instance: &wasmtime::Instance,
    store: &mut Store<InstanceState>,
    name: &str,
) -> Result<TypedFunc<P, R>, Failure>
where
    P: wasmtime::WasmParams,
    R: wasmtime::WasmResults,
{
    instance
        .get_typed_func::<P, R>(store, name)
        .map_err(|e| Failure::Other(format!("export `{name}`: {e}")))
}

/// Epoch ticks covering `d` (at least one).
pub(crate) fn ticks(d: Duration) -> u64 {
    (d.as_nanos().div_ceil(EPOCH_TICK.as_nanos()) as u64).max(1)
}

/// Sets up a store for a call (deadline, fuel, log, WASI) and tears it down when dropped.
struct CallGuard<'s> {
    store: &'s mut Store<InstanceState>,
}

impl<'s> CallGuard<'s> {
    fn begin(
        store: &'s mut Store<InstanceState>,
        limits: &Limits,
        function: &str,
        ctx: &Ctx,
    ) -> Self {
        let state = store.data_mut();
        state.deadline = Some(Instant::now() + limits.timeout);
        state.log.begin_call(function);
        state.wasi.begin_call(ctx);
        store.set_epoch_deadline(ticks(limits.timeout));
        // Only plugins with a fuel limit run on the engine that meters fuel.
        if let Some(fuel) = limits.fuel {
            let _ = store.set_fuel(fuel);
        }
        CallGuard { store }
    }
}

impl Drop for CallGuard<'_> {
    fn drop(&mut self) {
        let state = self.store.data_mut();
        state.deadline = None;
        state.log.end_call();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_round_up() {
        assert_eq!(ticks(Duration::from_millis(1)), 1);
        assert_eq!(ticks(Duration::from_millis(10)), 1);
        assert_eq!(ticks(Duration::from_millis(11)), 2);
        assert_eq!(ticks(Duration::from_secs(5)), 500);
    }
}

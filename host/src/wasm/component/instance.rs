//! [`ComponentInstance`]: one instance of a component plugin in its own store, called
//! under the plugin's limits (epoch deadline, memory limiter, fuel, output cap).

use std::sync::Arc;
use std::time::Instant;

use sluice_abi::{msgpack, Ctx, Shape};
use wasmtime::component::HasSelf;
use wasmtime::{ResourceLimiter, Store, UpdateDeadline};

use super::super::call::read_output;
use super::super::call::CallOutput;
use super::super::error::{DisplayBytes, Failure};
use super::super::host_log::{GuestLog, LogSink};
use super::super::instance::ticks;
use super::super::limits::{Limits, MemoryLimiter};
use super::super::trap::{classify, DeadlineExceeded};

wasmtime::component::bindgen!({
    world: "plugin",
    path: "../wit",
});

use self::sluice::plugin::host::{Host, Level};

/// Table elements an instance may grow a table to.
const MAX_TABLE_ELEMENTS: usize = 1 << 20;

/// The data of a component instance's store.
pub(crate) struct ComponentState {
    limiter: ComponentLimiter,
    log: GuestLog,
    /// When the current call must end; `None` between calls.
    deadline: Option<Instant>,
}

impl Host for ComponentState {
    fn log(&mut self, level: Level, message: String) {
        let level = match level {
            Level::Error => 1,
            Level::Warn => 2,
            Level::Info => 3,
            Level::Debug => 4,
            Level::Trace => 5,
        };
        self.log.log(level, message.as_bytes());
    }
}

/// Adds the `sluice:plugin/host` import to a linker.
pub(crate) fn add_to_linker(
    linker: &mut wasmtime::component::Linker<ComponentState>,
) -> wasmtime::Result<()> {
    Plugin::add_to_linker::<ComponentState, HasSelf<ComponentState>>(linker, |s| s)
}

/// The memory limit of ABI v1 applied to each of a component's memories (a component
/// has several core instances, so the counts are those of wasmtime's defaults).
struct ComponentLimiter(MemoryLimiter);

impl ResourceLimiter for ComponentLimiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.0.memory_growing(current, desired, maximum)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= MAX_TABLE_ELEMENTS)
    }
}

/// One live instance of a component plugin.
pub(crate) struct ComponentInstance {
    store: Store<ComponentState>,
    bindings: Plugin,
    limits: Limits,
    /// The memories' size once the instance was ready (see [`ComponentInstance::mark_ready`]).
    baseline: u64,
}

impl ComponentInstance {
    /// Instantiates the component under the limits (init is the caller's business).
    pub(crate) fn new(
        pre: &PluginPre<ComponentState>,
        plugin: &Arc<str>,
        log_sink: Option<&LogSink>,
        limits: &Limits,
    ) -> Result<Self, Failure> {
        let state = ComponentState {
            limiter: ComponentLimiter(MemoryLimiter::new(limits.memory_bytes)),
            log: GuestLog::new(plugin.clone(), log_sink.cloned()),
            deadline: None,
        };
        let mut store = Store::new(pre.engine(), state);
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
        begin(&mut store, limits, "instantiate");
        let bindings = pre.instantiate(&mut store);
        end(&mut store);
        let bindings = bindings.map_err(|e| classify(e, limits))?;
        Ok(ComponentInstance {
            store,
            bindings,
            limits: limits.clone(),
            baseline: 0,
        })
    }

    /// The largest size one of the instance's memories has reached, in bytes.
    /// Records the memories' size now, when the instance is ready for calls.
    pub(crate) fn mark_ready(&mut self) {
        self.baseline = self.memory_high_water();
    }

    /// How far calls grew the memories past their size when ready, in bytes.
    pub(crate) fn memory_growth(&self) -> u64 {
        self.memory_high_water().saturating_sub(self.baseline)
    }

    pub(crate) fn memory_high_water(&self) -> u64 {
        self.store.data().limiter.0.high_water()
    }

    /// Runs `f` under the limits, with the log set up for `function`.
    fn run<R>(
        &mut self,
        function: &str,
        f: impl FnOnce(&Plugin, &mut Store<ComponentState>) -> wasmtime::Result<R>,
    ) -> Result<R, Failure> {
        begin(&mut self.store, &self.limits, function);
        let r = f(&self.bindings, &mut self.store);
        end(&mut self.store);
        r.map_err(|e| classify(e, &self.limits))
    }

    /// The operator functions the component says it has, sorted.
    pub(crate) fn functions(&mut self) -> Result<Vec<String>, Failure> {
        let mut names = self.run("functions", |b, s| {
            b.sluice_plugin_guest().call_functions(s)
        })?;
        names.sort();
        names.dedup();
        Ok(names)
    }

    /// Calls `init` with the encoded params; a guest error is [`Failure::Guest`].
    pub(crate) fn init(&mut self, params: &[u8]) -> Result<(), Failure> {
        self.run("init", |b, s| b.sluice_plugin_guest().call_init(s, params))?
            .map_err(|m| Failure::Guest(format!("`init` failed: {m}")))
    }

    /// Calls `function` on `count` encoded items: the input document `[items, ctx]` in,
    /// the output document `[items, errors]` out, checked like a core module's.
    pub(crate) fn call(
        &mut self,
        function: &str,
        shape: Shape,
        count: u32,
        items: &[u8],
        ctx: &Ctx,
    ) -> Result<CallOutput, Failure> {
        let mut input = Vec::with_capacity(items.len() + 48);
        msgpack::write_array_len(&mut input, 2);
        msgpack::write_array_len(&mut input, count);
        input.extend_from_slice(items);
        ctx.write(&mut input);
        let output = self
            .run(function, |b, s| {
                b.sluice_plugin_guest().call_call(s, function, &input)
            })?
            .map_err(Failure::Guest)?;
        if output.len() as u64 > self.limits.output_bytes {
            return Err(Failure::BadOutput(format!(
                "output of {} exceeds the cap of {}",
                DisplayBytes(output.len() as u64),
                DisplayBytes(self.limits.output_bytes)
            )));
        }
        read_output(&output, shape, count)
    }
}

/// Sets up the store for a call: deadline, log budget, fuel.
fn begin(store: &mut Store<ComponentState>, limits: &Limits, function: &str) {
    let state = store.data_mut();
    state.deadline = Some(Instant::now() + limits.timeout);
    state.log.begin_call(function);
    store.set_epoch_deadline(ticks(limits.timeout));
    if let Some(fuel) = limits.fuel {
        let _ = store.set_fuel(fuel);
    }
}

/// Ends a call: no deadline between calls, the log flushed.
fn end(store: &mut Store<ComponentState>) {
    let state = store.data_mut();
    state.deadline = None;
    state.log.end_call();
}

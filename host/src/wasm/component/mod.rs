//! Plugins that are WebAssembly components (Python with componentize-py, JavaScript with
//! ComponentizeJS, ...): the `sluice:plugin@1.0.0` world of `wit/plugin.wit`, loaded,
//! checked and called behind the same [`super::Plugin`] as core modules.
//!
//! A component gets no WASI: it may import only `sluice:plugin/host` (see
//! `docs/components.md` for why and how the toolchains are told so).

mod instance;

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use sluice_abi::{Ctx, Shape};
use wasmtime::component::types::ComponentItem;
use wasmtime::component::{Component, Linker};

use super::error::{Failure, PluginError};
use super::host_log::LogSink;
use super::limits::Limits;
use super::pool::{worth_keeping, InstancePool};
use super::runtime::WasmRuntime;
use super::CallOutput;
pub(crate) use instance::ComponentInstance;
use instance::{ComponentState, PluginPre};

/// The interface a component plugin exports.
pub const GUEST_INTERFACE: &str = "sluice:plugin/guest@1.0.0";
/// The one interface a component plugin may import.
pub const HOST_INTERFACE: &str = "sluice:plugin/host@1.0.0";

/// Whether the file at `path` starts like a binary component (`\0asm`, layer 1): read
/// errors are left to the loader.
pub(crate) fn is_component_file(path: &Path) -> bool {
    let mut head = [0u8; 8];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut head))
        .is_ok_and(|()| is_component(&head))
}

/// Whether `bytes` start like a binary component rather than a core module.
pub(crate) fn is_component(bytes: &[u8]) -> bool {
    bytes.len() >= 8 && bytes[..4] == *b"\0asm" && bytes[6..8] == [0x01, 0x00]
}

/// A compiled, checked and linked component plugin, with its idle instances.
pub(crate) struct ComponentPlugin {
    pub(crate) path: PathBuf,
    pub(crate) size: u64,
    pre: PluginPre<ComponentState>,
    /// Operator functions, as the component lists them, sorted.
    pub(crate) functions: Vec<String>,
    /// Imported interfaces.
    pub(crate) imports: Vec<String>,
    pub(crate) from_cache: bool,
    pool: InstancePool<ComponentInstance>,
    log_sink: Option<LogSink>,
}

impl ComponentPlugin {
    /// Reads, compiles (or loads from the cache), checks and links the component at
    /// `path`, then starts a first instance: `functions()` and, with `params`, `init`.
    /// Without `params` (`sluice plugin inspect`) init is not called.
    ///
    /// # Errors
    /// [`PluginError::Io`], [`PluginError::Invalid`] naming the file and the problem, or
    /// [`PluginError::Init`] when the first instance cannot start.
    pub(crate) fn load(
        runtime: &WasmRuntime,
        name: &Arc<str>,
        path: &Path,
        params: Option<&[u8]>,
        limits: &Limits,
        log_sink: Option<LogSink>,
    ) -> Result<ComponentPlugin, PluginError> {
        let bytes = std::fs::read(path).map_err(|cause| PluginError::Io {
            path: path.to_owned(),
            cause,
        })?;
        let fuel = limits.fuel.is_some();
        let (component, from_cache) = runtime.compile_component(path, &bytes, fuel)?;
        let engine = runtime.engine(fuel)?;
        let imports = check_world(&component, engine, path)?;
        let mut linker = Linker::new(engine);
        instance::add_to_linker(&mut linker)
            .map_err(|e| PluginError::Runtime(format!("cannot define host functions: {e:#}")))?;
        let pre = linker
            .instantiate_pre(&component)
            .and_then(PluginPre::new)
            .map_err(|e| invalid(path, &format!("cannot be linked: {e:#}")))?;
        let start_error = |f: Failure| match f {
            Failure::Other(message) => invalid(path, &message),
            other => PluginError::Init {
                path: path.to_owned(),
                plugin: name.to_string(),
                message: other.to_string(),
            },
        };
        let mut first =
            ComponentInstance::new(&pre, name, log_sink.as_ref(), limits).map_err(start_error)?;
        let functions = first.functions().map_err(start_error)?;
        if let Some(params) = params {
            first.init(params).map_err(start_error)?;
        }
        let plugin = ComponentPlugin {
            path: path.to_owned(),
            size: bytes.len() as u64,
            pre,
            functions,
            imports,
            from_cache,
            pool: InstancePool::for_this_machine(),
            log_sink,
        };
        plugin.pool.give_back(first);
        Ok(plugin)
    }

    /// The number of idle instances.
    pub(crate) fn idle(&self) -> usize {
        self.pool.idle()
    }

    /// Runs one call on an idle instance (or a new one, started with `params`); the
    /// instance goes back to the pool when the call left it healthy and its memory
    /// stayed under half the limit. Returns the result and the instance's memory, bytes.
    #[allow(
        clippy::too_many_arguments,
        reason = "one call's whole context, used once"
    )]
    pub(crate) fn call(
        &self,
        name: &Arc<str>,
        params: &[u8],
        limits: &Limits,
        function: &str,
        shape: Shape,
        count: u32,
        items: &[u8],
        ctx: &Ctx,
    ) -> (Result<CallOutput, Failure>, u64) {
        let mut instance = match self.pool.take() {
            Some(i) => i,
            None => match self.start(name, params, limits) {
                Ok(i) => i,
                Err(f) => {
                    let message = format!("cannot start a new instance: {f}");
                    return (Err(Failure::Other(message)), 0);
                }
            },
        };
        let result = instance.call(function, shape, count, items, ctx);
        // Memories only grow: the high-water mark is the size after the call.
        let memory = instance.memory_high_water();
        let healthy = match &result {
            Ok(_) => true,
            Err(f) => f.instance_is_healthy(),
        };
        let (high, growth) = (instance.memory_high_water(), instance.memory_growth());
        if healthy && worth_keeping(high, growth, limits.memory_bytes) {
            self.pool.give_back(instance);
        } else if healthy {
            tracing::debug!(
                plugin = %name,
                function,
                memory_bytes = instance.memory_high_water(),
                "Instance recycled: its memory grew past half the limit or by more than 64 MiB."
            );
        }
        (result, memory)
    }

    fn start(
        &self,
        name: &Arc<str>,
        params: &[u8],
        limits: &Limits,
    ) -> Result<ComponentInstance, Failure> {
        let mut instance = ComponentInstance::new(&self.pre, name, self.log_sink.as_ref(), limits)?;
        instance.init(params)?;
        instance.mark_ready();
        Ok(instance)
    }
}

fn invalid(path: &Path, message: &str) -> PluginError {
    PluginError::Invalid {
        path: path.to_owned(),
        message: message.to_owned(),
    }
}

/// Checks the component imports nothing but [`HOST_INTERFACE`] and exports
/// [`GUEST_INTERFACE`]; returns its imports.
fn check_world(
    component: &Component,
    engine: &wasmtime::Engine,
    path: &Path,
) -> Result<Vec<String>, PluginError> {
    let ty = component.component_type();
    let mut imports = Vec::new();
    for (name, _) in ty.imports(engine) {
        if name != HOST_INTERFACE {
            return Err(invalid(
                path,
                &format!(
                    "imports `{name}`, which Sluice does not provide to components (they \
                     may import only `{HOST_INTERFACE}`: no WASI; build Python with \
                     `componentize-py componentize --stub-wasi` and JavaScript with \
                     `componentize-js --disable stdio random clocks http fetch-event`, or \
                     use `sluice plugin build`; see docs/components.md)"
                ),
            ));
        }
        imports.push(name.to_owned());
    }
    let exports_guest = ty.exports(engine).any(|(name, item)| {
        name == GUEST_INTERFACE && matches!(item.ty, ComponentItem::ComponentInstance(_))
    });
    if !exports_guest {
        let found: Vec<String> = ty.exports(engine).map(|(n, _)| format!("`{n}`")).collect();
        return Err(invalid(
            path,
            &format!(
                "does not export `{GUEST_INTERFACE}` (the world `sluice:plugin/plugin` of \
                 wit/plugin.wit; it exports {})",
                if found.is_empty() {
                    "nothing".to_owned()
                } else {
                    found.join(", ")
                }
            ),
        ));
    }
    Ok(imports)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn components_are_told_from_modules_by_their_layer() {
        assert!(is_component(b"\0asm\x0d\x00\x01\x00"));
        assert!(!is_component(b"\0asm\x01\x00\x00\x00"));
        assert!(!is_component(b"(module)"));
        assert!(!is_component(b"\0asm"));
    }
}

//! `sluice plugin inspect`: a module or component loaded and validated like
//! [`super::Plugin::load`] (without `sluice_init`), and described.

use std::path::Path;
use std::sync::Arc;

use super::component::{self, ComponentPlugin};
use super::error::Failure;
use super::instance::PluginInstance;
use super::{module, Limits, PluginError, WasmRuntime};

/// What `sluice plugin inspect` shows about a module.
#[derive(Debug, Clone)]
pub struct PluginInfo {
    /// The module's size in bytes.
    pub size: u64,
    /// What `sluice_abi_version` returned.
    pub abi_version: i32,
    /// Operator functions, sorted.
    pub functions: Vec<String>,
    /// Imports as `module.name`.
    pub imports: Vec<String>,
    /// Whether the module exports `sluice_init`.
    pub has_init: bool,
    /// Whether the compiled code came from the on-disk cache.
    pub from_cache: bool,
    /// Whether the plugin is a component of the `sluice:plugin` world (then `has_init`
    /// is true: every component exports `init`).
    pub component: bool,
}

/// Loads and validates `path` like [`Plugin::load`] (without running `sluice_init`,
/// which needs the job's params) and describes it.
///
/// # Errors
/// As [`Plugin::load`].
pub fn inspect(runtime: &Arc<WasmRuntime>, path: &Path) -> Result<PluginInfo, PluginError> {
    let stem = path.file_stem().map(|s| s.to_string_lossy());
    let name: Arc<str> = stem.as_deref().unwrap_or("plugin").into();
    if component::is_component_file(path) {
        let c = ComponentPlugin::load(runtime, &name, path, None, &Limits::default(), None)?;
        return Ok(PluginInfo {
            size: c.size,
            abi_version: sluice_abi::ABI_VERSION,
            functions: c.functions,
            imports: c.imports,
            has_init: true,
            from_cache: c.from_cache,
            component: true,
        });
    }
    let m = module::load(runtime, path, false)?;
    PluginInstance::new(&m.pre, &name, None, &Limits::default(), m.has_initialize).map_err(
        |f| match f {
            Failure::Other(message) => PluginError::Invalid {
                path: path.to_owned(),
                message,
            },
            other => PluginError::Init {
                path: path.to_owned(),
                plugin: name.to_string(),
                message: other.to_string(),
            },
        },
    )?;
    Ok(PluginInfo {
        size: m.size,
        abi_version: sluice_abi::ABI_VERSION,
        functions: m.functions,
        imports: m.imports,
        has_init: m.has_init,
        from_cache: m.from_cache,
        component: false,
    })
}

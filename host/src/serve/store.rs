//! The server's files under `data_dir` (layout in `docs/serve.md`): per tenant, the
//! uploaded plugins and the jobs' directories.
//!
//! ```text
//! tenants/T/plugins/NAME.wasm, NAME.json        uploaded module and what it exports
//! tenants/T/jobs/ID/job.toml, record.json        the job as submitted, its state
//! tenants/T/jobs/ID/log.txt                      job events and batch lines
//! tenants/T/jobs/ID/plugins/NAME.wasm            the modules pinned at submission
//! tenants/T/jobs/ID/checkpoint/                  checkpoints (always on)
//! tenants/T/jobs/ID/files/                       the job's own directory: its paths
//! ```

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::ServeError;
use crate::base::now_ms;
use crate::wasm::{inspect, WasmRuntime};

/// What `GET /v1/plugins` shows of a plugin.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PluginMeta {
    /// The name it was uploaded under.
    pub name: String,
    /// Hex SHA-256 of the module.
    pub sha256: String,
    /// Size in bytes.
    pub size: u64,
    /// Operator functions it exports.
    pub functions: Vec<String>,
    /// What it imports.
    pub imports: Vec<String>,
    /// When it was uploaded, ms since the Unix epoch.
    pub uploaded_ms: i64,
}

/// The data directory.
#[derive(Debug, Clone)]
pub struct Store {
    root: PathBuf,
}

impl Store {
    /// Opens (creating) `data_dir`.
    ///
    /// # Errors
    /// [`ServeError::Store`] when it cannot be created.
    pub fn open(data_dir: &Path) -> Result<Store, ServeError> {
        let tenants = data_dir.join("tenants");
        std::fs::create_dir_all(&tenants).map_err(|e| ServeError::store(&tenants, e))?;
        let root = std::fs::canonicalize(data_dir).map_err(|e| ServeError::store(data_dir, e))?;
        Ok(Store { root })
    }

    /// The tenant's directory.
    pub fn tenant_dir(&self, tenant: &str) -> PathBuf {
        self.root.join("tenants").join(tenant)
    }

    fn plugins_dir(&self, tenant: &str) -> PathBuf {
        self.tenant_dir(tenant).join("plugins")
    }

    /// The directory of job `id` of `tenant`.
    pub fn job_dir(&self, tenant: &str, id: &str) -> PathBuf {
        self.tenant_dir(tenant).join("jobs").join(id)
    }

    /// Every job directory, with its tenant.
    pub fn all_job_dirs(&self) -> Vec<(String, PathBuf)> {
        let mut out = Vec::new();
        for tenant in list_dir(&self.root.join("tenants")) {
            let name = file_name(&tenant);
            for job in list_dir(&tenant.join("jobs")) {
                out.push((name.clone(), job));
            }
        }
        out.sort();
        out
    }

    /// Validates `bytes` as a plugin (ABI, imports, exports, instantiation) and stores it
    /// as `name`, replacing an older upload.
    ///
    /// # Errors
    /// [`ServeError::BadPlugin`] saying what is wrong with the module; `Store` on I/O.
    pub fn put_plugin(
        &self,
        runtime: &Arc<WasmRuntime>,
        tenant: &str,
        name: &str,
        bytes: &[u8],
    ) -> Result<PluginMeta, ServeError> {
        let dir = self.plugins_dir(tenant);
        std::fs::create_dir_all(&dir).map_err(|e| ServeError::store(&dir, e))?;
        let upload = dir.join(format!(".upload-{name}-{}.wasm", now_ms()));
        std::fs::write(&upload, bytes).map_err(|e| ServeError::store(&upload, e))?;
        let info = match inspect(runtime, &upload) {
            Ok(info) => info,
            Err(e) => {
                let _ = std::fs::remove_file(&upload);
                let message = e.to_string().replace(&upload.display().to_string(), "");
                let message = message.trim_start_matches([':', ' ']);
                return Err(ServeError::BadPlugin(format!("plugin `{name}`: {message}")));
            }
        };
        let meta = PluginMeta {
            name: name.to_owned(),
            sha256: super::auth::sha256_hex(bytes),
            size: bytes.len() as u64,
            functions: info.functions,
            imports: info.imports,
            uploaded_ms: now_ms(),
        };
        let wasm = dir.join(format!("{name}.wasm"));
        std::fs::rename(&upload, &wasm).map_err(|e| ServeError::store(&wasm, e))?;
        let json = serde_json::to_vec_pretty(&meta).unwrap_or_default();
        write_atomically(&dir.join(format!("{name}.json")), &json)?;
        Ok(meta)
    }

    /// The tenant's plugins, by name.
    pub fn plugins(&self, tenant: &str) -> Vec<PluginMeta> {
        let mut out: Vec<PluginMeta> = list_dir(&self.plugins_dir(tenant))
            .into_iter()
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .filter_map(|p| std::fs::read(&p).ok())
            .filter_map(|b| serde_json::from_slice(&b).ok())
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out
    }

    /// The stored module of plugin `name`, if uploaded.
    pub fn plugin_file(&self, tenant: &str, name: &str) -> Option<PathBuf> {
        let path = self.plugins_dir(tenant).join(format!("{name}.wasm"));
        path.is_file().then_some(path)
    }

    /// Deletes plugin `name`; jobs keep the copy pinned at their submission. Returns
    /// whether it existed.
    ///
    /// # Errors
    /// [`ServeError::Store`] when it cannot be removed.
    pub fn delete_plugin(&self, tenant: &str, name: &str) -> Result<bool, ServeError> {
        let Some(wasm) = self.plugin_file(tenant, name) else {
            return Ok(false);
        };
        std::fs::remove_file(&wasm).map_err(|e| ServeError::store(&wasm, e))?;
        let _ = std::fs::remove_file(self.plugins_dir(tenant).join(format!("{name}.json")));
        Ok(true)
    }

    /// Copies plugin `name` of `tenant` into the job's directory, so that the job runs
    /// (and resumes after a restart) with the module it was submitted with.
    pub fn pin_plugin(&self, tenant: &str, name: &str, job_dir: &Path) -> Option<PathBuf> {
        let from = self.plugin_file(tenant, name)?;
        let dir = job_dir.join("plugins");
        std::fs::create_dir_all(&dir).ok()?;
        let to = dir.join(format!("{name}.wasm"));
        std::fs::copy(&from, &to).ok()?;
        Some(to)
    }
}

/// Writes `bytes` to `path` durably: a synced temporary file, a rename, a synced directory.
///
/// # Errors
/// [`ServeError::Store`] naming the file.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), ServeError> {
    crate::base::write_atomically(path, bytes).map_err(|e| ServeError::store(path, e))
}

/// `message` with the job's directory left out of its paths (tenants see paths relative
/// to their job, never the server's layout).
pub fn relative_to_job(message: &str, job_dir: &Path) -> String {
    let files = format!("{}/", job_dir.join("files").display());
    let dir = format!("{}/", job_dir.display());
    message.replace(&files, "").replace(&dir, "")
}

fn list_dir(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    out.sort();
    out
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

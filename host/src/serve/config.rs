//! `serve.toml`: the server, its tenants and the admin (config types only; `serve::auth`
//! and `serve::jobs` build the runtime types from them). See `docs/serve.md`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::ServeError;
use crate::job::{line_column, ByteSize, DurationMs};

/// A whole `serve.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServeConfig {
    /// Where to listen and keep data.
    pub server: ServerSection,
    /// Tenants by name (the name is also their directory under `data_dir/tenants/`).
    #[serde(default)]
    pub tenants: BTreeMap<String, TenantConfig>,
    /// The admin, who sees and stops every job.
    #[serde(default)]
    pub admin: Option<AdminConfig>,
}

/// `[server]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSection {
    /// `host:port`; port 0 picks a free port (printed at start). Default `127.0.0.1:7878`.
    #[serde(default = "default_listen")]
    pub listen: String,
    /// Jobs, plugins, checkpoints and outputs, per tenant; relative to the config file.
    pub data_dir: PathBuf,
    /// Threads of the shared worker pool. Default: the number of cores.
    #[serde(default)]
    pub workers: Option<usize>,
    /// Largest plugin upload. Default `"16MiB"`.
    #[serde(default = "default_max_plugin_size")]
    pub max_plugin_size: ByteSize,
    /// Largest job file (and any other request body). Default `"1MiB"`.
    #[serde(default = "default_max_job_size")]
    pub max_job_size: ByteSize,
    /// A request (headers, body and answer) taking longer is cut off. Default `"30s"`.
    #[serde(default = "default_request_timeout")]
    pub request_timeout: DurationMs,
}

/// `[tenants.NAME]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantConfig {
    /// Hex of the SHA-256 of the tenant's bearer token.
    pub token_sha256: String,
    /// Jobs running at once, at most. Default 4.
    #[serde(default = "default_max_jobs")]
    pub max_jobs: usize,
    /// Share of the worker pool under contention. Default 1.
    #[serde(default = "default_cpu_weight")]
    pub cpu_weight: u32,
    /// Guest memory of all the tenant's plugin instances plus keyed state. Default `"512MiB"`.
    #[serde(default = "default_max_memory")]
    pub max_memory: ByteSize,
    /// `host:port` endpoints that `tcp`, Kafka, Redis and NATS sources and sinks may reach.
    #[serde(default)]
    pub allowed_hosts: Vec<String>,
    /// Plugins stored at once, at most. Default 32.
    #[serde(default = "default_max_plugins")]
    pub max_plugins: usize,
}

/// `[admin]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminConfig {
    /// Hex of the SHA-256 of the admin's bearer token.
    pub token_sha256: String,
}

fn default_listen() -> String {
    "127.0.0.1:7878".to_owned()
}
const fn default_max_plugin_size() -> ByteSize {
    ByteSize(16 << 20)
}
const fn default_max_job_size() -> ByteSize {
    ByteSize(1 << 20)
}
const fn default_request_timeout() -> DurationMs {
    DurationMs(30_000)
}
const fn default_max_jobs() -> usize {
    4
}
const fn default_cpu_weight() -> u32 {
    1
}
const fn default_max_memory() -> ByteSize {
    // `default_max_jobs` one-plugin jobs at the default 256 MiB plugin limit.
    ByteSize(1 << 30)
}
const fn default_max_plugins() -> usize {
    32
}

impl ServeConfig {
    /// Reads and checks `path`; `data_dir` comes back resolved against the file's directory.
    ///
    /// # Errors
    /// [`ServeError::Config`] naming the file, and the line and column when it has one.
    pub fn load(path: &Path) -> Result<ServeConfig, ServeError> {
        let text = std::fs::read_to_string(path).map_err(|e| ServeError::Config {
            message: format!("{}: {e}", path.display()),
        })?;
        let mut config: ServeConfig = toml::from_str(&text).map_err(|e| {
            let at = e.span().map(|s| line_column(&text, s.start));
            let message = e.message().trim_end();
            ServeError::Config {
                message: match at {
                    Some((line, column)) => {
                        format!("{}:{line}:{column}: {message}", path.display())
                    }
                    None => format!("{}: {message}", path.display()),
                },
            }
        })?;
        let invalid = |message: String| ServeError::Config {
            message: format!("{}: {message}", path.display()),
        };
        config.check().map_err(invalid)?;
        if config.server.data_dir.is_relative() {
            if let Some(dir) = path.parent() {
                config.server.data_dir = dir.join(&config.server.data_dir);
            }
        }
        Ok(config)
    }

    /// Checks names, token digests and host lists.
    fn check(&self) -> Result<(), String> {
        for (name, t) in &self.tenants {
            if !valid_name(name) {
                return Err(format!(
                    "[tenants.{name}]: a tenant name is 1 to 64 letters, digits, `-` or `_`"
                ));
            }
            check_digest(&format!("[tenants.{name}] token_sha256"), &t.token_sha256)?;
            if t.cpu_weight == 0 {
                return Err(format!("[tenants.{name}] cpu_weight: must be at least 1"));
            }
            for h in &t.allowed_hosts {
                if super::hosts::split_host_port(h).is_none() {
                    return Err(format!(
                        "[tenants.{name}] allowed_hosts: `{h}` is not `host:port`"
                    ));
                }
            }
        }
        if let Some(a) = &self.admin {
            check_digest("[admin] token_sha256", &a.token_sha256)?;
        }
        Ok(())
    }
}

/// Whether `name` may name a tenant, a plugin or a sink in a URL and a directory.
pub fn valid_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn check_digest(field: &str, hex: &str) -> Result<(), String> {
    if hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(())
    } else {
        Err(format!(
            "{field}: must be the 64 hex digits of the SHA-256 of the token \
             (e.g. `printf %s TOKEN | sha256sum`)"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIGEST: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

    #[test]
    fn the_issue_example_parses_with_defaults() {
        let text = format!(
            "[server]\nlisten = \"127.0.0.1:7878\"\ndata_dir = \"/var/lib/sluice\"\nworkers = 2\n\
             [tenants.alice]\ntoken_sha256 = \"{DIGEST}\"\nmax_jobs = 4\ncpu_weight = 1\n\
             max_memory = \"512MiB\"\nallowed_hosts = [\"127.0.0.1:9092\"]\n\
             [admin]\ntoken_sha256 = \"{DIGEST}\"\n"
        );
        let c: ServeConfig = toml::from_str(&text).unwrap();
        c.check().unwrap();
        assert_eq!(c.tenants["alice"].max_memory, ByteSize(512 << 20));
        assert_eq!(c.server.max_plugin_size, ByteSize(16 << 20));
    }

    #[test]
    fn bad_digests_names_and_hosts_are_refused() {
        let bad = |tenant: &str| {
            let text = format!("[server]\ndata_dir = \"d\"\n{tenant}");
            let c: ServeConfig = toml::from_str(&text).unwrap();
            c.check().unwrap_err()
        };
        assert!(bad("[tenants.a]\ntoken_sha256 = \"abc\"").contains("64 hex digits"));
        let e = bad(&format!("[tenants.\"a/b\"]\ntoken_sha256 = \"{DIGEST}\""));
        assert!(e.contains("tenant name"), "{e}");
        let e = bad(&format!(
            "[tenants.a]\ntoken_sha256 = \"{DIGEST}\"\nallowed_hosts = [\"nohost\"]"
        ));
        assert!(e.contains("`nohost` is not `host:port`"), "{e}");
    }
}

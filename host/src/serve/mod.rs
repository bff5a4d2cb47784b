//! `sluice serve`: many tenants' jobs in one sandboxed host, behind a REST API.
//!
//! - [`config`]: `serve.toml` (server, tenants, admin);
//! - [`auth`]: bearer tokens known by their SHA-256, compared in constant time;
//! - [`store`]: the files under `data_dir` (plugins, jobs, checkpoints, outputs);
//! - [`confine`]: the pass that keeps a job inside its directory and allowed hosts;
//! - [`joblog`]: a job's log file (events, batch lines, its plugins' log lines);
//! - [`jobs`]: admission, submission, stop, resume at start; [`executor`] runs them on
//!   the shared pool of [`sched`] (weighted-fair by tenant, CPU and memory accounted),
//!   each job a [`stepper::ServeJob`];
//! - [`api`]: the HTTP routes (axum), [`server`]: listening, limits and shutdown.
//!
//! See `docs/serve.md`.

pub mod api;
pub mod auth;
pub mod config;
pub mod confine;
pub mod executor;
pub mod hosts;
pub mod joblog;
pub mod jobs;
pub mod sched;
pub mod server;
pub mod status;
pub mod stepper;
pub mod store;

use std::path::Path;

pub use config::ServeConfig;
pub use server::{serve, Server};

/// Errors of the server. Those a request can cause map to an HTTP status in [`api`].
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// `serve.toml` is invalid.
    #[error("{message}")]
    Config { message: String },
    /// The server could not start.
    #[error("{0}")]
    Setup(String),
    /// A file of the data directory could not be read or written.
    #[error("{path}: {cause}")]
    Store { path: String, cause: std::io::Error },
    /// An uploaded plugin was refused.
    #[error("{0}")]
    BadPlugin(String),
    /// A submitted job file was refused.
    #[error("{0}")]
    BadJob(String),
    /// A quota would be exceeded.
    #[error("quota `{quota}` exceeded: limit {limit}, in use {in_use}, requested {requested}")]
    Quota {
        quota: &'static str,
        limit: u64,
        in_use: u64,
        requested: u64,
    },
    /// No such job, plugin or sink (or not the caller's).
    #[error("{0}")]
    NotFound(String),
    /// No token, or not a known one.
    #[error("{0}")]
    Unauthorized(String),
    /// The caller may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// The request body is over its limit.
    #[error("{0}")]
    TooLarge(String),
    /// The request is malformed.
    #[error("{0}")]
    BadRequest(String),
}

impl ServeError {
    /// A [`ServeError::Store`] about `path`.
    pub fn store(path: &Path, cause: std::io::Error) -> ServeError {
        ServeError::Store {
            path: path.display().to_string(),
            cause,
        }
    }
}

//! What every handler of the API shares: the server's state and request limits, the
//! caller of a request, reading a bounded body, and running blocking work.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::http::{header, HeaderMap};
use http_body_util::{BodyExt, LengthLimitError, Limited};

use super::error::ApiError;
use crate::serve::auth::{bearer, Caller, Tokens};
use crate::serve::config::TenantConfig;
use crate::serve::jobs::Jobs;
use crate::serve::store::Store;
use crate::serve::ServeError;
use crate::wasm::WasmRuntime;

/// Size and time limits of requests.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest plugin upload.
    pub plugin_bytes: usize,
    /// Largest job file (and other bodies).
    pub job_bytes: usize,
    /// Longest a request may take.
    pub request_timeout: Duration,
}

/// What every handler shares.
pub struct AppState {
    /// The jobs.
    pub jobs: Jobs,
    /// The data directory.
    pub store: Store,
    /// Who is who.
    pub tokens: Tokens,
    /// Validates uploads and submitted jobs.
    pub runtime: Arc<WasmRuntime>,
    /// Tenants' quotas.
    pub tenants: BTreeMap<String, TenantConfig>,
    /// Request limits.
    pub limits: Limits,
}

/// Shared state of the handlers.
pub type State = axum::extract::State<Arc<AppState>>;

/// 401 answer.
fn unauthorized() -> ApiError {
    ApiError(ServeError::Unauthorized(
        "missing or unknown bearer token (send `Authorization: Bearer TOKEN`)".into(),
    ))
}

/// The caller of a request, or 401.
pub fn caller(state: &AppState, headers: &HeaderMap) -> Result<Caller, ApiError> {
    let value = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let token = bearer(value).ok_or_else(unauthorized)?;
    state.tokens.caller(token).ok_or_else(unauthorized)
}

/// The tenant of a request; 403 for the admin, who owns no plugins or jobs.
pub fn tenant(state: &AppState, headers: &HeaderMap, what: &str) -> Result<String, ApiError> {
    match caller(state, headers)? {
        Caller::Tenant(t) => Ok(t),
        Caller::Admin => Err(ApiError(ServeError::Forbidden(format!(
            "the admin token cannot {what}; use a tenant's token"
        )))),
    }
}

/// Reads a request body of at most `limit` bytes.
pub async fn read_body(
    body: axum::body::Body,
    limit: usize,
    what: &str,
) -> Result<Vec<u8>, ApiError> {
    match Limited::new(body, limit).collect().await {
        Ok(c) => Ok(c.to_bytes().to_vec()),
        Err(e) if is_length_limit(&*e) => Err(ApiError(ServeError::TooLarge(format!(
            "{what} is over the limit of {limit} bytes"
        )))),
        Err(e) => Err(ApiError(ServeError::BadRequest(format!(
            "cannot read the request body: {e}"
        )))),
    }
}

fn is_length_limit(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur = Some(e);
    while let Some(err) = cur {
        if err.is::<LengthLimitError>() {
            return true;
        }
        cur = err.source();
    }
    false
}

/// Runs blocking work (compiling plugins, starting and stopping jobs) off the I/O threads.
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ServeError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError(ServeError::Setup(format!("a request's work failed: {e}"))))?
        .map_err(ApiError)
}

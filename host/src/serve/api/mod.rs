//! The REST API under `/v1` (JSON, `Authorization: Bearer TOKEN`): routes, the caller of
//! each request, body and time limits, and how errors become HTTP answers.

mod jobs;
mod plugins;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use axum::{Json, Router};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use serde_json::json;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::{RequestBodyTimeoutLayer, TimeoutLayer};

use super::auth::{bearer, Caller, Tokens};
use super::config::TenantConfig;
use super::jobs::Jobs;
use super::store::Store;
use super::ServeError;
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

/// The routes, with the body-size limit and the timeouts.
pub fn router(state: Arc<AppState>) -> Router {
    let limits = state.limits;
    let v1 = Router::new()
        .route("/plugins", get(plugins::list))
        .route("/plugins/{name}", put(plugins::put).delete(plugins::delete))
        .route("/jobs", get(jobs::list).post(jobs::submit))
        .route("/jobs/{id}", get(jobs::status).delete(jobs::stop))
        .route("/jobs/{id}/logs", get(jobs::logs))
        .route("/jobs/{id}/sinks/{sink}/batches", get(jobs::batches))
        .route("/jobs/{id}/sinks/{sink}/batches/{time}", get(jobs::batch));
    Router::new()
        .nest("/v1", v1)
        .fallback(|| async {
            ApiError(ServeError::NotFound(
                "no such endpoint: see docs/serve.md".into(),
            ))
        })
        .with_state(state)
        .layer(RequestBodyLimitLayer::new(
            limits.plugin_bytes.max(limits.job_bytes) + 1,
        ))
        .layer(RequestBodyTimeoutLayer::new(limits.request_timeout))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            limits.request_timeout,
        ))
}

/// A [`ServeError`] as an HTTP answer: `{"error": "..."}` (and the quota's numbers).
#[derive(Debug)]
pub struct ApiError(pub ServeError);

impl From<ServeError> for ApiError {
    fn from(e: ServeError) -> Self {
        ApiError(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let message = self.0.to_string();
        let (status, body) = match &self.0 {
            ServeError::Quota {
                quota,
                limit,
                in_use,
            } => (
                StatusCode::TOO_MANY_REQUESTS,
                json!({"error": message, "quota": quota, "limit": limit, "in_use": in_use}),
            ),
            e => (status_of(e), json!({ "error": message })),
        };
        if status == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::error!(error = %message, "Request failed.");
        }
        let mut response = (status, Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer"),
            );
        }
        response
    }
}

fn status_of(e: &ServeError) -> StatusCode {
    match e {
        ServeError::BadPlugin(_) | ServeError::BadJob(_) | ServeError::BadRequest(_) => {
            StatusCode::BAD_REQUEST
        }
        ServeError::Quota { .. } => StatusCode::TOO_MANY_REQUESTS,
        ServeError::NotFound(_) => StatusCode::NOT_FOUND,
        ServeError::Forbidden(_) => StatusCode::FORBIDDEN,
        ServeError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
        ServeError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
        ServeError::Config { .. } | ServeError::Setup(_) | ServeError::Store { .. } => {
            StatusCode::INTERNAL_SERVER_ERROR
        }
    }
}

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

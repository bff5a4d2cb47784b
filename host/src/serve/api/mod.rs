//! The REST API under `/v1` (JSON, `Authorization: Bearer TOKEN`): routes, the caller of
//! each request, body and time limits, and how errors become HTTP answers.
//!
//! The routes are here; what the handlers share (state, caller, body reading) is in
//! `common.rs`, errors as HTTP answers in `error.rs`, the handlers in `jobs.rs` and
//! `plugins.rs`.

mod common;
mod error;
mod jobs;
mod plugins;

use std::sync::Arc;

use axum::http::StatusCode;
use axum::routing::{get, put};
use axum::Router;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::{RequestBodyTimeoutLayer, TimeoutLayer};

pub use common::{AppState, Limits};
use error::ApiError;

use super::ServeError;

/// The routes, with the body-size limit and the timeouts.
pub fn router(state: Arc<AppState>) -> Router {
    let limits = state.limits;
    let v1 = Router::new()
        .route("/plugins", get(plugins::list))
        .route("/plugins/{name}", put(plugins::put).delete(plugins::delete))
        .route("/jobs", get(jobs::list).post(jobs::submit))
        .route("/jobs/{id}", get(jobs::status).delete(jobs::stop))
        .route("/jobs/{id}/logs", get(jobs::logs))
        .route("/usage", get(jobs::usage))
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

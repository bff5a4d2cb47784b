//! The REST API under `/v1` (JSON, `Authorization: Bearer TOKEN`): routes, the caller of
//! each request, body and time limits, and how errors become HTTP answers.
//!
//! The routes are here; what the handlers share (state, caller, body reading) is in
//! `common.rs`, errors as HTTP answers in `error.rs`, the handlers in `jobs.rs`,
//! `plugins.rs` and `observe.rs` (`/metrics`, the web UI at `/`, a job's batches).

mod common;
mod error;
mod jobs;
mod observe;
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
        .route("/jobs/{id}/sinks/{sink}/batches/{time}", get(jobs::batch))
        .route("/jobs/{id}/overview", get(observe::overview))
        .route("/jobs/{id}/batches", get(observe::batches))
        .route("/jobs/{id}/graph", get(observe::graph))
        .route("/jobs/{id}/checkpoints", get(observe::checkpoints))
        .route("/jobs/{id}/errors", get(observe::errors));
    Router::new()
        .nest("/v1", v1)
        .route("/metrics", get(observe::metrics))
        .route("/", get(observe::index))
        .route("/assets/{file}", get(observe::asset))
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

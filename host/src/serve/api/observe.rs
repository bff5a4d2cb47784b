//! Observability of the server's jobs: `GET /metrics` (a tenant's token gets its own
//! series only, the admin's every series), a job's recent batches, graph, checkpoints
//! and plugin errors under `/v1/jobs/{id}/…`, and the web UI at `/` (the page asks for
//! the token and sends it with every request; see docs/observability.md).

use std::sync::Arc;

use axum::extract::{Path, Query};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::Json;
use serde::Deserialize;
use serde_json::Value;

use super::common::{caller, State};
use super::error::ApiError;
use crate::observe::{asset_response, metrics_response, page, JobObserver};
use crate::serve::auth::Caller;
use crate::serve::ServeError;

/// `GET /metrics`: Prometheus metrics of the caller's jobs (every job for the admin).
pub async fn metrics(state: State, headers: HeaderMap) -> Result<Response, ApiError> {
    let tenant = match caller(&state, &headers)? {
        Caller::Tenant(t) => Some(t),
        Caller::Admin => None,
    };
    let observers = state.jobs.observers();
    Ok(metrics_response(
        &headers,
        observers.metrics(),
        tenant.as_deref(),
    ))
}

/// `GET /`: the web UI (no data without a token: the page asks for one).
pub async fn index() -> Response {
    page(true)
}

/// `GET /assets/{file}`: the UI's script, style and chart library.
pub async fn asset(Path(file): Path<String>) -> Response {
    asset_response(&file)
}

/// The observer of job `id` if the caller may see the job; 404 otherwise, or when the
/// job has not run since the server started.
fn observed(state: &State, headers: &HeaderMap, id: &str) -> Result<Arc<JobObserver>, ApiError> {
    let caller = caller(state, headers)?;
    let not_found = || ApiError(ServeError::NotFound(format!("no job `{id}`")));
    state.jobs.get(&caller, id).ok_or_else(not_found)?;
    state.jobs.observers().get(id).ok_or_else(|| {
        ApiError(ServeError::NotFound(format!(
            "job `{id}` has not run since the server started: no batches to show"
        )))
    })
}

/// `?after=TIME`: batches after this batch time.
#[derive(Debug, Deserialize)]
pub struct After {
    after: Option<i64>,
}

/// `GET /v1/jobs/{id}/overview?after=T`: everything the UI shows, in one document.
pub async fn overview(
    state: State,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<After>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(observed(&state, &headers, &id)?.status_json(q.after)))
}

/// `GET /v1/jobs/{id}/batches?after=T`: the last batches with their per-stage times.
pub async fn batches(
    state: State,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<After>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(observed(&state, &headers, &id)?.batches_json(q.after)))
}

/// `GET /v1/jobs/{id}/graph`: the job graph with each stage's share of the batch time.
pub async fn graph(
    state: State,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(observed(&state, &headers, &id)?.graph_json()))
}

/// `GET /v1/jobs/{id}/checkpoints`: the checkpoints written since the server started.
pub async fn checkpoints(
    state: State,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(observed(&state, &headers, &id)?.checkpoints_json()))
}

/// `GET /v1/jobs/{id}/errors`: the latest plugin errors with their records.
pub async fn errors(
    state: State,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(observed(&state, &headers, &id)?.errors_json()))
}

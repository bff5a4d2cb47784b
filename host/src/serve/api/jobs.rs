//! `/v1/jobs`: submit, list, status, stop, logs, and the batches of `files` sinks.

use std::sync::Arc;

use axum::extract::{Path, Query};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::common::{blocking, caller, read_body, tenant, State};
use super::error::ApiError;
use crate::serve::jobs::JobEntry;
use crate::serve::ServeError;

/// `?batches=N` of a submission.
#[derive(Debug, Deserialize)]
pub struct SubmitQuery {
    /// Stop after this many batches.
    batches: Option<u64>,
}

/// `POST /v1/jobs`: the body is a job file; answers `201 {"id": ...}`.
pub async fn submit(
    state: State,
    headers: HeaderMap,
    Query(q): Query<SubmitQuery>,
    body: axum::body::Body,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let tenant = tenant(&state, &headers, "submit jobs")?;
    let bytes = read_body(body, state.limits.job_bytes, "the job file").await?;
    let text = String::from_utf8(bytes).map_err(|_| {
        ApiError(ServeError::BadJob(
            "job.toml: the job file is not UTF-8 text".into(),
        ))
    })?;
    let st = state.0.clone();
    let id = blocking(move || st.jobs.submit(&tenant, text, q.batches)).await?;
    Ok((StatusCode::CREATED, Json(json!({ "id": id }))))
}

fn summary(e: &JobEntry) -> Value {
    let r = e.status.record();
    json!({
        "id": r.id,
        "tenant": r.tenant,
        "name": r.name,
        "state": r.state,
        "reason": r.reason,
        "submitted_ms": r.submitted_ms,
    })
}

/// `GET /v1/jobs`: the caller's jobs (every job for the admin).
pub async fn list(state: State, headers: HeaderMap) -> Result<Json<Value>, ApiError> {
    let caller = caller(&state, &headers)?;
    let jobs: Vec<Value> = state
        .jobs
        .list(&caller)
        .iter()
        .map(|e| summary(e))
        .collect();
    Ok(Json(Value::Array(jobs)))
}

fn find(state: &State, headers: &HeaderMap, id: &str) -> Result<Arc<JobEntry>, ApiError> {
    let caller = caller(state, headers)?;
    state
        .jobs
        .get(&caller, id)
        .ok_or_else(|| ApiError(ServeError::NotFound(format!("no job `{id}`"))))
}

fn full_status(e: &JobEntry) -> Value {
    let mut v = summary(e);
    let (run, last) = e.status.batches();
    let r = e.status.record();
    v["batches_limit"] = json!(r.batches);
    v["batches_since_start"] = json!(run);
    v["last_batches"] = json!(last);
    v["cpu_ms"] = json!(e.status.cpu().as_secs_f64() * 1e3);
    if let Some(u) = e.usage() {
        v["memory"] = json!({
            "reserved_guest_bytes": u.memory_reserved,
            "state_bytes": u.state_bytes,
        });
    }
    v["files_sinks"] = json!(e.files_sinks.keys().collect::<Vec<_>>());
    v
}

/// `GET /v1/jobs/{id}`: state, failure reason, the last batches.
pub async fn status(
    state: State,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let entry = find(&state, &headers, &id)?;
    Ok(Json(full_status(&entry)))
}

/// `DELETE /v1/jobs/{id}`: stops the job after its current batch; answers its status.
pub async fn stop(
    state: State,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let entry = find(&state, &headers, &id)?;
    let st = state.0.clone();
    let e = entry.clone();
    blocking(move || st.jobs.stop(&e)).await?;
    Ok(Json(full_status(&entry)))
}

/// `GET /v1/usage`: the caller's CPU time, worker slots and memory (every tenant's for
/// the admin).
pub async fn usage(state: State, headers: HeaderMap) -> Result<Json<Value>, ApiError> {
    let caller = caller(&state, &headers)?;
    Ok(Json(json!(state.jobs.usage(&caller))))
}

/// `?tail=N` of the logs.
#[derive(Debug, Deserialize)]
pub struct LogQuery {
    /// Lines from the end. Default 200.
    tail: Option<usize>,
}

/// `GET /v1/jobs/{id}/logs`: job events and batch lines, oldest first.
pub async fn logs(
    state: State,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<LogQuery>,
) -> Result<Json<Value>, ApiError> {
    let entry = find(&state, &headers, &id)?;
    let lines = entry.status.log_tail(q.tail.unwrap_or(200));
    Ok(Json(json!({ "lines": lines })))
}

fn sink_dir(entry: &JobEntry, sink: &str) -> Result<std::path::PathBuf, ApiError> {
    entry.files_sinks.get(sink).cloned().ok_or_else(|| {
        ApiError(ServeError::NotFound(format!(
            "the job has no `files` sink `{sink}`"
        )))
    })
}

/// `GET /v1/jobs/{id}/sinks/{sink}/batches`: the batch files written, by time.
pub async fn batches(
    state: State,
    headers: HeaderMap,
    Path((id, sink)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let entry = find(&state, &headers, &id)?;
    let dir = sink_dir(&entry, &sink)?;
    let mut out: Vec<(i64, u64)> = std::fs::read_dir(&dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .filter_map(|e| {
                    let name = e.file_name().to_string_lossy().into_owned();
                    let time = name
                        .strip_prefix("batch-")?
                        .strip_suffix(".jsonl")?
                        .parse()
                        .ok()?;
                    Some((time, e.metadata().ok()?.len()))
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort_unstable();
    let list: Vec<Value> = out
        .iter()
        .map(|(t, n)| json!({"time_ms": t, "bytes": n}))
        .collect();
    Ok(Json(Value::Array(list)))
}

/// `GET /v1/jobs/{id}/sinks/{sink}/batches/{time_ms}`: one batch file (JSON lines).
pub async fn batch(
    state: State,
    headers: HeaderMap,
    Path((id, sink, time)): Path<(String, String, String)>,
) -> Result<impl IntoResponse, ApiError> {
    let entry = find(&state, &headers, &id)?;
    let dir = sink_dir(&entry, &sink)?;
    let time: i64 = time.parse().map_err(|_| {
        ApiError(ServeError::BadRequest(format!(
            "`{time}` is not a batch time in ms"
        )))
    })?;
    let path = dir.join(format!("batch-{time}.jsonl"));
    let bytes = tokio::fs::read(&path).await.map_err(|_| {
        ApiError(ServeError::NotFound(format!(
            "sink `{sink}` has no batch at {time} ms"
        )))
    })?;
    Ok(([(header::CONTENT_TYPE, "application/x-ndjson")], bytes))
}

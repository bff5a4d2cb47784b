//! `PUT /v1/plugins/{name}` (validated, stored per tenant), `GET /v1/plugins`,
//! `DELETE /v1/plugins/{name}`.

use axum::extract::Path;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;

use super::common::{blocking, read_body, tenant, State};
use super::error::ApiError;
use crate::serve::config::valid_name;
use crate::serve::store::PluginMeta;
use crate::serve::ServeError;

fn check_name(name: &str) -> Result<(), ApiError> {
    if valid_name(name) {
        Ok(())
    } else {
        Err(ApiError(ServeError::BadRequest(format!(
            "plugin name `{name}`: use 1 to 64 letters, digits, `-` or `_`"
        ))))
    }
}

/// `PUT /v1/plugins/{name}`: the body is the module; answers its digest and functions.
pub async fn put(
    state: State,
    headers: HeaderMap,
    Path(name): Path<String>,
    body: axum::body::Body,
) -> Result<(StatusCode, Json<PluginMeta>), ApiError> {
    let tenant = tenant(&state, &headers, "upload plugins")?;
    check_name(&name)?;
    let limit = state.limits.plugin_bytes;
    let bytes = read_body(body, limit, &format!("plugin `{name}`")).await?;
    let existing = state.store.plugins(&tenant);
    let max = state.tenants.get(&tenant).map_or(0, |t| t.max_plugins);
    if !existing.iter().any(|p| p.name == name) && existing.len() >= max {
        return Err(ApiError(ServeError::Quota {
            quota: "max_plugins",
            limit: max as u64,
            in_use: existing.len() as u64,
            requested: 1,
        }));
    }
    let st = state.0.clone();
    let meta = blocking(move || st.store.put_plugin(&st.runtime, &tenant, &name, &bytes)).await?;
    Ok((StatusCode::CREATED, Json(meta)))
}

/// `GET /v1/plugins`: the tenant's plugins.
pub async fn list(state: State, headers: HeaderMap) -> Result<Json<Vec<PluginMeta>>, ApiError> {
    let tenant = tenant(&state, &headers, "list plugins")?;
    Ok(Json(state.store.plugins(&tenant)))
}

/// `DELETE /v1/plugins/{name}`: jobs already submitted keep their copy.
pub async fn delete(
    state: State,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    let tenant = tenant(&state, &headers, "delete plugins")?;
    check_name(&name)?;
    if state.store.delete_plugin(&tenant, &name)? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError(ServeError::NotFound(format!(
            "no plugin `{name}`"
        ))))
    }
}

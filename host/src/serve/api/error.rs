//! [`ApiError`]: a [`ServeError`] as an HTTP answer (status, JSON body, headers).

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::serve::ServeError;

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
                requested,
            } => (
                StatusCode::TOO_MANY_REQUESTS,
                json!({"error": message, "quota": quota, "limit": limit, "in_use": in_use, "requested": requested}),
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

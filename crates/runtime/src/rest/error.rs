//! The one JSON error body of the REST API:
//! `{"error_code": 400, "message": "...", "errors": [{"field": "...", "message": "..."}]}`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use connect_api::FieldError;
use serde::Serialize;

use crate::error::HerderError;

/// An error answered to a REST client.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    message: String,
    errors: Vec<FieldError>,
}

/// The JSON body of every error answer (also its schema in `GET /openapi.json`).
#[derive(Serialize, utoipa::ToSchema)]
#[schema(example = json!({
    "error_code": 400,
    "message": "invalid connector config: es.index: is required",
    "errors": [{"field": "es.index", "message": "is required"}]
}))]
pub struct ErrorBody {
    /// The HTTP status code, repeated.
    error_code: u16,
    /// What went wrong, in plain words (never a secret).
    message: String,
    /// Per-field errors; empty when the error is not about a field.
    #[schema(value_type = Vec<FieldErrorDoc>)]
    errors: Vec<FieldError>,
}

/// One per-field error; the shape of `connect_api::FieldError`.
#[derive(utoipa::ToSchema)]
#[schema(as = FieldError)]
#[allow(dead_code)]
pub struct FieldErrorDoc {
    /// The config key or body field at fault (for example `es.index` or `config.es.port`).
    field: String,
    /// What is wrong and what to do about it.
    message: String,
}

impl ApiError {
    /// An error with a status and message.
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            errors: Vec::new(),
        }
    }

    /// 400 with per-field errors.
    pub fn invalid(errors: Vec<FieldError>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            message: format!("invalid connector config: {}", FieldError::join(&errors)),
            errors,
        }
    }

    /// 400 about one field.
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        Self::invalid(vec![FieldError::new(field, message)])
    }

    /// 404 for an unknown path.
    pub fn not_found(what: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, what)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error_code: self.status.as_u16(),
            message: self.message,
            errors: self.errors,
        };
        let mut response = (self.status, Json(body)).into_response();
        if self.status == StatusCode::PAYLOAD_TOO_LARGE {
            // The body was not read to its end, so the connection is closed after this
            // answer; saying so keeps clients from sending their next request on it.
            response.headers_mut().insert(
                axum::http::header::CONNECTION,
                axum::http::HeaderValue::from_static("close"),
            );
        }
        response
    }
}

impl From<HerderError> for ApiError {
    fn from(e: HerderError) -> Self {
        match e {
            HerderError::NotFound(_) | HerderError::TaskNotFound(..) => {
                Self::new(StatusCode::NOT_FOUND, e.to_string())
            }
            HerderError::Conflict(_) => Self::new(StatusCode::CONFLICT, e.to_string()),
            HerderError::AlreadyExists(_) => Self::new(StatusCode::CONFLICT, e.to_string()),
            HerderError::InvalidConfig(errors) => Self::invalid(errors),
            HerderError::ShuttingDown | HerderError::Unavailable(_) => {
                Self::new(StatusCode::SERVICE_UNAVAILABLE, e.to_string())
            }
            HerderError::Store(_) => Self::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
        }
    }
}

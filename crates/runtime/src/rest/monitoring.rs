//! `GET /` and `GET /health`: who this worker is, and whether it is ready.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::openapi;
use super::state::AppState;

/// `GET /`.
#[utoipa::path(
    get,
    path = "/",
    tag = "monitoring",
    operation_id = "worker_info",
    responses((status = 200, description = "Version, worker id and mode", body = openapi::WorkerInfo))
)]
pub(super) async fn root(State(h): State<AppState>) -> Json<Value> {
    Json(json!({
        "version": env!("CARGO_PKG_VERSION"),
        "worker_id": h.worker_id(),
        "mode": h.mode(),
    }))
}

/// `GET /health`: never needs the token.
#[utoipa::path(
    get,
    path = "/health",
    tag = "monitoring",
    operation_id = "health",
    responses(
        (status = 200, description = "Ready", body = openapi::Health,
            example = json!({"status": "ready"})),
        (status = 503, description = "Still starting", body = openapi::Health,
            example = json!({"status": "starting"})),
    )
)]
pub(super) async fn health(State(h): State<AppState>) -> Response {
    if h.is_ready() {
        (StatusCode::OK, Json(json!({"status": "ready"}))).into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "starting"})),
        )
            .into_response()
    }
}

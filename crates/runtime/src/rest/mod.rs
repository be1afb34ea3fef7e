//! The REST API (axum). Handlers only translate HTTP to [`Herder`] calls and back.
//!
//! Bodies are parsed by hand from bytes so every malformed body gets the API's JSON
//! error (naming the field where there is one) instead of a framework default.

pub mod auth;
mod body;
mod compat;
mod connectors;
mod error;
mod extract;
mod lifecycle;
mod metrics;
mod plugins;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;

pub use error::ApiError;

use crate::error::RuntimeError;
use crate::herder::Herder;
use crate::secrets::Secret;

/// Largest accepted request body.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

type AppState = Arc<dyn Herder>;

/// The API's routes over `herder`; with a `token`, every route but `/health` requires
/// `Authorization: Bearer <token>`.
pub fn router(herder: Arc<dyn Herder>, token: Option<Arc<Secret>>) -> Router {
    use connectors as c;
    use lifecycle as l;
    Router::new()
        .route("/", get(root))
        .route("/health", get(health))
        .route("/connectors", get(c::list).post(c::create))
        .route("/connectors/list", get(c::list))
        .route(
            "/connectors/{name}",
            get(c::info).post(c::upsert).delete(c::delete),
        )
        .route(
            "/connectors/{name}/config",
            get(c::config).put(c::upsert).patch(c::patch),
        )
        .route("/connectors/{name}/status", get(c::status))
        .route("/connectors/{name}/tasks", get(c::tasks))
        .route("/connectors/{name}/tasks/{id}/status", get(c::task_status))
        .route(
            "/connectors/{name}/tasks/{id}/restart",
            post(l::restart_task),
        )
        .route(
            "/connectors/{name}/pause",
            put(l::pause).get(compat::get_pause),
        )
        .route(
            "/connectors/{name}/resume",
            put(l::resume).get(compat::get_resume),
        )
        .route(
            "/connectors/{name}/stop",
            put(l::stop).get(compat::get_stop),
        )
        .route("/connectors/{name}/restart", post(l::restart))
        .route(
            "/connectors/{name}/offsets",
            get(l::offsets)
                .patch(l::alter_offsets)
                .delete(l::reset_offsets),
        )
        .route("/connectors/{name}/all", get(compat::get_all))
        .route("/connector-plugins", get(plugins::list))
        .route("/connector-plugins/{name}/config", get(plugins::config))
        .route(
            "/connector-plugins/{name}/config/validate",
            put(plugins::validate),
        )
        .route("/plugin/list", get(plugins::list))
        .route("/plugin/reload", get(compat::get_reload))
        .route("/metrics", get(metrics::metrics))
        .route("/getClusterInfo", get(compat::cluster_info))
        .route("/allocated/connectors", get(compat::allocated_connectors))
        .route("/allocated/tasks", get(compat::allocated_tasks))
        .fallback(|| async { ApiError::not_found("no such route") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method not allowed on this route",
            )
        })
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(herder)
        // Outermost, so unknown routes need the token too.
        .layer(axum::middleware::from_fn(auth::require_bearer(token)))
}

/// Serves the API on `addr` until `shutdown` is cancelled; returns the bound address
/// through `bound` as soon as it listens.
pub async fn serve(
    herder: Arc<dyn Herder>,
    token: Option<Arc<Secret>>,
    addr: SocketAddr,
    shutdown: CancellationToken,
    bound: tokio::sync::oneshot::Sender<SocketAddr>,
) -> Result<(), RuntimeError> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| RuntimeError::Bind { addr, source })?;
    let local = listener
        .local_addr()
        .map_err(|source| RuntimeError::Bind { addr, source })?;
    tracing::info!(%local, "REST API listening");
    let _ = bound.send(local);
    axum::serve(listener, router(herder, token))
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await
        .map_err(|source| RuntimeError::Bind { addr, source })
}

async fn root(State(h): State<AppState>) -> Json<Value> {
    Json(json!({
        "version": env!("CARGO_PKG_VERSION"),
        "worker_id": h.worker_id(),
        "mode": h.mode(),
    }))
}

async fn health(State(h): State<AppState>) -> Response {
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

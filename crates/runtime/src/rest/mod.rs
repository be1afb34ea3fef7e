//! The REST API (axum). Handlers only translate HTTP to [`Herder`] calls and back.
//!
//! Bodies are parsed by hand from bytes so every malformed body gets the API's JSON
//! error (naming the field where there is one) instead of a framework default.
//!
//! Every route is declared once, by its handler's `#[utoipa::path]`, and registered with
//! `utoipa_axum::routes!` in [`api_routes`]: the axum router and the OpenAPI document
//! served at `GET /openapi.json` ([`openapi::openapi`]) come from the same declarations.

pub mod auth;
mod body;
mod compat;
mod connectors;
mod error;
mod extract;
mod lifecycle;
mod metrics;
pub mod openapi;
mod plugins;
mod server;
pub use server::RestServer;
mod workers;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;
use utoipa::OpenApi as _;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use error::{ApiError, ErrorBody};

use crate::error::RuntimeError;
use crate::herder::Herder;
use crate::secrets::Secret;

/// Largest accepted request body.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

type AppState = Arc<dyn Herder>;

/// Every route of the API, each registered from its handler's `#[utoipa::path]` (one
/// `routes!` per path), so the router and [`openapi::openapi`] cannot disagree.
pub(crate) fn api_routes() -> OpenApiRouter<AppState> {
    use connectors as c;
    use lifecycle as l;
    OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .routes(routes!(root))
        .routes(routes!(health))
        .routes(routes!(c::list, c::create))
        .routes(routes!(c::list_alias))
        .routes(routes!(c::info, c::upsert, c::delete))
        .routes(routes!(c::config, c::put_config, c::patch))
        .routes(routes!(c::status))
        .routes(routes!(c::tasks))
        .routes(routes!(c::task_status))
        .routes(routes!(l::restart_task))
        .routes(routes!(l::pause, compat::get_pause))
        .routes(routes!(l::resume, compat::get_resume))
        .routes(routes!(l::stop, compat::get_stop))
        .routes(routes!(l::restart))
        .routes(routes!(l::offsets, l::alter_offsets, l::reset_offsets))
        .routes(routes!(compat::get_all))
        .routes(routes!(plugins::list))
        .routes(routes!(plugins::config))
        .routes(routes!(plugins::validate))
        .routes(routes!(plugins::list_alias))
        .routes(routes!(compat::get_reload))
        .routes(routes!(metrics::metrics))
        .routes(routes!(openapi::openapi_json))
        .routes(routes!(workers::list))
        .routes(routes!(compat::cluster_info))
        .routes(routes!(compat::allocated_connectors))
        .routes(routes!(compat::allocated_tasks))
}

/// The API's routes over `herder`; with a `token`, every route but `/health` requires
/// `Authorization: Bearer <token>`.
pub fn router(herder: Arc<dyn Herder>, token: Option<Arc<Secret>>) -> Router {
    let (routes, _doc) = api_routes().split_for_parts();
    routes
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

/// `GET /`.
#[utoipa::path(
    get,
    path = "/",
    tag = "monitoring",
    operation_id = "worker_info",
    responses((status = 200, description = "Version, worker id and mode", body = openapi::WorkerInfo))
)]
async fn root(State(h): State<AppState>) -> Json<Value> {
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

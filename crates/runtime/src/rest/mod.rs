//! The REST API (axum). Handlers only translate HTTP to [`Herder`] calls and back.
//!
//! Bodies are parsed by hand from bytes so every malformed body gets the API's JSON
//! error (naming the field where there is one) instead of a framework default.
//!
//! Every route is declared once, by its handler's `#[utoipa::path]`, and registered with
//! `utoipa_axum::routes!` in `routes::api_routes`: the axum router and the OpenAPI
//! document served at `GET /openapi.json` ([`openapi()`]) come from the same
//! declarations.

pub mod auth;
mod body;
mod compat;
mod connectors;
mod error;
mod extract;
mod lifecycle;
mod metrics;
mod monitoring;
pub mod openapi;
mod plugins;
mod routes;
mod server;
mod state;
pub use routes::{openapi, openapi_json_text};
pub use server::RestServer;
mod workers;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::Router;
use tokio_util::sync::CancellationToken;

pub use error::{ApiError, ErrorBody};

use crate::error::RuntimeError;
use crate::herder::Herder;
use crate::secrets::Secret;

/// Largest accepted request body.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// The API's routes over `herder`; with a `token`, every route but `/health` requires
/// `Authorization: Bearer <token>`.
pub fn router(herder: Arc<dyn Herder>, token: Option<Arc<Secret>>) -> Router {
    let (routes, _doc) = routes::api_routes().split_for_parts();
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

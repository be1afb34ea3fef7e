//! The REST API (axum). Handlers only translate HTTP to [`Herder`] calls and back.
//!
//! Bodies are parsed by hand from bytes so every malformed body gets the API's JSON
//! error (naming the field where there is one) instead of a framework default.

mod error;
mod extract;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use connect_api::ConfigMap;
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;

pub use error::ApiError;
use extract::{JsonBody, NamePath};

use crate::error::RuntimeError;
use crate::herder::{Herder, PutMode};

/// Largest accepted request body.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

type AppState = Arc<dyn Herder>;

/// The API's routes over `herder`.
pub fn router(herder: Arc<dyn Herder>) -> Router {
    Router::new()
        .route("/", get(root))
        .route("/health", get(health))
        .route("/connectors", get(list_connectors).post(create_connector))
        .route("/connectors/list", get(list_connectors))
        .route(
            "/connectors/{name}",
            get(connector_info)
                .post(put_flat_connector)
                .delete(delete_connector),
        )
        .route("/connectors/{name}/config", get(connector_config))
        .route("/connectors/{name}/status", get(connector_status))
        .route("/connectors/{name}/tasks", get(connector_tasks))
        .route("/connector-plugins", get(plugins))
        .route("/plugin/list", get(plugins))
        .fallback(|| async { ApiError::not_found("no such route") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method not allowed on this route",
            )
        })
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(herder)
}

/// Serves the API on `addr` until `shutdown` is cancelled; returns the bound address
/// through `bound` as soon as it listens.
pub async fn serve(
    herder: Arc<dyn Herder>,
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
    axum::serve(listener, router(herder))
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

async fn list_connectors(State(h): State<AppState>) -> Json<Vec<String>> {
    Json(h.connectors().await)
}

fn parse_json(body: &Bytes) -> Result<Value, ApiError> {
    if body.is_empty() {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "the request body is empty; send a JSON object",
        ));
    }
    serde_json::from_slice(body).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("the request body is not valid JSON: {e}"),
        )
    })
}

/// A flat JSON object of scalar values as a string map; numbers and booleans are
/// accepted and kept as their text.
fn config_map(value: &Value, field_prefix: &str) -> Result<ConfigMap, ApiError> {
    let Value::Object(obj) = value else {
        return Err(ApiError::field(
            field_prefix.trim_end_matches('.'),
            "must be a JSON object of string values",
        ));
    };
    let mut out = ConfigMap::new();
    let mut errors = Vec::new();
    for (k, v) in obj {
        let text = match v {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            _ => {
                errors.push(connect_api::FieldError::new(
                    format!("{field_prefix}{k}"),
                    "must be a string, number or boolean",
                ));
                continue;
            }
        };
        out.insert(k.clone(), text);
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(ApiError::invalid(errors))
    }
}

async fn create_connector(
    State(h): State<AppState>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let value = parse_json(&body)?;
    let name = match value.get("name") {
        Some(Value::String(n)) => n.clone(),
        Some(_) => return Err(ApiError::field("name", "must be a string")),
        None => return Err(ApiError::field("name", "is required")),
    };
    let config = match value.get("config") {
        Some(c) => config_map(c, "config.")?,
        None => return Err(ApiError::field("config", "is required")),
    };
    let out = h.put_connector(&name, config, PutMode::CreateOnly).await?;
    Ok((StatusCode::CREATED, Json(out.info)).into_response())
}

async fn put_flat_connector(
    State(h): State<AppState>,
    NamePath(name): NamePath,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let value = parse_json(&body)?;
    let config = config_map(&value, "")?;
    let out = h.put_connector(&name, config, PutMode::Upsert).await?;
    let status = if out.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(out.info)).into_response())
}

async fn connector_info(
    State(h): State<AppState>,
    NamePath(name): NamePath,
) -> Result<Response, ApiError> {
    Ok(Json(h.connector_info(&name).await?).into_response())
}

async fn connector_config(
    State(h): State<AppState>,
    NamePath(name): NamePath,
) -> Result<Response, ApiError> {
    Ok(Json(h.connector_info(&name).await?.config).into_response())
}

async fn connector_tasks(
    State(h): State<AppState>,
    NamePath(name): NamePath,
) -> Result<Response, ApiError> {
    Ok(Json(h.connector_info(&name).await?.tasks).into_response())
}

async fn connector_status(
    State(h): State<AppState>,
    NamePath(name): NamePath,
) -> Result<Response, ApiError> {
    Ok(Json(h.connector_status(&name).await?).into_response())
}

async fn delete_connector(
    State(h): State<AppState>,
    NamePath(name): NamePath,
) -> Result<Response, ApiError> {
    h.delete_connector(&name).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn plugins(State(h): State<AppState>) -> Json<Value> {
    let list: Vec<Value> = h
        .plugins()
        .into_iter()
        .map(|p| {
            json!({
                "class": p.name,
                "aliases": p.aliases,
                "type": "source",
                "version": p.version,
                "description": p.description,
            })
        })
        .collect();
    Json(Value::Array(list))
}

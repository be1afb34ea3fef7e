//! Plugin routes: list, config keys, and validation in Kafka Connect's response shape.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::body::{config_map, parse_json};
use super::error::ErrorBody;
use super::extract::{JsonBody, NamePath};
use super::openapi::{BodyRejections, ConfigKeyDoc, FlatConfig, Plugin, Validation};
use super::state::AppState;
use super::ApiError;
use crate::connector_config::CONNECTOR_CLASS;
use crate::secrets;

/// `GET /connector-plugins` (alias `GET /plugin/list`).
#[utoipa::path(
    get,
    path = "/connector-plugins",
    tag = "plugins",
    operation_id = "list_plugins",
    responses((status = 200, description = "The installed plugins", body = Vec<Plugin>))
)]
pub async fn list(State(h): State<AppState>) -> Json<Value> {
    let registry = h.catalog().registry();
    let mut list: Vec<Value> = registry
        .listing()
        .into_iter()
        .map(|(p, origin)| {
            json!({
                "class": p.name,
                "aliases": p.aliases,
                "type": "source",
                "version": p.version,
                "description": p.description,
                "protocol": origin.protocol,
                "location": origin.location,
            })
        })
        .collect();
    // Plugins that failed to load, with why: listed so that a user sees what to fix.
    list.extend(registry.broken().iter().map(|b| {
        json!({
            "class": b.name,
            "type": "source",
            "location": b.location,
            "error": b.error,
        })
    }));
    Json(Value::Array(list))
}

/// `GET /plugin/list`: RocketMQ Connect's name for [`list`].
#[utoipa::path(
    get,
    path = "/plugin/list",
    tag = "compat",
    operation_id = "list_plugins_alias",
    responses((status = 200, description = "As `GET /connector-plugins`", body = Vec<Plugin>))
)]
pub async fn list_alias(state: State<AppState>) -> Json<Value> {
    list(state).await
}

/// `GET /connector-plugins/{plugin}/config`: every key with type, default and doc.
#[utoipa::path(
    get,
    path = "/connector-plugins/{name}/config",
    tag = "plugins",
    operation_id = "get_plugin_config",
    params(("name" = String, Path, description = "Plugin name or alias")),
    responses(
        (status = 200, description = "Every config key with type, default and doc", body = Vec<ConfigKeyDoc>),
        (status = 404, description = "No such plugin", body = ErrorBody),
    )
)]
pub async fn config(
    State(h): State<AppState>,
    NamePath(plugin): NamePath,
) -> Result<Response, ApiError> {
    let def = h
        .plugin_config(&plugin)
        .ok_or_else(|| ApiError::not_found(format!("no connector plugin {plugin:?}")))?;
    Ok(Json(def).into_response())
}

/// `PUT /connector-plugins/{plugin}/config/validate` with a flat config: always 200 with
/// `error_count` and per-key errors (Kafka Connect's shape); secrets shown as `[hidden]`.
#[utoipa::path(
    put,
    path = "/connector-plugins/{name}/config/validate",
    tag = "plugins",
    operation_id = "validate_config",
    params(("name" = String, Path, description = "Plugin name or alias")),
    request_body(content = FlatConfig, content_type = "application/json"),
    responses(
        (status = 200, description = "Validated (valid or not): `error_count` and each key's errors", body = Validation),
        (status = 400, description = "Malformed body (not a flat JSON object)", body = ErrorBody),
        (status = 404, description = "No such plugin", body = ErrorBody),
        BodyRejections,
    )
)]
pub async fn validate(
    State(h): State<AppState>,
    NamePath(plugin): NamePath,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let def = h
        .plugin_config(&plugin)
        .ok_or_else(|| ApiError::not_found(format!("no connector plugin {plugin:?}")))?;
    let value = parse_json(&body)?;
    let mut config = config_map(&value, "")?;
    config
        .entry(CONNECTOR_CLASS.to_owned())
        .or_insert_with(|| plugin.clone());
    let errors = h.validate(config.clone()).await;
    let shown = secrets::mask(&config, Some(&def));
    let mut names: Vec<String> = def.iter().map(|k| k.name.to_string()).collect();
    for e in &errors {
        if !names.contains(&e.field) {
            names.push(e.field.clone());
        }
    }
    let configs: Vec<Value> = names
        .iter()
        .map(|name| {
            let key = def.iter().find(|k| k.name == name.as_str());
            let errs: Vec<&str> = errors
                .iter()
                .filter(|e| &e.field == name)
                .map(|e| e.message.as_str())
                .collect();
            json!({
                "definition": key.map(|k| json!(k)).unwrap_or_else(|| json!({"name": name})),
                "value": {"name": name, "value": shown.get(name), "errors": errs},
            })
        })
        .collect();
    Ok(Json(json!({
        "name": plugin,
        "error_count": errors.len(),
        "groups": [],
        "configs": configs,
    }))
    .into_response())
}

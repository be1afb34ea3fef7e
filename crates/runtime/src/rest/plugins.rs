//! Plugin routes: list, config keys, and validation in Kafka Connect's response shape.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::body::{config_map, parse_json};
use super::extract::{JsonBody, NamePath};
use super::{ApiError, AppState};
use crate::connector_config::CONNECTOR_CLASS;
use crate::secrets;

/// `GET /connector-plugins` (alias `GET /plugin/list`).
pub async fn list(State(h): State<AppState>) -> Json<Value> {
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

/// `GET /connector-plugins/{plugin}/config`: every key with type, default and doc.
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
    let mut names: Vec<String> = def.iter().map(|k| k.name.to_owned()).collect();
    for e in &errors {
        if !names.contains(&e.field) {
            names.push(e.field.clone());
        }
    }
    let configs: Vec<Value> = names
        .iter()
        .map(|name| {
            let key = def.iter().find(|k| k.name == name);
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

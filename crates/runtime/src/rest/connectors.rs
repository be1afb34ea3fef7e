//! Connector routes: list, create, read, update, delete, status and tasks.

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Map, Value};

use super::body::{config_map, config_patch, parse_json, query_pairs};
use super::extract::{JsonBody, NamePath, TaskPath};
use super::{ApiError, AppState};
use crate::herder::PutMode;
use crate::store::TargetState;

/// `GET /connectors` (`?expand=status`, `?expand=info`, repeated or comma-separated).
pub async fn list(State(h): State<AppState>, RawQuery(q): RawQuery) -> Result<Response, ApiError> {
    let mut status = false;
    let mut info = false;
    for (k, v) in query_pairs(q.as_deref()) {
        if k != "expand" {
            continue;
        }
        for part in v.split(',').filter(|p| !p.is_empty()) {
            match part {
                "status" => status = true,
                "info" => info = true,
                other => {
                    return Err(ApiError::field(
                        "expand",
                        format!("unknown expansion {other:?}; use status or info"),
                    ))
                }
            }
        }
    }
    let names = h.connectors().await;
    if !status && !info {
        return Ok(Json(names).into_response());
    }
    let mut out = Map::new();
    for name in names {
        let mut item = Map::new();
        // A connector deleted meanwhile is simply left out.
        if status {
            if let Ok(s) = h.connector_status(&name).await {
                item.insert("status".into(), json!(s));
            }
        }
        if info {
            if let Ok(i) = h.connector_info(&name).await {
                item.insert("info".into(), json!(i));
            }
        }
        out.insert(name, Value::Object(item));
    }
    Ok(Json(Value::Object(out)).into_response())
}

fn initial_state(value: &Value) -> Result<Option<TargetState>, ApiError> {
    match value.get("initial_state") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => match s.to_ascii_uppercase().as_str() {
            "RUNNING" => Ok(Some(TargetState::Started)),
            "PAUSED" => Ok(Some(TargetState::Paused)),
            "STOPPED" => Ok(Some(TargetState::Stopped)),
            _ => Err(ApiError::field(
                "initial_state",
                format!("must be RUNNING, PAUSED or STOPPED, got {s:?}"),
            )),
        },
        Some(_) => Err(ApiError::field("initial_state", "must be a string")),
    }
}

/// `POST /connectors` with `{name, config, initial_state?}`: 201, or 409 when it exists.
pub async fn create(
    State(h): State<AppState>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let value = parse_json(&body)?;
    if !value.is_object() {
        return Err(ApiError::field(
            "body",
            "must be a JSON object {\"name\", \"config\"}",
        ));
    }
    let name = match value.get("name") {
        Some(Value::String(n)) => n.clone(),
        Some(_) => return Err(ApiError::field("name", "must be a string")),
        None => return Err(ApiError::field("name", "is required")),
    };
    let config = match value.get("config") {
        Some(c) => config_map(c, "config.")?,
        None => return Err(ApiError::field("config", "is required")),
    };
    let initial = initial_state(&value)?;
    let out = h
        .put_connector(&name, config, PutMode::CreateOnly, initial)
        .await?;
    Ok((StatusCode::CREATED, Json(out.info)).into_response())
}

/// `POST /connectors/{name}` (RocketMQ Connect style) and `PUT /connectors/{name}/config`:
/// create (201) or update (200) from a flat config.
pub async fn upsert(
    State(h): State<AppState>,
    NamePath(name): NamePath,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let value = parse_json(&body)?;
    let config = config_map(&value, "")?;
    let out = h
        .put_connector(&name, config, PutMode::Upsert, None)
        .await?;
    let status = if out.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(out.info)).into_response())
}

/// `PATCH /connectors/{name}/config`: changes some keys (`null` removes one).
pub async fn patch(
    State(h): State<AppState>,
    NamePath(name): NamePath,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let value = parse_json(&body)?;
    let changes = config_patch(&value)?;
    let out = h.patch_connector(&name, changes).await?;
    Ok(Json(out.info).into_response())
}

/// `GET /connectors/{name}`.
pub async fn info(
    State(h): State<AppState>,
    NamePath(name): NamePath,
) -> Result<Response, ApiError> {
    Ok(Json(h.connector_info(&name).await?).into_response())
}

/// `GET /connectors/{name}/config`.
pub async fn config(
    State(h): State<AppState>,
    NamePath(name): NamePath,
) -> Result<Response, ApiError> {
    Ok(Json(h.connector_info(&name).await?.config).into_response())
}

/// `GET /connectors/{name}/tasks`.
pub async fn tasks(
    State(h): State<AppState>,
    NamePath(name): NamePath,
) -> Result<Response, ApiError> {
    Ok(Json(h.task_infos(&name).await?).into_response())
}

/// `GET /connectors/{name}/status`.
pub async fn status(
    State(h): State<AppState>,
    NamePath(name): NamePath,
) -> Result<Response, ApiError> {
    Ok(Json(h.connector_status(&name).await?).into_response())
}

/// `GET /connectors/{name}/tasks/{id}/status`.
pub async fn task_status(
    State(h): State<AppState>,
    TaskPath(name, id): TaskPath,
) -> Result<Response, ApiError> {
    let status = h.connector_status(&name).await?;
    let task = status
        .tasks
        .into_iter()
        .find(|t| t.id == id)
        .ok_or_else(|| ApiError::from(crate::error::HerderError::TaskNotFound(name, id)))?;
    Ok(Json(task).into_response())
}

/// `DELETE /connectors/{name}`: 204.
pub async fn delete(
    State(h): State<AppState>,
    NamePath(name): NamePath,
) -> Result<Response, ApiError> {
    h.delete_connector(&name).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

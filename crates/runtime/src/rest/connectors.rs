//! Connector routes: list, create, read, update, delete, status and tasks.

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Map, Value};

use super::body::{config_map, config_patch, parse_json, query_pairs};
use super::error::ErrorBody;
use super::extract::{JsonBody, NamePath, TaskPath};
use super::openapi::{
    BodyRejections, ConfigPatch, ConnectorList, CreateConnector, FlatConfig, HerderFailures,
};
use super::state::AppState;
use super::ApiError;
use crate::herder::{ConnectorInfo, ConnectorStatus, PutMode, TaskInfo};
use crate::status::TaskStatus;
use crate::store::TargetState;

/// `GET /connectors` (`?expand=status`, `?expand=info`, repeated or comma-separated).
#[utoipa::path(
    get,
    path = "/connectors",
    tag = "connectors",
    operation_id = "list_connectors",
    params(
        ("expand" = Option<String>, Query,
            description = "`status` and/or `info` (repeated or comma-separated): a map by name instead of the names"),
    ),
    responses(
        (status = 200, description = "The sorted names, or with `expand` a map by name", body = ConnectorList),
        (status = 400, description = "Unknown expansion", body = ErrorBody),
    )
)]
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

/// `GET /connectors/list`: RocketMQ Connect's name for [`list`].
#[utoipa::path(
    get,
    path = "/connectors/list",
    tag = "compat",
    operation_id = "list_connectors_alias",
    params(
        ("expand" = Option<String>, Query, description = "As for `GET /connectors`"),
    ),
    responses(
        (status = 200, description = "As `GET /connectors`", body = ConnectorList),
        (status = 400, description = "Unknown expansion", body = ErrorBody),
    )
)]
pub async fn list_alias(state: State<AppState>, query: RawQuery) -> Result<Response, ApiError> {
    list(state, query).await
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
#[utoipa::path(
    post,
    path = "/connectors",
    tag = "connectors",
    operation_id = "create_connector",
    request_body(content = CreateConnector, content_type = "application/json"),
    responses(
        (status = 201, description = "Created (and started in its initial state)", body = ConnectorInfo),
        (status = 400, description = "Malformed body, invalid name or invalid config, with per-field errors", body = ErrorBody),
        (status = 409, description = "A connector of that name exists", body = ErrorBody),
        BodyRejections,
        HerderFailures,
    )
)]
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

/// `POST /connectors/{name}` (RocketMQ Connect style): create (201) or update (200) from
/// a flat config.
#[utoipa::path(
    post,
    path = "/connectors/{name}",
    tag = "connectors",
    operation_id = "upsert_connector",
    params(("name" = String, Path, description = "Connector name")),
    request_body(content = FlatConfig, content_type = "application/json"),
    responses(
        (status = 200, description = "Updated; the connector restarts with the new config", body = ConnectorInfo),
        (status = 201, description = "Created", body = ConnectorInfo),
        (status = 400, description = "Malformed body, invalid name or invalid config, with per-field errors", body = ErrorBody),
        BodyRejections,
        HerderFailures,
    )
)]
pub async fn upsert(
    state: State<AppState>,
    name: NamePath,
    body: JsonBody,
) -> Result<Response, ApiError> {
    put_config(state, name, body).await
}

/// `PUT /connectors/{name}/config`: create (201) or replace (200) from a flat config.
#[utoipa::path(
    put,
    path = "/connectors/{name}/config",
    tag = "connectors",
    operation_id = "put_connector_config",
    params(("name" = String, Path, description = "Connector name")),
    request_body(content = FlatConfig, content_type = "application/json"),
    responses(
        (status = 200, description = "Replaced; the connector restarts with the new config", body = ConnectorInfo),
        (status = 201, description = "Created", body = ConnectorInfo),
        (status = 400, description = "Malformed body, invalid name or invalid config, with per-field errors", body = ErrorBody),
        BodyRejections,
        HerderFailures,
    )
)]
pub async fn put_config(
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
#[utoipa::path(
    patch,
    path = "/connectors/{name}/config",
    tag = "connectors",
    operation_id = "patch_connector_config",
    params(("name" = String, Path, description = "Connector name")),
    request_body(content = ConfigPatch, content_type = "application/json"),
    responses(
        (status = 200, description = "Merged; the connector restarts with the new config", body = ConnectorInfo),
        (status = 400, description = "Malformed body or invalid resulting config, with per-field errors", body = ErrorBody),
        (status = 404, description = "No such connector", body = ErrorBody),
        BodyRejections,
        HerderFailures,
    )
)]
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
#[utoipa::path(
    get,
    path = "/connectors/{name}",
    tag = "connectors",
    operation_id = "get_connector",
    params(("name" = String, Path, description = "Connector name")),
    responses(
        (status = 200, description = "Config (secrets shown as `[hidden]`) and tasks", body = ConnectorInfo),
        (status = 404, description = "No such connector", body = ErrorBody),
        HerderFailures,
    )
)]
pub async fn info(
    State(h): State<AppState>,
    NamePath(name): NamePath,
) -> Result<Response, ApiError> {
    Ok(Json(h.connector_info(&name).await?).into_response())
}

/// `GET /connectors/{name}/config`.
#[utoipa::path(
    get,
    path = "/connectors/{name}/config",
    tag = "connectors",
    operation_id = "get_connector_config",
    params(("name" = String, Path, description = "Connector name")),
    responses(
        (status = 200, description = "The config, secrets shown as `[hidden]`", body = BTreeMap<String, String>),
        (status = 404, description = "No such connector", body = ErrorBody),
        HerderFailures,
    )
)]
pub async fn config(
    State(h): State<AppState>,
    NamePath(name): NamePath,
) -> Result<Response, ApiError> {
    Ok(Json(h.connector_info(&name).await?.config).into_response())
}

/// `GET /connectors/{name}/tasks`.
#[utoipa::path(
    get,
    path = "/connectors/{name}/tasks",
    tag = "connectors",
    operation_id = "get_connector_tasks",
    params(("name" = String, Path, description = "Connector name")),
    responses(
        (status = 200, description = "Each task's config, secrets shown as `[hidden]`", body = Vec<TaskInfo>),
        (status = 404, description = "No such connector", body = ErrorBody),
        HerderFailures,
    )
)]
pub async fn tasks(
    State(h): State<AppState>,
    NamePath(name): NamePath,
) -> Result<Response, ApiError> {
    Ok(Json(h.task_infos(&name).await?).into_response())
}

/// `GET /connectors/{name}/status`.
#[utoipa::path(
    get,
    path = "/connectors/{name}/status",
    tag = "connectors",
    operation_id = "get_connector_status",
    params(("name" = String, Path, description = "Connector name")),
    responses(
        (status = 200, description = "Connector and task states, progress and last errors", body = ConnectorStatus),
        (status = 404, description = "No such connector", body = ErrorBody),
        HerderFailures,
    )
)]
pub async fn status(
    State(h): State<AppState>,
    NamePath(name): NamePath,
) -> Result<Response, ApiError> {
    Ok(Json(h.connector_status(&name).await?).into_response())
}

/// `GET /connectors/{name}/tasks/{id}/status`.
#[utoipa::path(
    get,
    path = "/connectors/{name}/tasks/{id}/status",
    tag = "connectors",
    operation_id = "get_task_status",
    params(
        ("name" = String, Path, description = "Connector name"),
        ("id" = u32, Path, description = "Task number"),
    ),
    responses(
        (status = 200, description = "The task's state, progress and last error", body = TaskStatus),
        (status = 400, description = "The task id is not a whole number", body = ErrorBody),
        (status = 404, description = "No such connector or task", body = ErrorBody),
        HerderFailures,
    )
)]
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
#[utoipa::path(
    delete,
    path = "/connectors/{name}",
    tag = "connectors",
    operation_id = "delete_connector",
    params(("name" = String, Path, description = "Connector name")),
    responses(
        (status = 204, description = "Deleted; its tasks were stopped first (offsets are kept)"),
        (status = 404, description = "No such connector", body = ErrorBody),
        HerderFailures,
    )
)]
pub async fn delete(
    State(h): State<AppState>,
    NamePath(name): NamePath,
) -> Result<Response, ApiError> {
    h.delete_connector(&name).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

//! Lifecycle routes: pause, resume, stop, restart, and the offsets of a connector.

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use connect_api::{FieldError, SourceOffset, SourcePartition};
use serde_json::{json, Value};

use super::body::{parse_json, query_bool, query_pairs};
use super::error::ErrorBody;
use super::extract::{JsonBody, NamePath, TaskPath};
use super::openapi::{AlterOffsets, BodyRejections, HerderFailures, Message, Offsets};
use super::state::AppState;
use super::ApiError;
use crate::herder::ConnectorStatus;

/// `PUT /connectors/{name}/pause`: 202.
#[utoipa::path(
    put,
    path = "/connectors/{name}/pause",
    tag = "lifecycle",
    operation_id = "pause_connector",
    params(("name" = String, Path, description = "Connector name")),
    responses(
        (status = 202, description = "Paused: tasks stay assigned and stop polling; kept across restarts"),
        (status = 404, description = "No such connector", body = ErrorBody),
        HerderFailures,
    )
)]
pub async fn pause(
    State(h): State<AppState>,
    NamePath(name): NamePath,
) -> Result<Response, ApiError> {
    h.pause(&name).await?;
    Ok(StatusCode::ACCEPTED.into_response())
}

/// `PUT /connectors/{name}/resume`: 202.
#[utoipa::path(
    put,
    path = "/connectors/{name}/resume",
    tag = "lifecycle",
    operation_id = "resume_connector",
    params(("name" = String, Path, description = "Connector name")),
    responses(
        (status = 202, description = "Resumed (from paused or stopped)"),
        (status = 404, description = "No such connector", body = ErrorBody),
        HerderFailures,
    )
)]
pub async fn resume(
    State(h): State<AppState>,
    NamePath(name): NamePath,
) -> Result<Response, ApiError> {
    h.resume(&name).await?;
    Ok(StatusCode::ACCEPTED.into_response())
}

/// `PUT /connectors/{name}/stop`: 202.
#[utoipa::path(
    put,
    path = "/connectors/{name}/stop",
    tag = "lifecycle",
    operation_id = "stop_connector",
    params(("name" = String, Path, description = "Connector name")),
    responses(
        (status = 202, description = "Stopped: tasks stopped, config kept; kept across restarts"),
        (status = 404, description = "No such connector", body = ErrorBody),
        HerderFailures,
    )
)]
pub async fn stop(
    State(h): State<AppState>,
    NamePath(name): NamePath,
) -> Result<Response, ApiError> {
    h.stop(&name).await?;
    Ok(StatusCode::ACCEPTED.into_response())
}

/// `POST /connectors/{name}/restart?includeTasks=&onlyFailed=`: 204 for the connector
/// alone, otherwise 202 with the status after the restart.
#[utoipa::path(
    post,
    path = "/connectors/{name}/restart",
    tag = "lifecycle",
    operation_id = "restart_connector",
    params(
        ("name" = String, Path, description = "Connector name"),
        ("includeTasks" = Option<bool>, Query, description = "Restart its tasks too (default false)"),
        ("onlyFailed" = Option<bool>, Query, description = "Only what has FAILED (default false)"),
    ),
    responses(
        (status = 202, description = "Restarted with tasks (`includeTasks` or `onlyFailed`): the status after the restart", body = ConnectorStatus),
        (status = 204, description = "The connector alone was restarted"),
        (status = 400, description = "A query parameter is not true or false", body = ErrorBody),
        (status = 404, description = "No such connector", body = ErrorBody),
        HerderFailures,
    )
)]
pub async fn restart(
    State(h): State<AppState>,
    NamePath(name): NamePath,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let pairs = query_pairs(q.as_deref());
    let include_tasks = query_bool(&pairs, "includeTasks")?;
    let only_failed = query_bool(&pairs, "onlyFailed")?;
    let status = h
        .restart_connector(&name, include_tasks, only_failed)
        .await?;
    if !include_tasks && !only_failed {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Ok((StatusCode::ACCEPTED, Json(status)).into_response())
    }
}

/// `POST /connectors/{name}/tasks/{id}/restart`: 204.
#[utoipa::path(
    post,
    path = "/connectors/{name}/tasks/{id}/restart",
    tag = "lifecycle",
    operation_id = "restart_task",
    params(
        ("name" = String, Path, description = "Connector name"),
        ("id" = u32, Path, description = "Task number"),
    ),
    responses(
        (status = 204, description = "The task was restarted"),
        (status = 400, description = "The task id is not a whole number", body = ErrorBody),
        (status = 404, description = "No such connector or task", body = ErrorBody),
        HerderFailures,
    )
)]
pub async fn restart_task(
    State(h): State<AppState>,
    TaskPath(name, id): TaskPath,
) -> Result<Response, ApiError> {
    h.restart_task(&name, id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET /connectors/{name}/offsets`: `{"offsets": [{"partition": {..}, "offset": {..}}]}`.
#[utoipa::path(
    get,
    path = "/connectors/{name}/offsets",
    tag = "offsets",
    operation_id = "get_offsets",
    params(("name" = String, Path, description = "Connector name")),
    responses(
        (status = 200, description = "The committed offset of each partition", body = Offsets),
        (status = 404, description = "No such connector", body = ErrorBody),
        HerderFailures,
    )
)]
pub async fn offsets(
    State(h): State<AppState>,
    NamePath(name): NamePath,
) -> Result<Response, ApiError> {
    let list: Vec<Value> = h
        .offsets(&name)
        .await?
        .into_iter()
        .map(|(p, o)| json!({"partition": Value::from(p), "offset": Value::from(o)}))
        .collect();
    Ok(Json(json!({ "offsets": list })).into_response())
}

/// `PATCH /connectors/{name}/offsets` with `{"offsets": [{"partition", "offset"|null}]}`;
/// only while STOPPED (409 otherwise).
#[utoipa::path(
    patch,
    path = "/connectors/{name}/offsets",
    tag = "offsets",
    operation_id = "alter_offsets",
    params(("name" = String, Path, description = "Connector name")),
    request_body(content = AlterOffsets, content_type = "application/json"),
    responses(
        (status = 200, description = "Altered", body = Message),
        (status = 400, description = "Malformed body, with the entries at fault (`offsets[i].partition`, ...)", body = ErrorBody),
        (status = 404, description = "No such connector", body = ErrorBody),
        (status = 409, description = "The connector is not STOPPED", body = ErrorBody),
        BodyRejections,
        HerderFailures,
    )
)]
pub async fn alter_offsets(
    State(h): State<AppState>,
    NamePath(name): NamePath,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let value = parse_json(&body)?;
    let Some(items) = value.get("offsets").and_then(Value::as_array) else {
        return Err(ApiError::field(
            "offsets",
            "is required: a list of {\"partition\": {...}, \"offset\": {...} or null}",
        ));
    };
    let mut changes = Vec::with_capacity(items.len());
    let mut errors = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let partition = item
            .get("partition")
            .cloned()
            .map(SourcePartition::try_from);
        let offset = match item.get("offset") {
            None | Some(Value::Null) => Ok(None),
            Some(v) => SourceOffset::try_from(v.clone()).map(Some),
        };
        match (partition, offset) {
            (Some(Ok(p)), Ok(o)) => changes.push((p, o)),
            (None, _) => errors.push(FieldError::new(
                format!("offsets[{i}].partition"),
                "is required",
            )),
            (Some(Err(e)), _) => errors.push(FieldError::new(format!("offsets[{i}].partition"), e)),
            (_, Err(e)) => errors.push(FieldError::new(format!("offsets[{i}].offset"), e)),
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::invalid(errors));
    }
    h.alter_offsets(&name, changes).await?;
    Ok(
        Json(json!({"message": "The offsets for this connector have been altered successfully"}))
            .into_response(),
    )
}

/// `DELETE /connectors/{name}/offsets`: only while STOPPED (409 otherwise).
#[utoipa::path(
    delete,
    path = "/connectors/{name}/offsets",
    tag = "offsets",
    operation_id = "reset_offsets",
    params(("name" = String, Path, description = "Connector name")),
    responses(
        (status = 200, description = "Every offset removed", body = Message),
        (status = 404, description = "No such connector", body = ErrorBody),
        (status = 409, description = "The connector is not STOPPED", body = ErrorBody),
        HerderFailures,
    )
)]
pub async fn reset_offsets(
    State(h): State<AppState>,
    NamePath(name): NamePath,
) -> Result<Response, ApiError> {
    h.reset_offsets(&name).await?;
    Ok(
        Json(json!({"message": "The offsets for this connector have been reset successfully"}))
            .into_response(),
    )
}

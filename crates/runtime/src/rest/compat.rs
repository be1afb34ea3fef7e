//! Read-only aliases of Apache RocketMQ Connect's REST routes, and 405 answers for its
//! state-changing GET routes (which must never change state here).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Map, Value};

use super::error::ErrorBody;
use super::extract::NamePath;
use super::openapi::ClusterInfo;
use super::state::AppState;
use super::ApiError;
use crate::herder::TaskInfo;

/// `GET /getClusterInfo`: the live workers and the connectors they run tasks of (in
/// standalone mode: this worker and every connector).
#[utoipa::path(
    get,
    path = "/getClusterInfo",
    tag = "compat",
    operation_id = "cluster_info",
    responses((status = 200, description = "The workers and their connectors", body = ClusterInfo))
)]
pub async fn cluster_info(State(h): State<AppState>) -> Json<Value> {
    let workers: Vec<Value> = if h.mode() == "standalone" {
        vec![json!({"worker_id": h.worker_id(), "connectors": h.connectors().await})]
    } else {
        h.workers()
            .into_iter()
            .map(|w| {
                let mut connectors: Vec<String> =
                    w.tasks.into_iter().map(|t| t.connector).collect();
                connectors.dedup();
                json!({"worker_id": w.worker_id, "connectors": connectors})
            })
            .collect()
    };
    Json(json!({ "mode": h.mode(), "workers": workers }))
}

/// `GET /allocated/connectors`: configs (secrets hidden) of the connectors on this worker.
#[utoipa::path(
    get,
    path = "/allocated/connectors",
    tag = "compat",
    operation_id = "allocated_connectors",
    responses((status = 200, description = "Connector name → config, secrets shown as `[hidden]`",
        body = BTreeMap<String, BTreeMap<String, String>>))
)]
pub async fn allocated_connectors(State(h): State<AppState>) -> Json<Value> {
    let mut out = Map::new();
    for name in h.connectors().await {
        if let Ok(info) = h.connector_info(&name).await {
            out.insert(name, json!(info.config));
        }
    }
    Json(Value::Object(out))
}

/// `GET /allocated/tasks`: task configs (secrets hidden) on this worker.
#[utoipa::path(
    get,
    path = "/allocated/tasks",
    tag = "compat",
    operation_id = "allocated_tasks",
    responses((status = 200, description = "Every task's config, secrets shown as `[hidden]`", body = Vec<TaskInfo>))
)]
pub async fn allocated_tasks(State(h): State<AppState>) -> Json<Value> {
    let mut out = Vec::new();
    for name in h.connectors().await {
        if let Ok(tasks) = h.task_infos(&name).await {
            out.extend(tasks.into_iter().map(|t| json!(t)));
        }
    }
    Json(Value::Array(out))
}

fn wrong_verb(message: String) -> Response {
    ApiError::new(StatusCode::METHOD_NOT_ALLOWED, message).into_response()
}

/// `GET /connectors/{name}/stop` (in RocketMQ Connect it deletes the connector).
#[utoipa::path(
    get,
    path = "/connectors/{name}/stop",
    tag = "compat",
    operation_id = "get_stop_refused",
    params(("name" = String, Path, description = "Connector name")),
    responses((status = 405, description = "A GET never changes state: in RocketMQ Connect it deletes the connector; here use `PUT .../stop` or `DELETE /connectors/{name}`", body = ErrorBody))
)]
pub async fn get_stop(NamePath(name): NamePath) -> Response {
    wrong_verb(format!(
        "GET never changes state here: use PUT /connectors/{name}/stop to stop it, \
         or DELETE /connectors/{name} to delete it"
    ))
}

/// `GET /connectors/{name}/pause`.
#[utoipa::path(
    get,
    path = "/connectors/{name}/pause",
    tag = "compat",
    operation_id = "get_pause_refused",
    params(("name" = String, Path, description = "Connector name")),
    responses((status = 405, description = "A GET never changes state: use `PUT /connectors/{name}/pause`", body = ErrorBody))
)]
pub async fn get_pause(NamePath(name): NamePath) -> Response {
    wrong_verb(format!(
        "GET never changes state here: use PUT /connectors/{name}/pause"
    ))
}

/// `GET /connectors/{name}/resume`.
#[utoipa::path(
    get,
    path = "/connectors/{name}/resume",
    tag = "compat",
    operation_id = "get_resume_refused",
    params(("name" = String, Path, description = "Connector name")),
    responses((status = 405, description = "A GET never changes state: use `PUT /connectors/{name}/resume`", body = ErrorBody))
)]
pub async fn get_resume(NamePath(name): NamePath) -> Response {
    wrong_verb(format!(
        "GET never changes state here: use PUT /connectors/{name}/resume"
    ))
}

/// `GET /connectors/{stop|pause|resume}/all`.
#[utoipa::path(
    get,
    path = "/connectors/{name}/all",
    tag = "compat",
    operation_id = "get_all_refused",
    params(("name" = String, Path, description = "The action of RocketMQ Connect's bulk route (`stop`, `pause`, `resume`)")),
    responses((status = 405, description = "A GET never changes state, and there is no bulk action: use `PUT /connectors/{name}/{action}` for each connector", body = ErrorBody))
)]
pub async fn get_all(NamePath(action): NamePath) -> Response {
    wrong_verb(format!(
        "GET never changes state here, and there is no bulk {action}: \
         use PUT /connectors/{{name}}/{action} for each connector"
    ))
}

/// `GET /plugin/reload`.
#[utoipa::path(
    get,
    path = "/plugin/reload",
    tag = "compat",
    operation_id = "get_reload_refused",
    responses((status = 405, description = "Plugins are built into the binary; there is nothing to reload", body = ErrorBody))
)]
pub async fn get_reload() -> Response {
    wrong_verb("plugins are built into the binary; there is nothing to reload".to_owned())
}

//! Read-only aliases of Apache RocketMQ Connect's REST routes, and 405 answers for its
//! state-changing GET routes (which must never change state here).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Map, Value};

use super::extract::NamePath;
use super::{ApiError, AppState};

/// `GET /getClusterInfo`: this worker (standalone) and what it runs.
pub async fn cluster_info(State(h): State<AppState>) -> Json<Value> {
    let connectors = h.connectors().await;
    Json(json!({
        "mode": h.mode(),
        "workers": [{"worker_id": h.worker_id(), "connectors": connectors}],
    }))
}

/// `GET /allocated/connectors`: configs (secrets hidden) of the connectors on this worker.
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
pub async fn get_stop(NamePath(name): NamePath) -> Response {
    wrong_verb(format!(
        "GET never changes state here: use PUT /connectors/{name}/stop to stop it, \
         or DELETE /connectors/{name} to delete it"
    ))
}

/// `GET /connectors/{name}/pause`.
pub async fn get_pause(NamePath(name): NamePath) -> Response {
    wrong_verb(format!(
        "GET never changes state here: use PUT /connectors/{name}/pause"
    ))
}

/// `GET /connectors/{name}/resume`.
pub async fn get_resume(NamePath(name): NamePath) -> Response {
    wrong_verb(format!(
        "GET never changes state here: use PUT /connectors/{name}/resume"
    ))
}

/// `GET /connectors/{stop|pause|resume}/all`.
pub async fn get_all(NamePath(action): NamePath) -> Response {
    wrong_verb(format!(
        "GET never changes state here, and there is no bulk {action}: \
         use PUT /connectors/{{name}}/{action} for each connector"
    ))
}

/// `GET /plugin/reload`.
pub async fn get_reload() -> Response {
    wrong_verb("plugins are built into the binary; there is nothing to reload".to_owned())
}

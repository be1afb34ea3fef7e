//! The values the herders hand to the REST layer (connector info, status, task and
//! worker listings, the outcome of a put) and the connector-name rule, shared by both
//! herders and the trait that names them.

use connect_api::{ConfigMap, FieldError};
use serde::Serialize;

use crate::status::{State, TaskStatus};

/// Whether a put may replace an existing connector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutMode {
    /// Fail with `AlreadyExists` if the name is taken.
    CreateOnly,
    /// Create, or replace the config of an existing connector.
    Upsert,
}

/// A task's identity.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TaskId {
    /// Connector name.
    pub connector: String,
    /// Task number.
    pub task: u32,
}

/// A connector's config (secrets hidden) and tasks.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ConnectorInfo {
    /// Name.
    pub name: String,
    /// Config with secret values shown as `[hidden]`.
    #[schema(value_type = BTreeMap<String, String>)]
    pub config: ConfigMap,
    /// Its tasks.
    pub tasks: Vec<TaskId>,
    /// Always `source` for now.
    #[serde(rename = "type")]
    #[schema(value_type = String, example = "source")]
    pub kind: &'static str,
}

/// The connector-level part of a status.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ConnectorState {
    /// State.
    pub state: State,
    /// Worker that runs it.
    pub worker_id: String,
    /// Why it failed, in plain words (no secrets); while it is RUNNING or PAUSED, why
    /// the last periodic recomputation of its task configs failed (its tasks keep
    /// running with their configs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trace: Option<String>,
}

/// A connector's status and its tasks' statuses.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ConnectorStatus {
    /// Name.
    pub name: String,
    /// Connector state.
    pub connector: ConnectorState,
    /// Task states.
    pub tasks: Vec<TaskStatus>,
    /// Always `source` for now.
    #[serde(rename = "type")]
    #[schema(value_type = String, example = "source")]
    pub kind: &'static str,
}

/// One task's config (secrets hidden).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TaskInfo {
    /// The task's identity.
    pub id: TaskId,
    /// Its config.
    #[schema(value_type = BTreeMap<String, String>)]
    pub config: ConfigMap,
}

/// A live worker of the cluster and the tasks assigned to it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ClusterMember {
    /// Worker id.
    pub worker_id: String,
    /// Its REST API.
    pub url: String,
    /// Whether it leads the cluster (assigns the tasks).
    pub leader: bool,
    /// Tasks assigned to it.
    pub tasks: Vec<TaskId>,
}

/// Result of a put.
#[derive(Debug, Clone)]
pub struct PutOutcome {
    /// The connector after the put.
    pub info: ConnectorInfo,
    /// Whether it was newly created.
    pub created: bool,
}

/// Names a connector may not take: `list` is the RocketMQ Connect route
/// `GET /connectors/list`, and names of dots vanish from URLs.
const RESERVED_NAMES: &[&str] = &["list"];

/// Checks a connector name against `^[A-Za-z0-9._-]{1,128}$`, minus reserved names.
pub fn check_connector_name(name: &str) -> Result<(), FieldError> {
    let ok = !name.is_empty()
        && name.len() <= 128
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if !ok {
        return Err(FieldError::new(
            "name",
            "must be 1 to 128 characters of letters, digits, '.', '_' or '-'",
        ));
    }
    if RESERVED_NAMES.contains(&name) || name.chars().all(|c| c == '.') {
        return Err(FieldError::new(
            "name",
            format!("{name:?} is reserved (it collides with a route or vanishes from URLs)"),
        ));
    }
    Ok(())
}

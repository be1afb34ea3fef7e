//! Herders manage connectors and their tasks. The REST API talks only to the [`Herder`]
//! trait, so the clustered herder can replace the standalone one.

mod catalog;
mod common;
mod distributed;
mod gate;
mod reconfigure;
mod standalone;
mod view;

use std::collections::BTreeMap;

use async_trait::async_trait;
use connect_api::{ConfigDef, ConfigMap, FieldError, PluginInfo, SourceOffset, SourcePartition};
use serde::Serialize;

pub use catalog::Catalog;
pub use distributed::DistributedHerder;
pub use standalone::StandaloneHerder;

use crate::error::HerderError;
use crate::status::{State, TaskStatus};
use crate::store::TargetState;

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

/// Connector management, standalone or clustered.
#[async_trait]
pub trait Herder: Send + Sync {
    /// This worker's id.
    fn worker_id(&self) -> &str;
    /// `standalone` or `distributed`.
    fn mode(&self) -> &'static str;
    /// The installed plugins and the rules a connector config is checked with.
    fn catalog(&self) -> &Catalog;
    /// Installed connector plugins.
    fn plugins(&self) -> Vec<PluginInfo> {
        self.catalog().infos()
    }
    /// The config keys of a plugin, by name or alias.
    fn plugin_config(&self, class: &str) -> Option<ConfigDef> {
        self.catalog().config_def(class)
    }
    /// Validates a config without creating anything; every error names its field.
    async fn validate(&self, config: ConfigMap) -> Vec<FieldError> {
        self.catalog().validate(&config).await
    }
    /// Creates or updates a connector and starts its tasks (in `initial_state`, default
    /// running, for a new connector).
    async fn put_connector(
        &self,
        name: &str,
        config: ConfigMap,
        mode: PutMode,
        initial_state: Option<TargetState>,
    ) -> Result<PutOutcome, HerderError>;
    /// Changes some keys of a connector's config (`None` removes a key).
    async fn patch_connector(
        &self,
        name: &str,
        changes: BTreeMap<String, Option<String>>,
    ) -> Result<PutOutcome, HerderError>;
    /// Names of all connectors, sorted.
    async fn connectors(&self) -> Vec<String>;
    /// Config and tasks of one connector.
    async fn connector_info(&self, name: &str) -> Result<ConnectorInfo, HerderError>;
    /// Status of one connector.
    async fn connector_status(&self, name: &str) -> Result<ConnectorStatus, HerderError>;
    /// The task configs of one connector.
    async fn task_infos(&self, name: &str) -> Result<Vec<TaskInfo>, HerderError>;
    /// Stops a connector's tasks and removes it (its committed offsets are kept).
    async fn delete_connector(&self, name: &str) -> Result<(), HerderError>;
    /// Sets a connector's target state (kept across restarts).
    async fn set_target(&self, name: &str, state: TargetState) -> Result<(), HerderError>;
    /// Pauses a connector's tasks (kept across restarts).
    async fn pause(&self, name: &str) -> Result<(), HerderError> {
        self.set_target(name, TargetState::Paused).await
    }
    /// Resumes a paused or stopped connector.
    async fn resume(&self, name: &str) -> Result<(), HerderError> {
        self.set_target(name, TargetState::Started).await
    }
    /// Stops a connector's tasks but keeps its config (offsets may then be changed).
    async fn stop(&self, name: &str) -> Result<(), HerderError> {
        self.set_target(name, TargetState::Stopped).await
    }
    /// Restarts a connector and, with `include_tasks`, its tasks (only the failed ones
    /// with `only_failed`).
    async fn restart_connector(
        &self,
        name: &str,
        include_tasks: bool,
        only_failed: bool,
    ) -> Result<ConnectorStatus, HerderError>;
    /// Restarts one task.
    async fn restart_task(&self, name: &str, task: u32) -> Result<(), HerderError>;
    /// The committed offsets of a connector.
    async fn offsets(
        &self,
        name: &str,
    ) -> Result<Vec<(SourcePartition, SourceOffset)>, HerderError>;
    /// Sets or removes offsets of a STOPPED connector.
    async fn alter_offsets(
        &self,
        name: &str,
        changes: Vec<(SourcePartition, Option<SourceOffset>)>,
    ) -> Result<(), HerderError>;
    /// Removes every offset of a STOPPED connector.
    async fn reset_offsets(&self, name: &str) -> Result<(), HerderError>;
    /// The live workers with their tasks (standalone: this worker and every task).
    fn workers(&self) -> Vec<ClusterMember>;
    /// Whether the herder finished starting.
    fn is_ready(&self) -> bool;
    /// Stops every task gracefully and flushes the stores.
    async fn shutdown(&self);
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

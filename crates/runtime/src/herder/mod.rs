//! Herders manage connectors and their tasks. The REST API talks only to the [`Herder`]
//! trait, so the clustered herder can replace the standalone one.

mod catalog;
mod common;
mod distributed;
mod gate;
mod reconfigure;
mod standalone;
mod types;
mod updates;
mod view;

use std::collections::BTreeMap;

use async_trait::async_trait;
use connect_api::{ConfigDef, ConfigMap, FieldError, PluginInfo, SourceOffset, SourcePartition};

pub use catalog::{Catalog, Check};
pub use distributed::DistributedHerder;
pub use standalone::StandaloneHerder;
pub use types::{
    check_connector_name, ClusterMember, ConnectorInfo, ConnectorState, ConnectorStatus, PutMode,
    PutOutcome, TaskId, TaskInfo,
};

use crate::error::HerderError;
use crate::store::TargetState;

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
    /// Creates or updates a connector, a changed config checked as `check` says, and
    /// starts its tasks (in `initial_state`, default running, for a new connector).
    async fn put_checked(
        &self,
        name: &str,
        config: ConfigMap,
        mode: PutMode,
        initial_state: Option<TargetState>,
        check: Check,
    ) -> Result<PutOutcome, HerderError>;
    /// The config of one connector as stored (placeholders unresolved, secrets shown).
    fn stored_config(&self, name: &str) -> Result<ConfigMap, HerderError>;
    /// Creates or updates a connector, checked against the source too, and starts its
    /// tasks (in `initial_state`, default running, for a new connector).
    async fn put_connector(
        &self,
        name: &str,
        config: ConfigMap,
        mode: PutMode,
        initial_state: Option<TargetState>,
    ) -> Result<PutOutcome, HerderError> {
        self.put_checked(name, config, mode, initial_state, Check::Live)
            .await
    }
    /// Changes some keys of a connector's config (`None` removes a key).
    async fn patch_connector(
        &self,
        name: &str,
        changes: BTreeMap<String, Option<String>>,
    ) -> Result<PutOutcome, HerderError> {
        let config = catalog::patched(self.stored_config(name)?, changes);
        self.put_connector(name, config, PutMode::Upsert, None)
            .await
    }
    /// Stores new values a task asked to keep (an Airbyte plugin's refreshed token) over
    /// the connector's config, like a PATCH but checked offline only (the task just
    /// used them against the source); the tasks restart with them.
    async fn update_from_task(
        &self,
        name: &str,
        changes: BTreeMap<String, String>,
    ) -> Result<PutOutcome, HerderError> {
        let changes = changes.into_iter().map(|(k, v)| (k, Some(v))).collect();
        let config = catalog::patched(self.stored_config(name)?, changes);
        self.put_checked(name, config, PutMode::Upsert, None, Check::Offline)
            .await
    }
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

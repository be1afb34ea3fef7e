//! Source connectors: typed at the edge, erased at the registry.
//!
//! A connector implements [`SourceConnector`] with its own typed config. The runtime
//! holds connectors as `Arc<dyn ErasedSourceConnector>`; a blanket impl parses the flat
//! string map into the typed config and turns parse failures into per-field errors.

use std::time::Duration;

use async_trait::async_trait;
use serde::Serialize;

use crate::config::{ConfigDef, ConfigMap, FieldError};
use crate::error::ConnectError;
use crate::task::SourceTask;

/// How a connector plugin is named and described.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PluginInfo {
    /// The short name used in `connector.class` (for example `es-source`).
    pub name: &'static str,
    /// Other names accepted in `connector.class`.
    pub aliases: &'static [&'static str],
    /// The plugin's version.
    pub version: &'static str,
    /// One line on what it does.
    pub description: &'static str,
}

/// A source connector with a typed config.
#[async_trait]
pub trait SourceConnector: Send + Sync + 'static {
    /// The parsed, checked config.
    type Config: Send + Sync + 'static;

    /// Name, aliases and version.
    fn info(&self) -> PluginInfo;

    /// Every key the connector reads, with types, defaults and docs.
    fn config_def(&self) -> ConfigDef;

    /// Parses the connector's keys out of the flat config; framework keys
    /// (`connector.class`, `max.tasks`, ...) are present and must be ignored.
    fn parse_config(&self, config: &ConfigMap) -> Result<Self::Config, Vec<FieldError>>;

    /// Checks the config against the live source system (reachability, mappings, ...).
    async fn validate(&self, _config: &Self::Config) -> Vec<FieldError> {
        Vec::new()
    }

    /// Splits the work into at most `max_tasks` task configs.
    async fn task_configs(
        &self,
        config: &Self::Config,
        raw: &ConfigMap,
        max_tasks: usize,
    ) -> Result<Vec<ConfigMap>, ConnectError>;

    /// How often the runtime calls [`SourceConnector::task_configs`] again while the
    /// connector runs (for example to pick up new indices matching a pattern). When the
    /// result differs from the running task configs, the runtime stops the tasks (they
    /// commit what was acknowledged) and starts them with the new configs. `None` (the
    /// default): only when the config changes.
    fn reconfigure_interval(&self, _config: &Self::Config) -> Option<Duration> {
        None
    }

    /// Creates an unstarted task; the runtime calls `start` with the task's config.
    fn create_task(&self) -> Box<dyn SourceTask>;
}

/// The object-safe view of a [`SourceConnector`] that the runtime's registry holds.
#[async_trait]
pub trait ErasedSourceConnector: Send + Sync {
    /// Name, aliases and version.
    fn info(&self) -> PluginInfo;
    /// Every key the connector reads.
    fn config_def(&self) -> ConfigDef;
    /// Parses the config without contacting the source system.
    fn check_config(&self, config: &ConfigMap) -> Vec<FieldError>;
    /// Parses the config and checks it against the live source system.
    async fn validate(&self, config: &ConfigMap) -> Vec<FieldError>;
    /// Splits the work into at most `max_tasks` task configs.
    async fn task_configs(
        &self,
        config: &ConfigMap,
        max_tasks: usize,
    ) -> Result<Vec<ConfigMap>, ConnectError>;
    /// How often to recompute the task configs while running; `None` for never (also
    /// when the config does not parse).
    fn reconfigure_interval(&self, config: &ConfigMap) -> Option<Duration>;
    /// Creates an unstarted task.
    fn create_task(&self) -> Box<dyn SourceTask>;
}

#[async_trait]
impl<C: SourceConnector> ErasedSourceConnector for C {
    fn info(&self) -> PluginInfo {
        SourceConnector::info(self)
    }

    fn config_def(&self) -> ConfigDef {
        SourceConnector::config_def(self)
    }

    fn check_config(&self, config: &ConfigMap) -> Vec<FieldError> {
        self.parse_config(config).err().unwrap_or_default()
    }

    async fn validate(&self, config: &ConfigMap) -> Vec<FieldError> {
        match self.parse_config(config) {
            Ok(typed) => SourceConnector::validate(self, &typed).await,
            Err(errors) => errors,
        }
    }

    async fn task_configs(
        &self,
        config: &ConfigMap,
        max_tasks: usize,
    ) -> Result<Vec<ConfigMap>, ConnectError> {
        let typed = self
            .parse_config(config)
            .map_err(|errors| ConnectError::config(FieldError::join(&errors)))?;
        SourceConnector::task_configs(self, &typed, config, max_tasks).await
    }

    fn reconfigure_interval(&self, config: &ConfigMap) -> Option<Duration> {
        let typed = self.parse_config(config).ok()?;
        SourceConnector::reconfigure_interval(self, &typed)
    }

    fn create_task(&self) -> Box<dyn SourceTask> {
        SourceConnector::create_task(self)
    }
}

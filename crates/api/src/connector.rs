//! Source connectors: typed at the edge, erased at the registry.
//!
//! A connector implements [`SourceConnector`] with its own typed config. The runtime
//! holds connectors as `Arc<dyn ErasedSourceConnector>`; a blanket impl parses the flat
//! string map into the typed config and turns parse failures into per-field errors.
//!
//! # Parsed once
//!
//! The runtime parses a connector's config once per create or update
//! ([`ErasedSourceConnector::parse`]) and hands the resulting [`ParsedConfig`] to every
//! later call (live validation, splitting into tasks, the reconfiguration interval), so
//! a parse that reads a file (a CA certificate, say) does it once. In a cluster that is
//! once per worker that needs the config (the worker that took the REST call, the
//! leader, the workers running its tasks), for each version of the config in the
//! config topic. Tasks still receive their own flat task config: task configs travel
//! through the cluster's config topic.
//!
//! # What is synchronous, and why
//!
//! A connector may live in another process (a plugin found under `pluginPaths`), where
//! every question is a round trip to a child. The contract keeps that cost off the paths
//! that run often:
//! - [`SourceConnector::info`], [`SourceConnector::config_def`] and
//!   [`SourceConnector::parse_config`] are synchronous. They are answered from what the
//!   plugin declared once when it was loaded (its spec: name, version, keys with types and
//!   docs, a JSON Schema), never by asking the process: they run for every REST
//!   validation, every create, and every look-up of a connector class.
//! - [`SourceConnector::reconfigure_interval`] is synchronous: it is a pure function of
//!   the parsed config (for a plugin, a key of its config), read once when the connector
//!   starts.
//! - [`SourceConnector::validate`] (the live check) and
//!   [`SourceConnector::task_configs`] are async: they may contact the source system or
//!   the plugin's process.
//! - [`SourceConnector::create_task`] is async and fallible: creating a task may mean
//!   spawning a process, which takes time and can fail. A failure is shown in the task's
//!   status trace and the task is retried with the runtime's restart back-off.

use std::any::Any;
use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::config::{ConfigDef, ConfigMap, FieldError};
use crate::error::ConnectError;
use crate::task::SourceTask;

/// How a connector plugin is named and described.
///
/// Owned or static strings (`Cow<'static, str>`): a compiled-in connector names itself
/// with literals, a plugin found at run time with what its `plugin.json` and spec say.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PluginInfo {
    /// The short name used in `connector.class` (for example `es-source`).
    pub name: Cow<'static, str>,
    /// Other names accepted in `connector.class`.
    pub aliases: Vec<Cow<'static, str>>,
    /// The plugin's version.
    pub version: Cow<'static, str>,
    /// One line on what it does.
    pub description: Cow<'static, str>,
}

impl PluginInfo {
    /// Whether `class` (a `connector.class` value) names this plugin, by name or alias.
    pub fn answers_to(&self, class: &str) -> bool {
        self.name == class || self.aliases.iter().any(|a| a == class)
    }
}

/// A connector config parsed by its plugin: the flat map it was parsed from (with
/// placeholders resolved) and the plugin's typed config behind an erased handle.
///
/// Only the plugin that made it can read the typed part; the runtime keeps it and passes
/// it back. Cloning is cheap (the typed config is shared).
#[derive(Clone)]
pub struct ParsedConfig {
    raw: ConfigMap,
    typed: Arc<dyn Any + Send + Sync>,
}

impl ParsedConfig {
    /// Wraps a typed config parsed from `raw`.
    pub fn new<T: Send + Sync + 'static>(raw: ConfigMap, typed: T) -> Self {
        Self {
            raw,
            typed: Arc::new(typed),
        }
    }

    /// The flat config it was parsed from.
    pub fn raw(&self) -> &ConfigMap {
        &self.raw
    }

    /// The typed config, when it is a `T`.
    pub fn typed<T: 'static>(&self) -> Option<&T> {
        self.typed.downcast_ref::<T>()
    }
}

impl fmt::Debug for ParsedConfig {
    // The raw map may hold resolved secrets: only its keys are shown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ParsedConfig")
            .field("keys", &self.raw.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
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

    /// Creates an unstarted task for `task_config` (one of the configs returned by
    /// [`SourceConnector::task_configs`], placeholders resolved); the runtime then calls
    /// [`SourceTask::start`] with the same config.
    ///
    /// Async and fallible: for a plugin this may spawn its process. An error is shown in
    /// the task's status trace and the task is created again after the runtime's restart
    /// back-off. Called again for every restart of the task.
    async fn create_task(
        &self,
        task_config: &ConfigMap,
    ) -> Result<Box<dyn SourceTask>, ConnectError>;
}

/// The object-safe view of a [`SourceConnector`] that the runtime's registry holds.
///
/// See the module docs for which calls are synchronous and why.
#[async_trait]
pub trait ErasedSourceConnector: Send + Sync {
    /// Name, aliases and version.
    fn info(&self) -> PluginInfo;
    /// Every key the connector reads.
    fn config_def(&self) -> ConfigDef;
    /// Parses the config without contacting the source system; every problem as a
    /// per-field error. The runtime calls it once per create or update and keeps the
    /// result.
    fn parse(&self, config: &ConfigMap) -> Result<ParsedConfig, Vec<FieldError>>;
    /// Checks a parsed config against the live source system.
    async fn validate(&self, config: &ParsedConfig) -> Vec<FieldError>;
    /// Parses `config`, then checks it against the live source system: every problem
    /// of either step, as per-field errors.
    async fn parse_and_validate(&self, config: &ConfigMap) -> Vec<FieldError> {
        match self.parse(config) {
            Ok(parsed) => self.validate(&parsed).await,
            Err(errors) => errors,
        }
    }
    /// Splits the work into at most `max_tasks` task configs.
    async fn task_configs(
        &self,
        config: &ParsedConfig,
        max_tasks: usize,
    ) -> Result<Vec<ConfigMap>, ConnectError>;
    /// How often to recompute the task configs while running; `None` for never.
    fn reconfigure_interval(&self, config: &ParsedConfig) -> Option<Duration>;
    /// Creates an unstarted task for `task_config`; see [`SourceConnector::create_task`].
    async fn create_task(
        &self,
        task_config: &ConfigMap,
    ) -> Result<Box<dyn SourceTask>, ConnectError>;
}

/// The typed config inside `parsed`, or `parsed` parsed again when it was made by
/// another plugin (never expected; a re-parse is correct, only slower).
enum Typed<'a, T> {
    Held(&'a T),
    Parsed(T),
}

impl<T> std::ops::Deref for Typed<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        match self {
            Typed::Held(t) => t,
            Typed::Parsed(t) => t,
        }
    }
}

fn typed<'a, C: SourceConnector>(
    connector: &C,
    parsed: &'a ParsedConfig,
) -> Result<Typed<'a, C::Config>, Vec<FieldError>> {
    match parsed.typed::<C::Config>() {
        Some(t) => Ok(Typed::Held(t)),
        None => connector.parse_config(parsed.raw()).map(Typed::Parsed),
    }
}

#[async_trait]
impl<C: SourceConnector> ErasedSourceConnector for C {
    fn info(&self) -> PluginInfo {
        SourceConnector::info(self)
    }

    fn config_def(&self) -> ConfigDef {
        SourceConnector::config_def(self)
    }

    fn parse(&self, config: &ConfigMap) -> Result<ParsedConfig, Vec<FieldError>> {
        let typed = self.parse_config(config)?;
        Ok(ParsedConfig::new(config.clone(), typed))
    }

    async fn validate(&self, config: &ParsedConfig) -> Vec<FieldError> {
        match typed(self, config) {
            Ok(typed) => SourceConnector::validate(self, &typed).await,
            Err(errors) => errors,
        }
    }

    async fn task_configs(
        &self,
        config: &ParsedConfig,
        max_tasks: usize,
    ) -> Result<Vec<ConfigMap>, ConnectError> {
        let typed = typed(self, config)
            .map_err(|errors| ConnectError::config(FieldError::join(&errors)))?;
        SourceConnector::task_configs(self, &typed, config.raw(), max_tasks).await
    }

    fn reconfigure_interval(&self, config: &ParsedConfig) -> Option<Duration> {
        let typed = typed(self, config).ok()?;
        SourceConnector::reconfigure_interval(self, &typed)
    }

    async fn create_task(
        &self,
        task_config: &ConfigMap,
    ) -> Result<Box<dyn SourceTask>, ConnectError> {
        SourceConnector::create_task(self, task_config).await
    }
}

//! An Airbyte source as a connector of the runtime: its spec gives the config keys, its
//! `check` the live validation, its `discover` the streams that are split into tasks.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use connect_api::{
    ConfigDef, ConfigMap, ConfigReader, ConnectError, FieldError, PluginInfo, SourceConnector,
    SourceTask,
};
use serde_json::Value;

use super::catalog::{configure, split, StreamChoice};
use super::config::{keys, own_keys, ConfigFile, HostSettings, PluginConfig, DEFAULT_MAX_LINE};
use super::messages::{Catalog, ConfiguredCatalog, Message, Status};
use super::once::run_once;
use super::recent::{RecentCatalog, REUSE_FOR};
use super::schema::ConfigSchema;
use super::task::AirbyteTask;
use crate::discovery::Found;
use crate::process::PluginCommand;

/// An Airbyte source found under `pluginPaths`.
pub struct AirbyteSource {
    info: PluginInfo,
    dir: PathBuf,
    cmd: PluginCommand,
    schema: Arc<ConfigSchema>,
    host: Arc<HostSettings>,
    /// The last validation's catalog, for the split that follows it.
    recent: RecentCatalog,
}

impl AirbyteSource {
    /// Runs the plugin's `spec` and compiles its config schema; an error says why the
    /// plugin cannot be used (it is then listed as broken).
    pub async fn load(found: &Found, host: Arc<HostSettings>) -> Result<Self, String> {
        let m = &found.manifest;
        let cmd = PluginCommand {
            plugin: m.name.clone(),
            program: m.program(&found.dir),
            args: m.args().to_vec(),
            env: m.env.clone(),
            dir: found.dir.clone(),
        };
        let spec = run_once(
            &cmd,
            &["spec".to_owned()],
            "SPEC",
            host.spec_timeout,
            host.guard.clone(),
        )
        .await
        .map_err(|e| e.to_string())?;
        let Some(spec) = spec.spec else {
            return Err(format!("plugin {}: its SPEC message has no spec", m.name));
        };
        let schema = ConfigSchema::new(&spec.connection_specification)
            .map_err(|e| format!("plugin {}: {e}", m.name))?;
        let description = m.description.clone().unwrap_or_else(|| {
            spec.documentation_url
                .map(|u| format!("Airbyte source ({u})"))
                .unwrap_or_else(|| "Airbyte source".into())
        });
        Ok(Self {
            info: PluginInfo {
                name: m.name.clone().into(),
                aliases: vec![],
                version: m.version.clone().unwrap_or_else(|| "unknown".into()).into(),
                description: description.into(),
            },
            dir: found.dir.clone(),
            cmd,
            schema: Arc::new(schema),
            host,
            recent: RecentCatalog::default(),
        })
    }

    /// The plugin directory it was loaded from.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Runs `<command> --config <file of config>` and returns its `want` message.
    async fn call(
        &self,
        command: &str,
        config: &PluginConfig,
        want: &str,
    ) -> Result<Message, String> {
        let file = ConfigFile::write(&self.host.work_dir, "config", &config.json)?;
        run_once(
            &self.cmd,
            &[command.to_owned(), "--config".into(), file.path_arg()],
            want,
            self.host.call_timeout,
            self.host.guard.clone(),
        )
        .await
        .map_err(|e| e.to_string())
    }

    /// Runs `discover` with `config`.
    async fn discover(&self, config: &PluginConfig) -> Result<Catalog, String> {
        let answer = self.call("discover", config, "CATALOG").await?;
        answer.catalog.ok_or_else(|| {
            format!(
                "plugin {}: its CATALOG message has no catalog",
                self.info.name
            )
        })
    }

    /// Runs `check` with `config`; an error says why the plugin refused it.
    async fn check(&self, config: &PluginConfig) -> Result<(), String> {
        let answer = self.call("check", config, "CONNECTION_STATUS").await?;
        match answer.connection_status {
            Some(s) if s.status == Status::Succeeded => Ok(()),
            Some(s) => Err(format!(
                "the plugin's check failed: {}",
                s.message.unwrap_or_else(|| "(no message)".into())
            )),
            None => Err("the plugin's CONNECTION_STATUS message has no status".into()),
        }
    }
}

#[async_trait]
impl SourceConnector for AirbyteSource {
    type Config = PluginConfig;

    fn info(&self) -> PluginInfo {
        self.info.clone()
    }

    fn config_def(&self) -> ConfigDef {
        let mut def = self.schema.config_def();
        def.extend(own_keys());
        def
    }

    fn parse_config(&self, config: &ConfigMap) -> Result<PluginConfig, Vec<FieldError>> {
        let mut r = ConfigReader::new(config);
        let streams = r
            .optional_str(keys::STREAMS)
            .is_some()
            .then(|| r.list(keys::STREAMS));
        let sync_ms = r.number_or::<u64>(keys::SYNC_INTERVAL_MS, 60_000, 0..=7 * 24 * 3_600_000);
        let grace_ms = r.number_or::<u64>(keys::SHUTDOWN_GRACE_MS, 10_000, 0..=600_000);
        let max_line = r.number_or::<usize>(
            keys::MAX_LINE_BYTES,
            DEFAULT_MAX_LINE,
            1024..=256 * 1024 * 1024,
        );
        let json = match self.schema.to_json(config, keys::is_host_key) {
            Ok(j) => j,
            Err(errors) => {
                for e in errors {
                    r.error(&e.field, e.message);
                }
                Value::Null
            }
        };
        r.finish(PluginConfig {
            json,
            streams,
            sync_interval: Duration::from_millis(sync_ms),
            grace: Duration::from_millis(grace_ms),
            max_line,
        })
    }

    /// Runs the plugin's `check` and `discover` side by side (each is a process start-up,
    /// seconds for a Python source), then checks the chosen streams against the catalog,
    /// which is kept for the split that follows.
    async fn validate(&self, config: &PluginConfig) -> Vec<FieldError> {
        let (check, catalog) = tokio::join!(self.check(config), self.discover(config));
        if let Err(e) = check {
            return vec![FieldError::new("connection", e)];
        }
        match catalog {
            Ok(catalog) => {
                if let Err(e) = StreamChoice::new(&catalog, config.streams.as_deref()) {
                    return vec![FieldError::new(keys::STREAMS, e)];
                }
                self.recent.keep(&config.json, &catalog);
                vec![]
            }
            Err(e) => vec![FieldError::new("connection", e)],
        }
    }

    async fn task_configs(
        &self,
        config: &PluginConfig,
        raw: &ConfigMap,
        max_tasks: usize,
    ) -> Result<Vec<ConfigMap>, ConnectError> {
        let catalog = match self.recent.get(&config.json, REUSE_FOR) {
            Some(c) => c,
            None => self
                .discover(config)
                .await
                .map_err(ConnectError::retriable)?,
        };
        let chosen =
            StreamChoice::new(&catalog, config.streams.as_deref()).map_err(ConnectError::fatal)?;
        let configured = configure(chosen.streams(), raw);
        split(configured, max_tasks)
            .into_iter()
            .map(|catalog| {
                let text = serde_json::to_string(&catalog)
                    .map_err(|e| ConnectError::fatal(format!("cannot write the catalog: {e}")))?;
                let mut task = raw.clone();
                task.insert(keys::TASK_CATALOG.to_owned(), text);
                Ok(task)
            })
            .collect()
    }

    async fn create_task(
        &self,
        task_config: &ConfigMap,
    ) -> Result<Box<dyn SourceTask>, ConnectError> {
        let config = self
            .parse_config(task_config)
            .map_err(|e| ConnectError::fatal(FieldError::join(&e)))?;
        let catalog = task_config
            .get(keys::TASK_CATALOG)
            .ok_or_else(|| {
                ConnectError::fatal(format!(
                    "plugin {}: the task config has no {}",
                    self.info.name,
                    keys::TASK_CATALOG
                ))
            })
            .and_then(|text| {
                serde_json::from_str::<ConfiguredCatalog>(text).map_err(|e| {
                    ConnectError::fatal(format!(
                        "plugin {}: the task's catalog cannot be read: {e}",
                        self.info.name
                    ))
                })
            })?;
        Ok(Box::new(AirbyteTask::new(
            self.cmd.clone(),
            self.host.clone(),
            self.schema.clone(),
            config,
            catalog,
        )))
    }
}

//! The standalone herder: one worker runs every connector; configs and offsets live in
//! the local sled store, so REST-created connectors survive a restart.
//!
//! Management calls are serialized by one async lock; live validation (which may take
//! seconds) runs before the lock is taken.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use connect_api::{ConfigDef, ConfigMap, ErasedSourceConnector, FieldError, PluginInfo};
use tokio::sync::Mutex;
use tokio_util::sync::CancellationToken;

use super::{
    check_connector_name, ConnectorInfo, ConnectorState, ConnectorStatus, Herder, PutMode,
    PutOutcome, TaskId,
};
use crate::connector_config::{normalize, FrameworkConfig, CONNECTOR_CLASS};
use crate::error::HerderError;
use crate::registry::PluginRegistry;
use crate::secrets;
use crate::sink::MessageSink;
use crate::status::{State, StatusCell};
use crate::store::{ConfigStore, OffsetStore, SledStore};
use crate::task_loop::{self, LoopSettings, TaskHandle, TaskRun};

struct RunningConnector {
    config: ConfigMap,
    plugin: Option<Arc<dyn ErasedSourceConnector>>,
    tasks: Vec<TaskHandle>,
    state: State,
    trace: Option<String>,
}

impl RunningConnector {
    fn def(&self) -> Option<ConfigDef> {
        self.plugin.as_ref().map(|p| p.config_def())
    }
}

/// Runs every connector in this process.
pub struct StandaloneHerder {
    worker_id: String,
    registry: PluginRegistry,
    store: Arc<SledStore>,
    sink: Arc<dyn MessageSink>,
    settings: LoopSettings,
    connectors: Mutex<BTreeMap<String, RunningConnector>>,
    root: CancellationToken,
    ready: AtomicBool,
    shutting_down: AtomicBool,
}

/// A config checked and ready to run.
struct Checked {
    config: ConfigMap,
    framework: FrameworkConfig,
    plugin: Arc<dyn ErasedSourceConnector>,
}

impl StandaloneHerder {
    /// A herder over `store` producing into `sink`; call [`StandaloneHerder::resume_stored`]
    /// to start the connectors kept in the store.
    pub fn new(
        worker_id: String,
        registry: PluginRegistry,
        store: Arc<SledStore>,
        sink: Arc<dyn MessageSink>,
        settings: LoopSettings,
    ) -> Self {
        Self {
            worker_id,
            registry,
            store,
            sink,
            settings,
            connectors: Mutex::new(BTreeMap::new()),
            root: CancellationToken::new(),
            ready: AtomicBool::new(false),
            shutting_down: AtomicBool::new(false),
        }
    }

    /// Starts every connector kept in the store, without live validation (the source
    /// may be down; tasks retry).
    pub async fn resume_stored(&self) -> Result<usize, HerderError> {
        let stored = self
            .store
            .connectors()
            .map_err(|e| HerderError::Store(e.to_string()))?;
        let mut map = self.connectors.lock().await;
        let n = stored.len();
        for (name, config) in stored {
            tracing::info!(connector = %name, "resuming stored connector");
            let running = match self.check_offline(&config) {
                Ok(checked) => self.start(&name, checked).await,
                Err(errors) => RunningConnector {
                    config,
                    plugin: None,
                    tasks: Vec::new(),
                    state: State::Failed,
                    trace: Some(FieldError::join(&errors)),
                },
            };
            map.insert(name, running);
        }
        Ok(n)
    }

    /// Marks the herder ready (for `/health`).
    pub fn set_ready(&self) {
        self.ready.store(true, Ordering::SeqCst);
    }

    /// Parses framework keys and the connector's own keys, without contacting anything.
    fn check_offline(&self, config: &ConfigMap) -> Result<Checked, Vec<FieldError>> {
        let config = normalize(config.clone())?;
        let framework = FrameworkConfig::parse(&config);
        let plugin = config
            .get(CONNECTOR_CLASS)
            .map(|c| (c, self.registry.find(c)));
        let mut errors = framework.as_ref().err().cloned().unwrap_or_default();
        let plugin = match plugin {
            Some((_, Some(p))) => {
                errors.extend(p.check_config(&config));
                Some(p)
            }
            Some((class, None)) => {
                errors.push(FieldError::new(
                    CONNECTOR_CLASS,
                    format!(
                        "unknown connector class {class:?}; installed: {}",
                        self.registry.names().join(", ")
                    ),
                ));
                None
            }
            None => None,
        };
        match (framework, plugin) {
            (Ok(framework), Some(plugin)) if errors.is_empty() => Ok(Checked {
                config,
                framework,
                plugin,
            }),
            _ => Err(errors),
        }
    }

    /// Offline checks, then the plugin's live validation.
    async fn check_live(&self, config: &ConfigMap) -> Result<Checked, Vec<FieldError>> {
        let checked = self.check_offline(config)?;
        let errors = checked.plugin.validate(&checked.config).await;
        if errors.is_empty() {
            Ok(checked)
        } else {
            let def = checked.plugin.config_def();
            Err(scrub_errors(errors, &checked.config, &def))
        }
    }

    async fn start(&self, name: &str, checked: Checked) -> RunningConnector {
        let Checked {
            config,
            framework,
            plugin,
        } = checked;
        let def = plugin.config_def();
        let mut running = RunningConnector {
            config: config.clone(),
            plugin: Some(plugin.clone()),
            tasks: Vec::new(),
            state: State::Running,
            trace: None,
        };
        let task_configs = match plugin.task_configs(&config, framework.max_tasks).await {
            Ok(t) => t,
            Err(e) => {
                running.state = State::Failed;
                running.trace = Some(secrets::scrub(&e.chain(), &config, Some(&def)));
                tracing::error!(connector = name, error = %running.trace.as_deref().unwrap_or(""), "connector failed to split into tasks");
                return running;
            }
        };
        let converter: Arc<dyn connect_converters::Converter> =
            match connect_converters::converter_by_name(&framework.value_converter) {
                Ok(c) => Arc::from(c),
                Err(e) => {
                    running.state = State::Failed;
                    running.trace = Some(e.to_string());
                    return running;
                }
            };
        for (i, task_config) in task_configs.into_iter().enumerate() {
            let task_id = i as u32;
            let run = TaskRun {
                connector: name.to_owned(),
                task_id,
                config: task_config,
                task: plugin.create_task(),
                converter: converter.clone(),
                default_topic: framework.topic.clone(),
                sink: self.sink.clone(),
                offsets: self.store.clone() as Arc<dyn OffsetStore>,
                status: StatusCell::new(task_id, &self.worker_id),
                settings: self.settings.clone(),
            };
            running.tasks.push(task_loop::spawn(run, &self.root));
        }
        tracing::info!(
            connector = name,
            tasks = running.tasks.len(),
            "connector started"
        );
        running
    }

    fn info(name: &str, rc: &RunningConnector) -> ConnectorInfo {
        ConnectorInfo {
            name: name.to_owned(),
            config: secrets::mask(&rc.config, rc.def().as_ref()),
            tasks: (0..rc.tasks.len() as u32)
                .map(|task| TaskId {
                    connector: name.to_owned(),
                    task,
                })
                .collect(),
            kind: "source",
        }
    }

    async fn stop_tasks(tasks: Vec<TaskHandle>) {
        futures::future::join_all(tasks.into_iter().map(TaskHandle::stop)).await;
    }
}

fn scrub_errors(errors: Vec<FieldError>, config: &ConfigMap, def: &ConfigDef) -> Vec<FieldError> {
    errors
        .into_iter()
        .map(|e| FieldError::new(e.field, secrets::scrub(&e.message, config, Some(def))))
        .collect()
}

#[async_trait]
impl Herder for StandaloneHerder {
    fn worker_id(&self) -> &str {
        &self.worker_id
    }

    fn mode(&self) -> &'static str {
        "standalone"
    }

    fn plugins(&self) -> Vec<PluginInfo> {
        self.registry.infos()
    }

    fn plugin_config(&self, class: &str) -> Option<ConfigDef> {
        self.registry.find(class).map(|p| p.config_def())
    }

    async fn validate(&self, config: ConfigMap) -> Result<(), Vec<FieldError>> {
        self.check_live(&config).await.map(|_| ())
    }

    async fn put_connector(
        &self,
        name: &str,
        mut config: ConfigMap,
        mode: PutMode,
    ) -> Result<PutOutcome, HerderError> {
        if self.shutting_down.load(Ordering::SeqCst) {
            return Err(HerderError::ShuttingDown);
        }
        check_connector_name(name).map_err(|e| HerderError::InvalidConfig(vec![e]))?;
        if let Some(inner) = config.remove("name") {
            if inner != name {
                return Err(HerderError::InvalidConfig(vec![FieldError::new(
                    "name",
                    format!("the config names {inner:?} but the request is for {name:?}"),
                )]));
            }
        }
        let unchanged = {
            let map = self.connectors.lock().await;
            if mode == PutMode::CreateOnly && map.contains_key(name) {
                return Err(HerderError::AlreadyExists(name.to_owned()));
            }
            let normalized = normalize(config.clone()).ok();
            map.get(name)
                .is_some_and(|rc| Some(&rc.config) == normalized.as_ref())
        };
        // A config identical to the stored one was validated when it was stored; checking
        // it again would make a restart depend on the source being up.
        let checked = if unchanged {
            self.check_offline(&config)
        } else {
            self.check_live(&config).await
        }
        .map_err(HerderError::InvalidConfig)?;

        let mut map = self.connectors.lock().await;
        let created = match map.get(name) {
            Some(_) if mode == PutMode::CreateOnly => {
                return Err(HerderError::AlreadyExists(name.to_owned()))
            }
            // Re-putting the same config is a no-op, unless something failed: then it
            // restarts the connector.
            Some(existing)
                if existing.config == checked.config
                    && existing.state != State::Failed
                    && !existing
                        .tasks
                        .iter()
                        .any(|t| t.status.snapshot().state == State::Failed) =>
            {
                return Ok(PutOutcome {
                    info: Self::info(name, existing),
                    created: false,
                });
            }
            Some(_) => false,
            None => true,
        };
        if let Some(old) = map.remove(name) {
            Self::stop_tasks(old.tasks).await;
        }
        self.store
            .put_connector(name, &checked.config)
            .await
            .map_err(|e| HerderError::Store(e.to_string()))?;
        let running = self.start(name, checked).await;
        let info = Self::info(name, &running);
        map.insert(name.to_owned(), running);
        Ok(PutOutcome { info, created })
    }

    async fn connectors(&self) -> Vec<String> {
        self.connectors.lock().await.keys().cloned().collect()
    }

    async fn connector_info(&self, name: &str) -> Result<ConnectorInfo, HerderError> {
        let map = self.connectors.lock().await;
        map.get(name)
            .map(|rc| Self::info(name, rc))
            .ok_or_else(|| HerderError::NotFound(name.to_owned()))
    }

    async fn connector_status(&self, name: &str) -> Result<ConnectorStatus, HerderError> {
        let map = self.connectors.lock().await;
        let rc = map
            .get(name)
            .ok_or_else(|| HerderError::NotFound(name.to_owned()))?;
        let def = rc.def();
        let tasks = rc
            .tasks
            .iter()
            .map(|t| {
                let mut s = t.status.snapshot();
                s.trace = s
                    .trace
                    .map(|tr| secrets::scrub(&tr, &rc.config, def.as_ref()));
                s
            })
            .collect();
        Ok(ConnectorStatus {
            name: name.to_owned(),
            connector: ConnectorState {
                state: rc.state,
                worker_id: self.worker_id.clone(),
                trace: rc.trace.clone(),
            },
            tasks,
            kind: "source",
        })
    }

    async fn delete_connector(&self, name: &str) -> Result<(), HerderError> {
        let mut map = self.connectors.lock().await;
        let rc = map
            .remove(name)
            .ok_or_else(|| HerderError::NotFound(name.to_owned()))?;
        // Tasks stop (and commit what was acknowledged) before the config goes away.
        Self::stop_tasks(rc.tasks).await;
        self.store
            .remove_connector(name)
            .await
            .map_err(|e| HerderError::Store(e.to_string()))?;
        tracing::info!(connector = name, "connector deleted");
        Ok(())
    }

    fn is_ready(&self) -> bool {
        self.ready.load(Ordering::SeqCst) && !self.shutting_down.load(Ordering::SeqCst)
    }

    async fn shutdown(&self) {
        self.shutting_down.store(true, Ordering::SeqCst);
        let mut map = self.connectors.lock().await;
        let all: Vec<TaskHandle> = map
            .values_mut()
            .flat_map(|rc| std::mem::take(&mut rc.tasks))
            .collect();
        Self::stop_tasks(all).await;
        self.root.cancel();
        if let Err(e) = self.store.flush().await {
            tracing::error!(error = %e, "final store flush failed");
        }
    }
}

//! The standalone herder: one worker runs every connector; configs, target states and
//! offsets live in the local sled store, so REST-created connectors (paused or stopped
//! ones included) survive a restart.
//!
//! Locking: management calls are serialized by `ops` (an async lock held across the
//! stopping and starting of tasks); the connector map itself is behind a short-lived
//! sync lock, so status reads never wait for a task to stop. Live validation runs before
//! `ops` is taken.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use async_trait::async_trait;
use connect_api::{ConfigDef, ConfigMap, FieldError, PluginInfo, SourceOffset, SourcePartition};
use tokio_util::sync::CancellationToken;

use super::common::{self, Checked, RunParts};
use super::reconfigure::{self, Recomputed, Reconfigurable, ReconfigureTimer, TimerSpec};
use super::{
    ClusterMember, ConnectorInfo, ConnectorState, ConnectorStatus, Herder, PutMode, PutOutcome,
    TaskId, TaskInfo,
};
use crate::connector_config::normalize;
use crate::error::HerderError;
use crate::registry::PluginRegistry;
use crate::secrets;
use crate::sink::MessageSink;
use crate::status::{State, StatusCell};
use crate::store::{ConfigStore, OffsetStore, SledStore, StoredConnector, TargetState};
use crate::task_loop::{self, LoopSettings, TaskHandle};

/// One connector as the herder holds it.
struct Entry {
    config: ConfigMap,
    /// The config parsed by its plugin, with placeholders resolved (used for the plugin
    /// and to scrub resolved secrets from traces; never stored or returned); `None` when
    /// the stored config no longer parses.
    checked: Option<Checked>,
    target: TargetState,
    task_configs: Vec<ConfigMap>,
    tasks: Vec<TaskHandle>,
    /// Why the connector itself failed (its config or its split into tasks).
    trace: Option<String>,
    /// Why the last periodic recomputation of the task configs failed; the tasks keep
    /// running with their configs, so the connector does not count as failed.
    warning: Option<String>,
    /// The periodic reconfiguration timer, while the connector is STARTED or PAUSED and
    /// its plugin asks for one; dropping it ends the timer.
    timer: Option<ReconfigureTimer>,
}

impl Entry {
    fn def(&self) -> Option<ConfigDef> {
        self.checked.as_ref().map(|c| c.plugin.config_def())
    }

    /// The config with placeholders resolved (the config as written when it does not
    /// parse).
    fn resolved(&self) -> &ConfigMap {
        self.checked
            .as_ref()
            .map_or(&self.config, Checked::resolved)
    }

    fn state(&self) -> State {
        match (self.target, &self.trace) {
            (TargetState::Stopped, _) => State::Stopped,
            (_, Some(_)) => State::Failed,
            (TargetState::Paused, _) => State::Paused,
            (TargetState::Started, _) => State::Running,
        }
    }

    fn any_task_failed(&self) -> bool {
        self.tasks
            .iter()
            .any(|t| t.status.snapshot().state == State::Failed)
    }
}

/// Runs every connector in this process.
pub struct StandaloneHerder {
    worker_id: String,
    registry: PluginRegistry,
    store: Arc<SledStore>,
    sink: Arc<dyn MessageSink>,
    settings: LoopSettings,
    ops: tokio::sync::Mutex<()>,
    connectors: Mutex<BTreeMap<String, Entry>>,
    root: CancellationToken,
    ready: AtomicBool,
    shutting_down: AtomicBool,
    /// This herder, for the reconfiguration timers (held weakly by them).
    me: Weak<StandaloneHerder>,
    /// The REST API's address, once it listens (for `GET /workers`).
    rest_url: std::sync::OnceLock<String>,
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
    ) -> Arc<Self> {
        Arc::new_cyclic(|me| Self {
            worker_id,
            registry,
            store,
            sink,
            settings,
            ops: tokio::sync::Mutex::new(()),
            connectors: Mutex::new(BTreeMap::new()),
            root: CancellationToken::new(),
            ready: AtomicBool::new(false),
            shutting_down: AtomicBool::new(false),
            me: me.clone(),
            rest_url: std::sync::OnceLock::new(),
        })
    }

    /// Records where the REST API listens (shown by `GET /workers`).
    pub fn set_rest_url(&self, url: String) {
        let _ = self.rest_url.set(url);
    }

    fn map(&self) -> MutexGuard<'_, BTreeMap<String, Entry>> {
        // A poisoned lock only means a panic elsewhere; the map itself stays consistent
        // because every update is a single insert or remove.
        self.connectors.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Starts every connector kept in the store in its stored target state, without live
    /// validation (the source may be down; tasks retry).
    pub async fn resume_stored(&self) -> Result<usize, HerderError> {
        let stored = self
            .store
            .connectors()
            .map_err(|e| HerderError::Store(e.to_string()))?;
        let _ops = self.ops.lock().await;
        let n = stored.len();
        for (name, s) in stored {
            tracing::info!(connector = %name, target = ?s.target_state, "resuming stored connector");
            let entry = match self.check_offline(&s.config) {
                Ok(checked) => self.build(&name, checked, s.target_state).await,
                Err(errors) => Entry {
                    config: s.config,
                    checked: None,
                    target: s.target_state,
                    task_configs: Vec::new(),
                    tasks: Vec::new(),
                    trace: Some(FieldError::join(&errors)),
                    warning: None,
                    timer: None,
                },
            };
            self.map().insert(name, entry);
        }
        Ok(n)
    }

    /// Marks the herder ready (for `/health`).
    pub fn set_ready(&self) {
        self.ready.store(true, Ordering::SeqCst);
    }

    /// Parses framework keys and the connector's own keys, without contacting anything.
    fn check_offline(&self, config: &ConfigMap) -> Result<Checked, Vec<FieldError>> {
        common::check_offline(&self.registry, &self.settings.placeholders, config)
    }

    /// Offline checks, then the plugin's live validation.
    async fn check_live(&self, config: &ConfigMap) -> Result<Checked, Vec<FieldError>> {
        common::check_live(&self.registry, &self.settings.placeholders, config).await
    }

    /// Splits a checked connector into tasks and starts them unless it is stopped.
    async fn build(&self, name: &str, checked: Checked, target: TargetState) -> Entry {
        let mut entry = Entry {
            config: checked.config.clone(),
            checked: Some(checked),
            target,
            task_configs: Vec::new(),
            tasks: Vec::new(),
            trace: None,
            warning: None,
            timer: None,
        };
        self.split(name, &mut entry).await;
        if target != TargetState::Stopped {
            self.start_tasks(name, &mut entry);
        }
        self.arm_timer(name, &mut entry);
        entry
    }

    /// (Re)arms the periodic reconfiguration timer of a STARTED or PAUSED connector whose
    /// plugin asks for one; a STOPPED connector has none.
    fn arm_timer(&self, name: &str, entry: &mut Entry) {
        // The old timer ends before the new one starts.
        entry.timer = None;
        if entry.target == TargetState::Stopped {
            return;
        }
        let Some(checked) = &entry.checked else {
            return;
        };
        entry.timer = reconfigure::arm(
            TimerSpec {
                connector: name.to_owned(),
                plugin: checked.plugin.clone(),
                parsed: checked.parsed.clone(),
                max_tasks: checked.framework.max_tasks,
            },
            self.me.clone(),
            &self.root,
        );
    }

    /// Recomputes the task configs; a failure marks the connector FAILED.
    async fn split(&self, name: &str, entry: &mut Entry) {
        let Some(checked) = &entry.checked else {
            return;
        };
        match common::split(checked).await {
            Ok(t) => {
                entry.task_configs = t;
                entry.trace = None;
            }
            Err(trace) => {
                tracing::error!(connector = name, error = %trace, "connector failed to split into tasks");
                entry.task_configs.clear();
                entry.trace = Some(trace);
            }
        }
    }

    fn start_tasks(&self, name: &str, entry: &mut Entry) {
        entry.tasks = (0..entry.task_configs.len() as u32)
            .filter_map(|id| self.spawn_task(name, entry, id))
            .collect();
        tracing::info!(
            connector = name,
            tasks = entry.tasks.len(),
            "connector started"
        );
    }

    fn spawn_task(&self, name: &str, entry: &Entry, task_id: u32) -> Option<TaskHandle> {
        let run = common::task_run(RunParts {
            connector: name,
            task_id,
            config: entry.task_configs.get(task_id as usize)?.clone(),
            raw: &entry.config,
            resolved: entry.resolved(),
            plugin: entry.checked.as_ref()?.plugin.clone(),
            framework: &entry.checked.as_ref()?.framework,
            sink: self.sink.clone(),
            offsets: self.store.clone() as Arc<dyn OffsetStore>,
            status: StatusCell::new(task_id, &self.worker_id),
            settings: self.settings.clone(),
        })?;
        Some(task_loop::spawn(
            run,
            &self.root,
            entry.target == TargetState::Paused,
        ))
    }

    async fn stop_tasks(tasks: Vec<TaskHandle>) {
        futures::future::join_all(tasks.into_iter().map(TaskHandle::stop)).await;
    }

    async fn persist(
        &self,
        name: &str,
        config: &ConfigMap,
        target: TargetState,
    ) -> Result<(), HerderError> {
        self.store
            .put_connector(
                name,
                &StoredConnector {
                    config: config.clone(),
                    target_state: target,
                },
            )
            .await
            .map_err(|e| HerderError::Store(e.to_string()))
    }

    fn refuse_if_shutting_down(&self) -> Result<(), HerderError> {
        if self.shutting_down.load(Ordering::SeqCst) {
            Err(HerderError::ShuttingDown)
        } else {
            Ok(())
        }
    }

    fn info(name: &str, e: &Entry) -> ConnectorInfo {
        ConnectorInfo {
            name: name.to_owned(),
            config: secrets::mask(&e.config, e.def().as_ref()),
            tasks: (0..e.task_configs.len() as u32)
                .map(|task| TaskId {
                    connector: name.to_owned(),
                    task,
                })
                .collect(),
            kind: "source",
        }
    }

    fn status(&self, name: &str, e: &Entry) -> ConnectorStatus {
        let def = e.def();
        let tasks = e
            .tasks
            .iter()
            .map(|t| {
                let mut s = t.status.snapshot();
                s.trace = s
                    .trace
                    .map(|tr| secrets::scrub_resolved(&tr, &e.config, e.resolved(), def.as_ref()));
                s
            })
            .collect();
        ConnectorStatus {
            name: name.to_owned(),
            connector: ConnectorState {
                state: e.state(),
                worker_id: self.worker_id.clone(),
                // A failed recomputation is shown as a warning while the connector keeps
                // running with its current tasks.
                trace: e.trace.clone().or_else(|| e.warning.clone()),
            },
            tasks,
            kind: "source",
        }
    }

    async fn replace(
        &self,
        name: &str,
        checked: Checked,
        target: TargetState,
    ) -> Result<ConnectorInfo, HerderError> {
        let old = self.map().remove(name);
        if let Some(old) = old {
            Self::stop_tasks(old.tasks).await;
        }
        self.persist(name, &checked.config, target).await?;
        let entry = self.build(name, checked, target).await;
        let info = Self::info(name, &entry);
        self.map().insert(name.to_owned(), entry);
        Ok(info)
    }
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

    async fn validate(&self, config: ConfigMap) -> Vec<FieldError> {
        self.check_live(&config).await.err().unwrap_or_default()
    }

    async fn put_connector(
        &self,
        name: &str,
        mut config: ConfigMap,
        mode: PutMode,
        initial_state: Option<TargetState>,
    ) -> Result<PutOutcome, HerderError> {
        self.refuse_if_shutting_down()?;
        common::check_put_name(name, &mut config)?;
        let unchanged = {
            let map = self.map();
            if mode == PutMode::CreateOnly && map.contains_key(name) {
                return Err(HerderError::AlreadyExists(name.to_owned()));
            }
            let normalized = normalize(config.clone()).ok();
            map.get(name)
                .is_some_and(|e| Some(&e.config) == normalized.as_ref())
        };
        // A config identical to the stored one was validated when it was stored; checking
        // it again would make a restart depend on the source being up.
        let checked = if unchanged {
            self.check_offline(&config)
        } else {
            self.check_live(&config).await
        }
        .map_err(HerderError::InvalidConfig)?;

        let _ops = self.ops.lock().await;
        let existing = {
            let map = self.map();
            match map.get(name) {
                Some(_) if mode == PutMode::CreateOnly => {
                    return Err(HerderError::AlreadyExists(name.to_owned()))
                }
                // Re-putting the same config is a no-op, unless something failed: then it
                // restarts the connector.
                Some(e)
                    if e.config == checked.config && e.trace.is_none() && !e.any_task_failed() =>
                {
                    return Ok(PutOutcome {
                        info: Self::info(name, e),
                        created: false,
                    });
                }
                Some(e) => Some(e.target),
                None => None,
            }
        };
        let target = existing.or(initial_state).unwrap_or(TargetState::Started);
        let info = self.replace(name, checked, target).await?;
        Ok(PutOutcome {
            info,
            created: existing.is_none(),
        })
    }

    async fn patch_connector(
        &self,
        name: &str,
        changes: BTreeMap<String, Option<String>>,
    ) -> Result<PutOutcome, HerderError> {
        let mut config = self
            .map()
            .get(name)
            .map(|e| e.config.clone())
            .ok_or_else(|| HerderError::NotFound(name.to_owned()))?;
        for (k, v) in changes {
            match v {
                Some(v) => config.insert(k, v),
                None => config.remove(&k),
            };
        }
        self.put_connector(name, config, PutMode::Upsert, None)
            .await
    }

    async fn connectors(&self) -> Vec<String> {
        self.map().keys().cloned().collect()
    }

    async fn connector_info(&self, name: &str) -> Result<ConnectorInfo, HerderError> {
        self.map()
            .get(name)
            .map(|e| Self::info(name, e))
            .ok_or_else(|| HerderError::NotFound(name.to_owned()))
    }

    async fn connector_status(&self, name: &str) -> Result<ConnectorStatus, HerderError> {
        self.map()
            .get(name)
            .map(|e| self.status(name, e))
            .ok_or_else(|| HerderError::NotFound(name.to_owned()))
    }

    async fn task_infos(&self, name: &str) -> Result<Vec<TaskInfo>, HerderError> {
        let map = self.map();
        let e = map
            .get(name)
            .ok_or_else(|| HerderError::NotFound(name.to_owned()))?;
        let def = e.def();
        Ok(e.task_configs
            .iter()
            .enumerate()
            .map(|(i, c)| TaskInfo {
                id: TaskId {
                    connector: name.to_owned(),
                    task: i as u32,
                },
                config: secrets::mask(c, def.as_ref()),
            })
            .collect())
    }

    async fn delete_connector(&self, name: &str) -> Result<(), HerderError> {
        let _ops = self.ops.lock().await;
        let entry = self
            .map()
            .remove(name)
            .ok_or_else(|| HerderError::NotFound(name.to_owned()))?;
        // Tasks stop (and commit what was acknowledged) before the config goes away.
        Self::stop_tasks(entry.tasks).await;
        self.store
            .remove_connector(name)
            .await
            .map_err(|e| HerderError::Store(e.to_string()))?;
        tracing::info!(connector = name, "connector deleted");
        Ok(())
    }

    /// Changes the target state of a connector: stored first, then applied.
    async fn set_target(&self, name: &str, target: TargetState) -> Result<(), HerderError> {
        self.refuse_if_shutting_down()?;
        let _ops = self.ops.lock().await;
        let (config, old) = {
            let map = self.map();
            let e = map
                .get(name)
                .ok_or_else(|| HerderError::NotFound(name.to_owned()))?;
            (e.config.clone(), e.target)
        };
        if old == target {
            return Ok(());
        }
        self.persist(name, &config, target).await?;
        match target {
            TargetState::Stopped => {
                let tasks = {
                    let mut map = self.map();
                    let e = map
                        .get_mut(name)
                        .ok_or_else(|| HerderError::NotFound(name.to_owned()))?;
                    e.timer = None;
                    std::mem::take(&mut e.tasks)
                };
                Self::stop_tasks(tasks).await;
                if let Some(e) = self.map().get_mut(name) {
                    e.target = target;
                    e.warning = None;
                }
            }
            TargetState::Paused | TargetState::Started => {
                let mut map = self.map();
                let e = map
                    .get_mut(name)
                    .ok_or_else(|| HerderError::NotFound(name.to_owned()))?;
                e.target = target;
                if e.timer.is_none() {
                    self.arm_timer(name, e);
                }
                if e.tasks.is_empty() {
                    // Coming back from STOPPED: start the tasks in the new state.
                    self.start_tasks(name, e);
                } else {
                    for t in &e.tasks {
                        if target == TargetState::Paused {
                            t.pause();
                        } else {
                            t.resume();
                        }
                    }
                }
            }
        }
        tracing::info!(connector = name, ?target, "connector target state changed");
        Ok(())
    }

    async fn restart_connector(
        &self,
        name: &str,
        include_tasks: bool,
        only_failed: bool,
    ) -> Result<ConnectorStatus, HerderError> {
        self.refuse_if_shutting_down()?;
        let _ops = self.ops.lock().await;
        let mut entry = self
            .map()
            .remove(name)
            .ok_or_else(|| HerderError::NotFound(name.to_owned()))?;
        let connector_failed = entry.trace.is_some();
        if entry.target != TargetState::Stopped && (!only_failed || connector_failed) {
            let before = entry.task_configs.clone();
            self.split(name, &mut entry).await;
            // New task configs mean every task restarts with its new config.
            if entry.task_configs != before || connector_failed {
                Self::stop_tasks(std::mem::take(&mut entry.tasks)).await;
                self.start_tasks(name, &mut entry);
            }
        }
        if include_tasks && entry.target != TargetState::Stopped && !entry.tasks.is_empty() {
            let mut restarted = Vec::with_capacity(entry.tasks.len());
            for (id, t) in std::mem::take(&mut entry.tasks).into_iter().enumerate() {
                let failed = t.status.snapshot().state == State::Failed;
                if only_failed && !failed {
                    restarted.push(Some(t));
                    continue;
                }
                t.stop().await;
                restarted.push(self.spawn_task(name, &entry, id as u32));
            }
            entry.tasks = restarted.into_iter().flatten().collect();
        }
        self.arm_timer(name, &mut entry);
        let status = self.status(name, &entry);
        self.map().insert(name.to_owned(), entry);
        Ok(status)
    }

    async fn restart_task(&self, name: &str, task: u32) -> Result<(), HerderError> {
        self.refuse_if_shutting_down()?;
        let _ops = self.ops.lock().await;
        let old = {
            let mut map = self.map();
            let e = map
                .get_mut(name)
                .ok_or_else(|| HerderError::NotFound(name.to_owned()))?;
            let idx = task as usize;
            if idx >= e.tasks.len() {
                return Err(HerderError::TaskNotFound(name.to_owned(), task));
            }
            // A placeholder keeps the other tasks' positions while this one restarts.
            e.tasks.remove(idx)
        };
        old.stop().await;
        let mut map = self.map();
        let e = map
            .get_mut(name)
            .ok_or_else(|| HerderError::NotFound(name.to_owned()))?;
        if let Some(h) = self.spawn_task(name, e, task) {
            let at = (task as usize).min(e.tasks.len());
            e.tasks.insert(at, h);
        }
        Ok(())
    }

    async fn offsets(
        &self,
        name: &str,
    ) -> Result<Vec<(SourcePartition, SourceOffset)>, HerderError> {
        if !self.map().contains_key(name) {
            return Err(HerderError::NotFound(name.to_owned()));
        }
        self.store
            .list(name)
            .map_err(|e| HerderError::Store(e.to_string()))
    }

    async fn alter_offsets(
        &self,
        name: &str,
        changes: Vec<(SourcePartition, Option<SourceOffset>)>,
    ) -> Result<(), HerderError> {
        let _ops = self.ops.lock().await;
        self.require_stopped(name)?;
        self.store
            .alter(name, &changes)
            .await
            .map_err(|e| HerderError::Store(e.to_string()))
    }

    async fn reset_offsets(&self, name: &str) -> Result<(), HerderError> {
        let _ops = self.ops.lock().await;
        self.require_stopped(name)?;
        self.store
            .reset(name)
            .await
            .map_err(|e| HerderError::Store(e.to_string()))
    }

    fn workers(&self) -> Vec<ClusterMember> {
        let tasks = self
            .map()
            .iter()
            .filter(|(_, e)| e.target != TargetState::Stopped)
            .flat_map(|(name, e)| {
                (0..e.tasks.len() as u32).map(move |task| TaskId {
                    connector: name.clone(),
                    task,
                })
            })
            .collect();
        vec![ClusterMember {
            worker_id: self.worker_id.clone(),
            url: self.rest_url.get().cloned().unwrap_or_default(),
            leader: true,
            tasks,
        }]
    }

    fn is_ready(&self) -> bool {
        self.ready.load(Ordering::SeqCst) && !self.shutting_down.load(Ordering::SeqCst)
    }

    async fn shutdown(&self) {
        self.shutting_down.store(true, Ordering::SeqCst);
        let _ops = self.ops.lock().await;
        let all: Vec<TaskHandle> = self
            .map()
            .values_mut()
            .flat_map(|e| {
                e.timer = None;
                std::mem::take(&mut e.tasks)
            })
            .collect();
        Self::stop_tasks(all).await;
        self.root.cancel();
        if let Err(e) = self.store.flush().await {
            tracing::error!(error = %e, "final store flush failed");
        }
    }
}

impl StandaloneHerder {
    fn require_stopped(&self, name: &str) -> Result<(), HerderError> {
        let map = self.map();
        let e = map
            .get(name)
            .ok_or_else(|| HerderError::NotFound(name.to_owned()))?;
        if e.target != TargetState::Stopped {
            return Err(HerderError::Conflict(format!(
                "offsets of {name} can only be changed while it is STOPPED (it is {:?}); \
                 stop it first with PUT /connectors/{name}/stop",
                e.state()
            )));
        }
        Ok(())
    }
}

#[async_trait]
impl Reconfigurable for StandaloneHerder {
    async fn apply(&self, name: &str, generation: u64, result: Recomputed) {
        if self.shutting_down.load(Ordering::SeqCst) {
            return;
        }
        let _ops = self.ops.lock().await;
        let old_tasks = {
            let mut map = self.map();
            let Some(e) = map.get_mut(name) else {
                return;
            };
            // A result of a timer that was replaced or ended meanwhile is stale.
            if e.timer.as_ref().map(ReconfigureTimer::generation) != Some(generation)
                || e.target == TargetState::Stopped
            {
                return;
            }
            let new = match result {
                Ok(new) => new,
                Err(error) => {
                    let def = e.def();
                    let error =
                        secrets::scrub_resolved(&error, &e.config, e.resolved(), def.as_ref());
                    tracing::warn!(connector = name, error = %error, "recomputing the task configs failed; the tasks keep running");
                    e.warning = Some(format!(
                        "recomputing the task configs failed; the tasks keep running with their current configs: {error}"
                    ));
                    return;
                }
            };
            e.warning = None;
            let new: Vec<ConfigMap> = new
                .into_iter()
                .map(|c| common::unresolve(c, &e.config, e.resolved()))
                .collect();
            if new == e.task_configs && e.trace.is_none() {
                return;
            }
            tracing::info!(
                connector = name,
                before = e.task_configs.len(),
                after = new.len(),
                "task configs changed; restarting the tasks"
            );
            e.task_configs = new;
            e.trace = None;
            std::mem::take(&mut e.tasks)
        };
        // The old tasks commit what was acknowledged before the new ones read offsets.
        Self::stop_tasks(old_tasks).await;
        if let Some(e) = self.map().get_mut(name) {
            if e.timer.as_ref().map(ReconfigureTimer::generation) == Some(generation) {
                self.start_tasks(name, e);
            }
        }
    }
}

//! The standalone herder: one worker runs every connector; configs, target states and
//! offsets live in the local sled store, so REST-created connectors (paused or stopped
//! ones included) survive a restart.
//!
//! Locking: management calls are serialized by `ops` (an async lock held across the
//! stopping and starting of tasks); the connector map itself is behind a short-lived
//! sync lock, so status reads never wait for a task to stop. Live validation runs before
//! `ops` is taken.

mod entry;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, Weak};

use async_trait::async_trait;
use connect_api::{ConfigMap, SourceOffset, SourcePartition};
use tokio_util::sync::CancellationToken;

use super::catalog::{self, Catalog, Check};
use super::common::{self, Checked, RunParts};
use super::gate::Gate;
use super::reconfigure::{Recomputed, Reconfigurable, ReconfigureTimer};
use super::updates::HerderUpdates;
use super::{
    view, ClusterMember, ConnectorInfo, ConnectorStatus, Herder, PutMode, PutOutcome, TaskInfo,
};
use crate::error::HerderError;
use crate::registry::PluginRegistry;
use crate::sink::MessageSink;
use crate::status::{State, StatusCell};
use crate::store::{ConfigStore, OffsetStore, SledStore, StoreError, StoredConnector, TargetState};
use crate::task_loop::{self, LoopSettings, TaskHandle};
use entry::Entry;

/// Runs every connector in this process.
pub struct StandaloneHerder {
    worker_id: String,
    catalog: Catalog,
    store: Arc<SledStore>,
    sink: Arc<dyn MessageSink>,
    settings: LoopSettings,
    ops: tokio::sync::Mutex<()>,
    connectors: Mutex<BTreeMap<String, Entry>>,
    root: CancellationToken,
    gate: Gate,
    /// This herder, for the reconfiguration timers (held weakly by them).
    me: Weak<StandaloneHerder>,
    /// The REST API's address, once it listens (for `GET /workers`).
    rest_url: OnceLock<String>,
}

fn store_failed(e: StoreError) -> HerderError {
    HerderError::Store(e.to_string())
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
            catalog: Catalog::new(registry, settings.placeholders.clone()),
            store,
            sink,
            settings,
            ops: tokio::sync::Mutex::new(()),
            connectors: Mutex::new(BTreeMap::new()),
            root: CancellationToken::new(),
            gate: Gate::default(),
            me: me.clone(),
            rest_url: OnceLock::new(),
        })
    }

    /// Records where the REST API listens (shown by `GET /workers`).
    pub fn set_rest_url(&self, url: String) {
        let _ = self.rest_url.set(url);
    }

    /// Marks the herder ready (for `/health`).
    pub fn set_ready(&self) {
        self.gate.set_ready();
    }

    fn map(&self) -> MutexGuard<'_, BTreeMap<String, Entry>> {
        // A poisoned lock only means a panic elsewhere; the map itself stays consistent
        // because every update is a single insert or remove.
        self.connectors.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `f` on the entry of `name` under the map's lock.
    fn with<T>(&self, name: &str, f: impl FnOnce(&mut Entry) -> T) -> Result<T, HerderError> {
        self.map()
            .get_mut(name)
            .map(f)
            .ok_or_else(|| HerderError::NotFound(name.to_owned()))
    }

    /// Takes the entry of `name` out of the map.
    fn take(&self, name: &str) -> Result<Entry, HerderError> {
        self.map()
            .remove(name)
            .ok_or_else(|| HerderError::NotFound(name.to_owned()))
    }

    /// Starts every connector kept in the store in its stored target state, without live
    /// validation (the source may be down; tasks retry).
    pub async fn resume_stored(&self) -> Result<usize, HerderError> {
        let stored = self.store.connectors().map_err(store_failed)?;
        let _ops = self.ops.lock().await;
        let n = stored.len();
        for (name, s) in stored {
            tracing::info!(connector = %name, target = ?s.target_state, "resuming stored connector");
            let entry = match self.catalog.check_offline(&s.config) {
                Ok(checked) => self.build(&name, checked, s.target_state).await,
                Err(errors) => Entry::invalid(s.config, s.target_state, &errors),
            };
            self.map().insert(name, entry);
        }
        Ok(n)
    }

    /// Splits a checked connector into tasks and starts them unless it is stopped.
    async fn build(&self, name: &str, checked: Checked, target: TargetState) -> Entry {
        let mut entry = Entry::new(checked, target);
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
        if let Some(checked) = &entry.checked {
            entry.timer = common::arm_timer(name, checked, self.me.clone(), &self.root);
        }
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
        let checked = entry.checked.as_ref()?;
        let run = common::task_run(RunParts {
            connector: name,
            task_id,
            config: entry.task_configs.get(task_id as usize)?.clone(),
            raw: &checked.config,
            resolved: checked.resolved(),
            plugin: checked.plugin.clone(),
            framework: &checked.framework,
            sink: self.sink.clone(),
            offsets: self.store.clone() as Arc<dyn OffsetStore>,
            status: StatusCell::new(task_id, &self.worker_id),
            settings: self.settings.clone(),
            config_updater: HerderUpdates::new(self.me.clone(), name, &checked.config),
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
        let stored = StoredConnector {
            config: config.clone(),
            target_state: target,
        };
        self.store
            .put_connector(name, &stored)
            .await
            .map_err(store_failed)
    }

    async fn replace(
        &self,
        name: &str,
        checked: Checked,
        target: TargetState,
    ) -> Result<ConnectorInfo, HerderError> {
        // The map's lock is released before the old tasks stop.
        let old = self.map().remove(name);
        if let Some(old) = old {
            Self::stop_tasks(old.tasks).await;
        }
        self.persist(name, &checked.config, target).await?;
        let entry = self.build(name, checked, target).await;
        let info = entry.info(name);
        self.map().insert(name.to_owned(), entry);
        Ok(info)
    }

    fn require_stopped(&self, name: &str) -> Result<(), HerderError> {
        self.with(name, |e| view::require_stopped(name, e.target, e.state()))?
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

    fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    async fn put_checked(
        &self,
        name: &str,
        mut config: ConfigMap,
        mode: PutMode,
        initial_state: Option<TargetState>,
        check: Check,
    ) -> Result<PutOutcome, HerderError> {
        self.gate.refuse_if_shutting_down()?;
        let unchanged = {
            let map = self.map();
            catalog::check_put(name, &mut config, mode, map.get(name).map(|e| &e.config))?
        };
        // A config identical to the stored one was validated when it was stored; checking
        // it again would make a restart depend on the source being up.
        let checked = if unchanged || check == Check::Offline {
            self.catalog.check_offline(&config)
        } else {
            self.catalog.check_live(&config).await
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
                        info: e.info(name),
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

    fn stored_config(&self, name: &str) -> Result<ConfigMap, HerderError> {
        self.with(name, |e| e.config.clone())
    }

    async fn connectors(&self) -> Vec<String> {
        self.map().keys().cloned().collect()
    }

    async fn connector_info(&self, name: &str) -> Result<ConnectorInfo, HerderError> {
        self.with(name, |e| e.info(name))
    }

    async fn connector_status(&self, name: &str) -> Result<ConnectorStatus, HerderError> {
        self.with(name, |e| e.status(name, &self.worker_id))
    }

    async fn task_infos(&self, name: &str) -> Result<Vec<TaskInfo>, HerderError> {
        self.with(name, |e| {
            view::task_infos(name, &e.task_configs, e.def().as_ref())
        })
    }

    async fn delete_connector(&self, name: &str) -> Result<(), HerderError> {
        let _ops = self.ops.lock().await;
        let entry = self.take(name)?;
        // Tasks stop (and commit what was acknowledged) before the config goes away.
        Self::stop_tasks(entry.tasks).await;
        self.store
            .remove_connector(name)
            .await
            .map_err(store_failed)?;
        tracing::info!(connector = name, "connector deleted");
        Ok(())
    }

    /// Changes the target state of a connector: stored first, then applied.
    async fn set_target(&self, name: &str, target: TargetState) -> Result<(), HerderError> {
        self.gate.refuse_if_shutting_down()?;
        let _ops = self.ops.lock().await;
        let (config, old) = self.with(name, |e| (e.config.clone(), e.target))?;
        if old == target {
            return Ok(());
        }
        self.persist(name, &config, target).await?;
        match target {
            TargetState::Stopped => {
                let tasks = self.with(name, |e| {
                    e.timer = None;
                    std::mem::take(&mut e.tasks)
                })?;
                Self::stop_tasks(tasks).await;
                if let Some(e) = self.map().get_mut(name) {
                    e.target = target;
                    e.warning = None;
                }
            }
            TargetState::Paused | TargetState::Started => {
                self.with(name, |e| {
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
                })?;
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
        self.gate.refuse_if_shutting_down()?;
        let _ops = self.ops.lock().await;
        let mut entry = self.take(name)?;
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
        let status = entry.status(name, &self.worker_id);
        self.map().insert(name.to_owned(), entry);
        Ok(status)
    }

    async fn restart_task(&self, name: &str, task: u32) -> Result<(), HerderError> {
        self.gate.refuse_if_shutting_down()?;
        let _ops = self.ops.lock().await;
        let old = self.with(name, |e| {
            let idx = task as usize;
            if idx >= e.tasks.len() {
                return Err(HerderError::TaskNotFound(name.to_owned(), task));
            }
            // A placeholder keeps the other tasks' positions while this one restarts.
            Ok(e.tasks.remove(idx))
        })??;
        old.stop().await;
        self.with(name, |e| {
            if let Some(h) = self.spawn_task(name, e, task) {
                let at = (task as usize).min(e.tasks.len());
                e.tasks.insert(at, h);
            }
        })
    }

    async fn offsets(
        &self,
        name: &str,
    ) -> Result<Vec<(SourcePartition, SourceOffset)>, HerderError> {
        self.with(name, |_| ())?;
        self.store.list(name).map_err(store_failed)
    }

    async fn alter_offsets(
        &self,
        name: &str,
        changes: Vec<(SourcePartition, Option<SourceOffset>)>,
    ) -> Result<(), HerderError> {
        let _ops = self.ops.lock().await;
        self.require_stopped(name)?;
        self.store.alter(name, &changes).await.map_err(store_failed)
    }

    async fn reset_offsets(&self, name: &str) -> Result<(), HerderError> {
        let _ops = self.ops.lock().await;
        self.require_stopped(name)?;
        self.store.reset(name).await.map_err(store_failed)
    }

    fn workers(&self) -> Vec<ClusterMember> {
        let tasks = self
            .map()
            .iter()
            .filter(|(_, e)| e.target != TargetState::Stopped)
            .flat_map(|(name, e)| view::task_ids(name, e.tasks.len()))
            .collect();
        vec![ClusterMember {
            worker_id: self.worker_id.clone(),
            url: self.rest_url.get().cloned().unwrap_or_default(),
            leader: true,
            tasks,
        }]
    }

    fn is_ready(&self) -> bool {
        self.gate.is_ready()
    }

    async fn shutdown(&self) {
        self.gate.begin_shutdown();
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

#[async_trait]
impl Reconfigurable for StandaloneHerder {
    async fn apply(&self, name: &str, generation: u64, result: Recomputed) {
        if self.gate.is_shutting_down() {
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
                    let error = e.scrub(&error);
                    tracing::warn!(connector = name, error = %error, "recomputing the task configs failed; the tasks keep running");
                    e.warning = Some(format!(
                        "recomputing the task configs failed; the tasks keep running with their current configs: {error}"
                    ));
                    return;
                }
            };
            e.warning = None;
            let new = common::unresolve_all(new, &e.config, e.resolved());
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

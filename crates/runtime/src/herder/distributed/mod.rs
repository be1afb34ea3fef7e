//! The clustered herder: every worker of a cluster accepts every REST call and writes it
//! to the cluster's config log; the leader splits connectors into tasks and assigns the
//! tasks; every worker runs the tasks assigned to it, each behind a fence in the offsets
//! log and the worker's lease (see [`crate::cluster`]).
//!
//! One control loop per worker reacts to every record read (and a short tick): as
//! leader it writes missing task configs and a new assignment when the live members or
//! the tasks changed; as a member it stops the tasks it lost, waits until a task's
//! previous owner has let it go (or is gone), fences it, and starts it from the last
//! offset committed before its fence.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use async_trait::async_trait;
use connect_api::{ConfigMap, SourceOffset, SourcePartition};
use tokio_util::sync::CancellationToken;

use super::catalog::{self, Catalog, Check};
use super::gate::Gate;
use super::{
    view, ClusterMember, ConnectorInfo, ConnectorState, ConnectorStatus, Herder, PutMode,
    PutOutcome, TaskId, TaskInfo,
};
use crate::cluster::assign::TaskKey;
use crate::cluster::configs::{ClusterConnector, ConfigRecord, Outcome};
use crate::cluster::engine::Engine;
use crate::cluster::positions::PositionRecord;
use crate::cluster::statuses::{ReportedTask, StatusRecord};
use crate::cluster::ClusterError;
use crate::error::HerderError;
use crate::registry::PluginRegistry;
use crate::sink::MessageSink;
use crate::status::StatusCell;
use crate::store::TargetState;
use crate::task_loop::LoopSettings;

/// How often the control loop looks again even when nothing was read.
const CONTROL_TICK: Duration = Duration::from_millis(500);
/// How often a worker publishes the status of its tasks.
const STATUS_INTERVAL: Duration = Duration::from_secs(2);
/// How long the leader waits before splitting a connector whose split failed again.
const SPLIT_RETRY: Duration = Duration::from_secs(30);

mod leader;
mod member;
mod parsed;
mod state;

use parsed::ParsedConfigs;
use state::{LeaderState, Run};

/// The herder of a worker in a cluster.
pub struct DistributedHerder {
    engine: Arc<Engine>,
    catalog: Catalog,
    /// The connector configs parsed on this worker, once per config offset.
    parsed: ParsedConfigs,
    sink: Arc<dyn MessageSink>,
    settings: LoopSettings,
    runs: tokio::sync::Mutex<BTreeMap<TaskKey, Run>>,
    /// The status cell of every task run, readable without waiting for `runs`.
    cells: Mutex<BTreeMap<TaskKey, StatusCell>>,
    leader: tokio::sync::Mutex<LeaderState>,
    root: CancellationToken,
    gate: Gate,
    requests: AtomicU64,
    /// Wakes the status loop to publish at once (after a task started).
    status_now: tokio::sync::Notify,
    me: Weak<DistributedHerder>,
}

impl DistributedHerder {
    /// A herder over a started engine; starts its control and status loops.
    pub fn start(
        engine: Arc<Engine>,
        registry: PluginRegistry,
        sink: Arc<dyn MessageSink>,
        settings: LoopSettings,
    ) -> Arc<Self> {
        let catalog = Catalog::new(registry, settings.placeholders.clone());
        let herder = Arc::new_cyclic(|me| Self {
            engine,
            parsed: ParsedConfigs::new(catalog.clone()),
            catalog,
            sink,
            settings,
            runs: tokio::sync::Mutex::new(BTreeMap::new()),
            cells: Mutex::new(BTreeMap::new()),
            leader: tokio::sync::Mutex::new(LeaderState::default()),
            root: CancellationToken::new(),
            gate: Gate::default(),
            requests: AtomicU64::new(0),
            status_now: tokio::sync::Notify::new(),
            me: me.clone(),
        });
        tokio::spawn(control(herder.me.clone(), herder.root.clone()));
        tokio::spawn(publish_statuses(herder.me.clone(), herder.root.clone()));
        herder.gate.set_ready();
        herder
    }

    fn cells(&self) -> MutexGuard<'_, BTreeMap<TaskKey, StatusCell>> {
        self.cells
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn connector(&self, name: &str) -> Result<ClusterConnector, HerderError> {
        self.engine
            .view()
            .configs
            .get(name)
            .cloned()
            .ok_or_else(|| HerderError::NotFound(name.to_owned()))
    }

    fn info(&self, name: &str, c: &ClusterConnector) -> ConnectorInfo {
        let def = self.catalog.def_of(&c.config);
        view::connector_info(name, &c.config, def.as_ref(), task_count(c))
    }

    fn request_id(&self) -> String {
        format!(
            "{}-{}-{}",
            self.engine.me(),
            self.engine.incarnation(),
            self.requests.fetch_add(1, Ordering::Relaxed)
        )
    }

    async fn write_config(&self, record: &ConfigRecord) -> Result<i64, HerderError> {
        self.engine.write_config(record).await.map_err(unavailable)
    }

    fn require_stopped(&self, name: &str) -> Result<(), HerderError> {
        let target = self.connector(name)?.target;
        view::require_stopped(name, target, target)
    }

    fn status_record(&self) -> StatusRecord {
        StatusRecord {
            worker: self.engine.me().to_owned(),
            incarnation: self.engine.incarnation(),
            tasks: self
                .cells()
                .iter()
                .map(|(k, cell)| ReportedTask {
                    connector: k.connector.clone(),
                    status: cell.snapshot(),
                })
                .collect(),
        }
    }
}

fn current_tasks(c: &ClusterConnector) -> Option<&crate::cluster::configs::TaskConfigs> {
    c.tasks.as_ref().filter(|t| t.based_on == c.config_offset)
}

/// How many tasks the connector's current config has (none while it is not split).
fn task_count(c: &ClusterConnector) -> usize {
    current_tasks(c).map_or(0, |t| t.tasks.len())
}

fn unavailable(e: ClusterError) -> HerderError {
    HerderError::Unavailable(e.to_string())
}

async fn control(herder: Weak<DistributedHerder>, cancel: CancellationToken) {
    let mut tick = tokio::time::interval(CONTROL_TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let Some(h) = herder.upgrade() else { return };
        let engine = h.engine.clone();
        drop(h);
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = engine.changed().notified() => {}
            _ = tick.tick() => {}
        }
        let Some(h) = herder.upgrade() else { return };
        if h.gate.is_shutting_down() {
            return;
        }
        if h.engine.leads() {
            h.lead().await;
        }
        h.reconcile().await;
        let v = h.engine.view();
        h.parsed.retain(|name| v.configs.get(name).is_some());
    }
}

async fn publish_statuses(herder: Weak<DistributedHerder>, cancel: CancellationToken) {
    let mut tick = tokio::time::interval(STATUS_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let Some(h) = herder.upgrade() else { return };
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tick.tick() => {}
            _ = h.status_now.notified() => {}
        }
        let record = h.status_record();
        if let Err(e) = h.engine.write_status(&record).await {
            tracing::debug!(error = %e, "could not publish task statuses");
        }
    }
}

#[async_trait]
impl Herder for DistributedHerder {
    fn worker_id(&self) -> &str {
        self.engine.me()
    }

    fn mode(&self) -> &'static str {
        "distributed"
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
        let existing = self.engine.view().configs.get(name).cloned();
        let unchanged = catalog::check_put(
            name,
            &mut config,
            mode,
            existing.as_ref().map(|c| &c.config),
        )?;
        if let Some(c) = existing.filter(|c| unchanged && c.split_failure.is_none()) {
            // Re-putting the same config changes nothing.
            return Ok(PutOutcome {
                info: self.info(name, &c),
                created: false,
            });
        }
        let checked = match check {
            Check::Live => self.catalog.check_live(&config).await,
            Check::Offline => self.catalog.check_offline(&config),
        }
        .map_err(HerderError::InvalidConfig)?;
        let request = self.request_id();
        let offset = self
            .write_config(&ConfigRecord::Connector {
                name: name.to_owned(),
                config: checked.config.clone(),
                initial_state: initial_state.unwrap_or(TargetState::Started),
                create_only: mode == PutMode::CreateOnly,
                request: request.clone(),
            })
            .await?;
        let (outcome, c) = {
            let v = self.engine.view();
            (
                v.outcomes.get(&request).map(|(_, o)| o.clone()),
                v.configs.get(name).cloned(),
            )
        };
        if let Some(c) = c.as_ref().filter(|c| c.config_offset == offset) {
            // Parsed already: the leader's split and this worker's tasks use it.
            self.parsed.keep(name, c.config_offset, &checked);
        }
        match (outcome, c) {
            (Some(Outcome::Exists), _) => Err(HerderError::AlreadyExists(name.to_owned())),
            (Some(o), Some(c)) => Ok(PutOutcome {
                info: self.info(name, &c),
                created: o == Outcome::Created,
            }),
            // Deleted again by another call right after.
            _ => Err(HerderError::NotFound(name.to_owned())),
        }
    }

    fn stored_config(&self, name: &str) -> Result<ConfigMap, HerderError> {
        Ok(self.connector(name)?.config)
    }

    async fn connectors(&self) -> Vec<String> {
        self.engine
            .view()
            .configs
            .connectors()
            .keys()
            .cloned()
            .collect()
    }

    async fn connector_info(&self, name: &str) -> Result<ConnectorInfo, HerderError> {
        let c = self.connector(name)?;
        Ok(self.info(name, &c))
    }

    async fn connector_status(&self, name: &str) -> Result<ConnectorStatus, HerderError> {
        let v = self.engine.view();
        let c = v
            .configs
            .get(name)
            .ok_or_else(|| HerderError::NotFound(name.to_owned()))?;
        let state = view::connector_state(
            c.target,
            c.split_failure.is_some(),
            current_tasks(c).is_some(),
        );
        let tasks = if c.target == TargetState::Stopped {
            Vec::new()
        } else {
            view::task_ids(name, task_count(c))
                .map(|t| v.statuses.task(&TaskKey::new(name, t.task), &v.members))
                .collect()
        };
        let connector = ConnectorState {
            state,
            worker_id: v.members.leader().unwrap_or_default().to_owned(),
            trace: c.split_failure.clone(),
        };
        Ok(view::connector_status(name, connector, tasks))
    }

    async fn task_infos(&self, name: &str) -> Result<Vec<TaskInfo>, HerderError> {
        let c = self.connector(name)?;
        let def = self.catalog.def_of(&c.config);
        let tasks = current_tasks(&c).map_or(&[][..], |t| &t.tasks);
        Ok(view::task_infos(name, tasks, def.as_ref()))
    }

    async fn delete_connector(&self, name: &str) -> Result<(), HerderError> {
        self.gate.refuse_if_shutting_down()?;
        self.connector(name)?;
        self.write_config(&ConfigRecord::Delete {
            name: name.to_owned(),
        })
        .await?;
        tracing::info!(connector = name, "connector deleted");
        Ok(())
    }

    async fn set_target(&self, name: &str, state: TargetState) -> Result<(), HerderError> {
        self.gate.refuse_if_shutting_down()?;
        let c = self.connector(name)?;
        if c.target == state {
            return Ok(());
        }
        self.write_config(&ConfigRecord::TargetState {
            name: name.to_owned(),
            state,
        })
        .await?;
        tracing::info!(connector = name, ?state, "connector target state changed");
        Ok(())
    }

    async fn restart_connector(
        &self,
        name: &str,
        include_tasks: bool,
        only_failed: bool,
    ) -> Result<ConnectorStatus, HerderError> {
        self.gate.refuse_if_shutting_down()?;
        let c = self.connector(name)?;
        if c.split_failure.is_some() {
            // The leader splits it again at once.
            self.leader.lock().await.failed.remove(name);
        }
        if include_tasks {
            self.write_config(&ConfigRecord::Restart {
                name: name.to_owned(),
                task: None,
                only_failed,
            })
            .await?;
        }
        self.connector_status(name).await
    }

    async fn restart_task(&self, name: &str, task: u32) -> Result<(), HerderError> {
        self.gate.refuse_if_shutting_down()?;
        let c = self.connector(name)?;
        if task as usize >= task_count(&c) {
            return Err(HerderError::TaskNotFound(name.to_owned(), task));
        }
        self.write_config(&ConfigRecord::Restart {
            name: name.to_owned(),
            task: Some(task),
            only_failed: false,
        })
        .await?;
        Ok(())
    }

    async fn offsets(
        &self,
        name: &str,
    ) -> Result<Vec<(SourcePartition, SourceOffset)>, HerderError> {
        self.connector(name)?;
        self.engine
            .catch_up_positions()
            .await
            .map_err(unavailable)?;
        Ok(self
            .engine
            .view()
            .offsets
            .get(name)
            .map(|m| m.iter().map(|(p, o)| (p.clone(), o.clone())).collect())
            .unwrap_or_default())
    }

    async fn alter_offsets(
        &self,
        name: &str,
        changes: Vec<(SourcePartition, Option<SourceOffset>)>,
    ) -> Result<(), HerderError> {
        self.require_stopped(name)?;
        self.engine
            .write_position(&PositionRecord::Alter {
                connector: name.to_owned(),
                changes,
            })
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn reset_offsets(&self, name: &str) -> Result<(), HerderError> {
        self.require_stopped(name)?;
        self.engine
            .write_position(&PositionRecord::Reset {
                connector: name.to_owned(),
            })
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    fn workers(&self) -> Vec<ClusterMember> {
        let v = self.engine.view();
        let leader = v.members.leader().map(str::to_owned);
        let assignment = v.members.assignment();
        v.members
            .live()
            .into_iter()
            .map(|(id, m)| ClusterMember {
                worker_id: id.to_owned(),
                url: m.rest_url.clone(),
                leader: leader.as_deref() == Some(id),
                tasks: assignment
                    .and_then(|a| a.assignment.get(id))
                    .into_iter()
                    .flatten()
                    .map(|k| TaskId {
                        connector: k.connector.clone(),
                        task: k.task,
                    })
                    .collect(),
            })
            .collect()
    }

    fn is_ready(&self) -> bool {
        self.gate.is_ready()
    }

    async fn shutdown(&self) {
        self.gate.begin_shutdown();
        {
            let mut ls = self.leader.lock().await;
            ls.timers.clear();
            ls.stop_splits();
        }
        let mut runs = self.runs.lock().await;
        let all: Vec<TaskKey> = runs.keys().cloned().collect();
        // Tasks commit what was acknowledged while the lease still holds.
        self.stop_runs(&mut runs, all).await;
        self.claim(&runs);
        self.root.cancel();
        self.engine.leave().await;
    }
}

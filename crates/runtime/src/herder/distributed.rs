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

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use connect_api::{ConfigDef, ConfigMap, FieldError, PluginInfo, SourceOffset, SourcePartition};
use tokio_util::sync::CancellationToken;

use super::common::{self, RunParts};
use super::reconfigure::{self, Recomputed, Reconfigurable, ReconfigureTimer, TimerSpec};
use super::{
    check_connector_name, ClusterMember, ConnectorInfo, ConnectorState, ConnectorStatus, Herder,
    PutMode, PutOutcome, TaskId, TaskInfo,
};
use crate::cluster::assign::{assign, TaskKey};
use crate::cluster::configs::{ClusterConnector, ConfigRecord, Outcome};
use crate::cluster::engine::Engine;
use crate::cluster::fenced::{FencedOffsets, LeasedSink};
use crate::cluster::members::{AssignmentRecord, ClusterRecord};
use crate::cluster::positions::{Owner, PositionRecord};
use crate::cluster::statuses::{ReportedTask, StatusRecord};
use crate::cluster::ClusterError;
use crate::connector_config::normalize;
use crate::error::HerderError;
use crate::registry::PluginRegistry;
use crate::secrets;
use crate::sink::MessageSink;
use crate::status::{State, StatusCell};
use crate::store::{OffsetStore, TargetState};
use crate::task_loop::{self, LoopSettings, TaskHandle};

/// How often the control loop looks again even when nothing was read.
const CONTROL_TICK: Duration = Duration::from_millis(500);
/// How often a worker publishes the status of its tasks.
const STATUS_INTERVAL: Duration = Duration::from_secs(2);
/// How long the leader waits before splitting a connector whose split failed again.
const SPLIT_RETRY: Duration = Duration::from_secs(30);

/// One task run of this worker.
struct Run {
    handle: Option<TaskHandle>,
    generation: u64,
    version: i64,
    epoch: u64,
    restart_seen: i64,
    paused: bool,
}

#[derive(Default)]
struct LeaderState {
    /// Connector → the config offset whose split (or failure) was written.
    splits: BTreeMap<String, i64>,
    /// Connector → when its split last failed.
    failed: BTreeMap<String, Instant>,
    /// The generation written last.
    assignment: Option<u64>,
    /// Reconfiguration timers of the connectors led, with the config offset they run for.
    timers: BTreeMap<String, (i64, ReconfigureTimer)>,
}

/// The herder of a worker in a cluster.
pub struct DistributedHerder {
    engine: Arc<Engine>,
    registry: PluginRegistry,
    sink: Arc<dyn MessageSink>,
    settings: LoopSettings,
    runs: tokio::sync::Mutex<BTreeMap<TaskKey, Run>>,
    /// The status cell of every task run, readable without waiting for `runs`.
    cells: Mutex<BTreeMap<TaskKey, StatusCell>>,
    leader: tokio::sync::Mutex<LeaderState>,
    root: CancellationToken,
    ready: AtomicBool,
    shutting_down: AtomicBool,
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
        let herder = Arc::new_cyclic(|me| Self {
            engine,
            registry,
            sink,
            settings,
            runs: tokio::sync::Mutex::new(BTreeMap::new()),
            cells: Mutex::new(BTreeMap::new()),
            leader: tokio::sync::Mutex::new(LeaderState::default()),
            root: CancellationToken::new(),
            ready: AtomicBool::new(false),
            shutting_down: AtomicBool::new(false),
            requests: AtomicU64::new(0),
            status_now: tokio::sync::Notify::new(),
            me: me.clone(),
        });
        tokio::spawn(control(herder.me.clone(), herder.root.clone()));
        tokio::spawn(publish_statuses(herder.me.clone(), herder.root.clone()));
        herder.ready.store(true, Ordering::SeqCst);
        herder
    }

    fn cells(&self) -> MutexGuard<'_, BTreeMap<TaskKey, StatusCell>> {
        self.cells
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn refuse_if_shutting_down(&self) -> Result<(), HerderError> {
        if self.shutting_down.load(Ordering::SeqCst) {
            Err(HerderError::ShuttingDown)
        } else {
            Ok(())
        }
    }

    fn connector(&self, name: &str) -> Result<ClusterConnector, HerderError> {
        self.engine
            .view()
            .configs
            .get(name)
            .cloned()
            .ok_or_else(|| HerderError::NotFound(name.to_owned()))
    }

    fn def_of(&self, config: &ConfigMap) -> Option<ConfigDef> {
        let class = config.get(crate::connector_config::CONNECTOR_CLASS)?;
        self.registry.find(class).map(|p| p.config_def())
    }

    fn info(&self, name: &str, c: &ClusterConnector) -> ConnectorInfo {
        ConnectorInfo {
            name: name.to_owned(),
            config: secrets::mask(&c.config, self.def_of(&c.config).as_ref()),
            tasks: current_tasks(c)
                .map(|t| t.tasks.len() as u32)
                .map(|n| {
                    (0..n)
                        .map(|task| TaskId {
                            connector: name.to_owned(),
                            task,
                        })
                        .collect()
                })
                .unwrap_or_default(),
            kind: "source",
        }
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

    async fn set_target(&self, name: &str, state: TargetState) -> Result<(), HerderError> {
        self.refuse_if_shutting_down()?;
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

    fn require_stopped(&self, name: &str) -> Result<(), HerderError> {
        let c = self.connector(name)?;
        if c.target != TargetState::Stopped {
            return Err(HerderError::Conflict(format!(
                "offsets of {name} can only be changed while it is STOPPED (it is {:?}); \
                 stop it first with PUT /connectors/{name}/stop",
                c.target
            )));
        }
        Ok(())
    }

    // --- leader ---

    /// Splits connectors that have no task configs for their config yet, keeps the
    /// reconfiguration timers, and assigns the tasks when members or tasks changed.
    async fn lead(&self) {
        let mut ls = self.leader.lock().await;
        let (todo, all): (Vec<Named>, Vec<Named>) = {
            let v = self.engine.view();
            let now = Instant::now();
            let mut todo: Vec<_> = v
                .configs
                .unsplit()
                .into_iter()
                .filter(|(n, c)| ls.splits.get(*n) != Some(&c.config_offset))
                .map(|(n, c)| (n.to_owned(), c.clone()))
                .collect();
            // Failed splits are tried again after a while.
            todo.extend(
                v.configs
                    .connectors()
                    .iter()
                    .filter(|(n, c)| {
                        c.split_failure.is_some()
                            && c.target != TargetState::Stopped
                            && ls
                                .failed
                                .get(*n)
                                .is_none_or(|t| now.duration_since(*t) >= SPLIT_RETRY)
                    })
                    .map(|(n, c)| (n.clone(), c.clone())),
            );
            let all = v
                .configs
                .connectors()
                .iter()
                .map(|(n, c)| (n.clone(), c.clone()))
                .collect();
            (todo, all)
        };
        for (name, c) in todo {
            let record =
                match common::check_offline(&self.registry, &self.settings.placeholders, &c.config)
                {
                    Ok(checked) => match common::split(&checked).await {
                        Ok(tasks) => ConfigRecord::TaskConfigs {
                            name: name.clone(),
                            based_on: c.config_offset,
                            tasks,
                        },
                        Err(trace) => ConfigRecord::SplitFailed {
                            name: name.clone(),
                            based_on: c.config_offset,
                            trace,
                        },
                    },
                    Err(errors) => ConfigRecord::SplitFailed {
                        name: name.clone(),
                        based_on: c.config_offset,
                        trace: FieldError::join(&errors),
                    },
                };
            if let ConfigRecord::SplitFailed { trace, .. } = &record {
                tracing::error!(connector = %name, error = %trace, "connector failed to split into tasks");
                ls.failed.insert(name.clone(), Instant::now());
            } else {
                ls.failed.remove(&name);
            }
            match self.engine.write_config(&record).await {
                Ok(_) => {
                    ls.splits.insert(name, c.config_offset);
                }
                Err(e) => {
                    tracing::warn!(connector = %name, error = %e, "could not write task configs")
                }
            }
        }
        self.keep_timers(&mut ls, &all);
        self.assign_if_needed(&mut ls).await;
    }

    fn keep_timers(&self, ls: &mut LeaderState, all: &[(String, ClusterConnector)]) {
        let wanted: BTreeMap<&str, &ClusterConnector> = all
            .iter()
            .filter(|(_, c)| c.target != TargetState::Stopped && current_tasks(c).is_some())
            .map(|(n, c)| (n.as_str(), c))
            .collect();
        ls.timers.retain(|n, (offset, _)| {
            wanted
                .get(n.as_str())
                .is_some_and(|c| c.config_offset == *offset)
        });
        for (name, c) in wanted {
            if ls.timers.contains_key(name) {
                continue;
            }
            let Ok(checked) =
                common::check_offline(&self.registry, &self.settings.placeholders, &c.config)
            else {
                continue;
            };
            let timer = reconfigure::arm(
                TimerSpec {
                    connector: name.to_owned(),
                    plugin: checked.plugin.clone(),
                    resolved: checked.resolved.clone(),
                    max_tasks: checked.framework.max_tasks,
                },
                self.me.clone(),
                &self.root,
            );
            if let Some(timer) = timer {
                ls.timers.insert(name.to_owned(), (c.config_offset, timer));
            }
        }
    }

    async fn assign_if_needed(&self, ls: &mut LeaderState) {
        let record = {
            let v = self.engine.view();
            let tasks: BTreeSet<TaskKey> = v.configs.runnable_tasks().into_keys().collect();
            let Some((members, incarnations)) = v.members.needs_assignment(&tasks) else {
                return;
            };
            let current = v.members.assignment();
            let generation = current.map_or(0, |a| a.generation);
            // The last one written is not read back yet.
            if ls.assignment.is_some_and(|g| g > generation) {
                return;
            }
            let empty = BTreeMap::new();
            let previous = current.map_or(&empty, |a| &a.assignment);
            AssignmentRecord {
                generation: generation + 1,
                leader: self.engine.me().to_owned(),
                incarnations,
                assignment: assign(&members, &tasks, previous),
                config_offset: v.configs.next_offset(),
            }
        };
        tracing::info!(
            generation = record.generation,
            members = ?record.assignment.iter().map(|(w, t)| (w.as_str(), t.len())).collect::<Vec<_>>(),
            "new assignment"
        );
        let generation = record.generation;
        match self
            .engine
            .write_cluster(&ClusterRecord::Assignment(record))
            .await
        {
            Ok(_) => ls.assignment = Some(generation),
            Err(e) => tracing::warn!(error = %e, "could not write the assignment"),
        }
    }

    // --- member ---

    /// Makes the task runs of this worker match its assignment.
    async fn reconcile(&self) {
        let mut runs = self.runs.lock().await;
        let epoch = self.engine.lease().current(Instant::now());
        // Runs of an ended lease are over: they may not produce or commit any more.
        let stale: Vec<TaskKey> = runs
            .iter()
            .filter(|(_, r)| Some(r.epoch) != epoch)
            .map(|(k, _)| k.clone())
            .collect();
        if !stale.is_empty() {
            tracing::warn!(
                tasks = stale.len(),
                "lease lost: stopping every task of this worker"
            );
            self.stop_runs(&mut runs, stale).await;
        }
        let Some(epoch) = epoch else {
            self.claim(&runs);
            return;
        };
        let Some(desired) = self.desired() else {
            self.claim(&runs);
            return;
        };
        // Stop what is no longer ours, or runs with other configs, or to be restarted.
        let to_stop: Vec<TaskKey> = runs
            .iter()
            .filter(|(k, r)| match desired.get(*k) {
                None => true,
                Some(d) => d.version != r.version || self.restart_due(k, r, &d.connector),
            })
            .map(|(k, _)| k.clone())
            .collect();
        self.stop_runs(&mut runs, to_stop).await;
        // Pause and resume; restart requests seen by now are handled.
        for (k, r) in runs.iter_mut() {
            let Some(d) = desired.get(k) else { continue };
            r.restart_seen = r
                .restart_seen
                .max(d.restart.as_ref().map_or(0, |q| q.offset));
            let pause = d.connector.target == TargetState::Paused;
            if pause != r.paused {
                if let Some(h) = &r.handle {
                    if pause {
                        h.pause();
                    } else {
                        h.resume();
                    }
                }
                r.paused = pause;
            }
        }
        self.claim(&runs);
        // Start what is ours and not running.
        for (key, d) in desired {
            if runs.contains_key(&key) || self.root.is_cancelled() {
                continue;
            }
            let elsewhere: Vec<String> = self
                .engine
                .view()
                .members
                .running_elsewhere(&key, self.engine.me())
                .into_iter()
                .map(str::to_owned)
                .collect();
            if !elsewhere.is_empty() {
                tracing::debug!(task = %key, previous = ?elsewhere, "waiting for the previous owner to let the task go");
                continue;
            }
            match self.start_run(&key, &d, epoch).await {
                Ok(run) => {
                    runs.insert(key, run);
                    self.claim(&runs);
                    self.status_now.notify_one();
                }
                Err(e) => {
                    tracing::warn!(task = %key, error = %e, "could not take the task over; trying again")
                }
            }
        }
    }

    /// The tasks this worker should run now; `None` when it cannot tell yet (the
    /// assignment needs config records not read yet).
    fn desired(&self) -> Option<BTreeMap<TaskKey, Desired>> {
        let v = self.engine.view();
        let Some(a) = v.members.assignment() else {
            return Some(BTreeMap::new());
        };
        if v.configs.next_offset() < a.config_offset {
            return None;
        }
        if a.incarnations.get(self.engine.me()) != Some(&self.engine.incarnation()) {
            return Some(BTreeMap::new());
        }
        let runnable = v.configs.runnable_tasks();
        Some(
            a.assignment
                .get(self.engine.me())
                .into_iter()
                .flatten()
                .filter_map(|k| {
                    let version = *runnable.get(k)?;
                    let connector = v.configs.get(&k.connector)?.clone();
                    let restart = v.configs.restart(&k.connector).cloned();
                    Some((
                        k.clone(),
                        Desired {
                            generation: a.generation,
                            version,
                            connector,
                            restart,
                        },
                    ))
                })
                .collect(),
        )
    }

    fn restart_due(&self, key: &TaskKey, run: &Run, c: &ClusterConnector) -> bool {
        let Some(req) = self.engine.view().configs.restart(&key.connector).cloned() else {
            return false;
        };
        if req.offset <= run.restart_seen || c.restart_offset != req.offset {
            return false;
        }
        if req.task.is_some_and(|t| t != key.task) {
            return false;
        }
        !req.only_failed
            || self
                .cells()
                .get(key)
                .is_some_and(|s| s.snapshot().state == State::Failed)
    }

    fn claim(&self, runs: &BTreeMap<TaskKey, Run>) {
        self.engine.set_claimed(
            runs.iter()
                .map(|(k, r)| (k.clone(), r.generation))
                .collect(),
        );
    }

    async fn stop_runs(&self, runs: &mut BTreeMap<TaskKey, Run>, keys: Vec<TaskKey>) {
        let handles: Vec<TaskHandle> = keys
            .iter()
            .filter_map(|k| runs.remove(k))
            .filter_map(|r| r.handle)
            .collect();
        if !handles.is_empty() {
            tracing::info!(tasks = ?keys.iter().map(ToString::to_string).collect::<Vec<_>>(), "stopping tasks");
        }
        futures::future::join_all(handles.into_iter().map(TaskHandle::stop)).await;
        let mut cells = self.cells();
        for k in &keys {
            cells.remove(k);
        }
    }

    /// Fences the task, reads the offsets up to the fence, and starts it.
    async fn start_run(&self, key: &TaskKey, d: &Desired, epoch: u64) -> Result<Run, ClusterError> {
        let owner = Owner {
            worker: self.engine.me().to_owned(),
            generation: d.generation,
            config_version: u64::try_from(d.version).unwrap_or_default(),
        };
        self.engine
            .write_position(&PositionRecord::Fence {
                connector: key.connector.clone(),
                task: key.task,
                owner: owner.clone(),
            })
            .await?;
        let current = self.engine.view().fences.owner(&key.connector, key.task);
        if current.as_ref() != Some(&owner) {
            return Err(ClusterError::Fenced(format!(
                "task {key} is fenced by {current:?} since"
            )));
        }
        let status = StatusCell::new(key.task, self.engine.me());
        self.cells().insert(key.clone(), status.clone());
        let restart_seen = d.restart.as_ref().map_or(0, |r| r.offset);
        let paused = d.connector.target == TargetState::Paused;
        let checked = common::check_offline(
            &self.registry,
            &self.settings.placeholders,
            &d.connector.config,
        );
        let task_config = current_tasks(&d.connector)
            .and_then(|t| t.tasks.get(key.task as usize))
            .cloned();
        let handle = match (checked, task_config) {
            (Ok(checked), Some(config)) => {
                let run = common::task_run(RunParts {
                    connector: &key.connector,
                    task_id: key.task,
                    config,
                    raw: &checked.config,
                    resolved: &checked.resolved,
                    plugin: checked.plugin.clone(),
                    framework: &checked.framework,
                    sink: Arc::new(LeasedSink::new(
                        self.sink.clone(),
                        self.engine.clone(),
                        epoch,
                    )),
                    offsets: Arc::new(FencedOffsets::new(
                        self.engine.clone(),
                        key.clone(),
                        owner,
                        epoch,
                    )) as Arc<dyn OffsetStore>,
                    status: status.clone(),
                    settings: self.settings.clone(),
                });
                run.map(|r| task_loop::spawn(r, &self.root, paused))
            }
            (Err(errors), _) => {
                status.update(|s| {
                    s.state = State::Failed;
                    s.trace = Some(FieldError::join(&errors));
                });
                None
            }
            (_, None) => None,
        };
        tracing::info!(task = %key, generation = d.generation, version = d.version, "task taken over");
        Ok(Run {
            handle,
            generation: d.generation,
            version: d.version,
            epoch,
            restart_seen,
            paused,
        })
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

/// A connector with its name.
type Named = (String, ClusterConnector);

/// What this worker should run for one task.
struct Desired {
    generation: u64,
    version: i64,
    connector: ClusterConnector,
    restart: Option<crate::cluster::configs::RestartRequest>,
}

fn current_tasks(c: &ClusterConnector) -> Option<&crate::cluster::configs::TaskConfigs> {
    c.tasks.as_ref().filter(|t| t.based_on == c.config_offset)
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
        if h.shutting_down.load(Ordering::SeqCst) {
            return;
        }
        if h.engine.leads() {
            h.lead().await;
        }
        h.reconcile().await;
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
impl Reconfigurable for DistributedHerder {
    async fn apply(&self, name: &str, generation: u64, result: Recomputed) {
        let ls = self.leader.lock().await;
        let Some((offset, timer)) = ls.timers.get(name) else {
            return;
        };
        if timer.generation() != generation || !self.engine.leads() {
            return;
        }
        let offset = *offset;
        drop(ls);
        let Ok(c) = self.connector(name) else { return };
        let Ok(new) = result else {
            tracing::warn!(
                connector = name,
                "recomputing the task configs failed; the tasks keep running"
            );
            return;
        };
        let Ok(checked) =
            common::check_offline(&self.registry, &self.settings.placeholders, &c.config)
        else {
            return;
        };
        let new: Vec<ConfigMap> = new
            .into_iter()
            .map(|t| common::unresolve(t, &checked.config, &checked.resolved))
            .collect();
        if c.config_offset != offset || current_tasks(&c).is_some_and(|t| t.tasks == new) {
            return;
        }
        tracing::info!(
            connector = name,
            tasks = new.len(),
            "task configs changed; writing the new split"
        );
        if let Err(e) = self
            .engine
            .write_config(&ConfigRecord::TaskConfigs {
                name: name.to_owned(),
                based_on: offset,
                tasks: new,
            })
            .await
        {
            tracing::warn!(connector = name, error = %e, "could not write the new task configs");
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

    fn plugins(&self) -> Vec<PluginInfo> {
        self.registry.infos()
    }

    fn plugin_config(&self, class: &str) -> Option<ConfigDef> {
        self.registry.find(class).map(|p| p.config_def())
    }

    async fn validate(&self, config: ConfigMap) -> Vec<FieldError> {
        common::check_live(&self.registry, &self.settings.placeholders, &config)
            .await
            .err()
            .unwrap_or_default()
    }

    async fn put_connector(
        &self,
        name: &str,
        mut config: ConfigMap,
        mode: PutMode,
        initial_state: Option<TargetState>,
    ) -> Result<PutOutcome, HerderError> {
        self.refuse_if_shutting_down()?;
        check_connector_name(name).map_err(|e| HerderError::InvalidConfig(vec![e]))?;
        if let Some(inner) = config.remove("name") {
            if inner != name {
                return Err(HerderError::InvalidConfig(vec![FieldError::new(
                    "name",
                    format!("the config names {inner:?} but the request is for {name:?}"),
                )]));
            }
        }
        let existing = self.engine.view().configs.get(name).cloned();
        if mode == PutMode::CreateOnly && existing.is_some() {
            return Err(HerderError::AlreadyExists(name.to_owned()));
        }
        let normalized = normalize(config.clone()).ok();
        if let Some(c) = &existing {
            if Some(&c.config) == normalized.as_ref() && c.split_failure.is_none() {
                // Re-putting the same config changes nothing.
                return Ok(PutOutcome {
                    info: self.info(name, c),
                    created: false,
                });
            }
        }
        let checked = common::check_live(&self.registry, &self.settings.placeholders, &config)
            .await
            .map_err(HerderError::InvalidConfig)?;
        let request = self.request_id();
        self.write_config(&ConfigRecord::Connector {
            name: name.to_owned(),
            config: checked.config,
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

    async fn patch_connector(
        &self,
        name: &str,
        changes: BTreeMap<String, Option<String>>,
    ) -> Result<PutOutcome, HerderError> {
        let mut config = self.connector(name)?.config;
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
        let state = match (c.target, &c.split_failure) {
            (TargetState::Stopped, _) => State::Stopped,
            (_, Some(_)) => State::Failed,
            (TargetState::Paused, _) => State::Paused,
            (TargetState::Started, _) if current_tasks(c).is_none() => State::Unassigned,
            (TargetState::Started, _) => State::Running,
        };
        let tasks = if c.target == TargetState::Stopped {
            Vec::new()
        } else {
            let n = current_tasks(c).map_or(0, |t| t.tasks.len() as u32);
            (0..n)
                .map(|task| v.statuses.task(&TaskKey::new(name, task), &v.members))
                .collect()
        };
        Ok(ConnectorStatus {
            name: name.to_owned(),
            connector: ConnectorState {
                state,
                worker_id: v.members.leader().unwrap_or_default().to_owned(),
                trace: c.split_failure.clone(),
            },
            tasks,
            kind: "source",
        })
    }

    async fn task_infos(&self, name: &str) -> Result<Vec<TaskInfo>, HerderError> {
        let c = self.connector(name)?;
        let def = self.def_of(&c.config);
        Ok(current_tasks(&c)
            .map(|t| t.tasks.clone())
            .unwrap_or_default()
            .iter()
            .enumerate()
            .map(|(i, config)| TaskInfo {
                id: TaskId {
                    connector: name.to_owned(),
                    task: i as u32,
                },
                config: secrets::mask(config, def.as_ref()),
            })
            .collect())
    }

    async fn delete_connector(&self, name: &str) -> Result<(), HerderError> {
        self.refuse_if_shutting_down()?;
        self.connector(name)?;
        self.write_config(&ConfigRecord::Delete {
            name: name.to_owned(),
        })
        .await?;
        tracing::info!(connector = name, "connector deleted");
        Ok(())
    }

    async fn pause(&self, name: &str) -> Result<(), HerderError> {
        self.set_target(name, TargetState::Paused).await
    }

    async fn resume(&self, name: &str) -> Result<(), HerderError> {
        self.set_target(name, TargetState::Started).await
    }

    async fn stop(&self, name: &str) -> Result<(), HerderError> {
        self.set_target(name, TargetState::Stopped).await
    }

    async fn restart_connector(
        &self,
        name: &str,
        include_tasks: bool,
        only_failed: bool,
    ) -> Result<ConnectorStatus, HerderError> {
        self.refuse_if_shutting_down()?;
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
        self.refuse_if_shutting_down()?;
        let c = self.connector(name)?;
        let n = current_tasks(&c).map_or(0, |t| t.tasks.len() as u32);
        if task >= n {
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
        self.ready.load(Ordering::SeqCst) && !self.shutting_down.load(Ordering::SeqCst)
    }

    async fn shutdown(&self) {
        self.shutting_down.store(true, Ordering::SeqCst);
        self.leader.lock().await.timers.clear();
        let mut runs = self.runs.lock().await;
        let all: Vec<TaskKey> = runs.keys().cloned().collect();
        // Tasks commit what was acknowledged while the lease still holds.
        self.stop_runs(&mut runs, all).await;
        self.claim(&runs);
        self.root.cancel();
        self.engine.leave().await;
    }
}

//! The member's part of the clustered herder: making this worker's task runs match its
//! assignment — stopping the tasks it lost, waiting until a task's previous owner let it
//! go, fencing it, and starting it from the offsets committed before the fence.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use connect_api::FieldError;

use super::state::Run;
use super::{current_tasks, DistributedHerder};
use crate::cluster::assign::TaskKey;
use crate::cluster::configs::ClusterConnector;
use crate::cluster::fenced::{FencedOffsets, LeasedSink};
use crate::cluster::positions::{Owner, PositionRecord};
use crate::cluster::ClusterError;
use crate::connector_config::CONNECTOR_CLASS;
use crate::herder::common::{self, RunParts};
use crate::herder::updates::HerderUpdates;
use crate::status::{State, StatusCell};
use crate::store::{OffsetStore, TargetState};
use crate::task_loop::{self, TaskHandle};

/// What this worker should run for one task.
struct Desired {
    generation: u64,
    version: i64,
    connector: ClusterConnector,
    restart: Option<crate::cluster::configs::RestartRequest>,
}

impl DistributedHerder {
    /// Makes the task runs of this worker match its assignment.
    pub(super) async fn reconcile(&self) {
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

    pub(super) fn claim(&self, runs: &BTreeMap<TaskKey, Run>) {
        self.engine.set_claimed(
            runs.iter()
                .map(|(k, r)| (k.clone(), r.generation))
                .collect(),
        );
    }

    pub(super) async fn stop_runs(&self, runs: &mut BTreeMap<TaskKey, Run>, keys: Vec<TaskKey>) {
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
        let checked = self.parsed.get(&key.connector, &d.connector);
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
                    resolved: checked.resolved(),
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
                    config_updater: HerderUpdates::new(
                        self.me.clone(),
                        &key.connector,
                        &checked.config,
                    ),
                });
                run.map(|r| task_loop::spawn(r, &self.root, paused))
            }
            (Err(errors), _) => {
                // A plugin installed on some workers only: say so plainly.
                let class = d.connector.config.get(CONNECTOR_CLASS);
                let trace = match class {
                    Some(c) if self.catalog.config_def(c).is_none() => {
                        format!("plugin {c} is not installed on worker {}", self.engine.me())
                    }
                    _ => FieldError::join(&errors),
                };
                status.update(|s| {
                    s.state = State::Failed;
                    s.trace = Some(trace);
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
}

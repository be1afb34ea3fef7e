//! The leader's part of the clustered herder: splitting connectors into tasks (in the
//! background), keeping their reconfiguration timers, and assigning the tasks to the
//! live workers.

use std::collections::{BTreeMap, BTreeSet};
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use connect_api::FieldError;
use futures::FutureExt;
use tokio::sync::mpsc;
use tokio_util::task::AbortOnDropHandle;

use super::parsed::ParsedConfigs;
use super::state::{LeaderState, SplitDone, Splitting};
use super::{current_tasks, DistributedHerder, SPLIT_RETRY};
use crate::cluster::assign::{assign, TaskKey};
use crate::cluster::configs::{ClusterConnector, ConfigRecord};
use crate::cluster::engine::Engine;
use crate::cluster::members::{AssignmentRecord, ClusterRecord};
use crate::herder::common;
use crate::herder::reconfigure::{Recomputed, Reconfigurable};
use crate::store::TargetState;

/// Longest a connector may take to compute its task configs before its split counts as
/// failed (and is tried again later).
const SPLIT_TIMEOUT: Duration = Duration::from_secs(900);

/// A connector with its name.
type Named = (String, ClusterConnector);

impl DistributedHerder {
    /// Starts splits of connectors that have no task configs for their config yet (in
    /// the background), keeps the reconfiguration timers, and assigns the tasks when
    /// members or tasks changed.
    pub(super) async fn lead(&self) {
        let mut ls = self.leader.lock().await;
        while let Ok(done) = ls.done_rx.try_recv() {
            if ls
                .splitting
                .get(&done.name)
                .is_some_and(|s| s.based_on == done.based_on)
            {
                ls.splitting.remove(&done.name);
            }
            if done.failed {
                ls.failed.insert(done.name.clone(), Instant::now());
            } else {
                ls.failed.remove(&done.name);
            }
            if done.written {
                ls.splits.insert(done.name, done.based_on);
            }
        }
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
        // A split of a config that changed since, or of a connector deleted, is moot.
        ls.splitting.retain(|name, s| {
            all.iter()
                .any(|(n, c)| n == name && c.config_offset == s.based_on)
        });
        for (name, c) in todo {
            if ls
                .splitting
                .get(&name)
                .is_some_and(|s| s.based_on == c.config_offset)
            {
                continue;
            }
            let based_on = c.config_offset;
            let task = tokio::spawn(split_in_background(
                self.engine.clone(),
                self.parsed.clone(),
                name.clone(),
                c,
                ls.done_tx.clone(),
            ));
            ls.splitting.insert(
                name,
                Splitting {
                    based_on,
                    _task: AbortOnDropHandle::new(task),
                },
            );
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
            let Ok(checked) = self.parsed.get(name, c) else {
                continue;
            };
            if let Some(timer) = common::arm_timer(name, &checked, self.me.clone(), &self.root) {
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
            let read = current.map_or(0, |a| a.generation);
            // The last one written is not read back yet.
            if ls.assignment.is_some_and(|g| g > read) {
                return;
            }
            // Above every fence too: after a restart of the whole cluster the last
            // assignment may be older than the membership records read at start.
            let generation = read.max(v.fences.max_generation());
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
}

/// Splits one connector and writes its task configs (or why it failed) if this worker
/// still leads; reports to the leader's next round.
async fn split_in_background(
    engine: Arc<Engine>,
    parsed: ParsedConfigs,
    name: String,
    c: ClusterConnector,
    done: mpsc::UnboundedSender<SplitDone>,
) {
    let based_on = c.config_offset;
    let record = match parsed.get(&name, &c) {
        Ok(checked) => {
            // A connector that panics or never answers fails its split instead of
            // blocking it for good.
            let split = AssertUnwindSafe(common::split(&checked)).catch_unwind();
            let outcome = match tokio::time::timeout(SPLIT_TIMEOUT, split).await {
                Ok(Ok(outcome)) => outcome,
                Ok(Err(_)) => Err("the connector panicked while computing its task configs".into()),
                Err(_) => Err(format!(
                    "the connector did not compute its task configs within {} s",
                    SPLIT_TIMEOUT.as_secs()
                )),
            };
            match outcome {
                Ok(tasks) => ConfigRecord::TaskConfigs {
                    name: name.clone(),
                    based_on,
                    tasks,
                },
                Err(trace) => ConfigRecord::SplitFailed {
                    name: name.clone(),
                    based_on,
                    trace,
                },
            }
        }
        Err(errors) => ConfigRecord::SplitFailed {
            name: name.clone(),
            based_on,
            trace: FieldError::join(&errors),
        },
    };
    let failed = matches!(record, ConfigRecord::SplitFailed { .. });
    if let ConfigRecord::SplitFailed { trace, .. } = &record {
        tracing::error!(connector = %name, error = %trace, "connector failed to split into tasks");
    }
    let written = engine.leads()
        && match engine.write_config(&record).await {
            Ok(_) => true,
            Err(e) => {
                tracing::warn!(connector = %name, error = %e, "could not write task configs");
                false
            }
        };
    let _ = done.send(SplitDone {
        name,
        based_on,
        failed,
        written,
    });
    engine.changed().notify_waiters();
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
        let Ok(checked) = self.parsed.get(name, &c) else {
            return;
        };
        let new = common::unresolve_all(new, &checked.config, checked.resolved());
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

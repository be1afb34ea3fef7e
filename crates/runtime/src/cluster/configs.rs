//! The config log of a cluster (`configStoreTopic`, one queue): connector configs, target
//! states, task configs and restart requests, replayed in order by every worker, so
//! every worker converges to the same connectors.
//!
//! Any worker writes connector records (the REST call it received); only the leader
//! writes task configs. Task configs carry the log offset of the connector record they
//! were computed from, and their own log offset is their **version**: versions only
//! grow, also across a delete and a re-create, which the offsets fences rely on.

use std::collections::BTreeMap;

use connect_api::ConfigMap;
use serde::{Deserialize, Serialize};

use super::snapshot::{SnapshotPart, SnapshotRecord};
use crate::store::TargetState;

/// One record of the config log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ConfigRecord {
    /// A connector created or its config replaced.
    Connector {
        /// Name.
        name: String,
        /// Its config as written (placeholders unresolved).
        config: ConfigMap,
        /// Target state of a new connector; an update keeps the current one.
        initial_state: TargetState,
        /// Only create: a record for an existing name is refused.
        create_only: bool,
        /// Identifies the REST request, so the writer can learn the outcome.
        request: String,
    },
    /// Running, paused or stopped.
    TargetState {
        /// Name.
        name: String,
        /// The new target state.
        state: TargetState,
    },
    /// A connector removed.
    Delete {
        /// Name.
        name: String,
    },
    /// The leader's split of a connector into tasks.
    TaskConfigs {
        /// Name.
        name: String,
        /// Offset of the connector record they were computed from.
        based_on: i64,
        /// One config per task.
        tasks: Vec<ConfigMap>,
    },
    /// The leader could not split the connector.
    SplitFailed {
        /// Name.
        name: String,
        /// Offset of the connector record.
        based_on: i64,
        /// Why (no secrets).
        trace: String,
    },
    /// Restart a connector's tasks (all, or the failed ones) or one task.
    Restart {
        /// Name.
        name: String,
        /// One task only.
        task: Option<u32>,
        /// Only tasks that failed.
        only_failed: bool,
    },
    /// A part of a snapshot of this log (read only by a starting worker).
    Snapshot(SnapshotPart),
}

impl SnapshotRecord for ConfigRecord {
    fn snapshot_part(&self) -> Option<&SnapshotPart> {
        match self {
            Self::Snapshot(part) => Some(part),
            _ => None,
        }
    }
}

/// A connector's split into tasks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskConfigs {
    /// The log offset of the task-configs record.
    pub version: i64,
    /// The connector record they were computed from.
    pub based_on: i64,
    /// One config per task.
    pub tasks: Vec<ConfigMap>,
}

/// A connector as the config log says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterConnector {
    /// Its config.
    pub config: ConfigMap,
    /// Running, paused or stopped.
    pub target: TargetState,
    /// Log offset of its latest connector record.
    pub config_offset: i64,
    /// Its task configs, once the leader computed them for the current config.
    pub tasks: Option<TaskConfigs>,
    /// Why the last split failed (for the current config).
    pub split_failure: Option<String>,
    /// Log offset of the latest restart request for it (0: none).
    pub restart_offset: i64,
}

/// What applying a connector record did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Created.
    Created,
    /// Config replaced.
    Updated,
    /// Refused: the name exists and the record was create-only.
    Exists,
    /// Any other record.
    Applied,
    /// Ignored (no such connector, or stale task configs).
    Ignored,
}

/// A restart request, as applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestartRequest {
    /// Log offset of the request.
    pub offset: i64,
    /// One task only.
    pub task: Option<u32>,
    /// Only tasks that failed.
    pub only_failed: bool,
}

/// The connectors, as of some position in the config log.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ConfigState {
    connectors: BTreeMap<String, ClusterConnector>,
    restarts: BTreeMap<String, RestartRequest>,
    /// One past the last record applied.
    next_offset: i64,
}

impl ConfigState {
    /// Applies the record at `offset`, in log order.
    pub fn apply(&mut self, offset: i64, record: &ConfigRecord) -> Outcome {
        self.next_offset = self.next_offset.max(offset + 1);
        match record {
            ConfigRecord::Connector {
                name,
                config,
                initial_state,
                create_only,
                ..
            } => match self.connectors.get_mut(name) {
                Some(_) if *create_only => Outcome::Exists,
                Some(c) => {
                    c.config = config.clone();
                    c.config_offset = offset;
                    c.split_failure = None;
                    Outcome::Updated
                }
                None => {
                    self.connectors.insert(
                        name.clone(),
                        ClusterConnector {
                            config: config.clone(),
                            target: *initial_state,
                            config_offset: offset,
                            tasks: None,
                            split_failure: None,
                            restart_offset: 0,
                        },
                    );
                    Outcome::Created
                }
            },
            ConfigRecord::TargetState { name, state } => match self.connectors.get_mut(name) {
                Some(c) => {
                    c.target = *state;
                    Outcome::Applied
                }
                None => Outcome::Ignored,
            },
            ConfigRecord::Delete { name } => {
                self.restarts.remove(name);
                match self.connectors.remove(name) {
                    Some(_) => Outcome::Applied,
                    None => Outcome::Ignored,
                }
            }
            ConfigRecord::TaskConfigs {
                name,
                based_on,
                tasks,
            } => match self.connectors.get_mut(name) {
                Some(c) if c.config_offset == *based_on => {
                    c.tasks = Some(TaskConfigs {
                        version: offset,
                        based_on: *based_on,
                        tasks: tasks.clone(),
                    });
                    c.split_failure = None;
                    Outcome::Applied
                }
                _ => Outcome::Ignored,
            },
            ConfigRecord::SplitFailed {
                name,
                based_on,
                trace,
            } => match self.connectors.get_mut(name) {
                Some(c) if c.config_offset == *based_on => {
                    c.split_failure = Some(trace.clone());
                    Outcome::Applied
                }
                _ => Outcome::Ignored,
            },
            ConfigRecord::Restart {
                name,
                task,
                only_failed,
            } => match self.connectors.get_mut(name) {
                Some(c) => {
                    c.restart_offset = offset;
                    self.restarts.insert(
                        name.clone(),
                        RestartRequest {
                            offset,
                            task: *task,
                            only_failed: *only_failed,
                        },
                    );
                    Outcome::Applied
                }
                None => Outcome::Ignored,
            },
            // The state before the snapshot is already here.
            ConfigRecord::Snapshot(_) => Outcome::Ignored,
        }
    }

    /// One connector.
    pub fn get(&self, name: &str) -> Option<&ClusterConnector> {
        self.connectors.get(name)
    }

    /// Every connector, by name.
    pub fn connectors(&self) -> &BTreeMap<String, ClusterConnector> {
        &self.connectors
    }

    /// The latest restart request of a connector.
    pub fn restart(&self, name: &str) -> Option<&RestartRequest> {
        self.restarts.get(name)
    }

    /// One past the last record applied.
    pub fn next_offset(&self) -> i64 {
        self.next_offset
    }

    /// Connectors whose current config has no task configs (nor a failed split) yet:
    /// the leader's to-do list.
    pub fn unsplit(&self) -> Vec<(&str, &ClusterConnector)> {
        self.connectors
            .iter()
            .filter(|(_, c)| {
                c.target != TargetState::Stopped
                    && c.split_failure.is_none()
                    && c.tasks
                        .as_ref()
                        .is_none_or(|t| t.based_on != c.config_offset)
            })
            .map(|(n, c)| (n.as_str(), c))
            .collect()
    }

    /// Tasks that should run (connectors not STOPPED, with task configs for their
    /// current config), with the version of their configs.
    pub fn runnable_tasks(&self) -> BTreeMap<super::assign::TaskKey, i64> {
        self.connectors
            .iter()
            .filter(|(_, c)| c.target != TargetState::Stopped)
            .filter_map(|(name, c)| {
                let t = c.tasks.as_ref().filter(|t| t.based_on == c.config_offset)?;
                Some((name, t))
            })
            .flat_map(|(name, t)| {
                (0..t.tasks.len() as u32)
                    .map(move |i| (super::assign::TaskKey::new(name, i), t.version))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(v: &str) -> ConfigMap {
        [("k".to_string(), v.to_string())].into_iter().collect()
    }

    fn put(name: &str, v: &str, create_only: bool) -> ConfigRecord {
        ConfigRecord::Connector {
            name: name.into(),
            config: cfg(v),
            initial_state: TargetState::Started,
            create_only,
            request: "r".into(),
        }
    }

    fn split(name: &str, based_on: i64, n: usize) -> ConfigRecord {
        ConfigRecord::TaskConfigs {
            name: name.into(),
            based_on,
            tasks: vec![cfg("t"); n],
        }
    }

    #[test]
    fn a_create_only_record_for_an_existing_name_is_refused_in_log_order() {
        let mut s = ConfigState::default();
        assert_eq!(s.apply(0, &put("a", "1", true)), Outcome::Created);
        assert_eq!(s.apply(1, &put("a", "2", true)), Outcome::Exists);
        assert_eq!(s.get("a").unwrap().config, cfg("1"));
        assert_eq!(s.apply(2, &put("a", "3", false)), Outcome::Updated);
        assert_eq!(s.get("a").unwrap().config, cfg("3"));
    }

    #[test]
    fn task_configs_count_only_for_the_config_they_were_computed_from() {
        let mut s = ConfigState::default();
        s.apply(0, &put("a", "1", false));
        assert_eq!(s.unsplit().len(), 1);
        s.apply(1, &split("a", 0, 2));
        assert!(s.unsplit().is_empty());
        assert_eq!(s.runnable_tasks().len(), 2);
        // A new config makes the split stale until the leader splits again.
        s.apply(2, &put("a", "2", false));
        assert!(s.runnable_tasks().is_empty());
        assert_eq!(s.apply(3, &split("a", 0, 3)), Outcome::Ignored);
        s.apply(4, &split("a", 2, 1));
        let tasks = s.runnable_tasks();
        assert_eq!(tasks.len(), 1);
        assert_eq!(
            tasks.values().next(),
            Some(&4),
            "the version is the record's offset"
        );
    }

    #[test]
    fn stopped_connectors_run_no_tasks_and_deleted_ones_are_gone() {
        let mut s = ConfigState::default();
        s.apply(0, &put("a", "1", false));
        s.apply(1, &split("a", 0, 1));
        s.apply(
            2,
            &ConfigRecord::TargetState {
                name: "a".into(),
                state: TargetState::Stopped,
            },
        );
        assert!(s.runnable_tasks().is_empty());
        assert!(s.unsplit().is_empty());
        s.apply(3, &ConfigRecord::Delete { name: "a".into() });
        assert!(s.get("a").is_none());
        assert_eq!(s.next_offset(), 4);
    }

    #[test]
    fn records_round_trip_as_tagged_json() {
        let r = put("a", "1", true);
        let text = serde_json::to_string(&r).unwrap();
        assert!(text.starts_with(r#"{"type":"connector""#), "{text}");
        assert_eq!(serde_json::from_str::<ConfigRecord>(&text).unwrap(), r);
    }
}

//! The offsets log of a cluster (`positionStoreTopic`, one queue, so every worker reads
//! the same records in the same order) and the rule that fences zombies.
//!
//! A worker that is given a task writes a **fence** `(connector, task, worker,
//! generation, config version)` before starting it, reads the log up to its own fence,
//! and resumes from the latest valid commit it found. A **commit** is valid only if it
//! carries exactly the latest fence of its task, and that fence belongs to the
//! connector's newest task-config version. So once the new owner's fence is in the log,
//! nothing the old owner writes later counts — whether it was killed, frozen with
//! SIGSTOP or cut off — and the new owner resumes from the last offset the old owner
//! committed before the fence: never an older one.
//!
//! Offsets changed through the REST API (only while the connector is STOPPED) drop every
//! fence of the connector: commits of any task run from before are ignored after them.

use std::collections::BTreeMap;

use connect_api::{SourceOffset, SourcePartition};
use serde::{Deserialize, Serialize};

use super::snapshot::{SnapshotPart, SnapshotRecord};
use super::ClusterError;

/// Who may commit for a task: its owner at one assignment generation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Owner {
    /// Worker id.
    pub worker: String,
    /// Assignment generation the task was given in.
    pub generation: u64,
    /// Version of the connector's task configs the task runs with.
    pub config_version: u64,
}

/// One record of the offsets log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum PositionRecord {
    /// A worker takes over a task.
    Fence {
        /// Connector name.
        connector: String,
        /// Task number.
        task: u32,
        /// The new owner.
        owner: Owner,
    },
    /// Acknowledged offsets of a task.
    Commit {
        /// Connector name.
        connector: String,
        /// Task number.
        task: u32,
        /// The writer, as fenced.
        owner: Owner,
        /// Partition → offset.
        offsets: Vec<(SourcePartition, SourceOffset)>,
    },
    /// Offsets set (`Some`) or removed (`None`) through the REST API.
    Alter {
        /// Connector name.
        connector: String,
        /// The changes.
        changes: Vec<(SourcePartition, Option<SourceOffset>)>,
    },
    /// Every offset of a connector removed through the REST API (also on delete).
    Reset {
        /// Connector name.
        connector: String,
    },
    /// A part of a snapshot of this log (read only by a starting worker).
    Snapshot(SnapshotPart),
}

impl SnapshotRecord for PositionRecord {
    fn snapshot_part(&self) -> Option<&SnapshotPart> {
        match self {
            Self::Snapshot(part) => Some(part),
            _ => None,
        }
    }
}

/// The state of the offsets log in a snapshot.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PositionsSnapshot {
    /// The fences.
    pub fences: Fences,
    /// Committed offsets: (connector, partition, offset).
    pub offsets: Vec<(String, SourcePartition, SourceOffset)>,
}

impl PositionsSnapshot {
    /// The text of a snapshot of the offsets log (the same JSON as a
    /// [`PositionsSnapshot`]), written from the worker's view without copying it.
    pub fn text<'a>(
        fences: &'a Fences,
        offsets: impl Iterator<Item = (&'a str, &'a SourcePartition, &'a SourceOffset)>,
    ) -> Result<String, ClusterError> {
        #[derive(Serialize)]
        struct Out<'a> {
            fences: &'a Fences,
            offsets: Vec<(&'a str, &'a SourcePartition, &'a SourceOffset)>,
        }
        serde_json::to_string(&Out {
            fences,
            offsets: offsets.collect(),
        })
        .map_err(ClusterError::Encode)
    }
}

/// What applying one record does to the offsets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Nothing changes (a fence).
    None,
    /// Set or remove these offsets of the connector.
    Change(Vec<(SourcePartition, Option<SourceOffset>)>),
    /// Remove every offset of the connector.
    Reset,
    /// A commit from a writer that no longer owns its task: ignored.
    Fenced {
        /// The writer.
        writer: Owner,
        /// Who owns the task now (none: no run of it is current).
        current: Option<Owner>,
    },
}

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
struct ConnectorFences {
    /// Newest task-config version fenced.
    config_version: u64,
    /// Task → its current owner.
    owners: BTreeMap<u32, Owner>,
}

/// The fences of every connector, as of some position in the offsets log.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct Fences {
    connectors: BTreeMap<String, ConnectorFences>,
    /// The highest generation any fence ever carried. Kept for good (also when the
    /// fences themselves are dropped), so that a leader of a cluster restarted after
    /// its membership records aged out of its reading window still numbers new
    /// assignments above every fence.
    #[serde(default)]
    max_generation: u64,
}

impl Fences {
    /// Applies one record, in log order, and says what it does to the offsets.
    pub fn apply(&mut self, record: &PositionRecord) -> Effect {
        match record {
            PositionRecord::Fence {
                connector,
                task,
                owner,
            } => {
                self.max_generation = self.max_generation.max(owner.generation);
                let c = self.connectors.entry(connector.clone()).or_default();
                if owner.config_version > c.config_version {
                    // New task configs: every run of an older version is over.
                    c.config_version = owner.config_version;
                    c.owners.clear();
                }
                if owner.config_version == c.config_version {
                    let newer = c
                        .owners
                        .get(task)
                        .is_none_or(|o| o.generation <= owner.generation);
                    if newer {
                        c.owners.insert(*task, owner.clone());
                    }
                }
                Effect::None
            }
            PositionRecord::Commit {
                connector,
                task,
                owner,
                offsets,
            } => {
                let current = self.owner(connector, *task);
                if current.as_ref() == Some(owner) {
                    Effect::Change(
                        offsets
                            .iter()
                            .map(|(p, o)| (p.clone(), Some(o.clone())))
                            .collect(),
                    )
                } else {
                    Effect::Fenced {
                        writer: owner.clone(),
                        current,
                    }
                }
            }
            PositionRecord::Alter { connector, changes } => {
                self.drop_fences(connector);
                Effect::Change(changes.clone())
            }
            PositionRecord::Reset { connector } => {
                self.drop_fences(connector);
                Effect::Reset
            }
            // The state before the snapshot is already here.
            PositionRecord::Snapshot(_) => Effect::None,
        }
    }

    /// The highest generation any fence carried (at least that of every current
    /// owner, also in a copy written before the highest one was kept).
    pub fn max_generation(&self) -> u64 {
        self.connectors
            .values()
            .flat_map(|c| c.owners.values())
            .map(|o| o.generation)
            .fold(self.max_generation, u64::max)
    }

    /// The current owner of a task, if a run of it is fenced in.
    pub fn owner(&self, connector: &str, task: u32) -> Option<Owner> {
        let c = self.connectors.get(connector)?;
        c.owners
            .get(&task)
            .filter(|o| o.config_version == c.config_version)
            .cloned()
    }

    fn drop_fences(&mut self, connector: &str) {
        if let Some(c) = self.connectors.get_mut(connector) {
            c.owners.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn owner(worker: &str, generation: u64, config_version: u64) -> Owner {
        Owner {
            worker: worker.into(),
            generation,
            config_version,
        }
    }

    fn fence(task: u32, o: &Owner) -> PositionRecord {
        PositionRecord::Fence {
            connector: "c".into(),
            task,
            owner: o.clone(),
        }
    }

    fn commit(task: u32, o: &Owner, seq: i64) -> PositionRecord {
        PositionRecord::Commit {
            connector: "c".into(),
            task,
            owner: o.clone(),
            offsets: vec![(
                SourcePartition::try_from(json!({"index": "i"})).unwrap(),
                SourceOffset::try_from(json!({"seq": seq})).unwrap(),
            )],
        }
    }

    fn accepted(e: &Effect) -> bool {
        matches!(e, Effect::Change(_))
    }

    #[test]
    fn commits_of_the_fenced_owner_count_and_a_zombies_later_commits_do_not() {
        let mut f = Fences::default();
        let w1 = owner("w1", 1, 1);
        let w2 = owner("w2", 2, 1);
        f.apply(&fence(0, &w1));
        assert!(accepted(&f.apply(&commit(0, &w1, 10))));
        // w1 froze; w2 took the task over.
        f.apply(&fence(0, &w2));
        let late = f.apply(&commit(0, &w1, 20));
        assert_eq!(
            late,
            Effect::Fenced {
                writer: w1,
                current: Some(w2.clone())
            }
        );
        assert!(accepted(&f.apply(&commit(0, &w2, 30))));
    }

    #[test]
    fn a_commit_without_any_fence_is_ignored() {
        let mut f = Fences::default();
        assert!(!accepted(&f.apply(&commit(0, &owner("w1", 1, 1), 1))));
    }

    #[test]
    fn new_task_configs_end_every_run_of_the_old_ones() {
        let mut f = Fences::default();
        let old0 = owner("w1", 1, 1);
        let old1 = owner("w2", 1, 1);
        f.apply(&fence(0, &old0));
        f.apply(&fence(1, &old1));
        // Version 2 has one task only; task 1's old run must not commit any more.
        f.apply(&fence(0, &owner("w3", 2, 2)));
        assert!(!accepted(&f.apply(&commit(1, &old1, 5))));
        assert!(!accepted(&f.apply(&commit(0, &old0, 5))));
        // A late fence of the old version changes nothing.
        f.apply(&fence(1, &owner("w2", 3, 1)));
        assert_eq!(f.owner("c", 1), None);
    }

    #[test]
    fn an_older_generation_fence_does_not_displace_a_newer_one() {
        let mut f = Fences::default();
        let newer = owner("w2", 5, 1);
        f.apply(&fence(0, &newer));
        f.apply(&fence(0, &owner("w1", 4, 1)));
        assert_eq!(f.owner("c", 0), Some(newer));
    }

    #[test]
    fn offsets_changed_through_rest_drop_every_fence() {
        let mut f = Fences::default();
        let w1 = owner("w1", 1, 1);
        f.apply(&fence(0, &w1));
        let reset = f.apply(&PositionRecord::Reset {
            connector: "c".into(),
        });
        assert_eq!(reset, Effect::Reset);
        assert!(!accepted(&f.apply(&commit(0, &w1, 1))));
    }

    #[test]
    fn the_highest_generation_ever_fenced_outlives_dropped_fences_and_snapshots() {
        let mut f = Fences::default();
        f.apply(&fence(0, &owner("w1", 7, 1)));
        f.apply(&fence(1, &owner("w2", 3, 1)));
        // New task configs clear the owners, a reset drops the fences.
        f.apply(&fence(0, &owner("w2", 2, 2)));
        f.apply(&PositionRecord::Reset {
            connector: "c".into(),
        });
        assert_eq!(f.max_generation(), 7);
        let copy: Fences = serde_json::from_str(&serde_json::to_string(&f).unwrap()).unwrap();
        assert_eq!(copy.max_generation(), 7);
        // A copy written before the highest generation was kept: its owners tell.
        let old: Fences = serde_json::from_str(
            r#"{"connectors":{"c":{"config_version":1,"owners":{"0":
                {"worker":"w1","generation":4,"config_version":1}}}}}"#,
        )
        .unwrap();
        assert_eq!(old.max_generation(), 4);
    }

    #[test]
    fn records_round_trip_as_tagged_json() {
        let r = commit(3, &owner("w1", 7, 2), 42);
        let text = serde_json::to_string(&r).unwrap();
        assert!(text.starts_with(r#"{"type":"commit""#), "{text}");
        assert_eq!(serde_json::from_str::<PositionRecord>(&text).unwrap(), r);
    }
}

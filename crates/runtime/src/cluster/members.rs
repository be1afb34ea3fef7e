//! Membership of a cluster, read from the heartbeats in the cluster topic (one queue).
//!
//! Time is the log's own: the broker's store timestamp of the newest record read. A
//! member is live while its last heartbeat is at most the session timeout older than
//! that, and it has not said it is leaving. Every worker reading the same records
//! therefore reaches the same view, whatever its own clock says. The leader is the live
//! member that joined first (ties by worker id), so a joining worker never takes the
//! lead from a running one.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::assign::{Assignment, TaskKey};
use super::snapshot::SnapshotRefs;

/// A worker's periodic "I am alive" record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Heartbeat {
    /// Worker id.
    pub worker: String,
    /// Changes each time the worker process starts (a restarted worker is a new member).
    pub incarnation: u64,
    /// Where its REST API answers (`http://host:port`), for `GET /workers`.
    pub rest_url: String,
    /// Tasks it runs now, with the generation each was given in.
    pub running: Vec<Claim>,
    /// Set by a worker that is stopping cleanly and has stopped its tasks.
    #[serde(default)]
    pub leaving: bool,
    /// The newest snapshots of the config and offsets logs the worker knows of, for
    /// workers that start without a local copy.
    #[serde(default, skip_serializing_if = "SnapshotRefs::is_empty")]
    pub snapshots: SnapshotRefs,
}

/// A task a worker runs (JSON object keys must be strings, so claims are a list).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claim {
    /// The task.
    #[serde(flatten)]
    pub task: TaskKey,
    /// The generation it was given in.
    pub generation: u64,
}

/// The leader's decision: who runs what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssignmentRecord {
    /// Grows with every new assignment.
    pub generation: u64,
    /// The leader that computed it.
    pub leader: String,
    /// The incarnation of each member it was computed for.
    pub incarnations: BTreeMap<String, u64>,
    /// Worker → tasks.
    pub assignment: Assignment,
    /// The config log's position the task list was taken at: a worker applies the
    /// assignment once it has read the config log that far.
    pub config_offset: i64,
}

/// One record of the cluster topic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClusterRecord {
    /// A heartbeat.
    Heartbeat(Heartbeat),
    /// A new assignment.
    Assignment(AssignmentRecord),
}

/// What is known of one member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// Its current incarnation.
    pub incarnation: u64,
    /// Log time of the first heartbeat of this incarnation.
    pub joined_ms: i64,
    /// Log time of its last heartbeat.
    pub last_seen_ms: i64,
    /// Its REST address.
    pub rest_url: String,
    /// What it said it runs.
    pub running: BTreeMap<TaskKey, u64>,
    /// Whether it said it is leaving.
    pub leaving: bool,
}

/// The membership view as of some position in the cluster topic.
#[derive(Debug, Clone)]
pub struct Members {
    /// The session timeout, in milliseconds of log time.
    session_ms: i64,
    members: BTreeMap<String, Member>,
    /// Newest store timestamp read.
    now_ms: i64,
    /// The newest assignment read.
    assignment: Option<AssignmentRecord>,
}

impl Members {
    /// An empty view for a session timeout of `session_ms`.
    pub fn new(session_ms: i64) -> Self {
        Self {
            session_ms,
            members: BTreeMap::new(),
            now_ms: 0,
            assignment: None,
        }
    }

    /// The session timeout, in milliseconds.
    pub fn session_ms(&self) -> i64 {
        self.session_ms
    }

    /// Applies one record stored at `store_ms` (broker time), in log order.
    pub fn apply(&mut self, record: &ClusterRecord, store_ms: i64) {
        self.now_ms = self.now_ms.max(store_ms);
        match record {
            ClusterRecord::Heartbeat(hb) => {
                // A member that was gone (restarted, left, or silent past the session
                // timeout) joins anew: it goes to the back of the leader line.
                let joined_ms = match self.members.get(&hb.worker) {
                    Some(m)
                        if m.incarnation == hb.incarnation
                            && !m.leaving
                            && m.last_seen_ms >= store_ms - self.session_ms =>
                    {
                        m.joined_ms
                    }
                    _ => store_ms,
                };
                self.members.insert(
                    hb.worker.clone(),
                    Member {
                        incarnation: hb.incarnation,
                        joined_ms,
                        last_seen_ms: store_ms,
                        rest_url: hb.rest_url.clone(),
                        running: hb
                            .running
                            .iter()
                            .map(|c| (c.task.clone(), c.generation))
                            .collect(),
                        leaving: hb.leaving,
                    },
                );
            }
            ClusterRecord::Assignment(a) => {
                let newer = self
                    .assignment
                    .as_ref()
                    .is_none_or(|cur| a.generation > cur.generation);
                if newer {
                    self.assignment = Some(a.clone());
                }
            }
        }
    }

    /// Log time: the newest store timestamp read.
    pub fn now_ms(&self) -> i64 {
        self.now_ms
    }

    /// Live members (heard from within the session timeout of log time, not leaving).
    pub fn live(&self) -> BTreeMap<&str, &Member> {
        self.members
            .iter()
            .filter(|(_, m)| !m.leaving && m.last_seen_ms >= self.now_ms - self.session_ms)
            .map(|(id, m)| (id.as_str(), m))
            .collect()
    }

    /// The live member that joined first (ties by id).
    pub fn leader(&self) -> Option<&str> {
        self.live()
            .into_iter()
            .min_by(|(a, x), (b, y)| x.joined_ms.cmp(&y.joined_ms).then(a.cmp(b)))
            .map(|(id, _)| id)
    }

    /// Every member heard of, live or not.
    pub fn all(&self) -> &BTreeMap<String, Member> {
        &self.members
    }

    /// The newest assignment read.
    pub fn assignment(&self) -> Option<&AssignmentRecord> {
        self.assignment.as_ref()
    }

    /// Live members that say they still run `task` (other than `except`).
    pub fn running_elsewhere(&self, task: &TaskKey, except: &str) -> Vec<&str> {
        self.live()
            .into_iter()
            .filter(|(id, m)| *id != except && m.running.contains_key(task))
            .map(|(id, _)| id)
            .collect()
    }

    /// The assignment the leader should publish now, if the current one no longer fits
    /// the live members or the task list: `None` when nothing needs to change.
    pub fn needs_assignment(
        &self,
        tasks: &BTreeSet<TaskKey>,
    ) -> Option<(BTreeSet<String>, BTreeMap<String, u64>)> {
        let live = self.live();
        let members: BTreeSet<String> = live.keys().map(|s| s.to_string()).collect();
        let incarnations: BTreeMap<String, u64> = live
            .iter()
            .map(|(id, m)| (id.to_string(), m.incarnation))
            .collect();
        let fits = self.assignment.as_ref().is_some_and(|a| {
            a.incarnations == incarnations
                && a.assignment
                    .values()
                    .flatten()
                    .cloned()
                    .collect::<BTreeSet<_>>()
                    == *tasks
        });
        (!fits).then_some((members, incarnations))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SESSION: i64 = 10_000;

    fn hb(worker: &str, incarnation: u64) -> ClusterRecord {
        ClusterRecord::Heartbeat(Heartbeat {
            worker: worker.into(),
            incarnation,
            rest_url: format!("http://{worker}"),
            running: Vec::new(),
            leaving: false,
            snapshots: SnapshotRefs::default(),
        })
    }

    #[test]
    fn heartbeats_with_claims_encode_as_json_and_come_back() {
        let record = ClusterRecord::Heartbeat(Heartbeat {
            worker: "w1".into(),
            incarnation: 7,
            rest_url: "http://127.0.0.1:1".into(),
            running: vec![Claim {
                task: TaskKey::new("c", 2),
                generation: 3,
            }],
            leaving: false,
            snapshots: SnapshotRefs {
                config: Some(crate::cluster::snapshot::SnapshotRef {
                    offset: 9,
                    as_of: 8,
                    store_ms: 1,
                }),
                positions: None,
            },
        });
        let bytes = crate::cluster::log::encode("k", &record).unwrap();
        match crate::cluster::log::decode::<ClusterRecord>("k", &bytes) {
            crate::cluster::log::Decoded::Ours(back) => assert_eq!(back, record),
            other => panic!("{other:?}"),
        }
        let mut m = Members::new(SESSION);
        m.apply(&record, 1_000);
        assert_eq!(m.running_elsewhere(&TaskKey::new("c", 2), "w2"), ["w1"]);
    }

    #[test]
    fn assignments_encode_as_json_and_come_back() {
        let mut assignment = Assignment::new();
        assignment.insert("w1".into(), [TaskKey::new("c", 0)].into());
        let record = ClusterRecord::Assignment(AssignmentRecord {
            generation: 1,
            leader: "w1".into(),
            incarnations: [("w1".to_string(), 5)].into(),
            assignment,
            config_offset: 3,
        });
        let bytes = crate::cluster::log::encode("k", &record).unwrap();
        assert!(matches!(
            crate::cluster::log::decode::<ClusterRecord>("k", &bytes),
            crate::cluster::log::Decoded::Ours(back) if back == record
        ));
    }

    #[test]
    fn a_member_is_live_until_the_session_timeout_of_log_time_passes() {
        let mut m = Members::new(SESSION);
        m.apply(&hb("w1", 1), 1_000);
        m.apply(&hb("w2", 1), 2_000);
        m.apply(&hb("w2", 1), 11_000);
        assert_eq!(m.live().len(), 2);
        m.apply(&hb("w2", 1), 11_001);
        assert_eq!(m.live().keys().copied().collect::<Vec<_>>(), ["w2"]);
    }

    #[test]
    fn the_first_to_join_leads_and_a_newcomer_does_not_take_over() {
        let mut m = Members::new(SESSION);
        m.apply(&hb("w2", 1), 1_000);
        m.apply(&hb("w1", 1), 2_000);
        assert_eq!(m.leader(), Some("w2"));
        // w2 restarts (new incarnation): it joins anew, behind w1.
        m.apply(&hb("w2", 2), 3_000);
        assert_eq!(m.leader(), Some("w1"));
    }

    #[test]
    fn a_member_back_after_the_session_timeout_joins_at_the_back_of_the_line() {
        let mut m = Members::new(SESSION);
        m.apply(&hb("w1", 1), 1_000);
        m.apply(&hb("w2", 1), 2_000);
        // w1 froze; w2 kept beating and leads.
        m.apply(&hb("w2", 1), 12_000);
        assert_eq!(m.leader(), Some("w2"));
        m.apply(&hb("w1", 1), 12_500);
        assert_eq!(
            m.leader(),
            Some("w2"),
            "w1 came back, it does not take over"
        );
    }

    #[test]
    fn a_leaving_member_is_not_live() {
        let mut m = Members::new(SESSION);
        m.apply(&hb("w1", 1), 1_000);
        m.apply(
            &ClusterRecord::Heartbeat(Heartbeat {
                leaving: true,
                ..match hb("w1", 1) {
                    ClusterRecord::Heartbeat(h) => h,
                    ClusterRecord::Assignment(_) => unreachable!(),
                }
            }),
            1_500,
        );
        assert!(m.live().is_empty());
        assert_eq!(m.leader(), None);
    }

    #[test]
    fn a_new_assignment_is_needed_when_members_or_tasks_change() {
        let mut m = Members::new(SESSION);
        m.apply(&hb("w1", 1), 1_000);
        let tasks: BTreeSet<TaskKey> = [TaskKey::new("c", 0)].into();
        let (members, inc) = m.needs_assignment(&tasks).unwrap();
        let assignment = super::super::assign::assign(&members, &tasks, &Assignment::new());
        m.apply(
            &ClusterRecord::Assignment(AssignmentRecord {
                generation: 1,
                leader: "w1".into(),
                incarnations: inc,
                assignment,
                config_offset: 0,
            }),
            1_100,
        );
        assert!(m.needs_assignment(&tasks).is_none());
        m.apply(&hb("w2", 1), 1_200);
        assert!(m.needs_assignment(&tasks).is_some());
    }

    #[test]
    fn an_older_generation_never_replaces_a_newer_assignment() {
        let mut m = Members::new(SESSION);
        let rec = |generation| {
            ClusterRecord::Assignment(AssignmentRecord {
                generation,
                leader: "w1".into(),
                incarnations: BTreeMap::new(),
                assignment: Assignment::new(),
                config_offset: 0,
            })
        };
        m.apply(&rec(5), 1);
        m.apply(&rec(4), 2);
        assert_eq!(m.assignment().map(|a| a.generation), Some(5));
    }
}

//! The status log of a cluster (`connectStatusTopic`): every worker publishes the status
//! of the tasks it runs, on a short interval, so any worker can answer a status call for
//! every task.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::assign::TaskKey;
use super::members::Members;
use crate::status::{State, TaskStatus};

/// One worker's report.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename = "status")]
pub struct StatusRecord {
    /// Worker id.
    pub worker: String,
    /// Its incarnation.
    pub incarnation: u64,
    /// The tasks it runs.
    pub tasks: Vec<ReportedTask>,
}

/// One task in a worker's report.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReportedTask {
    /// Connector name.
    pub connector: String,
    /// The task's status.
    pub status: TaskStatus,
}

/// The latest report of every worker.
#[derive(Debug, Default, Clone)]
pub struct Statuses {
    reports: BTreeMap<String, StatusRecord>,
}

impl Statuses {
    /// Keeps `record` as its worker's latest report.
    pub fn apply(&mut self, record: StatusRecord) {
        self.reports.insert(record.worker.clone(), record);
    }

    /// The status of `task`: as reported by the live worker it is assigned to, else by
    /// any live worker that reports it, else UNASSIGNED.
    pub fn task(&self, task: &TaskKey, members: &Members) -> TaskStatus {
        let live = members.live();
        let owner = members.assignment().and_then(|a| {
            a.assignment
                .iter()
                .find(|(_, tasks)| tasks.contains(task))
                .map(|(w, _)| w.clone())
        });
        let reported_by = |worker: &str| {
            let m = live.get(worker)?;
            let r = self.reports.get(worker)?;
            if r.incarnation != m.incarnation {
                return None;
            }
            r.tasks
                .iter()
                .find(|t| t.connector == task.connector && t.status.id == task.task)
                .map(|t| t.status.clone())
        };
        owner
            .as_deref()
            .and_then(reported_by)
            .or_else(|| live.keys().find_map(|w| reported_by(w)))
            .unwrap_or_else(|| {
                let mut s = crate::status::StatusCell::new(task.task, "").snapshot();
                s.state = State::Unassigned;
                s.worker_id = owner.unwrap_or_default();
                s
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::assign::Assignment;
    use crate::cluster::members::{AssignmentRecord, ClusterRecord, Heartbeat};
    use crate::status::StatusCell;

    fn heartbeat(m: &mut Members, worker: &str, at: i64) {
        m.apply(
            &ClusterRecord::Heartbeat(Heartbeat {
                worker: worker.into(),
                incarnation: 1,
                rest_url: String::new(),
                running: Vec::new(),
                leaving: false,
                snapshots: Default::default(),
            }),
            at,
        );
    }

    fn report(worker: &str, state: State) -> StatusRecord {
        let mut status = StatusCell::new(0, worker).snapshot();
        status.state = state;
        StatusRecord {
            worker: worker.into(),
            incarnation: 1,
            tasks: vec![ReportedTask {
                connector: "c".into(),
                status,
            }],
        }
    }

    #[test]
    fn the_assigned_owners_report_wins_and_dead_workers_reports_do_not_count() {
        let task = TaskKey::new("c", 0);
        let mut m = Members::new(10_000);
        heartbeat(&mut m, "w1", 1_000);
        heartbeat(&mut m, "w2", 1_000);
        let mut assignment = Assignment::new();
        assignment.insert("w2".into(), [task.clone()].into());
        m.apply(
            &ClusterRecord::Assignment(AssignmentRecord {
                generation: 1,
                leader: "w1".into(),
                incarnations: BTreeMap::new(),
                assignment,
                config_offset: 0,
            }),
            1_100,
        );
        let mut s = Statuses::default();
        s.apply(report("w1", State::Running));
        s.apply(report("w2", State::Paused));
        assert_eq!(s.task(&task, &m).worker_id, "w2");
        assert_eq!(s.task(&task, &m).state, State::Paused);
        // w2 goes silent: only w1's (stale) report is left, from a live worker.
        heartbeat(&mut m, "w1", 12_000);
        assert_eq!(s.task(&task, &m).worker_id, "w1");
        // Both silent: nobody runs it.
        heartbeat(&mut m, "w3", 30_000);
        let t = s.task(&task, &m);
        assert_eq!(t.state, State::Unassigned);
    }
}

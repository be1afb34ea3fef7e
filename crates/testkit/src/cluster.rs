//! Clustered mode: the conf shared by the workers of one test cluster, and what
//! `GET /workers` says about them.

use std::collections::BTreeMap;

use anyhow::Context;
use serde_json::Value;

/// The cluster-wide keys every worker of one test cluster is started with: a unique
/// cluster id and four unique internal topics, so tests never share a cluster.
#[derive(Debug, Clone)]
pub struct ClusterConf {
    /// `connectClusterId`.
    pub cluster_id: String,
    /// `configStoreTopic`.
    pub config_topic: String,
    /// `positionStoreTopic`.
    pub position_topic: String,
    /// `connectStatusTopic`.
    pub status_topic: String,
    /// `clusterStoreTopic`.
    pub cluster_topic: String,
    /// `sessionTimeoutMs`.
    pub session_timeout_ms: u64,
    /// `heartbeatIntervalMs`.
    pub heartbeat_interval_ms: u64,
}

impl ClusterConf {
    /// Unique names tagged with `tag` (connect_testkit::unique_name), and the default
    /// session timeout (10 s) and heartbeat interval (1 s).
    pub fn unique(tag: &str) -> Self {
        let name = |what: &str| crate::unique_name(&format!("{tag}_{what}"));
        Self {
            cluster_id: name("cluster"),
            config_topic: name("config"),
            position_topic: name("position"),
            status_topic: name("status"),
            cluster_topic: name("members"),
            session_timeout_ms: 10_000,
            heartbeat_interval_ms: 1_000,
        }
    }

    /// The worker conf lines (`key=value\n` each) of these settings.
    pub fn to_conf_lines(&self) -> String {
        format!(
            "connectClusterId={}\nconfigStoreTopic={}\npositionStoreTopic={}\n\
             connectStatusTopic={}\nclusterStoreTopic={}\nsessionTimeoutMs={}\n\
             heartbeatIntervalMs={}\n",
            self.cluster_id,
            self.config_topic,
            self.position_topic,
            self.status_topic,
            self.cluster_topic,
            self.session_timeout_ms,
            self.heartbeat_interval_ms
        )
    }
}

/// One task of one connector.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TaskRef {
    /// Connector name.
    pub connector: String,
    /// Task number.
    pub task: u64,
}

/// One entry of `GET /workers`: a live worker and the tasks assigned to it now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerView {
    /// `worker_id`.
    pub worker_id: String,
    /// `url` (its REST base URL).
    pub url: String,
    /// `leader`.
    pub leader: bool,
    /// `tasks`.
    pub tasks: Vec<TaskRef>,
}

/// Parses a `GET /workers` body: a JSON array of
/// `{"worker_id", "url", "leader", "tasks": [{"connector", "task"}]}`.
pub fn parse_workers(body: &Value) -> anyhow::Result<Vec<WorkerView>> {
    let entries = body
        .as_array()
        .with_context(|| format!("GET /workers is not a JSON array: {body}"))?;
    entries
        .iter()
        .map(|e| {
            let text = |field: &str| {
                e[field]
                    .as_str()
                    .map(str::to_owned)
                    .with_context(|| format!("no string {field:?} in {e}"))
            };
            let tasks = e["tasks"]
                .as_array()
                .with_context(|| format!("no \"tasks\" array in {e}"))?
                .iter()
                .map(|t| {
                    Ok(TaskRef {
                        connector: t["connector"]
                            .as_str()
                            .with_context(|| format!("no \"connector\" in task {t}"))?
                            .to_owned(),
                        task: t["task"]
                            .as_u64()
                            .with_context(|| format!("no numeric \"task\" in task {t}"))?,
                    })
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            Ok(WorkerView {
                worker_id: text("worker_id")?,
                url: text("url")?,
                leader: e["leader"]
                    .as_bool()
                    .with_context(|| format!("no boolean \"leader\" in {e}"))?,
                tasks,
            })
        })
        .collect()
}

/// Why a `GET /workers` answer is not the balanced assignment expected, or `None` when
/// it is: exactly the workers `live` (in any order), one leader, each of `expected`'s
/// tasks assigned to exactly one worker and no other task, and task counts per worker
/// that differ by at most one.
pub fn unbalanced(views: &[WorkerView], live: &[&str], expected: &[TaskRef]) -> Option<String> {
    let mut ids: Vec<&str> = views.iter().map(|v| v.worker_id.as_str()).collect();
    ids.sort_unstable();
    let mut want: Vec<&str> = live.to_vec();
    want.sort_unstable();
    if ids != want {
        return Some(format!("live workers {ids:?}, expected {want:?}"));
    }
    let leaders = views.iter().filter(|v| v.leader).count();
    if leaders != 1 {
        return Some(format!("{leaders} leaders"));
    }
    let mut owners: BTreeMap<&TaskRef, Vec<&str>> = BTreeMap::new();
    for v in views {
        for t in &v.tasks {
            owners.entry(t).or_default().push(&v.worker_id);
        }
    }
    for t in expected {
        match owners.get(t).map(Vec::as_slice) {
            Some([_]) => {}
            Some(many) => return Some(format!("{t:?} assigned to {many:?}")),
            None => return Some(format!("{t:?} assigned to no worker")),
        }
    }
    if let Some(extra) = owners.keys().find(|t| !expected.contains(**t)) {
        return Some(format!("unexpected task {extra:?} assigned"));
    }
    let counts: Vec<usize> = views.iter().map(|v| v.tasks.len()).collect();
    let (min, max) = (
        counts.iter().min().copied().unwrap_or(0),
        counts.iter().max().copied().unwrap_or(0),
    );
    (max - min > 1).then(|| format!("task counts per worker {counts:?} differ by more than one"))
}

/// The tasks `GET /workers` assigns to `worker_id` (empty if it is not listed).
pub fn tasks_of<'a>(views: &'a [WorkerView], worker_id: &str) -> &'a [TaskRef] {
    views
        .iter()
        .find(|v| v.worker_id == worker_id)
        .map(|v| v.tasks.as_slice())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn t(task: u64) -> TaskRef {
        TaskRef {
            connector: "c".into(),
            task,
        }
    }

    fn workers(counts: &[(&str, &[u64], bool)]) -> Value {
        Value::Array(
            counts
                .iter()
                .map(|(id, tasks, leader)| {
                    json!({
                        "worker_id": id,
                        "url": "http://127.0.0.1:1",
                        "leader": leader,
                        "tasks": tasks.iter().map(|n| json!({"connector": "c", "task": n})).collect::<Vec<_>>(),
                    })
                })
                .collect(),
        )
    }

    #[test]
    fn conf_lines_name_every_cluster_key_with_unique_names() {
        let a = ClusterConf::unique("x");
        let b = ClusterConf::unique("x");
        assert_ne!(a.cluster_id, b.cluster_id);
        let lines = a.to_conf_lines();
        for key in [
            "connectClusterId=",
            "configStoreTopic=",
            "positionStoreTopic=",
            "connectStatusTopic=",
            "clusterStoreTopic=",
            "sessionTimeoutMs=10000",
            "heartbeatIntervalMs=1000",
        ] {
            assert_eq!(
                lines.lines().filter(|l| l.starts_with(key)).count(),
                1,
                "{key} in {lines}"
            );
        }
        let topics = [
            &a.config_topic,
            &a.position_topic,
            &a.status_topic,
            &a.cluster_topic,
        ];
        for (i, x) in topics.iter().enumerate() {
            for y in &topics[i + 1..] {
                assert_ne!(x, y);
            }
        }
    }

    #[test]
    fn workers_body_parses_and_a_bad_one_is_named() {
        let views = parse_workers(&workers(&[("w1", &[0, 1], true), ("w2", &[2], false)])).unwrap();
        assert_eq!(views.len(), 2);
        assert_eq!(views[0].worker_id, "w1");
        assert!(views[0].leader);
        assert_eq!(views[0].tasks, vec![t(0), t(1)]);
        assert_eq!(tasks_of(&views, "w2"), &[t(2)]);
        assert!(tasks_of(&views, "w3").is_empty());
        let err = parse_workers(&json!({"workers": []})).unwrap_err();
        assert!(err.to_string().contains("not a JSON array"), "{err}");
        let err =
            parse_workers(&json!([{"worker_id": "w1", "url": "u", "leader": true}])).unwrap_err();
        assert!(err.to_string().contains("tasks"), "{err}");
    }

    #[test]
    fn balance_needs_the_live_set_one_leader_each_task_once_and_counts_within_one() {
        let all: Vec<TaskRef> = (0..6).map(t).collect();
        let ok = parse_workers(&workers(&[
            ("w1", &[0, 1], true),
            ("w2", &[2, 3], false),
            ("w3", &[4, 5], false),
        ]))
        .unwrap();
        assert_eq!(unbalanced(&ok, &["w3", "w1", "w2"], &all), None);
        let four = parse_workers(&workers(&[
            ("w1", &[0, 1], true),
            ("w2", &[2, 3], false),
            ("w3", &[4], false),
            ("w4", &[5], false),
        ]))
        .unwrap();
        assert_eq!(unbalanced(&four, &["w1", "w2", "w3", "w4"], &all), None);

        let cases: Vec<(Value, &str)> = vec![
            (
                workers(&[("w1", &[0, 1, 2], true), ("w2", &[3, 4, 5], false)]),
                "live workers",
            ),
            (
                workers(&[
                    ("w1", &[0, 1], true),
                    ("w2", &[2, 3], true),
                    ("w3", &[4, 5], false),
                ]),
                "2 leaders",
            ),
            (
                workers(&[
                    ("w1", &[0, 1, 5], true),
                    ("w2", &[2, 3], false),
                    ("w3", &[4, 5], false),
                ]),
                "assigned to [\"w1\", \"w3\"]",
            ),
            (
                workers(&[
                    ("w1", &[0, 1], true),
                    ("w2", &[2, 3], false),
                    ("w3", &[4], false),
                ]),
                "assigned to no worker",
            ),
            (
                workers(&[
                    ("w1", &[0, 1, 2, 3], true),
                    ("w2", &[4], false),
                    ("w3", &[5], false),
                ]),
                "differ by more than one",
            ),
            (
                workers(&[
                    ("w1", &[0, 1, 6], true),
                    ("w2", &[2, 3], false),
                    ("w3", &[4, 5], false),
                ]),
                "unexpected task",
            ),
        ];
        for (body, why) in cases {
            let views = parse_workers(&body).unwrap();
            let got = unbalanced(&views, &["w1", "w2", "w3"], &all);
            assert!(
                got.as_deref().is_some_and(|g| g.contains(why)),
                "{body}: expected {why:?}, got {got:?}"
            );
        }
    }
}

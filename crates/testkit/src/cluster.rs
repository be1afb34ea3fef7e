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

/// One fence or commit record of a positions topic (`positionStoreTopic`):
/// `{"cluster", "type", "connector", "task", "owner": {"worker", "generation",
/// "config_version"}, ...}`.
#[derive(Debug, Clone, PartialEq)]
pub struct PositionRecord {
    /// `type`: `fence` or `commit` (others are not parsed).
    pub kind: String,
    /// `connector` and `task`.
    pub task: TaskRef,
    /// `owner`, compared as a whole.
    pub owner: Value,
}

impl PositionRecord {
    /// Parses a record body; `None` for anything but a fence or a commit.
    pub fn parse(body: &[u8]) -> Option<Self> {
        let v: Value = serde_json::from_slice(body).ok()?;
        let kind = v["type"].as_str()?;
        if kind != "fence" && kind != "commit" {
            return None;
        }
        Some(Self {
            kind: kind.to_owned(),
            task: TaskRef {
                connector: v["connector"].as_str()?.to_owned(),
                task: v["task"].as_u64()?,
            },
            owner: v["owner"].clone(),
        })
    }
}

/// What [`stale_commits`] found.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StaleCommits {
    /// Commits the old owner wrote after it lost the task (`record <n>: <body>`).
    pub zombies: Vec<String>,
    /// Tasks of `moved` that no other worker fenced at or after record `from`.
    pub unfenced: Vec<TaskRef>,
}

/// Reads the positions topic `records` (bodies, in topic order) for the tasks `moved`
/// away from worker `old_owner`: each task's *new owner's fence* is its first fence by
/// another worker at or after record `from`. After it, every commit by `old_owner` for
/// that task whose `owner` is not the task's latest fence is a zombie commit (a commit
/// after a later fence of `old_owner` itself, once it got the task back, is fine).
pub fn stale_commits(
    records: &[&[u8]],
    from: usize,
    old_owner: &str,
    moved: &[TaskRef],
) -> StaleCommits {
    let mut latest: BTreeMap<TaskRef, Value> = BTreeMap::new();
    let mut lost: Vec<TaskRef> = Vec::new();
    let mut zombies = Vec::new();
    for (i, body) in records.iter().enumerate() {
        let Some(r) = PositionRecord::parse(body) else {
            continue;
        };
        match r.kind.as_str() {
            "fence" => {
                if i >= from
                    && moved.contains(&r.task)
                    && r.owner["worker"] != old_owner
                    && !lost.contains(&r.task)
                {
                    lost.push(r.task.clone());
                }
                latest.insert(r.task, r.owner);
            }
            _ if lost.contains(&r.task)
                && r.owner["worker"] == old_owner
                && latest.get(&r.task) != Some(&r.owner) =>
            {
                zombies.push(format!("record {i}: {}", String::from_utf8_lossy(body)));
            }
            _ => {}
        }
    }
    StaleCommits {
        zombies,
        unfenced: moved
            .iter()
            .filter(|t| !lost.contains(t))
            .cloned()
            .collect(),
    }
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

    fn record(kind: &str, task: u64, worker: &str, generation: u64) -> Vec<u8> {
        let mut v = json!({
            "cluster": "k", "type": kind, "connector": "c", "task": task,
            "owner": {"worker": worker, "generation": generation, "config_version": 1},
        });
        if kind == "commit" {
            v["offsets"] = json!([["p", 1]]);
        }
        v.to_string().into_bytes()
    }

    #[test]
    fn a_commit_of_the_old_owner_after_the_new_fence_is_a_zombie_one_before_is_not() {
        let log = [
            record("fence", 0, "w1", 1),
            record("commit", 0, "w1", 1),
            // The freeze: records from here on.
            record("commit", 0, "w1", 1), // in transit before the new fence: fine
            record("fence", 0, "w2", 2),
            record("commit", 0, "w2", 2),
            record("commit", 0, "w1", 1), // zombie
            record("fence", 0, "w1", 3),  // got it back
            record("commit", 0, "w1", 3), // fine
        ];
        let records: Vec<&[u8]> = log.iter().map(Vec::as_slice).collect();
        let found = stale_commits(&records, 2, "w1", &[t(0)]);
        assert_eq!(found.unfenced, Vec::<TaskRef>::new());
        assert_eq!(found.zombies.len(), 1, "{found:?}");
        assert!(found.zombies[0].starts_with("record 5:"), "{found:?}");
    }

    #[test]
    fn a_task_nobody_fenced_after_the_freeze_is_reported_and_other_tasks_are_ignored() {
        let log = [
            record("fence", 0, "w1", 1),
            record("fence", 1, "w1", 1),
            record("fence", 1, "w3", 2),
            record("commit", 1, "w1", 1),
            record("fence", 2, "w2", 2),
            record("commit", 2, "w1", 1), // not a moved task
            b"{\"type\": \"alter\", \"connector\": \"c\"}".to_vec(),
        ];
        let records: Vec<&[u8]> = log.iter().map(Vec::as_slice).collect();
        let found = stale_commits(&records, 2, "w1", &[t(0), t(1)]);
        assert_eq!(found.unfenced, vec![t(0)]);
        assert_eq!(found.zombies.len(), 1, "{found:?}");
        assert!(found.zombies[0].starts_with("record 3:"), "{found:?}");
    }
}

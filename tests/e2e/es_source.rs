//! End-to-end tests of es-source features that need the whole runtime: index patterns
//! with discovery (the herder reconfigures the tasks when a new index matches) and task
//! progress in the status. Real Elasticsearch and RocketMQ; run by `tests/run`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use connect_e2e::{grouped_docs, mapping};
use connect_testkit::es::Es;
use connect_testkit::topic::TopicReader;
use connect_testkit::worker::WorkerProcess;
use connect_testkit::{eventually, unique_name};
use serde_json::{json, Value};

const ARRIVAL: Duration = Duration::from_secs(600);

/// The task ids and the indices each task reads, from the connector's task configs.
async fn task_indices(w: &WorkerProcess, connector: &str) -> anyhow::Result<Vec<String>> {
    let (code, tasks) = w.get(&format!("/connectors/{connector}/tasks")).await?;
    anyhow::ensure!(code == 200, "GET tasks: HTTP {code}: {tasks}");
    let mut shares: Vec<String> = tasks
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|t| {
            t["config"]["es.task.indices"]
                .as_str()
                .unwrap_or("")
                .to_owned()
        })
        .collect();
    shares.sort();
    Ok(shares)
}

#[tokio::test]
#[ignore = "needs real Elasticsearch and RocketMQ: run tests/run"]
async fn a_fourth_index_matching_the_pattern_is_discovered_and_its_documents_arrive() {
    let es = Es::from_env();
    let prefix = unique_name("e2e-pat").to_lowercase();
    let topic = unique_name("e2e_pat");
    let connector = unique_name("c-pat");
    let dir = tempfile::tempdir().unwrap();
    let mut names = Vec::new();
    let mut seq = 0u64;
    for suffix in ["a", "b", "c"] {
        let index = format!("{prefix}-{suffix}");
        es.create_index(&index, mapping()).await.unwrap();
        let (docs, _) = grouped_docs(seq, 300, 20, 1_000);
        seq += 300;
        es.bulk_index(&index, &docs).await.unwrap();
        es.refresh(&index).await.unwrap();
        names.push(index);
    }
    let config = json!({
        "connector.class": "es-source",
        "max.tasks": "2",
        "connect.topicname": topic,
        "es.hosts": connect_testkit::es_url(),
        "es.index": format!("{prefix}-*"),
        "es.tracking.field": "ts",
        "es.tiebreaker.field": "seq",
        "es.batch.size": "100",
        "es.poll.interval.ms": "200",
        "es.index.refresh.interval.ms": "1000",
    });
    let w = WorkerProcess::start(dir.path(), "e2e-pattern", &[(connector.clone(), config)])
        .await
        .unwrap();
    let mut reader = TopicReader::start(&topic).await.unwrap();
    reader
        .read_distinct(900, ARRIVAL)
        .await
        .unwrap_or_else(|e| panic!("{e}\nworker log (end):\n{}", w.log_tail(80)));
    let before = task_indices(&w, &connector).await.unwrap();
    assert_eq!(
        before.len(),
        2,
        "three indices over max.tasks=2: {before:?}"
    );

    // A fourth matching index appears while the connector runs.
    let fourth = format!("{prefix}-d");
    es.create_index(&fourth, mapping()).await.unwrap();
    let (docs, _) = grouped_docs(seq, 300, 20, 1_000);
    es.bulk_index(&fourth, &docs).await.unwrap();
    es.refresh(&fourth).await.unwrap();
    eventually(ARRIVAL, "the fourth index in a task's share", || async {
        let shares = task_indices(&w, &connector).await?;
        Ok(shares.iter().any(|s| s.contains(&fourth)).then_some(()))
    })
    .await
    .unwrap_or_else(|e| panic!("{e}\nworker log (end):\n{}", w.log_tail(80)));
    reader
        .read_distinct(1_200, ARRIVAL)
        .await
        .unwrap_or_else(|e| panic!("{e}\nworker log (end):\n{}", w.log_tail(80)));
    reader.drain(Duration::from_secs(2)).await.unwrap();
    let counts = reader.key_counts();
    assert_eq!(counts.len(), 1_200, "every document of the four indices");
    let keyed_fourth = counts
        .keys()
        .filter(|k| k.starts_with(&format!("{fourth}/")))
        .count();
    assert_eq!(
        keyed_fourth, 300,
        "the new index's documents, keyed <index>/<_id>"
    );
    let dups: Vec<_> = counts.iter().filter(|(_, &n)| n > 1).take(5).collect();
    assert!(
        dups.is_empty(),
        "the reconfiguration re-sent documents: {dups:?}"
    );

    // Progress per index is in the status once measured: every index read to the end.
    let (_, status) = w
        .get(&format!("/connectors/{connector}/status"))
        .await
        .unwrap();
    let tasks = status["tasks"].as_array().cloned().unwrap_or_default();
    assert!(tasks.iter().all(|t| t["state"] == "RUNNING"), "{status}");
    eventually(
        Duration::from_secs(60),
        "remaining 0 for all four indices",
        || async {
            let (_, status) = w.get(&format!("/connectors/{connector}/status")).await?;
            let partitions: Vec<Value> = status["tasks"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .iter()
                .flat_map(|t| t["partitions"].as_array().cloned().unwrap_or_default())
                .collect();
            Ok((partitions.len() == 4
                && partitions
                    .iter()
                    .all(|p| p["remaining"].as_u64() == Some(0)))
            .then_some(()))
        },
    )
    .await
    .unwrap_or_else(|e| panic!("{e}\nworker log (end):\n{}", w.log_tail(80)));
    reader.shutdown().await;
    for index in names.iter().chain([&fourth]) {
        es.delete_index(index).await.unwrap();
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

/// Two writers for `run`: one indexes documents stamped `now` (ids `now-<n>`), the other
/// back-fills documents stamped up to 3 s in the past (ids `late-<n>`). No refresh is
/// forced: documents become searchable when Elasticsearch refreshes (every second).
async fn two_writers(es: &Es, index: &str, run: Duration) -> Vec<String> {
    let mut ids = Vec::new();
    let mut seq = 0u64;
    // A small deterministic generator for the back-fill offsets (0..3000 ms).
    let mut rng = 0x2545_f491_4f6c_dd1d_u64;
    let started = std::time::Instant::now();
    while started.elapsed() < run {
        let now = now_ms();
        let mut batch = Vec::new();
        for _ in 0..5 {
            seq += 1;
            batch.push((format!("now-{seq}"), json!({"ts": now, "seq": seq})));
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            let back = (rng % 3000) as i64;
            seq += 1;
            batch.push((format!("late-{seq}"), json!({"ts": now - back, "seq": seq})));
        }
        ids.extend(batch.iter().map(|(id, _)| id.clone()));
        es.bulk_index(index, &batch).await.unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    ids
}

#[tokio::test]
#[ignore = "needs real Elasticsearch and RocketMQ: run tests/run"]
async fn late_visible_back_filled_documents_arrive_with_es_lag_5s_and_are_lost_without_it() {
    let es = Es::from_env();
    let index = unique_name("e2e-late").to_lowercase();
    es.create_index(
        &index,
        json!({"ts": {"type": "date"}, "seq": {"type": "long"}}),
    )
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let connector = |lag: &str, topic: &str| {
        json!({
            "connector.class": "es-source",
            "connect.topicname": topic,
            "es.hosts": connect_testkit::es_url(),
            "es.index": index,
            "es.tracking.field": "ts",
            "es.tiebreaker.field": "seq",
            "es.batch.size": "500",
            "es.poll.interval.ms": "100",
            "es.lag": lag,
        })
    };
    let (with_lag, without_lag) = (unique_name("e2e_lag5"), unique_name("e2e_lag0"));
    let w = WorkerProcess::start(
        dir.path(),
        "e2e-late",
        &[
            (unique_name("c-lag5"), connector("5s", &with_lag)),
            (unique_name("c-lag0"), connector("0", &without_lag)),
        ],
    )
    .await
    .unwrap();
    // Both connectors tail the (empty) index while the writers run.
    let ids = two_writers(&es, &index, Duration::from_secs(10)).await;
    let mut lagged = TopicReader::start(&with_lag).await.unwrap();
    lagged
        .read_distinct(ids.len(), ARRIVAL)
        .await
        .unwrap_or_else(|e| panic!("{e}\nworker log (end):\n{}", w.log_tail(80)));
    let mut eager = TopicReader::start(&without_lag).await.unwrap();
    eager.drain(Duration::from_secs(5)).await.unwrap();

    let key = |id: &String| format!("{index}/{id}");
    let lost_with_lag: Vec<&String> = ids
        .iter()
        .filter(|id| !lagged.key_counts().contains_key(&key(id)))
        .collect();
    assert!(lost_with_lag.is_empty(), "es.lag=5s lost {lost_with_lag:?}");
    let lost_without_lag: Vec<&String> = ids
        .iter()
        .filter(|id| !eager.key_counts().contains_key(&key(id)))
        .collect();
    // The expected loss without a lag: back-filled documents that became searchable after
    // the cursor had passed their timestamp. Documents written in order are never lost.
    println!(
        "{} documents; es.lag=5s lost 0; es.lag=0 lost {} back-filled ones",
        ids.len(),
        lost_without_lag.len()
    );
    assert!(
        lost_without_lag.iter().all(|id| id.starts_with("late-")),
        "es.lag=0 lost in-order documents: {lost_without_lag:?}"
    );
    lagged.shutdown().await;
    eager.shutdown().await;
    es.delete_index(&index).await.unwrap();
}

//! End-to-end tests of bad records against a real Elasticsearch and a real Apache
//! RocketMQ: a real document of 5 MiB (over RocketMQ's 4 MiB limit) among small ones.
//! With `errors.tolerance=none` the task fails naming the document; with `all` and a
//! dead-letter topic the small documents arrive and the big one lands in the dead-letter
//! topic with the reason. Run by `tests/run` (`--ignored`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use connect_e2e::{doc, es_connector, Fixture};
use connect_testkit::topic::TopicReader;
use connect_testkit::worker::WorkerProcess;
use connect_testkit::{eventually, unique_name};
use serde_json::{json, Value};

const TIMEOUT: Duration = Duration::from_secs(180);
/// How many small documents surround the big one.
const SMALL: u64 = 20;
const BIG_ID: &str = "big-doc";

/// Small documents `d0..d19` with tracking values 1..=20 and one of 5 MiB with tracking
/// value 10 (so it sits in the middle of the stream).
async fn load_with_a_big_document(f: &Fixture) -> Vec<(String, Value)> {
    let mut docs: Vec<(String, Value)> = (0..SMALL)
        .map(|i| (format!("d{i}"), doc(i, i as i64 + 1)))
        .collect();
    f.load(&docs).await.unwrap();
    let mut big = doc(999, 10);
    big["text"] = json!("x".repeat(5 * 1024 * 1024));
    f.load(&[(BIG_ID.to_owned(), big.clone())]).await.unwrap();
    docs.push((BIG_ID.to_owned(), big));
    docs
}

async fn status(w: &WorkerProcess, connector: &str) -> Value {
    w.get(&format!("/connectors/{connector}/status"))
        .await
        .unwrap()
        .1
}

#[tokio::test]
#[ignore = "needs real Elasticsearch and RocketMQ: run tests/run"]
async fn with_tolerance_none_a_5_mib_document_fails_the_task_naming_its_id_and_size() {
    let f = Fixture::new("bignone").await.unwrap();
    load_with_a_big_document(&f).await;
    let config = es_connector(&f.index, &f.topic, 100, Some("seq"));
    let w = WorkerProcess::start(
        f.dir.path(),
        "e2e-bignone",
        &[(f.connector.clone(), config)],
    )
    .await
    .unwrap();
    let trace = eventually(TIMEOUT, "the task FAILED", || async {
        let s = status(&w, &f.connector).await;
        let t = &s["tasks"][0];
        Ok((t["state"] == "FAILED").then(|| t["trace"].as_str().unwrap_or_default().to_owned()))
    })
    .await
    .unwrap_or_else(|e| panic!("{e}\nworker log (end):\n{}", w.log_tail(80)));
    assert!(
        trace.contains(&format!("{}/{BIG_ID}", f.index)),
        "the trace names <index>/<_id>: {trace}"
    );
    assert!(
        trace.contains("limit 4194304"),
        "the trace gives the limit: {trace}"
    );
    f.es.delete_index(&f.index).await.unwrap();
}

#[tokio::test]
#[ignore = "needs real Elasticsearch and RocketMQ: run tests/run"]
async fn with_tolerance_all_the_5_mib_document_goes_to_the_dead_letter_topic_and_the_rest_arrive() {
    let f = Fixture::new("bigdlq").await.unwrap();
    load_with_a_big_document(&f).await;
    let dlq = unique_name("e2e_dlq");
    let mut config = es_connector(&f.index, &f.topic, 100, Some("seq"));
    config["errors.tolerance"] = json!("all");
    config["errors.deadletterqueue.topic.name"] = json!(dlq);
    let w = WorkerProcess::start(f.dir.path(), "e2e-bigdlq", &[(f.connector.clone(), config)])
        .await
        .unwrap();

    let mut reader = TopicReader::start(&f.topic).await.unwrap();
    reader
        .read_distinct(SMALL as usize, TIMEOUT)
        .await
        .unwrap_or_else(|e| panic!("{e}\nworker log (end):\n{}", w.log_tail(80)));
    let big_key = format!("{}/{BIG_ID}", f.index);
    assert!(
        !reader.key_counts().contains_key(&big_key),
        "the big document reached the main topic"
    );

    let mut dead = TopicReader::start(&dlq).await.unwrap();
    dead.read_distinct(1, TIMEOUT)
        .await
        .unwrap_or_else(|e| panic!("{e}\nworker log (end):\n{}", w.log_tail(80)));
    let m = &dead.messages[0];
    assert_eq!(m.key.as_deref(), Some(big_key.as_str()));
    let reason = m
        .properties
        .get("rmq_connect_error_reason")
        .cloned()
        .unwrap_or_default();
    assert!(
        reason.contains(&big_key) && reason.contains("message too large"),
        "{reason}"
    );
    assert_eq!(
        m.properties.get("rmq_connect_connector"),
        Some(&f.connector)
    );
    assert_eq!(
        m.properties.get("rmq_connect_original_topic"),
        Some(&f.topic)
    );
    assert_eq!(m.properties.get("rmq_connect_original_key"), Some(&big_key));
    // The body did not fit, so it is a note with the original size.
    let note: Value = serde_json::from_slice(&m.body).unwrap();
    assert!(
        note["original_bytes"].as_u64().unwrap() > 5 * 1024 * 1024,
        "{note}"
    );

    let s = eventually(TIMEOUT, "every record committed", || async {
        let s = status(&w, &f.connector).await;
        let t = &s["tasks"][0];
        Ok((t["records_sent"].as_u64() == Some(SMALL + 1)
            && t["records_in_flight"] == 0
            && t["commits"].as_u64().unwrap_or(0) > 0)
            .then_some(s))
    })
    .await
    .unwrap_or_else(|e| panic!("{e}\nworker log (end):\n{}", w.log_tail(80)));
    let t = &s["tasks"][0];
    assert_eq!(t["state"], "RUNNING", "{s}");
    assert_eq!(t["records_failed"], 1, "{s}");
    let metrics = reqwest::get(format!("{}/metrics", w.url()))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let line = format!(
        "rmq_connect_task_records_failed_total{{connector=\"{}\",task=\"0\",worker=\"e2e-bigdlq\"}} 1",
        f.connector
    );
    assert!(metrics.lines().any(|l| l == line), "{line} in\n{metrics}");
    reader.shutdown().await;
    dead.shutdown().await;
    f.es.delete_index(&f.index).await.unwrap();
}

//! End-to-end: a clean stop (SIGTERM) writes no ERROR line to the worker's log, for a
//! standalone worker and for the workers of a cluster (the leader stopped while another
//! worker runs, then the last worker), each while a connector streams. Against a real
//! Elasticsearch and a real Apache RocketMQ (started by `distribution/bin/rmq-services`;
//! run by `tests/run`); plain `cargo test` skips them (`#[ignore]`).
//!
//! The first worker of a cluster is the one a shared consumer group of the internal
//! topics would hand the topics' queue to: its stop is where a background read of the
//! RocketMQ client used to fail with `ERROR ... Pull error for MessageQueue`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use connect_e2e::{es_connector, grouped_docs, Fixture};
use connect_testkit::cluster::{parse_workers, ClusterConf};
use connect_testkit::eventually;
use connect_testkit::worker::WorkerProcess;
use serde_json::json;

/// Documents each test streams.
const DOCS: u64 = 2_000;
/// Deadline for the documents to be sent, or a cluster to settle.
const WAIT: Duration = Duration::from_secs(300);
/// Deadline for a worker to exit after SIGTERM.
const STOP: Duration = Duration::from_secs(60);

/// Loads [`DOCS`] documents into the fixture's index; returns the connector config.
async fn streaming_connector(f: &Fixture) -> serde_json::Value {
    let (docs, _) = grouped_docs(0, DOCS, 50, 1_000);
    f.load(&docs).await.unwrap();
    es_connector(&f.index, &f.topic, 200, Some("seq"))
}

/// Waits until `w` says `connector` sent every document.
async fn wait_sent(w: &WorkerProcess, connector: &str) {
    eventually(WAIT, "every document sent", || async {
        Ok((w.task_sum(connector, "records_sent").await? >= DOCS).then_some(()))
    })
    .await
    .unwrap_or_else(|e| panic!("{e:#}\nlog of {}:\n{}", w.worker_id(), w.log_tail(60)));
}

/// SIGTERMs `w`, then checks that it exited with success and logged no ERROR line.
async fn stop_cleanly(w: &mut WorkerProcess) {
    let exit = w
        .terminate(STOP)
        .await
        .unwrap_or_else(|e| panic!("{e:#}\nlog of {}:\n{}", w.worker_id(), w.log_tail(60)));
    assert!(
        exit.success(),
        "{} exited with {exit} after SIGTERM; log:\n{}",
        w.worker_id(),
        w.log_tail(60)
    );
    let errors = w.error_lines();
    assert!(
        errors.is_empty(),
        "a clean stop of {} logged {} ERROR line(s):\n{}\n--- its log ---\n{}",
        w.worker_id(),
        errors.len(),
        errors.join("\n"),
        w.log()
    );
}

/// Waits until `via`'s `GET /workers` lists exactly `ids` with `leader` leading.
async fn wait_members(via: &WorkerProcess, ids: &[&str], leader: &str) {
    let what = format!(
        "workers {ids:?} led by {leader}, as {} sees them",
        via.worker_id()
    );
    eventually(WAIT, &what, || async {
        let (code, body) = via.get("/workers").await?;
        anyhow::ensure!(code == 200, "GET /workers: HTTP {code}: {body}");
        let views = parse_workers(&body)?;
        let mut listed: Vec<&str> = views.iter().map(|v| v.worker_id.as_str()).collect();
        listed.sort_unstable();
        let leads = views.iter().any(|v| v.leader && v.worker_id == leader);
        Ok((listed == ids && leads).then_some(()))
    })
    .await
    .unwrap_or_else(|e| panic!("{e:#}\nlog of {}:\n{}", via.worker_id(), via.log_tail(60)));
}

#[tokio::test]
#[ignore = "needs real Elasticsearch and RocketMQ: run tests/run"]
async fn a_sigterm_of_a_standalone_worker_logs_no_error() {
    let f = Fixture::new("stop-sa").await.unwrap();
    let config = streaming_connector(&f).await;
    let mut w = WorkerProcess::start(
        f.dir.path(),
        "e2e-stop-sa",
        &[(f.connector.clone(), config)],
    )
    .await
    .unwrap();
    wait_sent(&w, &f.connector).await;
    stop_cleanly(&mut w).await;
    f.es.delete_index(&f.index).await.unwrap();
}

#[tokio::test]
#[ignore = "needs real Elasticsearch and RocketMQ: run tests/run"]
async fn a_sigterm_of_the_leader_then_of_the_last_worker_of_a_cluster_logs_no_error() {
    let f = Fixture::new("stop-cl").await.unwrap();
    let config = streaming_connector(&f).await;
    let cluster = ClusterConf::unique("stop");
    let dir = f.dir.path();
    let mut w1 = WorkerProcess::start_distributed(&dir.join("w1"), "w1", &cluster, "")
        .await
        .unwrap();
    wait_members(&w1, &["w1"], "w1").await;
    let mut w2 = WorkerProcess::start_distributed(&dir.join("w2"), "w2", &cluster, "")
        .await
        .unwrap();
    wait_members(&w2, &["w1", "w2"], "w1").await;

    let body = json!({"name": f.connector, "config": config}).to_string();
    let (code, answer) = w1
        .send_raw(reqwest::Method::POST, "/connectors", body.as_bytes())
        .await
        .unwrap();
    assert_eq!(code, 201, "POST /connectors: {answer}");
    wait_sent(&w2, &f.connector).await;

    // The leader stops while w2 runs; w2 then leads alone, and stops last.
    stop_cleanly(&mut w1).await;
    wait_members(&w2, &["w2"], "w2").await;
    stop_cleanly(&mut w2).await;
    f.es.delete_index(&f.index).await.unwrap();
}

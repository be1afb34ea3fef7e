//! Lifecycle and failure tests of the standalone runtime against the real services:
//! pause/resume across a restart, and the RocketMQ broker killed or unreachable.
//! `#[ignore]`d in plain `cargo test`; `tests/run` runs them (one at a time: they stop
//! the shared broker).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use connect_e2e::{es_connector, grouped_docs, Fixture};
use connect_testkit::eventually;
use connect_testkit::services;
use connect_testkit::topic::TopicReader;
use connect_testkit::worker::WorkerProcess;

const ARRIVAL: Duration = Duration::from_secs(600);

async fn task_state(w: &WorkerProcess, connector: &str) -> anyhow::Result<(String, String)> {
    let (_, s) = w.get(&format!("/connectors/{connector}/status")).await?;
    Ok((
        s["connector"]["state"].as_str().unwrap_or("").to_owned(),
        s["tasks"][0]["state"].as_str().unwrap_or("").to_owned(),
    ))
}

async fn wait_paused(w: &WorkerProcess, connector: &str) {
    eventually(
        Duration::from_secs(60),
        "connector and task PAUSED",
        || async {
            let (c, t) = task_state(w, connector).await?;
            Ok((c == "PAUSED" && t == "PAUSED").then_some(()))
        },
    )
    .await
    .unwrap_or_else(|e| panic!("{e}\nworker log (end):\n{}", w.log_tail(80)));
}

#[tokio::test]
#[ignore = "needs real Elasticsearch and RocketMQ: run tests/run"]
async fn pause_keeps_the_topic_flat_for_10s_survives_a_restart_and_resume_loses_nothing() {
    let f = Fixture::new("pause").await.unwrap();
    let (first, last_ts) = grouped_docs(0, 3_000, 100, 1_000);
    f.load(&first).await.unwrap();
    let connectors = vec![(
        f.connector.clone(),
        es_connector(&f.index, &f.topic, 200, Some("seq")),
    )];
    let mut w = WorkerProcess::start(f.dir.path(), "e2e-pause", &connectors)
        .await
        .unwrap();
    let mut reader = TopicReader::start(&f.topic).await.unwrap();
    reader
        .read_distinct(3_000, ARRIVAL)
        .await
        .unwrap_or_else(|e| panic!("{e}\nworker log (end):\n{}", w.log_tail(80)));

    let (code, body) = w
        .send_raw(
            reqwest::Method::PUT,
            &format!("/connectors/{}/pause", f.connector),
            b"",
        )
        .await
        .unwrap();
    assert_eq!(code, 202, "{body}");
    wait_paused(&w, &f.connector).await;
    let (more, _) = grouped_docs(3_000, 2_000, 100, last_ts);
    f.load(&more).await.unwrap();

    // Flat for 10 s while paused: nothing new reaches the topic.
    reader.drain(Duration::from_secs(2)).await.unwrap();
    let before = reader.messages.len();
    let window = Instant::now();
    while window.elapsed() < Duration::from_secs(10) {
        reader.drain(Duration::from_millis(500)).await.unwrap();
        assert_eq!(reader.messages.len(), before, "a paused connector produced");
    }

    // Still paused after a restart of the worker (the target state is stored).
    let exit = w.terminate(Duration::from_secs(60)).await.unwrap();
    assert!(exit.success());
    let w = WorkerProcess::start(f.dir.path(), "e2e-pause", &connectors)
        .await
        .unwrap();
    wait_paused(&w, &f.connector).await;
    reader.drain(Duration::from_secs(3)).await.unwrap();
    assert_eq!(
        reader.messages.len(),
        before,
        "paused connector produced after restart"
    );

    let (code, _) = w
        .send_raw(
            reqwest::Method::PUT,
            &format!("/connectors/{}/resume", f.connector),
            b"",
        )
        .await
        .unwrap();
    assert_eq!(code, 202);
    reader
        .read_distinct(5_000, ARRIVAL)
        .await
        .unwrap_or_else(|e| panic!("{e}\nworker log (end):\n{}", w.log_tail(80)));
    reader.drain(Duration::from_secs(2)).await.unwrap();
    assert_eq!(reader.distinct_keys(), 5_000);
    let dups = reader.key_counts().values().filter(|&&n| n > 1).count();
    assert_eq!(dups, 0, "pause/restart/resume re-sent documents");
    reader.shutdown().await;
    f.es.delete_index(&f.index).await.unwrap();
}

#[tokio::test]
#[ignore = "needs real Elasticsearch and RocketMQ: run tests/run"]
async fn broker_killed_and_restarted_mid_stream_recovers_on_its_own_without_loss() {
    let f = Fixture::new("brokerkill").await.unwrap();
    let (docs, _) = grouped_docs(0, 20_000, 100, 1_000);
    f.load(&docs).await.unwrap();
    let connectors = vec![(
        f.connector.clone(),
        es_connector(&f.index, &f.topic, 200, Some("seq")),
    )];
    let w = WorkerProcess::start(f.dir.path(), "e2e-brokerkill", &connectors)
        .await
        .unwrap();
    eventually(ARRIVAL, "the stream under way", || async {
        let sent = w.task_sum(&f.connector, "records_sent").await?;
        Ok((sent >= 2_000).then_some(()))
    })
    .await
    .unwrap_or_else(|e| panic!("{e}\nworker log (end):\n{}", w.log_tail(80)));
    services::stop_broker(true).unwrap();
    // The task notices (sends fail and are retried) ...
    eventually(
        Duration::from_secs(120),
        "send retries reported in status",
        || async {
            let (_, s) = w
                .get(&format!("/connectors/{}/status", f.connector))
                .await?;
            Ok(s["tasks"][0]["trace"]
                .as_str()
                .is_some_and(|t| t.contains("retrying"))
                .then_some(()))
        },
    )
    .await
    .unwrap_or_else(|e| panic!("{e}\nworker log (end):\n{}", w.log_tail(80)));
    // ... and recovers by itself once the broker is back.
    services::start_all().unwrap();
    let mut reader = TopicReader::start(&f.topic).await.unwrap();
    if let Err(e) = reader.read_distinct(20_000, ARRIVAL).await {
        // Whether the task believes it sent everything tells a loss in the broker or
        // the reader from one in the task.
        let status = w
            .get(&format!("/connectors/{}/status", f.connector))
            .await
            .map(|(_, s)| s.to_string())
            .unwrap_or_else(|e| format!("(no status: {e})"));
        panic!(
            "{e}\ntask status: {status}\nworker log (end):\n{}",
            w.log_tail(80)
        );
    }
    let (_, t) = task_state(&w, &f.connector).await.unwrap();
    assert_eq!(t, "RUNNING");
    reader.shutdown().await;
    f.es.delete_index(&f.index).await.unwrap();
}

#[tokio::test]
#[ignore = "needs real Elasticsearch and RocketMQ: run tests/run"]
async fn broker_unreachable_for_a_minute_keeps_memory_bounded_and_delivers_everything_after() {
    let f = Fixture::new("brokerdown").await.unwrap();
    let (first, mut ts) = grouped_docs(0, 2_000, 100, 1_000);
    f.load(&first).await.unwrap();
    let connectors = vec![(
        f.connector.clone(),
        es_connector(&f.index, &f.topic, 1000, Some("seq")),
    )];
    let w = WorkerProcess::start(f.dir.path(), "e2e-brokerdown", &connectors)
        .await
        .unwrap();
    let pid = w.pid().unwrap();
    let mut reader = TopicReader::start(&f.topic).await.unwrap();
    reader
        .read_distinct(2_000, ARRIVAL)
        .await
        .unwrap_or_else(|e| panic!("{e}\nworker log (end):\n{}", w.log_tail(80)));

    services::stop_broker(false).unwrap();
    let baseline = services::rss_kib(pid).unwrap();
    let mut peak = baseline;
    let mut seq = 2_000u64;
    // A minute of documents, 1,000 a second (about 60 MB of JSON), while the broker is away.
    let outage = Instant::now();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    while outage.elapsed() < Duration::from_secs(60) {
        tick.tick().await;
        let (docs, last) = grouped_docs(seq, 1_000, 100, ts);
        ts = last;
        seq += 1_000;
        f.es.bulk_index(&f.index, &docs).await.unwrap();
        f.es.refresh(&f.index).await.unwrap();
        peak = peak.max(services::rss_kib(pid).unwrap());
    }
    let grown_mib = (peak.saturating_sub(baseline)) / 1024;
    println!(
        "broker down 60 s, {} docs indexed meanwhile: worker RSS {} MiB -> peak {} MiB (+{} MiB)",
        seq - 2_000,
        baseline / 1024,
        peak / 1024,
        grown_mib
    );
    assert!(
        grown_mib < 48,
        "worker memory grew by {grown_mib} MiB while the broker was down: not bounded"
    );

    services::start_all().unwrap();
    reader
        .read_distinct(seq as usize, ARRIVAL)
        .await
        .unwrap_or_else(|e| panic!("{e}\nworker log (end):\n{}", w.log_tail(80)));
    reader.shutdown().await;
    f.es.delete_index(&f.index).await.unwrap();
}

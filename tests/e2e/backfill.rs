//! End-to-end tests of the PIT backfill (`es.backfill.mode=pit`, the default) through a
//! standalone worker into a real RocketMQ: kill -9 during the backfill and right at the
//! switch to the incremental phase, documents written while it runs, and its progress in
//! the status. Run by `tests/run` (they are `#[ignore]`d for plain `cargo test`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::time::Duration;

use connect_e2e::{doc, es_connector, grouped_docs, Fixture};
use connect_testkit::eventually;
use connect_testkit::topic::TopicReader;
use connect_testkit::worker::WorkerProcess;
use serde_json::Value;

const ARRIVAL_TIMEOUT: Duration = Duration::from_secs(600);
/// `maxInFlightBatches` default of the worker.
const MAX_IN_FLIGHT_BATCHES: usize = 4;

/// The first partition's `backfill` in the connector's status (`Null` when absent).
async fn backfill_status(w: &WorkerProcess, connector: &str) -> anyhow::Result<Value> {
    let (_, status) = w.get(&format!("/connectors/{connector}/status")).await?;
    Ok(status["tasks"][0]["partitions"][0]["backfill"].clone())
}

/// Reads the fixture's topic until it holds `total` distinct keys, and checks the
/// duplicates after `what` against the bound: only a page's last record commits a
/// backfill position, so at most the page being sent plus the pages in flight (of
/// `batch` documents each) come again.
async fn read_all(
    f: &Fixture,
    w: &WorkerProcess,
    total: usize,
    batch: usize,
    what: &str,
) -> TopicReader {
    let reader = w.read_topic_drained(&f.topic, total, ARRIVAL_TIMEOUT).await;
    assert_eq!(reader.distinct_keys(), total, "every document arrives");
    let dups: usize = reader.key_counts().values().map(|n| n - 1).sum();
    let bound = batch * (1 + MAX_IN_FLIGHT_BATCHES);
    println!("{what}: {dups} duplicates (at most {bound})");
    assert!(dups <= bound, "{dups} duplicates, more than {bound}");
    reader
}

#[tokio::test]
#[ignore = "needs real Elasticsearch and RocketMQ: run tests/run"]
async fn kill_9_during_a_pit_backfill_loses_nothing_and_documents_written_meanwhile_above_the_bound_arrive(
) {
    let f = Fixture::new("bf-kill").await.unwrap();
    let (docs, last_ts) = grouped_docs(0, 20_000, 500, 1_000);
    f.load(&docs).await.unwrap();
    let batch = 200;
    let connectors = vec![(
        f.connector.clone(),
        es_connector(&f.index, &f.topic, batch as u32, None),
    )];
    let mut w = WorkerProcess::start(f.dir.path(), "e2e-bf-kill", &connectors)
        .await
        .unwrap();
    let sent_at_kill = eventually(ARRIVAL_TIMEOUT, "the backfill to be under way", || async {
        let sent = w.task_sum(&f.connector, "records_sent").await?;
        Ok((sent >= 2_000).then_some(sent))
    })
    .await
    .unwrap_or_else(|e| panic!("{e}\nworker log (end):\n{}", w.log_tail(80)));
    let during = backfill_status(&w, &f.connector).await.unwrap();
    assert_eq!(during["phase"], "reading", "{during}");
    // Written while the backfill runs: at the bound (read by the incremental phase) and
    // above it.
    let more: Vec<(String, Value)> = (0..300u64)
        .map(|i| {
            (
                format!("new{i}"),
                doc(100_000 + i, last_ts + (i as i64 % 3)),
            )
        })
        .collect();
    f.load(&more).await.unwrap();
    w.kill9().await.unwrap();
    assert!(
        (sent_at_kill as usize) < docs.len(),
        "the backfill finished before the kill ({sent_at_kill} sent); the test proves nothing"
    );

    let w = WorkerProcess::start(f.dir.path(), "e2e-bf-kill", &connectors)
        .await
        .unwrap();
    let what = format!("kill -9 during the backfill after {sent_at_kill} sent");
    let reader = read_all(&f, &w, docs.len() + more.len(), batch, &what).await;
    let done = eventually(ARRIVAL_TIMEOUT, "the backfill to be complete", || async {
        let b = backfill_status(&w, &f.connector).await?;
        Ok((b["phase"] == "complete").then_some(b))
    })
    .await
    .unwrap_or_else(|e| panic!("{e}\nworker log (end):\n{}", w.log_tail(80)));
    let below_bound = docs
        .iter()
        .filter(|(_, d)| d["ts"].as_i64() < Some(last_ts))
        .count();
    assert_eq!(done["done"].as_u64(), Some(below_bound as u64), "{done}");
    assert_eq!(done["snapshot"], last_ts.to_string(), "{done}");
    let sources: HashMap<&str, &Value> = docs
        .iter()
        .chain(&more)
        .map(|(id, d)| (id.as_str(), d))
        .collect();
    for m in &reader.messages {
        let key = m.key.clone().unwrap_or_default();
        let id = key.rsplit('/').next().unwrap_or_default();
        let body: Value = serde_json::from_slice(&m.body).unwrap();
        assert_eq!(Some(&&body), sources.get(id), "body of {key}");
    }
    reader.shutdown().await;
    f.es.delete_index(&f.index).await.unwrap();
}

#[tokio::test]
#[ignore = "needs real Elasticsearch and RocketMQ: run tests/run"]
async fn kill_9_right_at_the_switch_loses_nothing_and_the_bound_and_newer_documents_arrive_once() {
    let f = Fixture::new("bf-switch").await.unwrap();
    let (docs, last_ts) = grouped_docs(0, 3_000, 50, 1_000);
    f.load(&docs).await.unwrap();
    let batch = 100;
    let connectors = vec![(
        f.connector.clone(),
        es_connector(&f.index, &f.topic, batch as u32, None),
    )];
    let mut w = WorkerProcess::start(f.dir.path(), "e2e-bf-switch", &connectors)
        .await
        .unwrap();
    // The kill lands as soon as the status says the backfill completed: the switch's
    // offset may or may not be committed yet.
    eventually(ARRIVAL_TIMEOUT, "the backfill to complete", || async {
        let b = backfill_status(&w, &f.connector).await?;
        Ok((b["phase"] == "complete").then_some(()))
    })
    .await
    .unwrap_or_else(|e| panic!("{e}\nworker log (end):\n{}", w.log_tail(80)));
    w.kill9().await.unwrap();
    let more: Vec<(String, Value)> = (0..100u64)
        .map(|i| {
            (
                format!("new{i}"),
                doc(100_000 + i, last_ts + (i as i64 % 2)),
            )
        })
        .collect();
    f.load(&more).await.unwrap();

    let w = WorkerProcess::start(f.dir.path(), "e2e-bf-switch", &connectors)
        .await
        .unwrap();
    let reader = read_all(
        &f,
        &w,
        docs.len() + more.len(),
        batch,
        "kill -9 at the switch",
    )
    .await;
    // The documents at and above the bound came through the incremental phase once.
    let counts = reader.key_counts();
    let new_twice: Vec<_> = counts
        .iter()
        .filter(|(k, &n)| k.contains("/new") && n > 1)
        .collect();
    assert!(new_twice.is_empty(), "{new_twice:?}");
    reader.shutdown().await;
    f.es.delete_index(&f.index).await.unwrap();
}

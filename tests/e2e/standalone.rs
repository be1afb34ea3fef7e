//! End-to-end tests of the standalone runtime against a real Elasticsearch and a real
//! Apache RocketMQ (started by `distribution/bin/rmq-services`; run by `tests/run`).
//! Plain `cargo test` skips them: they are `#[ignore]`d and `tests/run` passes
//! `--ignored`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::time::Duration;

use connect_e2e::{es_connector, grouped_docs, Fixture};
use connect_testkit::eventually;
use connect_testkit::topic::TopicReader;
use connect_testkit::worker::WorkerProcess;
use serde_json::{json, Value};

const NEEDS: &str = "needs real Elasticsearch and RocketMQ: run tests/run";
const ARRIVAL_TIMEOUT: Duration = Duration::from_secs(600);
/// `maxInFlightBatches` default of the worker.
const MAX_IN_FLIGHT_BATCHES: usize = 4;

/// Waits until the worker says every polled record was acknowledged and `expected`
/// were sent in this run.
async fn wait_all_sent(w: &WorkerProcess, connector: &str, expected: u64) {
    eventually(ARRIVAL_TIMEOUT, "every record acknowledged", || async {
        let sent = w.task_sum(connector, "records_sent").await?;
        let in_flight = w.task_sum(connector, "records_in_flight").await?;
        Ok((sent >= expected && in_flight == 0).then_some(()))
    })
    .await
    .unwrap_or_else(|e| panic!("{e}\nworker log (end):\n{}", w.log_tail(80)));
}

fn check_bodies(reader: &TopicReader, index: &str, docs: &HashMap<String, Value>) {
    for m in &reader.messages {
        let key = m.key.clone().unwrap_or_default();
        let id = key
            .strip_prefix(&format!("{index}/"))
            .unwrap_or_else(|| panic!("key {key:?} is not <index>/<_id>"));
        let body: Value = serde_json::from_slice(&m.body).unwrap();
        assert_eq!(
            Some(&body),
            docs.get(id),
            "body of {key} differs from its _source"
        );
    }
}

#[tokio::test]
#[ignore = "needs real Elasticsearch and RocketMQ: run tests/run"]
async fn tied_tracking_values_arrive_exactly_once_and_sigterm_restart_resends_nothing() {
    let _ = NEEDS;
    let f = Fixture::new("ties").await.unwrap();
    // 20,000 documents of ~1 KB; runs of up to 500 share one tracking value; pages of 200;
    // no tiebreaker field, so the cursor must carry the ids emitted at its value.
    let (first, last_ts) = grouped_docs(0, 20_000, 500, 1_000);
    f.load(&first).await.unwrap();
    let mut all: HashMap<String, Value> = first.iter().cloned().collect();
    let connectors = vec![(
        f.connector.clone(),
        es_connector(&f.index, &f.topic, 200, None),
    )];

    let mut w = WorkerProcess::start(f.dir.path(), "e2e-ties", &connectors)
        .await
        .unwrap();
    let mut reader = TopicReader::start(&f.topic).await.unwrap();
    reader
        .read_distinct(20_000, ARRIVAL_TIMEOUT)
        .await
        .unwrap_or_else(|e| panic!("{e}\nworker log (end):\n{}", w.log_tail(80)));
    wait_all_sent(&w, &f.connector, 20_000).await;
    let (_, status) = w
        .get(&format!("/connectors/{}/status", f.connector))
        .await
        .unwrap();
    assert_eq!(status["tasks"][0]["state"], "RUNNING", "{status}");
    assert_eq!(status["tasks"][0]["worker_id"], "e2e-ties", "{status}");
    reader.drain(Duration::from_secs(3)).await.unwrap();
    let counts = reader.key_counts();
    assert_eq!(counts.len(), 20_000, "distinct keys");
    let dups: Vec<_> = counts.iter().filter(|(_, &n)| n != 1).take(5).collect();
    assert!(dups.is_empty(), "keys not delivered exactly once: {dups:?}");
    check_bodies(&reader, &f.index, &all);

    // A clean stop commits everything acknowledged.
    let exit = w.terminate(Duration::from_secs(60)).await.unwrap();
    assert!(exit.success(), "SIGTERM exit: {exit}; log:\n{}", w.log());

    // 5,000 more while stopped; the first of them share the last tracking value of the
    // first run, so the resumed cursor must skip exactly the ids it already sent.
    let (more, _) = grouped_docs(20_000, 5_000, 500, last_ts - 1);
    f.load(&more).await.unwrap();
    all.extend(more.iter().cloned());
    let w = WorkerProcess::start(f.dir.path(), "e2e-ties", &connectors)
        .await
        .unwrap();
    reader
        .read_distinct(25_000, ARRIVAL_TIMEOUT)
        .await
        .unwrap_or_else(|e| panic!("{e}\nworker log (end):\n{}", w.log_tail(80)));
    wait_all_sent(&w, &f.connector, 5_000).await;
    reader.drain(Duration::from_secs(3)).await.unwrap();
    let counts = reader.key_counts();
    assert_eq!(counts.len(), 25_000, "distinct keys after restart");
    let dups: Vec<_> = counts.iter().filter(|(_, &n)| n != 1).take(5).collect();
    assert!(
        dups.is_empty(),
        "documents re-sent after a clean restart: {dups:?}"
    );
    check_bodies(&reader, &f.index, &all);
    reader.shutdown().await;
    f.es.delete_index(&f.index).await.unwrap();
}

#[tokio::test]
#[ignore = "needs real Elasticsearch and RocketMQ: run tests/run"]
async fn kill_9_mid_stream_loses_nothing_and_duplicates_stay_under_one_batch_plus_in_flight() {
    // Tie groups of up to 500 span pages of 200, so the kill often lands inside one.
    let (docs, _) = grouped_docs(0, 20_000, 500, 1_000);
    kill_9_mid_stream(Some("seq"), docs, 200, 2_000, false).await;
}

#[tokio::test]
#[ignore = "needs real Elasticsearch and RocketMQ: run tests/run"]
async fn kill_9_mid_stream_without_a_tiebreaker_loses_nothing_at_tied_values() {
    let (docs, _) = grouped_docs(0, 20_000, 500, 1_000);
    kill_9_mid_stream(None, docs, 200, 2_000, false).await;
}

#[tokio::test]
#[ignore = "needs real Elasticsearch and RocketMQ: run tests/run"]
async fn kill_9_inside_5000_documents_sharing_one_value_without_a_tiebreaker_loses_nothing() {
    // Every document has the same tracking value: the whole stream is one tie group,
    // read in pages of 50, and the kill lands inside it. With send.mode=sync one batch at
    // a time is unacknowledged, so at most one batch may come again.
    let docs: Vec<(String, Value)> = (0..5_000u64)
        .map(|seq| (format!("d{seq}"), connect_e2e::doc(seq, 42)))
        .collect();
    kill_9_mid_stream(None, docs, 50, 1_000, true).await;
}

/// Loads `docs`, lets a worker send at least `kill_after` of them in pages of `batch`,
/// SIGKILLs it, restarts it, and checks every document arrived with at most one batch
/// of duplicates (`sync`: one batch unacknowledged at a time), or, with async sends,
/// fewer than one batch plus what can be in flight.
async fn kill_9_mid_stream(
    tiebreaker: Option<&str>,
    docs: Vec<(String, Value)>,
    batch: usize,
    kill_after: u64,
    sync: bool,
) {
    let f = Fixture::new("kill").await.unwrap();
    let total = docs.len();
    f.load(&docs).await.unwrap();
    let mut config = es_connector(&f.index, &f.topic, batch as u32, tiebreaker);
    // The incremental cursor's tie handling under a kill; the PIT backfill has its own
    // kill -9 tests (e2e/backfill.rs).
    config["es.backfill.mode"] = json!("sorted");
    if sync {
        config["send.mode"] = json!("sync");
    }
    let connectors = vec![(f.connector.clone(), config)];
    let mut w = WorkerProcess::start(f.dir.path(), "e2e-kill", &connectors)
        .await
        .unwrap();
    let sent_at_kill = eventually(ARRIVAL_TIMEOUT, "the stream to be under way", || async {
        let sent = w.task_sum(&f.connector, "records_sent").await?;
        Ok((sent >= kill_after).then_some(sent))
    })
    .await
    .unwrap_or_else(|e| panic!("{e}\nworker log (end):\n{}", w.log_tail(80)));
    w.kill9().await.unwrap();
    assert!(
        (sent_at_kill as usize) < total,
        "the stream finished before the kill ({sent_at_kill} sent); the test proves nothing"
    );

    let w = WorkerProcess::start(f.dir.path(), "e2e-kill", &connectors)
        .await
        .unwrap();
    let reader = w.read_topic_drained(&f.topic, total, ARRIVAL_TIMEOUT).await;
    let counts = reader.key_counts();
    assert_eq!(counts.len(), total, "every document arrives at least once");
    let duplicates: usize = counts.values().map(|n| n - 1).sum();
    let bound = if sync {
        batch
    } else {
        batch * (1 + MAX_IN_FLIGHT_BATCHES) - 1
    };
    println!("kill -9 after {sent_at_kill} sent: {duplicates} duplicates (at most {bound})");
    assert!(
        duplicates <= bound,
        "{duplicates} duplicates, more than {bound} (one batch{})",
        if sync { "" } else { " plus what was in flight" }
    );
    let all: HashMap<String, Value> = docs.into_iter().collect();
    check_bodies(&reader, &f.index, &all);
    reader.shutdown().await;
    f.es.delete_index(&f.index).await.unwrap();
}

#[tokio::test]
#[ignore = "needs real Elasticsearch and RocketMQ: run tests/run"]
async fn legacy_dashed_keys_over_rest_create_a_running_connector_that_delivers() {
    let f = Fixture::new("legacy").await.unwrap();
    let (docs, _) = grouped_docs(0, 300, 20, 1);
    f.load(&docs).await.unwrap();
    let w = WorkerProcess::start(f.dir.path(), "e2e-legacy", &[])
        .await
        .unwrap();
    let config = json!({
        "connector-class": "es-source",
        "max-task": "1",
        "connect-topicname": f.topic,
        "es.hosts": connect_testkit::es_url(),
        "es.index": f.index,
        "es.tracking.field": "ts",
        "es.tiebreaker.field": "seq",
    });
    let (code, body) = w
        .send_raw(
            reqwest::Method::POST,
            &format!("/connectors/{}", f.connector),
            config.to_string().as_bytes(),
        )
        .await
        .unwrap();
    assert_eq!(code, 201, "{body}");
    assert_eq!(body["config"]["connector.class"], "es-source", "{body}");
    assert_eq!(body["config"]["max.tasks"], "1", "{body}");
    let mut reader = TopicReader::start(&f.topic).await.unwrap();
    reader
        .read_distinct(300, ARRIVAL_TIMEOUT)
        .await
        .unwrap_or_else(|e| panic!("{e}\nworker log (end):\n{}", w.log_tail(80)));
    let (code, status) = w
        .get(&format!("/connectors/{}/status", f.connector))
        .await
        .unwrap();
    assert_eq!(code, 200);
    assert_eq!(status["connector"]["state"], "RUNNING", "{status}");
    assert_eq!(status["connector"]["worker_id"], "e2e-legacy", "{status}");
    assert_eq!(status["tasks"][0]["state"], "RUNNING", "{status}");
    let m = &reader.messages[0];
    assert!(m
        .key
        .as_deref()
        .unwrap_or("")
        .starts_with(&format!("{}/d", f.index)));
    reader.shutdown().await;
    f.es.delete_index(&f.index).await.unwrap();
}

#[tokio::test]
#[ignore = "needs real Elasticsearch and RocketMQ: run tests/run"]
async fn bad_rest_input_gets_a_4xx_json_error_naming_the_problem_and_the_worker_keeps_running() {
    let f = Fixture::new("badrest").await.unwrap();
    let mut w = WorkerProcess::start(f.dir.path(), "e2e-bad", &[])
        .await
        .unwrap();
    let good = es_connector(&f.index, &f.topic, 100, None);

    let post = |path: String, body: Vec<u8>| {
        let w = &w;
        async move {
            w.send_raw(reqwest::Method::POST, &path, &body)
                .await
                .unwrap()
        }
    };
    let fields = |body: &Value| -> Vec<String> {
        body["errors"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|e| e["field"].as_str().unwrap_or("").to_owned())
                    .collect()
            })
            .unwrap_or_default()
    };

    // Malformed JSON.
    let (code, body) = post("/connectors/x1".into(), b"{\"connector.class\": ".to_vec()).await;
    assert_eq!(code, 400, "{body}");
    assert_eq!(body["error_code"], 400);
    assert!(
        body["message"].as_str().unwrap().contains("not valid JSON"),
        "{body}"
    );

    // Unknown connector class.
    let mut cfg = good.clone();
    cfg["connector.class"] = json!("com.example.NoSuchConnector");
    let (code, body) = post(
        "/connectors".into(),
        json!({"name": "x2", "config": cfg})
            .to_string()
            .into_bytes(),
    )
    .await;
    assert_eq!(code, 400, "{body}");
    assert_eq!(fields(&body), ["connector.class"], "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("NoSuchConnector"),
        "{body}"
    );

    // Missing required key.
    let mut cfg = good.clone();
    cfg.as_object_mut().unwrap().remove("es.index");
    let (code, body) = post("/connectors/x3".into(), cfg.to_string().into_bytes()).await;
    assert_eq!(code, 400, "{body}");
    assert_eq!(fields(&body), ["es.index"], "{body}");

    // Wrong types and values.
    let (code, body) = post(
        "/connectors/x4".into(),
        json!({"connector.class": "es-source", "max.tasks": [1], "es.hosts": "http://127.0.0.1:9200"})
            .to_string()
            .into_bytes(),
    )
    .await;
    assert_eq!(code, 400, "{body}");
    assert_eq!(fields(&body), ["max.tasks"], "{body}");
    let mut cfg = good.clone();
    cfg["es.hosts"] = json!("ftp://127.0.0.1:9200");
    cfg["es.batch.size"] = json!("0");
    let (code, body) = post("/connectors/x5".into(), cfg.to_string().into_bytes()).await;
    assert_eq!(code, 400, "{body}");
    let f5 = fields(&body);
    assert!(
        f5.contains(&"es.hosts".to_owned()) && f5.contains(&"es.batch.size".to_owned()),
        "{body}"
    );

    // Not declared as JSON, and too large.
    let (code, body) = w
        .send_raw_typed(
            reqwest::Method::POST,
            "/connectors/x7",
            "text/plain",
            good.to_string().as_bytes(),
        )
        .await
        .unwrap();
    assert_eq!(code, 415, "{body}");
    assert_eq!(body["error_code"], 415, "{body}");
    let huge = format!(
        "{{\"connector.class\": \"{}\"}}",
        "x".repeat(2 * 1024 * 1024)
    );
    let (code, body) = post("/connectors/x8".into(), huge.into_bytes()).await;
    assert_eq!(code, 413, "{body}");
    assert_eq!(body["error_code"], 413, "{body}");

    // Bad connector name, body that is not an object, unknown connector.
    let (code, body) = post("/connectors/bad$name".into(), good.to_string().into_bytes()).await;
    assert_eq!(code, 400, "{body}");
    assert_eq!(fields(&body), ["name"], "{body}");
    let (code, body) = post("/connectors/x6".into(), b"[1,2]".to_vec()).await;
    assert_eq!(code, 400, "{body}");
    let (code, body) = w.get("/connectors/nope/status").await.unwrap();
    assert_eq!(code, 404, "{body}");
    assert_eq!(body["error_code"], 404);

    // Nothing was created, and the worker is alive and serving.
    let (code, list) = w.get("/connectors").await.unwrap();
    assert_eq!(code, 200);
    assert_eq!(list, json!([]));
    let (code, root) = w.get("/").await.unwrap();
    assert_eq!(code, 200);
    assert_eq!(root["worker_id"], "e2e-bad");
    assert!(w.is_running());
    f.es.delete_index(&f.index).await.unwrap();
}

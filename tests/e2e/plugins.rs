//! End-to-end: connectors found under `pluginPaths`, run as child processes speaking the
//! Airbyte protocol, into a real Apache RocketMQ (started by
//! `distribution/bin/rmq-services`; run by `tests/run`; plain `cargo test` skips them).
//! The plugin is `tests/plugins/scripted`, a small Airbyte source in Python.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;
use std::path::PathBuf;
use std::time::Duration;

use connect_testkit::process::with_cmdline;
use connect_testkit::topic::KeyCounter;
use connect_testkit::worker::WorkerProcess;
use connect_testkit::{eventually, unique_name};
use serde_json::{json, Value};

const WAIT: Duration = Duration::from_secs(300);

fn plugin_conf() -> String {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("plugins");
    format!("pluginPaths={}\n", dir.display())
}

/// `method path` with a JSON body (or none) → (status, JSON body).
async fn send(w: &WorkerProcess, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let body = body
        .map(|b| serde_json::to_vec(&b).unwrap())
        .unwrap_or_default();
    w.send_raw(method, path, &body).await.unwrap()
}

fn ids(stream: &str, n: u64) -> HashSet<String> {
    (1..=n).map(|i| format!("{stream}/{i}")).collect()
}

/// The processes whose command line holds `needle`.
fn processes_with(needle: &str) -> Vec<u32> {
    with_cmdline(needle).into_iter().map(|p| p.pid).collect()
}

#[tokio::test]
#[ignore = "needs a real RocketMQ: run tests/run"]
async fn a_plugin_streams_each_stream_into_its_own_topic_and_survives_kill_9_losing_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let base = unique_name("plug");
    let connector = unique_name("scripted");
    let config = json!({
        "connector.class": "scripted",
        "connect.topicname": format!("{base}-${{stream}}"),
        "count": "3000",
        "state_every": "100",
        "slow_ms": "5",
        "stream_names": "alpha,beta",
        "sync.interval.ms": "600000",
        // A secret (airbyte_secret in the plugin's spec): never shown.
        "token": format!("secret-{base}"),
    });
    let alpha = KeyCounter::start(&format!("{base}-alpha")).await.unwrap();
    let beta = KeyCounter::start(&format!("{base}-beta")).await.unwrap();
    let mut w = WorkerProcess::start_with(
        dir.path(),
        "plugins-1",
        &[(connector.clone(), config)],
        &plugin_conf(),
        &[],
    )
    .await
    .unwrap();

    let (code, plugins) = w.get("/connector-plugins").await.unwrap();
    assert_eq!(code, 200);
    let scripted = plugins
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["class"] == "scripted")
        .cloned()
        .unwrap_or_else(|| panic!("scripted is listed: {plugins}"));
    assert_eq!(scripted["protocol"], "airbyte");
    assert_eq!(scripted["version"], "1.0.0");

    // Mid-sync (a sync takes at least 30 s): some records were sent, not all.
    eventually(WAIT, "the first records sent", || async {
        Ok((w.task_sum(&connector, "records_sent").await? > 200).then_some(()))
    })
    .await
    .unwrap_or_else(|e| panic!("{e:#}\n{}", w.log_tail(80)));
    let children = w.dir().join("store").join("plugins").display().to_string();
    assert!(
        !processes_with(&children).is_empty(),
        "the plugin runs with {children}: {:?}\n{}",
        processes_with("source.py"),
        w.log_tail(40)
    );
    w.kill9().await.unwrap();
    // The guard terminates the plugin's process group once the worker is gone.
    eventually(
        Duration::from_secs(30),
        "the plugin of the killed worker gone",
        || async { Ok(processes_with(&children).is_empty().then_some(())) },
    )
    .await
    .unwrap();
    w.restart().await.unwrap();

    let a = alpha.wait_for(&ids("alpha", 3000), WAIT).await;
    let b = beta.wait_for(&ids("beta", 3000), WAIT).await;
    let (a, b) = match (a, b) {
        (Ok(a), Ok(b)) => (a, b),
        (a, b) => panic!("{a:?} {b:?}\n{}", w.log_tail(80)),
    };
    // At least once: duplicates are at most what came after the last committed state
    // (a state every 100 records per stream, plus what was in flight).
    assert!(a.duplicates <= 1_000, "{a:?}");
    assert!(b.duplicates <= 1_000, "{b:?}");

    // Status says how the streams are read.
    let (_, status) = w
        .get(&format!("/connectors/{connector}/status"))
        .await
        .unwrap();
    assert_eq!(status["tasks"][0]["state"], "RUNNING", "{status}");

    // The secret never shows in the config returned.
    let (_, shown) = w.get(&format!("/connectors/{connector}")).await.unwrap();
    assert!(
        !shown.to_string().contains(&format!("secret-{base}")),
        "{shown}"
    );
    w.terminate(Duration::from_secs(60)).await.unwrap();
    alpha.stop().await;
    beta.stop().await;
}

#[tokio::test]
#[ignore = "needs a real RocketMQ: run tests/run"]
async fn pausing_stops_the_plugin_process_and_resuming_reads_on_from_the_committed_state() {
    let dir = tempfile::tempdir().unwrap();
    let base = unique_name("plugpause");
    let connector = unique_name("scripted");
    let marker = dir.path().join("unused-marker");
    let config = json!({
        "connector.class": "scripted",
        "connect.topicname": format!("{base}-${{stream}}"),
        "count": "2000",
        "state_every": "50",
        "slow_ms": "10",
        "stream_names": "alpha",
        "plugin.shutdown.grace.ms": "2000",
        "marker_file": marker.display().to_string(),
    });
    let alpha = KeyCounter::start(&format!("{base}-alpha")).await.unwrap();
    let w = WorkerProcess::start_with(
        dir.path(),
        "plugins-2",
        &[(connector.clone(), config)],
        &plugin_conf(),
        &[],
    )
    .await
    .unwrap();
    eventually(WAIT, "records flowing", || async {
        Ok((w.task_sum(&connector, "records_sent").await? > 100).then_some(()))
    })
    .await
    .unwrap_or_else(|e| panic!("{e:#}\n{}", w.log_tail(80)));
    let config_dir = w.dir().join("store").join("plugins");
    assert!(
        !processes_with(&config_dir.display().to_string()).is_empty(),
        "the plugin runs"
    );
    let (code, body) = send(&w, "PUT", &format!("/connectors/{connector}/pause"), None).await;
    assert!(code == 202 || code == 200, "{code} {body}");
    // The child is gone within the grace (2 s), plus the time the pause takes.
    eventually(
        Duration::from_secs(15),
        "the plugin process gone",
        || async {
            Ok(processes_with(&config_dir.display().to_string())
                .is_empty()
                .then_some(()))
        },
    )
    .await
    .unwrap_or_else(|e| panic!("{e:#}\n{}", w.log_tail(80)));
    tokio::time::sleep(Duration::from_secs(3)).await;
    let flat = alpha.total();
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(alpha.total(), flat, "nothing is produced while paused");
    let (code, body) = send(&w, "PUT", &format!("/connectors/{connector}/resume"), None).await;
    assert!(code == 202 || code == 200, "{code} {body}");
    let d = alpha.wait_for(&ids("alpha", 2000), WAIT).await;
    let d = d.unwrap_or_else(|e| panic!("{e:#}\n{}", w.log_tail(80)));
    assert!(d.duplicates <= 500, "{d:?}");
    alpha.stop().await;
}

#[tokio::test]
#[ignore = "needs a real RocketMQ: run tests/run"]
async fn bad_plugin_configs_are_a_400_naming_the_key_and_a_crashing_plugin_is_restarted_without_loss(
) {
    let dir = tempfile::tempdir().unwrap();
    let base = unique_name("plugbad");
    // A second plugin path with a plugin.json that is not JSON: the worker starts and
    // lists it with its error.
    let broken = dir.path().join("more-plugins").join("garbled");
    std::fs::create_dir_all(&broken).unwrap();
    std::fs::write(broken.join("plugin.json"), "{\"name\": \"garbled\",").unwrap();
    let conf = format!(
        "{},{}\n",
        plugin_conf().trim_end(),
        dir.path().join("more-plugins").display()
    );
    let w = WorkerProcess::start_with(dir.path(), "plugins-3", &[], &conf, &[])
        .await
        .unwrap();
    let (code, plugins) = w.get("/connector-plugins").await.unwrap();
    assert_eq!(code, 200);
    let garbled = plugins
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["class"] == "garbled")
        .cloned()
        .unwrap_or_else(|| panic!("the broken plugin is listed: {plugins}"));
    assert!(
        garbled["error"]
            .as_str()
            .unwrap_or("")
            .contains("is not valid JSON"),
        "{garbled}"
    );
    let bad = json!({"connector.class": "scripted", "connect.topicname": format!("{base}-${{stream}}"), "count": "abc"});
    let (code, body) = send(
        &w,
        "PUT",
        &format!("/connectors/{base}-bad/config"),
        Some(bad),
    )
    .await;
    assert_eq!(code, 400, "{body}");
    assert!(body.to_string().contains("count"), "{body}");
    let unknown = json!({"connector.class": "scripted", "connect.topicname": format!("{base}-${{stream}}"), "count": "5", "streams": "alpha,gamma"});
    let (code, body) = send(
        &w,
        "PUT",
        &format!("/connectors/{base}-unknown/config"),
        Some(unknown),
    )
    .await;
    assert_eq!(code, 400, "{body}");
    assert!(body.to_string().contains("gamma"), "{body}");

    // Crashes once after 700 records (the marker file remembers), is restarted with
    // back-off, reads on from the committed state.
    let marker = dir.path().join("crash-marker");
    let alpha = KeyCounter::start(&format!("{base}-alpha")).await.unwrap();
    let crashing = json!({
        "connector.class": "scripted",
        "connect.topicname": format!("{base}-${{stream}}"),
        "count": "1500",
        "state_every": "100",
        "stream_names": "alpha",
        "crash_after": "700",
        "marker_file": marker.display().to_string(),
    });
    let (code, body) = send(
        &w,
        "PUT",
        &format!("/connectors/{base}-crash/config"),
        Some(crashing),
    )
    .await;
    assert!(code == 201 || code == 200, "{code} {body}");
    let d = alpha.wait_for(&ids("alpha", 1500), WAIT).await;
    let d = d.unwrap_or_else(|e| panic!("{e:#}\n{}", w.log_tail(80)));
    assert!(d.duplicates <= 200, "{d:?}");
    assert!(marker.exists(), "it did crash");
    alpha.stop().await;
}

#[tokio::test]
#[ignore = "needs a real RocketMQ: run tests/run"]
async fn a_token_the_plugin_refreshes_is_stored_and_used_after_a_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let base = unique_name("plugtoken");
    let tokens = dir.path().join("tokens");
    let mut w = WorkerProcess::start_with(dir.path(), "plugins-4", &[], &plugin_conf(), &[])
        .await
        .unwrap();
    // At the start of a read, a token not ending in "-rotated" is refreshed: the plugin
    // sends CONTROL CONNECTOR_CONFIG with "<token>-rotated". Each read appends the token
    // it was given to the file.
    let config = json!({
        "connector.class": "scripted",
        "connect.topicname": format!("{base}-${{stream}}"),
        "count": "50",
        "stream_names": "alpha",
        "token": format!("{base}-t0"),
        "rotate_token": "true",
        "token_file": tokens.display().to_string(),
        "sync.interval.ms": "600000",
    });
    let (code, body) = send(
        &w,
        "PUT",
        &format!("/connectors/{base}/config"),
        Some(config),
    )
    .await;
    assert!(code == 201 || code == 200, "{code} {body}");
    let read_tokens = || std::fs::read_to_string(&tokens).unwrap_or_default();
    let rotated = format!("{base}-t0-rotated");
    eventually(WAIT, "a read with the refreshed token", || async {
        Ok(read_tokens().lines().any(|l| l == rotated).then_some(()))
    })
    .await
    .unwrap_or_else(|e| panic!("{e:#}\n{}", w.log_tail(80)));
    let (_, shown) = w.get(&format!("/connectors/{base}")).await.unwrap();
    assert!(!shown.to_string().contains(&rotated), "hidden: {shown}");

    // The refreshed token was stored: the worker killed and started again reads with it.
    let before = read_tokens().lines().count();
    w.kill9().await.unwrap();
    w.restart().await.unwrap();
    eventually(WAIT, "a read after the restart", || async {
        Ok((read_tokens().lines().count() > before).then_some(()))
    })
    .await
    .unwrap_or_else(|e| panic!("{e:#}\n{}", w.log_tail(80)));
    let all = read_tokens();
    let lines: Vec<&str> = all.lines().collect();
    assert_eq!(lines[0], format!("{base}-t0"), "{lines:?}");
    assert!(lines[1..].iter().all(|l| *l == rotated), "{lines:?}");
    w.terminate(Duration::from_secs(60)).await.unwrap();
}

/// `VmHWM` (peak resident memory) of a process, in bytes.
fn peak_rss(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

#[tokio::test]
#[ignore = "needs a real RocketMQ: run tests/run"]
async fn a_plugin_writing_1_gb_faster_than_rocketmq_takes_it_leaves_the_worker_memory_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let base = unique_name("plugbig");
    let connector = unique_name("scripted");
    // 2 streams x 8192 records of 64 KiB: 1 GiB, which the plugin writes far faster
    // than the worker can send it.
    const PER_STREAM: u64 = 8192;
    let config = json!({
        "connector.class": "scripted",
        "connect.topicname": format!("{base}-${{stream}}"),
        "count": PER_STREAM.to_string(),
        "pad_bytes": "65536",
        "state_every": "256",
        "stream_names": "alpha,beta",
        "sync.interval.ms": "600000",
    });
    let alpha = KeyCounter::start(&format!("{base}-alpha")).await.unwrap();
    let beta = KeyCounter::start(&format!("{base}-beta")).await.unwrap();
    let w = WorkerProcess::start_with(
        dir.path(),
        "plugins-5",
        &[(connector.clone(), config)],
        &plugin_conf(),
        &[],
    )
    .await
    .unwrap();
    let pid = w.pid().unwrap();
    let started = std::time::Instant::now();
    let a = alpha.wait_for(&ids("alpha", PER_STREAM), WAIT).await;
    let b = beta.wait_for(&ids("beta", PER_STREAM), WAIT).await;
    if let (Err(_), _) | (_, Err(_)) = (&a, &b) {
        panic!("{a:?} {b:?}\n{}", w.log_tail(80));
    }
    let peak = peak_rss(pid).unwrap();
    eprintln!(
        "1 GiB through the worker in {:.1} s; the worker's peak RSS: {} MiB",
        started.elapsed().as_secs_f64(),
        peak / (1024 * 1024)
    );
    // What the worker holds is bounded: the reader's 16 MiB, one poll's 4 MiB and the
    // batches in flight (4 x 3 MiB), besides the worker itself; not the 1 GiB.
    assert!(peak < 256 * 1024 * 1024, "peak RSS {peak} bytes");
    alpha.stop().await;
    beta.stop().await;
}

/// faker 7.2.1 with `count=5000, records_per_slice=250, always_updated=false`: 100
/// products (a fixed list), 5000 users and 5000 purchases, each with ids from 1.
const FAKER_PRODUCTS: u64 = 100;
const FAKER_PURCHASES: u64 = 5000;

/// The plugin path `tests/run` installs `airbyte-source-faker==7.2.1` into (with
/// `rmq-connect plugins install-pypi`), cached outside the repository.
fn faker_conf() -> String {
    let dir = std::env::var("RMQ_TEST_PLUGIN_PATH").unwrap_or_else(|_| {
        panic!("RMQ_TEST_PLUGIN_PATH is not set: tests/run installs faker there")
    });
    format!("pluginPaths={dir}\n")
}

#[tokio::test]
#[ignore = "needs a real RocketMQ and faker from PyPI: run tests/run"]
async fn faker_from_pypi_streams_users_products_and_purchases_into_three_topics_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let base = unique_name("faker");
    let connector = unique_name("faker");
    let config = json!({
        "connector.class": "faker",
        "connect.topicname": format!("{base}-${{stream}}"),
        "count": "5000",
        "records_per_slice": "250",
        "always_updated": "false",
        "seed": "42",
        "parallelism": "1",
        "sync.interval.ms": "600000",
    });
    let counters = [
        (
            "users",
            KeyCounter::start(&format!("{base}-users")).await.unwrap(),
        ),
        (
            "products",
            KeyCounter::start(&format!("{base}-products"))
                .await
                .unwrap(),
        ),
        (
            "purchases",
            KeyCounter::start(&format!("{base}-purchases"))
                .await
                .unwrap(),
        ),
    ];
    let w = WorkerProcess::start_with(
        dir.path(),
        "faker-1",
        &[(connector.clone(), config)],
        &faker_conf(),
        &[],
    )
    .await
    .unwrap();
    for (stream, n) in [
        ("users", 5000),
        ("products", FAKER_PRODUCTS),
        ("purchases", FAKER_PURCHASES),
    ] {
        let counter = &counters.iter().find(|(s, _)| *s == stream).unwrap().1;
        let d = counter.wait_for(&ids(stream, n), WAIT).await;
        let d = d.unwrap_or_else(|e| panic!("{stream}: {e:#}\n{}", w.log_tail(80)));
        assert_eq!(d.duplicates, 0, "{stream}: {d:?}");
        assert_eq!(
            counter.distinct() as u64,
            n,
            "{stream}: nothing more than the ids"
        );
    }
    // Status counts per stream what was read and what is committed (acknowledged and
    // covered by a committed state): all of it once the sync's last states are stored.
    eventually(WAIT, "every stream's records committed", || async {
        let (_, s) = w.get(&format!("/connectors/{connector}/status")).await?;
        let c = &s["tasks"][0]["counters"];
        let all = [
            ("users", 5000),
            ("products", FAKER_PRODUCTS),
            ("purchases", FAKER_PURCHASES),
        ]
        .iter()
        .all(|(stream, n)| {
            c[format!("records_{stream}")] == *n
                && c[format!("committed_{stream}")] == *n
                // The plugin's STREAM_STATUS: complete.
                && c[format!("stream_state_{stream}")] == 3
        });
        Ok(all.then_some(()))
    })
    .await
    .unwrap_or_else(|e| panic!("{e:#}"));
    for (_, c) in counters {
        c.stop().await;
    }
}

#[tokio::test]
#[ignore = "needs a real RocketMQ: run tests/run"]
async fn in_a_cluster_kill_9_of_the_worker_running_a_plugin_task_moves_it_and_nothing_is_lost() {
    use connect_testkit::cluster::ClusterConf;
    let dir = tempfile::tempdir().unwrap();
    let cluster = ClusterConf::unique("cplug");
    let mut workers = Vec::new();
    for i in 0..2 {
        let w = WorkerProcess::start_distributed(
            &dir.path().join(format!("w{i}")),
            &format!("w{i}"),
            &cluster,
            &plugin_conf(),
        )
        .await
        .unwrap();
        workers.push(w);
    }
    let base = unique_name("cplug");
    let connector = unique_name("scripted");
    let alpha = KeyCounter::start(&format!("{base}-alpha")).await.unwrap();
    let create = json!({"name": connector, "config": {
        "connector.class": "scripted",
        "connect.topicname": format!("{base}-${{stream}}"),
        "count": "3000",
        "state_every": "100",
        "slow_ms": "5",
        "stream_names": "alpha",
        "sync.interval.ms": "600000",
    }});
    let (code, body) = send(&workers[0], "POST", "/connectors", Some(create)).await;
    assert_eq!(code, 201, "{body}");
    // Mid-sync (at least 15 s long): find the worker running the task.
    let runner = eventually(WAIT, "the task running and sending", || async {
        let (_, status) = workers[0]
            .get(&format!("/connectors/{connector}/status"))
            .await?;
        let task = &status["tasks"][0];
        let sent = workers[0].task_sum(&connector, "records_sent").await?;
        Ok((task["state"] == "RUNNING" && sent > 200)
            .then(|| task["worker_id"].as_str().unwrap_or("").to_owned()))
    })
    .await
    .unwrap_or_else(|e| {
        panic!(
            "{e:#}\n{}\n{}",
            workers[0].log_tail(60),
            workers[1].log_tail(60)
        )
    });
    let victim = workers
        .iter()
        .position(|w| w.worker_id() == runner)
        .unwrap();
    workers[victim].kill9().await.unwrap();
    let survivor = &workers[1 - victim];
    let d = alpha.wait_for(&ids("alpha", 3000), WAIT).await;
    let d = d.unwrap_or_else(|e| panic!("{e:#}\n{}", survivor.log_tail(80)));
    assert!(d.duplicates <= 1_000, "{d:?}");
    let (_, status) = survivor
        .get(&format!("/connectors/{connector}/status"))
        .await
        .unwrap();
    assert_eq!(
        status["tasks"][0]["worker_id"],
        survivor.worker_id(),
        "{status}"
    );
    alpha.stop().await;
}

/// Serves `body` as JSON to every request on a free port of 127.0.0.1; returns the
/// base URL. Stands in for a web API a low-code source reads (not for a service of
/// ours).
async fn serve_json(body: String) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let body = body.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 16 * 1024];
                let _ = socket.read(&mut buf).await;
                let head = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    body.len()
                );
                let _ = socket.write_all(head.as_bytes()).await;
                let _ = socket.write_all(body.as_bytes()).await;
            });
        }
    });
    format!("http://{addr}")
}

#[tokio::test]
#[ignore = "needs a real RocketMQ and airbyte-cdk from PyPI: run tests/run"]
async fn a_low_code_manifest_run_by_airbyte_cdk_from_pypi_streams_a_local_api_into_its_topic() {
    let items: Vec<Value> = (1..=500)
        .map(|i| json!({"id": i, "name": format!("item {i}")}))
        .collect();
    let base_url = serve_json(json!({ "items": items }).to_string()).await;
    let manifest = json!({
        "version": "6.61.6",
        "type": "DeclarativeSource",
        "check": {"type": "CheckStream", "stream_names": ["items"]},
        "spec": {"type": "Spec", "connection_specification": {
            "type": "object", "required": ["base_url"],
            "properties": {"base_url": {"type": "string"}}}},
        "streams": [{
            "type": "DeclarativeStream", "name": "items", "primary_key": ["id"],
            "schema_loader": {"type": "InlineSchemaLoader", "schema": {"type": "object",
                "properties": {"id": {"type": "integer"}, "name": {"type": "string"}}}},
            "retriever": {"type": "SimpleRetriever",
                "requester": {"type": "HttpRequester", "url_base": "{{ config['base_url'] }}",
                              "path": "/items", "http_method": "GET"},
                "record_selector": {"type": "RecordSelector",
                    "extractor": {"type": "DpathExtractor", "field_path": ["items"]}}}
        }]
    });
    let dir = tempfile::tempdir().unwrap();
    let base = unique_name("lowcode");
    let connector = unique_name("lowcode");
    let counter = KeyCounter::start(&format!("{base}-items")).await.unwrap();
    let config = json!({
        "connector.class": "declarative",
        "connect.topicname": format!("{base}-${{stream}}"),
        "__injected_declarative_manifest": manifest.to_string(),
        "base_url": base_url,
        "sync.interval.ms": "600000",
    });
    let w = WorkerProcess::start_with(
        dir.path(),
        "lowcode-1",
        &[(connector, config)],
        &faker_conf(),
        &[],
    )
    .await
    .unwrap();
    let d = counter.wait_for(&ids("items", 500), WAIT).await;
    let d = d.unwrap_or_else(|e| panic!("{e:#}\n{}", w.log_tail(80)));
    assert_eq!(d.duplicates, 0, "{d:?}");
    counter.stop().await;
}

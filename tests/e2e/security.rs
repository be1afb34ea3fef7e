//! Security end to end: a planted secret (a connector password, a placeholder resolved
//! from the environment, the REST token) never appears in any response, log line or
//! error of a worker driven through its REST API against the real services.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use connect_e2e::{es_connector, grouped_docs, mapping};
use connect_testkit::es::Es;
use connect_testkit::topic::TopicReader;
use connect_testkit::unique_name;
use connect_testkit::worker::WorkerProcess;
use serde_json::{json, Value};

const PASSWORD: &str = "PLANTED-pw-8c1f2e77";
const ENV_SECRET: &str = "PLANTED-env-41d0aa93";
const TOKEN: &str = "PLANTED-token-5b7e90c2d4";

#[tokio::test]
#[ignore = "needs real Elasticsearch and RocketMQ: run tests/run"]
async fn planted_secrets_never_appear_in_responses_logs_or_errors() {
    let es = Es::from_env();
    let index = unique_name("e2e-secret").to_lowercase();
    es.create_index(&index, mapping()).await.unwrap();
    let (docs, _) = grouped_docs(0, 200, 10, 1);
    es.bulk_index(&index, &docs).await.unwrap();
    es.refresh(&index).await.unwrap();
    let topic = unique_name("e2e_secret");
    let dir = tempfile::tempdir().unwrap();

    // Elasticsearch here runs without security, so it ignores the credentials; the
    // connector still carries them everywhere a secret could leak.
    let mut with_password = es_connector(&index, &topic, 50, Some("seq"));
    with_password["es.username"] = json!("elastic");
    with_password["es.password"] = json!(PASSWORD);
    let mut with_env = with_password.clone();
    with_env["es.password"] = json!("${env:RMQ_IT_ES_PASSWORD}");
    let mut w = WorkerProcess::start_with(
        dir.path(),
        "e2e-secret",
        &[("pw".to_owned(), with_password.clone())],
        &format!("rest.auth.token={TOKEN}"),
        &[("RMQ_IT_ES_PASSWORD", ENV_SECRET)],
    )
    .await
    .unwrap();

    let mut bodies: Vec<String> = Vec::new();
    let mut keep = |(code, body): (u16, Value)| {
        bodies.push(body.to_string());
        (code, body)
    };
    let post = reqwest::Method::POST;
    let put = reqwest::Method::PUT;

    let (code, b) = keep(
        w.send_raw(
            post.clone(),
            "/connectors/env",
            with_env.to_string().as_bytes(),
        )
        .await
        .unwrap(),
    );
    assert_eq!(code, 201, "{b}");
    // Errors that could echo a secret: a bad host with user info, a bad batch size next
    // to the password, validation of both.
    let mut bad = with_password.clone();
    bad["es.hosts"] = json!(format!("http://elastic:{PASSWORD}@127.0.0.1:1"));
    let (code, b) = keep(
        w.send_raw(post.clone(), "/connectors/bad1", bad.to_string().as_bytes())
            .await
            .unwrap(),
    );
    assert_eq!(code, 400, "{b}");
    let mut bad = with_password.clone();
    bad["es.hosts"] = json!("http://127.0.0.1:1");
    let (code, b) = keep(
        w.send_raw(post.clone(), "/connectors/bad2", bad.to_string().as_bytes())
            .await
            .unwrap(),
    );
    assert_eq!(code, 400, "{b}");
    keep(
        w.send_raw(
            put.clone(),
            "/connector-plugins/es-source/config/validate",
            with_password.to_string().as_bytes(),
        )
        .await
        .unwrap(),
    );
    keep(
        w.send_raw(
            put.clone(),
            "/connector-plugins/es-source/config/validate",
            bad.to_string().as_bytes(),
        )
        .await
        .unwrap(),
    );

    let mut reader = TopicReader::start(&topic).await.unwrap();
    reader
        .read_distinct(200, Duration::from_secs(300))
        .await
        .unwrap();

    for path in [
        "/",
        "/connectors",
        "/connectors?expand=status&expand=info",
        "/connectors/pw",
        "/connectors/pw/config",
        "/connectors/pw/tasks",
        "/connectors/pw/status",
        "/connectors/env",
        "/connectors/env/config",
        "/connectors/env/tasks",
        "/connectors/env/status",
        "/connectors/pw/offsets",
        "/connector-plugins/es-source/config",
        "/allocated/connectors",
        "/allocated/tasks",
        "/getClusterInfo",
        "/metrics",
        "/connectors/pw/stop",
    ] {
        let (code, b) = keep(w.get(path).await.unwrap());
        assert!(code < 500, "{path}: {code} {b}");
    }
    let (_, cfg) = w.get("/connectors/pw/config").await.unwrap();
    assert_eq!(cfg["es.password"], "[hidden]");
    let (_, cfg) = w.get("/connectors/env/config").await.unwrap();
    assert_eq!(
        cfg["es.password"], "[hidden]",
        "placeholders of secret keys are hidden too"
    );

    let exit = w.terminate(Duration::from_secs(60)).await.unwrap();
    assert!(exit.success());
    let log = w.log();
    for secret in [PASSWORD, ENV_SECRET, TOKEN] {
        for b in &bodies {
            assert!(!b.contains(secret), "a response contains {secret}: {b}");
        }
        assert!(!log.contains(secret), "the worker log contains {secret}");
    }
    reader.shutdown().await;
    es.delete_index(&index).await.unwrap();
}

//! Live tests of authentication and TLS against the secured Elasticsearch node that
//! `rmq-services` runs with `RMQ_SERVICES_ES_SECURE=1` (HTTPS with a certificate of its own
//! CA, security on). `tests/run` starts it and exports `ES_SECURE_URL`, `ES_SECURE_CA`,
//! `ES_SECURE_USER` and `ES_SECURE_PASSWORD_FILE` (or `ES_SECURE_PASSWORD`).
//!
//! Each test uses its own index, deleted at the end.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::Offsets;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use connect_api::{ConfigMap, ErasedSourceConnector, FieldError, TaskContext};
use connect_es_source::EsSourceConnector;
use connect_testkit::unique_name;
use elasticsearch::auth::Credentials;
use elasticsearch::cert::{Certificate, CertificateValidation};
use elasticsearch::http::request::JsonBody;
use elasticsearch::http::transport::{SingleNodeConnectionPool, TransportBuilder};
use elasticsearch::indices::{IndicesCreateParts, IndicesDeleteParts, IndicesRefreshParts};
use elasticsearch::{BulkParts, Elasticsearch};
use serde_json::{json, Value};

const HOW_TO: &str = "run tests/run, or `RMQ_SERVICES_ES_SECURE=1 distribution/bin/rmq-services \
                      start` and source the file `distribution/bin/rmq-services env-file` prints";

/// Where the secured node is and how to log in, from the environment.
struct Secure {
    url: String,
    ca: String,
    user: String,
    password: String,
}

fn secure() -> Secure {
    let var = |name: &str| {
        std::env::var(name)
            .ok()
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| {
                panic!(
                    "{name} is not set: these tests need the secured Elasticsearch node; {HOW_TO}"
                )
            })
    };
    let password = match std::env::var("ES_SECURE_PASSWORD") {
        Ok(p) if !p.is_empty() => p,
        _ => {
            let file = var("ES_SECURE_PASSWORD_FILE");
            std::fs::read_to_string(&file)
                .unwrap_or_else(|e| {
                    panic!("cannot read ES_SECURE_PASSWORD_FILE={file}: {e}; {HOW_TO}")
                })
                .trim()
                .to_owned()
        }
    };
    Secure {
        url: var("ES_SECURE_URL"),
        ca: var("ES_SECURE_CA"),
        user: var("ES_SECURE_USER"),
        password,
    }
}

/// A client of the secured node as its superuser, trusting its CA.
fn admin(s: &Secure) -> Elasticsearch {
    let pem = std::fs::read(&s.ca).unwrap_or_else(|e| panic!("ES_SECURE_CA={}: {e}", s.ca));
    let transport = TransportBuilder::new(SingleNodeConnectionPool::new(s.url.parse().unwrap()))
        .auth(Credentials::Basic(s.user.clone(), s.password.clone()))
        .cert_validation(CertificateValidation::Full(
            Certificate::from_pem(&pem).unwrap(),
        ))
        .build()
        .unwrap();
    Elasticsearch::new(transport)
}

/// Deletes the test index when dropped, also when the test fails.
struct IndexGuard(String);

impl Drop for IndexGuard {
    fn drop(&mut self) {
        let index = self.0.clone();
        // Drop cannot await, and the test's runtime may be unwinding: use a thread of its
        // own, with a client of its own (pooled connections of the test's client belong to
        // the test's runtime, which is blocked here).
        let _ = std::thread::spawn(move || {
            let es = admin(&secure());
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                let _ = es
                    .indices()
                    .delete(IndicesDeleteParts::Index(&[&index]))
                    .send()
                    .await;
            });
        })
        .join();
    }
}

/// A fresh index on the secured node with `docs` documents (`seq` 0..docs), searchable.
async fn index_with_docs(es: &Elasticsearch, docs: usize) -> (String, IndexGuard) {
    let index = unique_name("it-auth");
    let r = es
        .indices()
        .create(IndicesCreateParts::Index(&index))
        .body(json!({
            "settings": {"number_of_shards": 1, "number_of_replicas": 0},
            "mappings": {"properties": {"seq": {"type": "long"}, "title": {"type": "keyword"}}}
        }))
        .send()
        .await
        .unwrap();
    let guard = IndexGuard(index.clone());
    assert!(r.status_code().is_success(), "{}", r.text().await.unwrap());
    if docs > 0 {
        let mut body: Vec<JsonBody<Value>> = Vec::new();
        for n in 0..docs {
            body.push(json!({"index": {"_id": format!("d{n}")}}).into());
            body.push(json!({"seq": n, "title": format!("document {n}")}).into());
        }
        let r = es
            .bulk(BulkParts::Index(&index))
            .body(body)
            .send()
            .await
            .unwrap();
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["errors"], json!(false), "bulk failed: {v}");
        let r = es
            .indices()
            .refresh(IndicesRefreshParts::Index(&[&index]))
            .send()
            .await
            .unwrap();
        assert!(r.status_code().is_success());
    }
    (index, guard)
}

/// A connector config for `index` on the secured node, without credentials or CA.
fn config(s: &Secure, index: &str) -> ConfigMap {
    connect_api::config::config_from_pairs(&[
        ("connector.class", "es-source"),
        ("es.hosts", &s.url),
        ("es.index", index),
        ("es.tracking.field", "seq"),
        ("es.batch.size", "7"),
        ("es.poll.interval.ms", "50"),
    ])
}

fn with(mut c: ConfigMap, pairs: &[(&str, &str)]) -> ConfigMap {
    for (k, v) in pairs {
        c.insert((*k).into(), (*v).into());
    }
    c
}

async fn validate(c: &ConfigMap) -> Vec<FieldError> {
    ErasedSourceConnector::parse_and_validate(&EsSourceConnector::new(), c).await
}

/// The single error of `errors`, which must be on `field`.
fn only_error_on<'a>(errors: &'a [FieldError], field: &str) -> &'a FieldError {
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].field, field, "{errors:?}");
    &errors[0]
}

#[tokio::test]
#[ignore = "needs the secured Elasticsearch (RMQ_SERVICES_ES_SECURE=1): run tests/run"]
async fn basic_auth_with_the_ca_file_validates() {
    let s = secure();
    let es = admin(&s);
    let (index, _guard) = index_with_docs(&es, 0).await;
    let c = with(
        config(&s, &index),
        &[
            ("es.username", &s.user),
            ("es.password", &s.password),
            ("es.tls.ca.path", &s.ca),
        ],
    );
    let errors = validate(&c).await;
    assert!(errors.is_empty(), "{errors:?}");
}

#[tokio::test]
#[ignore = "needs the secured Elasticsearch (RMQ_SERVICES_ES_SECURE=1): run tests/run"]
async fn a_wrong_password_is_an_error_on_es_password() {
    let s = secure();
    let (index, _guard) = index_with_docs(&admin(&s), 0).await;
    let wrong = format!("{}-wrong", s.password);
    let c = with(
        config(&s, &index),
        &[
            ("es.username", &s.user),
            ("es.password", &wrong),
            ("es.tls.ca.path", &s.ca),
        ],
    );
    let errors = validate(&c).await;
    let e = only_error_on(&errors, "es.password");
    assert!(e.message.contains("rejected"), "{}", e.message);
    assert!(
        !e.message.contains(&wrong),
        "the password leaked: {}",
        e.message
    );
}

#[tokio::test]
#[ignore = "needs the secured Elasticsearch (RMQ_SERVICES_ES_SECURE=1): run tests/run"]
async fn no_credentials_is_an_error_on_es_username() {
    let s = secure();
    let (index, _guard) = index_with_docs(&admin(&s), 0).await;
    let c = with(config(&s, &index), &[("es.tls.ca.path", &s.ca)]);
    let errors = validate(&c).await;
    let e = only_error_on(&errors, "es.username");
    assert!(
        e.message.contains("requires authentication"),
        "{}",
        e.message
    );
}

#[tokio::test]
#[ignore = "needs the secured Elasticsearch (RMQ_SERVICES_ES_SECURE=1): run tests/run"]
async fn a_task_reads_documents_over_https() {
    let s = secure();
    let (index, _guard) = index_with_docs(&admin(&s), 25).await;
    let c = with(
        config(&s, &index),
        &[
            ("es.username", &s.user),
            ("es.password", &s.password),
            ("es.tls.ca.path", &s.ca),
        ],
    );
    let errors = validate(&c).await;
    assert!(errors.is_empty(), "{errors:?}");

    // A task started through the connector API, as the runtime starts it.
    let connector = EsSourceConnector::new();
    let parsed = ErasedSourceConnector::parse(&connector, &c).unwrap();
    let tasks = ErasedSourceConnector::task_configs(&connector, &parsed, 1)
        .await
        .unwrap();
    assert_eq!(tasks.len(), 1);
    let mut task = ErasedSourceConnector::create_task(&connector, &tasks[0])
        .await
        .unwrap();
    task.start(TaskContext::new(
        "it-auth",
        0,
        tasks[0].clone(),
        Arc::new(Offsets::default()),
    ))
    .await
    .unwrap();
    let mut seen = BTreeSet::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while seen.len() < 25 {
        assert!(
            Instant::now() < deadline,
            "only {} of 25 documents read",
            seen.len()
        );
        for r in task.poll().await.unwrap() {
            let key = r.key.unwrap();
            assert!(key.starts_with(&format!("{index}/d")), "{key}");
            seen.insert(key);
        }
    }
    task.stop().await.unwrap();
}

/// Elasticsearch parses the header the connector sends as an API key and refuses keys it
/// never issued: the error is on `es.api.key` and does not show the key. (A key that works
/// cannot be made on this node: API keys live in the `.security` index, whose mapping needs
/// the analysis-common module that the integ-test distribution lacks.)
#[tokio::test]
#[ignore = "needs the secured Elasticsearch (RMQ_SERVICES_ES_SECURE=1): run tests/run"]
async fn an_unknown_api_key_is_an_error_on_es_api_key() {
    let s = secure();
    let (index, _guard) = index_with_docs(&admin(&s), 0).await;
    let base = with(config(&s, &index), &[("es.tls.ca.path", &s.ca)]);
    // base64("no-such-id:no-such-key"), and the id:api_key spelling.
    for bogus in ["bm8tc3VjaC1pZDpuby1zdWNoLWtleQ==", "no-such-id:no-such-key"] {
        let errors = validate(&with(base.clone(), &[("es.api.key", bogus)])).await;
        let e = only_error_on(&errors, "es.api.key");
        assert!(e.message.contains("rejected es.api.key"), "{}", e.message);
        assert!(!e.message.contains(bogus), "the key leaked: {}", e.message);
    }
}

#[tokio::test]
#[ignore = "needs the secured Elasticsearch (RMQ_SERVICES_ES_SECURE=1): run tests/run"]
async fn https_without_the_ca_file_fails_validation_naming_the_certificate() {
    let s = secure();
    let (index, _guard) = index_with_docs(&admin(&s), 0).await;
    let c = with(
        config(&s, &index),
        &[("es.username", &s.user), ("es.password", &s.password)],
    );
    let errors = validate(&c).await;
    let e = only_error_on(&errors, "es.tls.ca.path");
    assert!(e.message.contains("certificate"), "{}", e.message);
    assert!(e.message.contains("set es.tls.ca.path"), "{}", e.message);

    // A CA file of other CAs (the system's public roots) does not make it trusted either.
    let public_roots = "/etc/ssl/certs/ca-certificates.crt";
    if std::path::Path::new(public_roots).is_file() {
        let errors = validate(&with(c.clone(), &[("es.tls.ca.path", public_roots)])).await;
        let e = only_error_on(&errors, "es.tls.ca.path");
        assert!(e.message.contains("not signed by the CA"), "{}", e.message);
    }

    // With the CA, the same config validates: the certificate names 127.0.0.1.
    let errors = validate(&with(c, &[("es.tls.ca.path", &s.ca)])).await;
    assert!(errors.is_empty(), "{errors:?}");
}

#[tokio::test]
#[ignore = "needs the secured Elasticsearch (RMQ_SERVICES_ES_SECURE=1): run tests/run"]
async fn a_ca_file_that_is_not_pem_is_an_error_on_es_tls_ca_path() {
    let s = secure();
    let dir = std::env::temp_dir().join(unique_name("it-auth-ca"));
    std::fs::create_dir_all(&dir).unwrap();
    let not_pem = dir.join("ca.der");
    // The right CA without its PEM armour lines: not what es.tls.ca.path takes.
    let pem = std::fs::read_to_string(&s.ca).unwrap();
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    std::fs::write(&not_pem, body.as_bytes()).unwrap();
    let c = with(
        config(&s, "any-index"),
        &[
            ("es.username", &s.user),
            ("es.password", &s.password),
            ("es.tls.ca.path", not_pem.to_str().unwrap()),
        ],
    );
    let errors = validate(&c).await;
    let e = only_error_on(&errors, "es.tls.ca.path");
    assert!(e.message.contains("no PEM certificate"), "{}", e.message);
    std::fs::remove_dir_all(&dir).unwrap();
}

//! `GET /openapi.json`: the document is OpenAPI 3, describes every route of the router
//! with its status codes, and agrees with what the router actually answers.
//!
//! Hermetic: a `StandaloneHerder` with no plugins over a `SledStore` in a temp dir and a
//! sink that is never called, driven through `rest::router` with `oneshot` (no sockets).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use async_trait::async_trait;
use axum::body::Body;
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::{Method, Request, StatusCode};
use axum::response::IntoResponse;
use axum::Router;
use connect_rocketmq::OutMessage;
use connect_runtime::herder::{Herder, StandaloneHerder};
use connect_runtime::rest::{self, ApiError};
use connect_runtime::secrets::Secret;
use connect_runtime::sink::{MessageSink, SendError};
use connect_runtime::store::SledStore;
use connect_runtime::task_loop::LoopSettings;
use connect_runtime::PluginRegistry;
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

/// Every route of `rest::router()`: path, method, whether it takes a JSON body, and the
/// status codes its documentation must list at least. A route added to the router without a `#[utoipa::path]` cannot
/// be registered at all (the router is built from the documented handlers); this table
/// catches one dropped from both.
const ROUTES: &[(&str, &str, bool, &[u16])] = &[
    ("/", "get", false, &[200, 401]),
    ("/health", "get", false, &[200, 503]),
    ("/openapi.json", "get", false, &[200, 401]),
    ("/metrics", "get", false, &[200, 401]),
    ("/connectors", "get", false, &[200, 400, 401]),
    ("/connectors", "post", true, &[201, 400, 401, 409, 413, 415]),
    ("/connectors/{name}", "get", false, &[200, 404]),
    (
        "/connectors/{name}",
        "post",
        true,
        &[200, 201, 400, 413, 415],
    ),
    ("/connectors/{name}", "delete", false, &[204, 404]),
    ("/connectors/{name}/config", "get", false, &[200, 404]),
    (
        "/connectors/{name}/config",
        "put",
        true,
        &[200, 201, 400, 413, 415],
    ),
    (
        "/connectors/{name}/config",
        "patch",
        true,
        &[200, 400, 404, 413, 415],
    ),
    ("/connectors/{name}/status", "get", false, &[200, 404]),
    ("/connectors/{name}/tasks", "get", false, &[200, 404]),
    (
        "/connectors/{name}/tasks/{id}/status",
        "get",
        false,
        &[200, 400, 404],
    ),
    (
        "/connectors/{name}/tasks/{id}/restart",
        "post",
        false,
        &[204, 400, 404],
    ),
    ("/connectors/{name}/pause", "put", false, &[202, 404]),
    ("/connectors/{name}/resume", "put", false, &[202, 404]),
    ("/connectors/{name}/stop", "put", false, &[202, 404]),
    (
        "/connectors/{name}/restart",
        "post",
        false,
        &[202, 204, 400, 404],
    ),
    ("/connectors/{name}/offsets", "get", false, &[200, 404]),
    (
        "/connectors/{name}/offsets",
        "patch",
        true,
        &[200, 400, 404, 409, 413, 415],
    ),
    (
        "/connectors/{name}/offsets",
        "delete",
        false,
        &[200, 404, 409],
    ),
    ("/connector-plugins", "get", false, &[200]),
    (
        "/connector-plugins/{name}/config",
        "get",
        false,
        &[200, 404],
    ),
    (
        "/connector-plugins/{name}/config/validate",
        "put",
        true,
        &[200, 400, 404, 413, 415],
    ),
    ("/connectors/list", "get", false, &[200]),
    ("/plugin/list", "get", false, &[200]),
    ("/workers", "get", false, &[200, 401]),
    ("/getClusterInfo", "get", false, &[200]),
    ("/allocated/connectors", "get", false, &[200]),
    ("/allocated/tasks", "get", false, &[200]),
    ("/connectors/{name}/pause", "get", false, &[405]),
    ("/connectors/{name}/resume", "get", false, &[405]),
    ("/connectors/{name}/stop", "get", false, &[405]),
    ("/connectors/{name}/all", "get", false, &[405]),
    ("/plugin/reload", "get", false, &[405]),
];

const METHODS: [&str; 5] = ["get", "put", "post", "delete", "patch"];
const TAGS: [&str; 6] = [
    "connectors",
    "lifecycle",
    "offsets",
    "plugins",
    "compat",
    "monitoring",
];

/// A sink for a herder that never runs a task.
struct NoSink;

#[async_trait]
impl MessageSink for NoSink {
    async fn send_batch(&self, _batch: &[OutMessage]) -> Result<(), SendError> {
        Err(SendError {
            retriable: false,
            message: "no sink in this test".to_owned(),
        })
    }
}

fn router(dir: &tempfile::TempDir, token: Option<&str>) -> Router {
    let store = Arc::new(SledStore::open(dir.path()).unwrap());
    let herder = StandaloneHerder::new(
        "worker-openapi".to_owned(),
        PluginRegistry::new(),
        store,
        Arc::new(NoSink),
        LoopSettings::default(),
    );
    herder.set_ready();
    rest::router(
        herder as Arc<dyn Herder>,
        token.map(|t| Arc::new(Secret::new(t.to_owned()))),
    )
}

async fn send(
    router: &Router,
    method: &str,
    uri: &str,
    token: Option<&str>,
) -> (StatusCode, String, Vec<u8>) {
    let method = Method::from_bytes(method.to_ascii_uppercase().as_bytes()).unwrap();
    let mut req = Request::builder().method(method.clone()).uri(uri);
    if let Some(t) = token {
        req = req.header(AUTHORIZATION, format!("Bearer {t}"));
    }
    let body = if [Method::POST, Method::PUT, Method::PATCH].contains(&method) {
        req = req.header(CONTENT_TYPE, "application/json");
        Body::from("{}")
    } else {
        Body::empty()
    };
    let resp = router
        .clone()
        .oneshot(req.body(body).unwrap())
        .await
        .unwrap();
    let status = resp.status();
    let ctype = resp
        .headers()
        .get(CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let bytes = resp
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec();
    (status, ctype, bytes)
}

fn doc() -> Value {
    serde_json::from_str(rest::openapi_json_text()).expect("the document is JSON")
}

/// `(path, method) → operation` of the document.
fn operations(doc: &Value) -> BTreeMap<(String, String), Value> {
    let mut out = BTreeMap::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            assert!(
                METHODS.contains(&method.as_str()),
                "{path}: unexpected key {method}"
            );
            out.insert((path.clone(), method.clone()), op.clone());
        }
    }
    out
}

fn schema<'a>(doc: &'a Value, name: &str) -> &'a Value {
    &doc["components"]["schemas"][name]
}

fn property_names(schema: &Value) -> BTreeSet<String> {
    schema["properties"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect()
}

fn collect_refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                match (k.as_str(), v) {
                    ("$ref", Value::String(r)) => out.push(r.clone()),
                    _ => collect_refs(v, out),
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}

/// Resolves a `$ref` of the document.
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(r) => doc
            .pointer(r.trim_start_matches('#'))
            .unwrap_or_else(|| panic!("dangling {r}")),
        None => schema,
    }
}

/// A light structural check of `value` against `schema`: required keys present, no keys
/// the schema does not name (unless it allows additional properties), arrays item-wise.
fn check_shape(doc: &Value, schema: &Value, value: &Value, at: &str) {
    let schema = resolve(doc, schema);
    if let Some(Value::Array(variants)) = schema.get("oneOf") {
        let mut any = false;
        for v in variants {
            let s = resolve(doc, v);
            let fits = matches!(
                (s.get("type").and_then(Value::as_str), value),
                (Some("array"), Value::Array(_))
                    | (Some("object"), Value::Object(_))
                    | (Some("string"), Value::String(_))
            );
            if fits {
                check_shape(doc, s, value, at);
                any = true;
                break;
            }
        }
        assert!(any, "{at}: {value} fits no variant of {schema}");
        return;
    }
    match value {
        Value::Object(obj) => {
            if let Some(Value::Array(required)) = schema.get("required") {
                for r in required {
                    let r = r.as_str().unwrap();
                    assert!(obj.contains_key(r), "{at}: {value} lacks required {r:?}");
                }
            }
            if let Some(Value::Object(props)) = schema.get("properties") {
                for (k, v) in obj {
                    match props.get(k) {
                        Some(s) => check_shape(doc, s, v, &format!("{at}.{k}")),
                        None => assert!(
                            schema.get("additionalProperties").is_some(),
                            "{at}: key {k:?} is not in the schema {schema}"
                        ),
                    }
                }
            }
        }
        Value::Array(items) => {
            if let Some(item) = schema.get("items") {
                for (i, v) in items.iter().enumerate() {
                    check_shape(doc, item, v, &format!("{at}[{i}]"));
                }
            }
        }
        _ => {}
    }
}

#[test]
fn the_document_is_openapi_3_with_every_route_and_its_status_codes() {
    let doc = doc();
    let version = doc["openapi"].as_str().unwrap();
    assert!(version.starts_with("3."), "OpenAPI version {version}");
    assert!(doc["info"]["title"].is_string());

    let ops = operations(&doc);
    let expected: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|(p, m, _, _)| ((*p).to_owned(), (*m).to_owned()))
        .collect();
    let documented: BTreeSet<(String, String)> = ops.keys().cloned().collect();
    assert_eq!(
        documented.difference(&expected).collect::<Vec<_>>(),
        Vec::<&(String, String)>::new(),
        "documented but not in this test's route table"
    );
    assert_eq!(
        expected.difference(&documented).collect::<Vec<_>>(),
        Vec::<&(String, String)>::new(),
        "routes missing from the document"
    );

    let mut operation_ids = BTreeSet::new();
    for (path, method, takes_body, statuses) in ROUTES {
        let op = &ops[&((*path).to_owned(), (*method).to_owned())];
        let what = format!("{} {path}", method.to_uppercase());
        let responses = op["responses"].as_object().unwrap();
        for s in *statuses {
            assert!(
                responses.contains_key(&s.to_string()),
                "{what}: no {s} in {:?}",
                responses.keys()
            );
        }
        for (status, response) in responses {
            let code: u16 = status.parse().unwrap();
            // Errors are the JSON ErrorBody (503 of /health is its own status body).
            if (400..600).contains(&code) && *path != "/health" {
                assert_eq!(
                    response["content"]["application/json"]["schema"]["$ref"],
                    "#/components/schemas/ErrorBody",
                    "{what} {status}"
                );
            }
        }
        // Path parameters declared for every `{...}` segment.
        let declared: BTreeSet<&str> = op["parameters"]
            .as_array()
            .map(|ps| {
                ps.iter()
                    .filter(|p| p["in"] == "path")
                    .map(|p| p["name"].as_str().unwrap())
                    .collect()
            })
            .unwrap_or_default();
        let in_path: BTreeSet<&str> = path
            .split('/')
            .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .collect();
        assert_eq!(declared, in_path, "{what}: path parameters");
        // Request bodies exactly where the handler reads one.
        let has_body = op.get("requestBody").is_some();
        assert_eq!(has_body, *takes_body, "{what}: request body");
        if has_body {
            assert!(
                op["requestBody"]["content"]["application/json"]["schema"].is_object(),
                "{what}"
            );
        }
        // One known tag each.
        let tags: Vec<&str> = op["tags"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap())
            .collect();
        assert_eq!(tags.len(), 1, "{what}: {tags:?}");
        assert!(TAGS.contains(&tags[0]), "{what}: tag {tags:?}");
        assert!(
            operation_ids.insert(op["operationId"].as_str().unwrap().to_owned()),
            "{what}: duplicate operationId"
        );
    }

    // Query parameters.
    let list = &ops[&("/connectors".to_owned(), "get".to_owned())];
    assert_eq!(list["parameters"][0]["name"], "expand");
    assert_eq!(list["parameters"][0]["in"], "query");
    let restart = &ops[&("/connectors/{name}/restart".to_owned(), "post".to_owned())];
    let query: BTreeSet<&str> = restart["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["in"] == "query")
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(query, BTreeSet::from(["includeTasks", "onlyFailed"]));

    // Metrics are Prometheus text.
    let metrics = &ops[&("/metrics".to_owned(), "get".to_owned())];
    let content = metrics["responses"]["200"]["content"].as_object().unwrap();
    assert!(
        content.keys().all(|k| k.starts_with("text/plain")),
        "{content:?}"
    );

    // Tags declared at the top.
    let declared: BTreeSet<&str> = doc["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(declared, BTreeSet::from(TAGS));
}

#[test]
fn bearer_security_is_declared_and_health_needs_none() {
    let doc = doc();
    let scheme = &doc["components"]["securitySchemes"]["bearer_auth"];
    assert_eq!(scheme["type"], "http");
    assert_eq!(scheme["scheme"], "bearer");
    for ((path, method), op) in operations(&doc) {
        if path == "/health" {
            assert_eq!(
                op["security"],
                serde_json::json!([]),
                "/health needs no token"
            );
            assert!(op["responses"].get("401").is_none());
        } else {
            assert_eq!(
                op["security"],
                serde_json::json!([{"bearer_auth": []}]),
                "{method} {path}"
            );
            assert!(op["responses"].get("401").is_some(), "{method} {path}: 401");
        }
    }
}

#[tokio::test]
async fn every_reference_resolves_and_mirrored_schemas_match_the_real_types() {
    let doc = doc();
    let mut refs = Vec::new();
    collect_refs(&doc, &mut refs);
    assert!(!refs.is_empty());
    for r in refs {
        assert!(
            doc.pointer(r.trim_start_matches('#')).is_some(),
            "dangling {r}"
        );
    }
    // The error body the API really sends.
    let resp = ApiError::invalid(vec![connect_api::FieldError::new(
        "es.index",
        "is required",
    )])
    .into_response();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    let body: Value = serde_json::from_slice(&bytes).unwrap();
    let keys: BTreeSet<String> = body.as_object().unwrap().keys().cloned().collect();
    assert_eq!(keys, property_names(schema(&doc, "ErrorBody")));
    let field_keys: BTreeSet<String> = body["errors"][0]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    assert_eq!(field_keys, property_names(schema(&doc, "FieldError")));
    // A plugin's config key, as `GET /connector-plugins/{name}/config` sends it.
    let key = connect_api::ConfigKey::new("es.index", connect_api::ConfigType::String, "the index")
        .required();
    let key = serde_json::to_value(key).unwrap();
    let keys: BTreeSet<String> = key.as_object().unwrap().keys().cloned().collect();
    assert_eq!(keys, property_names(schema(&doc, "ConfigKey")));
    check_shape(&doc, schema(&doc, "ConfigKey"), &key, "ConfigKey");
}

/// Every documented operation is routed (never the 404/405 fallback) and answers one of
/// its documented statuses with a body of the documented shape; every other method on a
/// documented path is 405.
#[tokio::test]
async fn the_router_answers_what_the_document_says() {
    let dir = tempfile::tempdir().unwrap();
    let router = router(&dir, None);
    let doc = doc();
    let ops = operations(&doc);
    for ((path, method), op) in &ops {
        let uri = path.replace("{name}", "probe").replace("{id}", "0");
        let (status, ctype, body) = send(&router, method, &uri, None).await;
        let what = format!("{} {uri}", method.to_uppercase());
        let responses = op["responses"].as_object().unwrap();
        let documented = responses.get(status.as_str()).unwrap_or_else(|| {
            panic!(
                "{what}: {status} is not documented ({:?})",
                responses.keys()
            )
        });
        let Some(content) = documented.get("content").and_then(Value::as_object) else {
            assert!(
                body.is_empty(),
                "{what}: {status} has a body but documents none"
            );
            continue;
        };
        let (media, spec) = content.iter().next().unwrap();
        assert!(
            ctype.starts_with(media.as_str()),
            "{what}: {ctype} is not {media}"
        );
        if media == "application/json" {
            let value: Value = serde_json::from_slice(&body).unwrap();
            check_shape(&doc, &spec["schema"], &value, &what);
        }
    }
    // Methods a path does not document are 405, not silently routed.
    let paths: BTreeSet<&String> = ops.keys().map(|(p, _)| p).collect();
    for path in paths {
        let uri = path.replace("{name}", "probe").replace("{id}", "0");
        for method in METHODS {
            if ops.contains_key(&(path.clone(), method.to_owned())) {
                continue;
            }
            let (status, _, _) = send(&router, method, &uri, None).await;
            assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {uri}");
        }
    }
}

#[tokio::test]
async fn get_openapi_json_serves_the_document() {
    let dir = tempfile::tempdir().unwrap();
    let router = router(&dir, Some("s3cret-token"));
    let (status, ctype, body) = send(&router, "get", "/openapi.json", Some("s3cret-token")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(ctype.starts_with("application/json"), "{ctype}");
    let served: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(served, doc());
    // Like every route but /health, it needs the token when one is set.
    let (status, _, _) = send(&router, "get", "/openapi.json", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _, _) = send(&router, "get", "/health", None).await;
    assert_eq!(status, StatusCode::OK);
}

#[test]
fn task_status_and_partition_status_schemas_match_the_real_types() {
    let doc = doc();
    let cell = connect_runtime::status::StatusCell::new(0, "w");
    cell.update(|s| {
        s.partitions
            .push(connect_runtime::progress::PartitionStatus {
                partition: "logs-1".into(),
                remaining: Some(10),
                lag_seconds: Some(1.5),
                eta_seconds: Some(2.0),
                problem: Some("index deleted".into()),
                records_read: 5,
                backfill: Some(connect_runtime::progress::BackfillStatus {
                    phase: "reading".into(),
                    done: 5,
                    left: 10,
                    rate_per_second: Some(2.5),
                    eta_seconds: Some(4.0),
                    snapshot: Some("1700000000000".into()),
                    completed_at_ms: None,
                }),
            });
        s.counters.insert("docs_missing_tracking_field".into(), 1);
        s.trace = Some("x".into());
    });
    let status = serde_json::to_value(cell.snapshot()).unwrap();
    let keys: BTreeSet<String> = status.as_object().unwrap().keys().cloned().collect();
    assert_eq!(keys, property_names(schema(&doc, "TaskStatus")));
    check_shape(&doc, schema(&doc, "TaskStatus"), &status, "TaskStatus");
    let part = &status["partitions"][0];
    let keys: BTreeSet<String> = part.as_object().unwrap().keys().cloned().collect();
    assert_eq!(keys, property_names(schema(&doc, "PartitionStatus")));
}

//! Shared harness of the REST tests: a `StandaloneHerder` over a `SledStore` in a temp
//! dir, a recording fake sink, and a fake source connector plugin, driven through
//! `connect_runtime::rest::router` with `tower::ServiceExt::oneshot` (no sockets).
//!
//! Every response body produced through [`Harness::send`] is checked for the planted
//! secret [`PLANTED`] and kept in [`BODIES`], so a test can also assert over all of them.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Method, Request, StatusCode};
use axum::Router;
use connect_api::{
    ConfigDef, ConfigKey, ConfigMap, ConfigReader, ConfigType, ConfigUpdater, ConnectError,
    FieldError, PartitionProgress, PluginInfo, RecordValue, SourceConnector, SourceOffset,
    SourcePartition, SourceRecord, SourceTask, TaskContext, TaskProgress,
};
use connect_rocketmq::OutMessage;
use connect_runtime::herder::{Herder, StandaloneHerder};
use connect_runtime::secrets::Secret;
use connect_runtime::sink::{MessageSink, SendError};
use connect_runtime::store::SledStore;
use connect_runtime::task_loop::{LoopSettings, RestartPolicy};
use connect_runtime::PluginRegistry;
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;

/// The plugin name of the fake connector.
pub const PLUGIN: &str = "fake-source";
/// An alias of it.
pub const PLUGIN_ALIAS: &str = "FakeSourceConnector";
/// A secret value planted in configs; it must never appear in any response.
pub const PLANTED: &str = "PLANTED-S3CRET-xyz";
/// The worker id of the harness.
pub const WORKER: &str = "worker-under-test";

/// Every response body seen by this test binary (for the planted-secret sweep).
pub static BODIES: Mutex<Vec<String>> = Mutex::new(Vec::new());

// ---------------------------------------------------------------------------------------
// Knobs a test turns while its connector runs.

/// Shared switches of one test's fake connector, found by the name in `fake.knobs`:
/// how many tasks the split makes (0: `max.tasks`), whether the split fails, and how
/// often it ran.
#[derive(Default)]
pub struct Knobs {
    pub tasks: AtomicUsize,
    pub fail_split: AtomicBool,
    pub splits: AtomicU64,
}

static KNOBS: Mutex<Option<HashMap<String, Arc<Knobs>>>> = Mutex::new(None);

/// The knobs registered under `name` (created on first use).
pub fn knobs(name: &str) -> Arc<Knobs> {
    KNOBS
        .lock()
        .unwrap()
        .get_or_insert_with(HashMap::new)
        .entry(name.to_owned())
        .or_default()
        .clone()
}

// ---------------------------------------------------------------------------------------
// The fake connector.

/// `fake.total` (required number), `fake.password` (Password), `fake.fail` (bool: live
/// validation fails naming `fake.fail`, and its message carries the password, so the
/// runtime's scrubbing is exercised too), `fake.crash.at` (number: each task fails
/// fatally once it reaches that record, with an error that echoes the password),
/// `fake.knobs` (name of the test's [`Knobs`]), `fake.reconfigure.ms` (asks for periodic
/// reconfiguration at that interval), `fake.rotate.to` (at its first poll, a task whose
/// `fake.password` differs asks the runtime to store this one instead, as a plugin that
/// refreshed its token does).
pub struct FakeConnector;

pub struct FakeConfig {
    total: u64,
    crash_at: Option<u64>,
    password: Option<String>,
    fail: bool,
    knobs: Option<String>,
    reconfigure_ms: Option<u64>,
}

#[async_trait]
impl SourceConnector for FakeConnector {
    type Config = FakeConfig;

    fn info(&self) -> PluginInfo {
        PluginInfo {
            name: PLUGIN.into(),
            aliases: vec![PLUGIN_ALIAS.into()],
            version: "0.0.1-test".into(),
            description: "emits numbered records for the REST tests".into(),
        }
    }

    fn config_def(&self) -> ConfigDef {
        vec![
            ConfigKey::new(
                "fake.total",
                ConfigType::Int,
                "how many records each task emits",
            )
            .required(),
            ConfigKey::new(
                "fake.password",
                ConfigType::Password,
                "a secret the source would log in with",
            ),
            ConfigKey::new(
                "fake.fail",
                ConfigType::Bool,
                "when true, live validation fails",
            )
            .with_default("false"),
            ConfigKey::new(
                "fake.rotate.to",
                ConfigType::Password,
                "a password the task asks the runtime to store",
            ),
        ]
    }

    fn parse_config(&self, config: &ConfigMap) -> Result<FakeConfig, Vec<FieldError>> {
        let mut r = ConfigReader::new(config);
        let total = if r.optional_str("fake.total").is_none() {
            r.error("fake.total", "is required");
            0
        } else {
            r.number_or::<u64>("fake.total", 0, 0..=1_000_000)
        };
        let fail = r.bool_or("fake.fail", false);
        let password = r.optional_str("fake.password");
        if let Some(pw) = config.get("fake.password").filter(|p| p.contains(' ')) {
            // A careless connector that echoes the secret in an offline parse error.
            r.error(
                "fake.password",
                format!("must not contain spaces, got {pw:?}"),
            );
        }
        let crash_at = r
            .optional_str("fake.crash.at")
            .is_some()
            .then(|| r.number_or::<u64>("fake.crash.at", 0, 0..=1_000_000));
        let knobs = r.optional_str("fake.knobs");
        let reconfigure_ms = r
            .optional_str("fake.reconfigure.ms")
            .is_some()
            .then(|| r.number_or::<u64>("fake.reconfigure.ms", 0, 1..=60_000));
        r.finish(FakeConfig {
            total,
            crash_at,
            password,
            fail,
            knobs,
            reconfigure_ms,
        })
    }

    async fn validate(&self, config: &FakeConfig) -> Vec<FieldError> {
        if config.fail {
            // A careless connector that echoes the secret: the runtime must scrub it.
            vec![FieldError::new(
                "fake.fail",
                format!(
                    "the fake source refused the login with password {}",
                    config.password.as_deref().unwrap_or("<none>")
                ),
            )]
        } else {
            Vec::new()
        }
    }

    async fn task_configs(
        &self,
        config: &FakeConfig,
        raw: &ConfigMap,
        max_tasks: usize,
    ) -> Result<Vec<ConfigMap>, ConnectError> {
        let mut n = max_tasks;
        if let Some(k) = config.knobs.as_deref().map(knobs) {
            k.splits.fetch_add(1, Ordering::SeqCst);
            if k.fail_split.load(Ordering::SeqCst) {
                return Err(ConnectError::retriable(format!(
                    "the fake source is unreachable (password {})",
                    config.password.as_deref().unwrap_or("<none>")
                )));
            }
            let wanted = k.tasks.load(Ordering::SeqCst);
            if wanted > 0 {
                n = wanted.min(max_tasks);
            }
        }
        Ok((0..n)
            .map(|i| {
                let mut c = raw.clone();
                c.insert("fake.task.id".into(), i.to_string());
                c.insert("fake.total".into(), config.total.to_string());
                if let Some(at) = config.crash_at {
                    c.insert("fake.crash.at".into(), at.to_string());
                }
                c
            })
            .collect())
    }

    fn reconfigure_interval(&self, config: &FakeConfig) -> Option<Duration> {
        config.reconfigure_ms.map(Duration::from_millis)
    }

    async fn create_task(
        &self,
        _task_config: &ConfigMap,
    ) -> Result<Box<dyn SourceTask>, ConnectError> {
        Ok(Box::new(FakeTask {
            id: 0,
            next: 0,
            total: 0,
            crash_at: None,
            password: String::new(),
            rotate: None,
        }))
    }
}

/// Emits records `{"n": i}` numbered from its committed offset `{"next": n}` in
/// partition `{"task": id}`, 10 per poll, then idles.
struct FakeTask {
    id: u64,
    next: u64,
    total: u64,
    crash_at: Option<u64>,
    password: String,
    /// The password to ask the runtime to store, and how.
    rotate: Option<(String, Arc<dyn ConfigUpdater>)>,
}

pub fn task_partition(id: u64) -> SourcePartition {
    SourcePartition::try_from(json!({ "task": id })).unwrap()
}

#[async_trait]
impl SourceTask for FakeTask {
    async fn start(&mut self, ctx: TaskContext) -> Result<(), ConnectError> {
        self.id = ctx
            .config
            .get("fake.task.id")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        self.total = ctx
            .config
            .get("fake.total")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        self.crash_at = ctx.config.get("fake.crash.at").and_then(|v| v.parse().ok());
        self.password = ctx.config.get("fake.password").cloned().unwrap_or_default();
        self.rotate = ctx
            .config
            .get("fake.rotate.to")
            .filter(|to| **to != self.password)
            .map(|to| (to.clone(), ctx.config_updater.clone()));
        if let Some(off) = ctx.offsets.offset(&task_partition(self.id))? {
            self.next = off.get("next").and_then(Value::as_u64).unwrap_or(0);
        }
        Ok(())
    }

    async fn poll(&mut self) -> Result<Vec<SourceRecord>, ConnectError> {
        if let Some((to, updater)) = self.rotate.take() {
            updater.update(BTreeMap::from([("fake.password".to_owned(), to)]));
        }
        if self.crash_at.is_some_and(|at| self.next >= at) {
            // A careless connector that echoes the secret: the runtime must scrub it.
            return Err(ConnectError::fatal(format!(
                "the fake source crashed at record {} logging in with {}",
                self.next, self.password
            )));
        }
        if self.next >= self.total {
            tokio::time::sleep(Duration::from_millis(20)).await;
            return Ok(Vec::new());
        }
        let mut end = (self.next + 10).min(self.total);
        if let Some(at) = self.crash_at {
            end = end.min(at.max(self.next));
        }
        let id = self.id;
        let recs = (self.next..end)
            .map(|i| {
                let off = SourceOffset::try_from(json!({ "next": i + 1 })).unwrap();
                SourceRecord::new(
                    task_partition(id),
                    Some(off),
                    RecordValue::Json(json!({ "n": i })),
                )
                .with_key(format!("t{id}-{i}"))
            })
            .collect();
        self.next = end;
        Ok(recs)
    }

    /// Remaining records of its one partition, a lag of 1.5 s per 10 remaining records,
    /// and a counter of polls that returned records.
    fn progress(&self) -> TaskProgress {
        let remaining = self.total.saturating_sub(self.next);
        let mut p = PartitionProgress::new(task_partition(self.id), format!("task-{}", self.id));
        p.remaining = Some(remaining);
        p.lag_seconds = Some(remaining as f64 * 0.15);
        p.measured_at_ms = Some(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_millis() as i64)
                .unwrap_or(0),
        );
        if remaining == 0 && self.total > 0 {
            p.problem = Some("caught up: nothing left to read".into());
        }
        let mut counters = BTreeMap::new();
        counters.insert("fake_batches".to_owned(), self.next.div_ceil(10));
        TaskProgress {
            partitions: vec![p],
            counters,
        }
    }
}

// ---------------------------------------------------------------------------------------
// The fake sink.

/// Acknowledges everything and records the message keys.
#[derive(Default)]
pub struct RecordingSink {
    pub messages: Mutex<Vec<OutMessage>>,
}

impl RecordingSink {
    pub fn count(&self) -> usize {
        self.messages.lock().unwrap().len()
    }
}

#[async_trait]
impl MessageSink for RecordingSink {
    async fn send_batch(&self, batch: &[OutMessage]) -> Result<(), SendError> {
        self.messages.lock().unwrap().extend(batch.iter().cloned());
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------
// The harness.

/// A response, read to the end.
#[derive(Debug)]
pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Resp {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON (panics with the body when it is not).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "not JSON ({e}): status {} body {:?}",
                self.status,
                self.text()
            )
        })
    }

    /// Asserts the status and returns the JSON body.
    #[track_caller]
    pub fn expect(&self, status: u16) -> Value {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status; body: {}",
            self.text()
        );
        if self.body.is_empty() {
            Value::Null
        } else {
            self.json()
        }
    }

    /// Asserts the API's JSON error body with `error_code` equal to `status`; returns it.
    #[track_caller]
    pub fn expect_error(&self, status: u16) -> Value {
        let body = self.expect(status);
        assert_eq!(body["error_code"], status, "error_code in {body}");
        assert!(
            body["message"].as_str().is_some_and(|m| !m.is_empty()),
            "message in {body}"
        );
        assert!(body["errors"].is_array(), "errors in {body}");
        body
    }

    /// The `errors[].field` names of an error body.
    pub fn error_fields(&self) -> Vec<String> {
        self.json()["errors"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|e| e["field"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }
}

pub struct Harness {
    pub herder: Arc<StandaloneHerder>,
    pub sink: Arc<RecordingSink>,
    pub store: Arc<SledStore>,
    router: Router,
    _dir: tempfile::TempDir,
}

pub fn settings() -> LoopSettings {
    LoopSettings {
        backoff_initial: Duration::from_millis(5),
        backoff_max: Duration::from_millis(50),
        shutdown_timeout: Duration::from_secs(5),
        restart: RestartPolicy {
            enabled: false,
            ..RestartPolicy::default()
        },
        ..LoopSettings::default()
    }
}

impl Harness {
    /// A ready herder without a REST token.
    pub fn new() -> Self {
        Self::build(None, true)
    }

    /// A ready herder whose REST API requires `token`.
    pub fn with_token(token: &str) -> Self {
        Self::build(Some(token), true)
    }

    /// A herder that has not been marked ready.
    pub fn not_ready() -> Self {
        Self::build(None, false)
    }

    fn build(token: Option<&str>, ready: bool) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(SledStore::open(dir.path()).unwrap());
        let sink = Arc::new(RecordingSink::default());
        let mut registry = PluginRegistry::new();
        registry.register(Arc::new(FakeConnector));
        let herder = StandaloneHerder::new(
            WORKER.to_owned(),
            registry,
            store.clone(),
            sink.clone(),
            settings(),
        );
        if ready {
            herder.set_ready();
        }
        let token = token.map(|t| Arc::new(Secret::new(t)));
        let router = connect_runtime::rest::router(herder.clone() as Arc<dyn Herder>, token);
        Self {
            herder,
            sink,
            store,
            router,
            _dir: dir,
        }
    }

    /// Sends a prepared request; records and checks the body for the planted secret.
    pub async fn send(&self, req: Request<Body>) -> Resp {
        let what = format!("{} {}", req.method(), req.uri());
        let resp = self.router.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        let text = String::from_utf8_lossy(&body).into_owned();
        assert!(
            !text.contains(PLANTED),
            "{what} leaked the planted secret: {text}"
        );
        for (name, value) in &headers {
            assert!(
                !String::from_utf8_lossy(value.as_bytes()).contains(PLANTED),
                "{what} leaked the planted secret in header {name}"
            );
        }
        BODIES.lock().unwrap().push(text);
        Resp {
            status,
            headers,
            body,
        }
    }

    /// A request with an optional JSON body (sent as `application/json`).
    pub async fn call(&self, method: &str, path: &str, body: Option<Value>) -> Resp {
        let mut req = Request::builder()
            .method(Method::from_bytes(method.as_bytes()).unwrap())
            .uri(path);
        let body = match body {
            Some(v) => {
                req = req.header("content-type", "application/json");
                Body::from(serde_json::to_vec(&v).unwrap())
            }
            None => Body::empty(),
        };
        self.send(req.body(body).unwrap()).await
    }

    /// A request with raw body bytes and an optional content type.
    pub async fn raw(
        &self,
        method: &str,
        path: &str,
        content_type: Option<&str>,
        body: impl Into<Body>,
    ) -> Resp {
        let mut req = Request::builder()
            .method(Method::from_bytes(method.as_bytes()).unwrap())
            .uri(path);
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        self.send(req.body(body.into()).unwrap()).await
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.call("GET", path, None).await
    }

    /// Creates a connector through `POST /connectors` and asserts 201.
    pub async fn create(&self, name: &str, config: Value) -> Value {
        self.call(
            "POST",
            "/connectors",
            Some(json!({ "name": name, "config": config })),
        )
        .await
        .expect(201)
    }

    /// The connector state from `GET .../status`.
    pub async fn state(&self, name: &str) -> String {
        let s = self
            .get(&format!("/connectors/{name}/status"))
            .await
            .expect(200);
        s["connector"]["state"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Polls `GET .../status` until `pred` holds (10 s deadline); returns the status.
    pub async fn wait_status(
        &self,
        name: &str,
        what: &str,
        pred: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let s = self
                .get(&format!("/connectors/{name}/status"))
                .await
                .expect(200);
            if pred(&s) {
                return s;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{name}: {what} not reached in time; last status {s}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits until the connector and all its tasks are in `state` (tasks may be empty
    /// only for STOPPED).
    pub async fn wait_state(&self, name: &str, state: &str) -> Value {
        self.wait_status(name, state, |s| {
            let tasks = s["tasks"].as_array().cloned().unwrap_or_default();
            s["connector"]["state"] == state
                && (state == "STOPPED" || !tasks.is_empty())
                && tasks.iter().all(|t| t["state"] == state)
        })
        .await
    }

    /// Polls until `pred` holds (10 s deadline).
    pub async fn wait_until(&self, what: &str, mut pred: impl FnMut() -> bool) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while !pred() {
            assert!(
                tokio::time::Instant::now() < deadline,
                "{what} not reached in time"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// A valid config of the fake connector with the planted secret.
pub fn fake_config(total: u64) -> Value {
    json!({
        "connector.class": PLUGIN,
        "fake.total": total.to_string(),
        "fake.password": PLANTED,
        "connect.topicname": "fake-topic",
    })
}

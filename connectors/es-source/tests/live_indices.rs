//! Live tests of index resolution, validation and message shaping against a real
//! Elasticsearch at `ES_URL` (default http://127.0.0.1:9200).
//!
//! Each test creates its own indices under a unique prefix, drives the connector through
//! connect-api (`ErasedSourceConnector`) and its tasks directly with an in-memory offset
//! store, and deletes its indices at the end. Data streams are not covered here: the
//! Elasticsearch distribution the tests run against (the integ-test zip) has no data
//! stream module; their resolution is unit-tested on the resolve API's answer.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::Offsets;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use connect_api::{
    ConfigMap, ConnectError, ErasedSourceConnector, FieldError, RecordValue, SourceRecord,
    SourceTask, TaskContext,
};
use connect_es_source::{EsSourceConnector, EsSourceTask};
use elasticsearch::http::request::JsonBody;
use elasticsearch::http::transport::Transport;
use elasticsearch::indices::{IndicesCreateParts, IndicesDeleteParts};
use elasticsearch::params::Refresh;
use elasticsearch::{BulkParts, Elasticsearch};
use serde_json::{json, Value};

fn es() -> Elasticsearch {
    Elasticsearch::new(Transport::single_node(&connect_testkit::es_url()).unwrap())
}

/// Indices made by one test, all deleted when it ends (also when it fails).
struct Fixture {
    es: Elasticsearch,
    prefix: String,
    created: Vec<String>,
}

impl Fixture {
    fn new(tag: &str) -> Self {
        Self {
            es: es(),
            prefix: connect_testkit::unique_name(&format!("it_idx_{tag}")).to_lowercase(),
            created: Vec::new(),
        }
    }

    /// `<prefix>-<suffix>`.
    fn name(&self, suffix: &str) -> String {
        format!("{}-{suffix}", self.prefix)
    }

    /// Creates `<prefix>-<suffix>` with `ts` of type `ts_type` and optional settings.
    async fn create(&mut self, suffix: &str, ts_type: &str, settings: Value) -> String {
        let index = self.name(suffix);
        self.created.push(index.clone());
        let mut all_settings = json!({"number_of_shards": 1, "number_of_replicas": 0});
        if let (Some(all), Some(extra)) = (all_settings.as_object_mut(), settings.as_object()) {
            all.extend(extra.clone());
        }
        let r = self
            .es
            .indices()
            .create(IndicesCreateParts::Index(&index))
            .body(json!({
                "settings": all_settings,
                "mappings": {"properties": {
                    "ts": {"type": ts_type},
                    "uid": {"type": "keyword"},
                    "title": {"type": "text"},
                    "kind": {"type": "keyword"}
                }}
            }))
            .send()
            .await
            .unwrap();
        assert!(r.status_code().is_success(), "{}", r.text().await.unwrap());
        index
    }

    /// Indexes `count` documents `<index>-<n>` with `ts = n` and makes them searchable.
    async fn fill(&self, index: &str, count: usize) -> Vec<String> {
        let mut body: Vec<JsonBody<Value>> = Vec::new();
        let mut ids = Vec::new();
        for n in 0..count {
            let id = format!("d{n}");
            body.push(json!({"index": {"_id": id}}).into());
            body.push(
                json!({"ts": n, "uid": format!("u{n:05}"), "title": "t", "kind": format!("k{}", n % 2)})
                    .into(),
            );
            ids.push(format!("{index}/{id}"));
        }
        let r = self
            .es
            .bulk(BulkParts::Index(index))
            .refresh(Refresh::True)
            .body(body)
            .send()
            .await
            .unwrap();
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["errors"], json!(false), "bulk failed: {v}");
        ids
    }

    async fn alias(&self, alias: &str, indices: &[&str]) {
        let actions: Vec<Value> = indices
            .iter()
            .map(|i| json!({"add": {"index": i, "alias": alias}}))
            .collect();
        let r = self
            .es
            .indices()
            .update_aliases()
            .body(json!({ "actions": actions }))
            .send()
            .await
            .unwrap();
        assert!(r.status_code().is_success(), "{}", r.text().await.unwrap());
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        // Names, not a pattern: Elasticsearch refuses wildcard deletes by default.
        let created = std::mem::take(&mut self.created);
        // Drop cannot await and the test's runtime may be unwinding: use a thread.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                let names: Vec<&str> = created.iter().map(String::as_str).collect();
                if names.is_empty() {
                    return;
                }
                let _ = es()
                    .indices()
                    .delete(IndicesDeleteParts::Index(&names))
                    .send()
                    .await;
            });
        })
        .join();
    }
}

fn config(index: &str, extra: &[(&str, &str)]) -> ConfigMap {
    let url = connect_testkit::es_url();
    [
        ("connector.class", "es-source"),
        ("es.hosts", url.as_str()),
        ("es.index", index),
        ("es.tracking.field", "ts"),
        ("es.batch.size", "20"),
        ("es.poll.interval.ms", "50"),
    ]
    .iter()
    .chain(extra)
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

async fn task_configs(
    config: &ConfigMap,
    max_tasks: usize,
) -> Result<Vec<ConfigMap>, ConnectError> {
    let connector = EsSourceConnector::new();
    let parsed = ErasedSourceConnector::parse(&connector, config)
        .map_err(|e| ConnectError::config(connect_api::FieldError::join(&e)))?;
    ErasedSourceConnector::task_configs(&connector, &parsed, max_tasks).await
}

/// Each task's `es.task.indices`.
async fn shares(config: &ConfigMap, max_tasks: usize) -> Vec<String> {
    task_configs(config, max_tasks)
        .await
        .unwrap()
        .iter()
        .map(|t| t["es.task.indices"].clone())
        .collect()
}

async fn start(config: &ConfigMap, task_id: u32) -> EsSourceTask {
    let mut task = EsSourceTask::new();
    task.start(TaskContext::new(
        "it-indices",
        task_id,
        config.clone(),
        Arc::new(Offsets::default()),
    ))
    .await
    .unwrap();
    task
}

/// Polls `task` until it returned `want` records (then once more), with a deadline.
async fn read(task: &mut EsSourceTask, want: usize) -> Vec<SourceRecord> {
    let task = Arc::new(tokio::sync::Mutex::new(task));
    let out = Arc::new(Mutex::new(Vec::new()));
    connect_testkit::eventually(Duration::from_secs(60), &format!("{want} records"), || {
        let task = task.clone();
        let out = out.clone();
        async move {
            let batch = task.lock().await.poll().await?;
            let mut out = out.lock().unwrap();
            out.extend(batch);
            Ok((out.len() >= want).then_some(()))
        }
    })
    .await
    .unwrap();
    let extra = task.lock().await.poll().await.unwrap();
    let mut out = std::mem::take(&mut *out.lock().unwrap());
    out.extend(extra);
    out
}

fn keys(records: &[SourceRecord]) -> Vec<String> {
    records.iter().map(|r| r.key.clone().unwrap()).collect()
}

fn by_field(errors: &[FieldError]) -> BTreeMap<&str, Vec<&str>> {
    let mut out: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for e in errors {
        out.entry(e.field.as_str())
            .or_default()
            .push(e.message.as_str());
    }
    out
}

#[tokio::test]
#[ignore = "needs real Elasticsearch at ES_URL: run tests/run"]
async fn pattern_over_three_indices_splits_two_and_one_and_every_doc_arrives() {
    let mut f = Fixture::new("split");
    let a = f.create("a", "long", json!({})).await;
    let b = f.create("b", "long", json!({})).await;
    let c = f.create("c", "long", json!({})).await;
    let x = f.create("x", "long", json!({})).await;
    let mut expected = BTreeSet::new();
    for (index, n) in [(&a, 45), (&b, 30), (&c, 25)] {
        expected.extend(f.fill(index, n).await);
    }
    f.fill(&x, 5).await;
    let cfg = config(&format!("{}-*,-{x}", f.prefix), &[]);

    let first = shares(&cfg, 2).await;
    assert_eq!(first, [format!("{a},{c}"), b.clone()]);
    // An unchanged set gives identical task configs.
    assert_eq!(
        task_configs(&cfg, 2).await.unwrap(),
        task_configs(&cfg, 2).await.unwrap()
    );

    let tasks = task_configs(&cfg, 2).await.unwrap();
    let mut t0 = start(&tasks[0], 0).await;
    let mut t1 = start(&tasks[1], 1).await;
    let mut got = keys(&read(&mut t0, 70).await);
    got.extend(keys(&read(&mut t1, 30).await));
    let distinct: BTreeSet<String> = got.iter().cloned().collect();
    assert_eq!(got.len(), distinct.len(), "duplicates");
    assert_eq!(distinct, expected);

    // A fourth matching index appears in the next task configs.
    let d = f.create("d", "long", json!({})).await;
    assert_eq!(
        shares(&cfg, 2).await,
        [format!("{a},{c}"), format!("{b},{d}")]
    );
    let connector = EsSourceConnector::new();
    let parsed = ErasedSourceConnector::parse(&connector, &cfg).unwrap();
    let interval = ErasedSourceConnector::reconfigure_interval(&connector, &parsed);
    assert_eq!(interval, Some(Duration::from_millis(60_000)));
}

#[tokio::test]
#[ignore = "needs real Elasticsearch at ES_URL: run tests/run"]
async fn unmatched_pattern_runs_one_idle_task_that_says_so_until_indices_appear_and_a_type_conflict_is_reported(
) {
    let mut f = Fixture::new("later");
    let cfg = config(&format!("{}-*", f.prefix), &[]);
    let connector = EsSourceConnector::new();

    // Not an error at validation: the connector waits for indices.
    let errors = ErasedSourceConnector::parse_and_validate(&connector, &cfg).await;
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(shares(&cfg, 3).await, [""]);
    let mut idle = start(&task_configs(&cfg, 3).await.unwrap()[0], 0).await;
    assert!(idle.poll().await.unwrap().is_empty());
    // Its status says why it reads nothing.
    let progress = idle.progress();
    let waiting = progress
        .partitions
        .first()
        .expect("an entry for the idle task");
    let problem = waiting.problem.as_deref().unwrap_or("");
    assert!(
        problem.contains("matches no index yet") && problem.contains(&f.prefix),
        "{problem}"
    );

    let a = f.create("a", "date", json!({})).await;
    assert_eq!(shares(&cfg, 3).await, std::slice::from_ref(&a));
    let b = f.create("b", "date", json!({})).await;
    assert_eq!(shares(&cfg, 3).await, [a.clone(), b.clone()]);

    let c = f.create("c", "keyword", json!({})).await;
    let err = task_configs(&cfg, 3).await.unwrap_err();
    assert_eq!(err.kind(), connect_api::ErrorKind::Config);
    let msg = err.to_string();
    assert!(msg.contains(&format!("keyword in {c}")), "{msg}");
    assert!(msg.contains(&format!("date in {a}, {b}")), "{msg}");
}

#[tokio::test]
#[ignore = "needs real Elasticsearch at ES_URL: run tests/run"]
async fn an_alias_resolves_to_its_indices_and_records_name_the_concrete_index() {
    let mut f = Fixture::new("alias");
    let a = f.create("a", "long", json!({})).await;
    let b = f.create("b", "long", json!({})).await;
    let _c = f.create("c", "long", json!({})).await;
    let alias = f.name("all");
    f.alias(&alias, &[&a, &b]).await;
    let mut expected = f.fill(&a, 10).await;
    expected.extend(f.fill(&b, 12).await);

    let cfg = config(&alias, &[]);
    let errors = ErasedSourceConnector::parse_and_validate(&EsSourceConnector::new(), &cfg).await;
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(shares(&cfg, 1).await, [format!("{a},{b}")]);
    let mut task = start(&task_configs(&cfg, 1).await.unwrap()[0], 0).await;
    let got: BTreeSet<String> = keys(&read(&mut task, 22).await).into_iter().collect();
    assert_eq!(got, expected.into_iter().collect());
}

#[tokio::test]
#[ignore = "needs real Elasticsearch at ES_URL: run tests/run"]
async fn each_validation_failure_names_the_key_to_change() {
    let mut f = Fixture::new("valid");
    let l = f.create("l", "long", json!({})).await;
    let d = f.create("d", "date", json!({})).await;
    let s = f
        .create("s", "long", json!({"index.max_result_window": 100}))
        .await;
    let connector = EsSourceConnector::new();
    let validate = |cfg: ConfigMap| async move {
        ErasedSourceConnector::parse_and_validate(&connector, &cfg).await
    };

    let missing = f.name("nope");
    let errs = validate(config(&format!("{l},{missing}"), &[])).await;
    let fields = by_field(&errs);
    assert_eq!(
        fields.keys().copied().collect::<Vec<_>>(),
        ["es.index"],
        "{errs:?}"
    );
    assert!(fields["es.index"][0].contains(&missing), "{errs:?}");

    // A pattern without a match is fine.
    let errs = validate(config(&format!("{l},{}-zz*", f.prefix), &[])).await;
    assert!(errs.is_empty(), "{errs:?}");

    let errs = validate(config(&format!("{l},{d}"), &[])).await;
    let fields = by_field(&errs);
    assert_eq!(
        fields.keys().copied().collect::<Vec<_>>(),
        ["es.tracking.field"],
        "{errs:?}"
    );
    let msg = fields["es.tracking.field"][0];
    assert!(
        msg.contains(&format!("date in {d}")) && msg.contains(&format!("long in {l}")),
        "{msg}"
    );

    let errs = validate(config(&l, &[("es.tiebreaker.field", "title")])).await;
    let fields = by_field(&errs);
    assert_eq!(
        fields.keys().copied().collect::<Vec<_>>(),
        ["es.tiebreaker.field"],
        "{errs:?}"
    );

    let errs = validate(config(&l, &[("es.tiebreaker.field", "absent")])).await;
    assert_eq!(
        by_field(&errs).keys().copied().collect::<Vec<_>>(),
        ["es.tiebreaker.field"]
    );

    // Options checked against the field's type: es.lag needs a time field, and an
    // es.start value must parse as one.
    let errs = validate(config(&l, &[("es.lag", "5s")])).await;
    assert_eq!(
        by_field(&errs).keys().copied().collect::<Vec<_>>(),
        ["es.lag"],
        "{errs:?}"
    );
    let errs = validate(config(&l, &[("es.start", "not-a-number")])).await;
    assert_eq!(
        by_field(&errs).keys().copied().collect::<Vec<_>>(),
        ["es.start"],
        "{errs:?}"
    );
    assert!(
        validate(config(&d, &[("es.lag", "5s")])).await.is_empty(),
        "es.lag on a date field is fine"
    );

    let errs = validate(config(&format!("{l},{s}"), &[("es.batch.size", "200")])).await;
    let fields = by_field(&errs);
    assert_eq!(
        fields.keys().copied().collect::<Vec<_>>(),
        ["es.batch.size"],
        "{errs:?}"
    );
    let msg = fields["es.batch.size"][0];
    assert!(
        msg.contains(&s) && msg.contains("100") && !msg.contains(&l),
        "{msg}"
    );
    assert!(
        validate(config(&format!("{l},{s}"), &[("es.batch.size", "100")]))
            .await
            .is_empty()
    );
}

#[tokio::test]
#[ignore = "needs real Elasticsearch at ES_URL: run tests/run"]
async fn messages_carry_prefix_topic_tag_field_properties_and_envelope() {
    let mut f = Fixture::new("msg");
    let a = f.create("a", "long", json!({})).await;
    f.fill(&a, 4).await;
    let cfg = config(
        &a,
        &[
            ("es.topic.prefix", "p_"),
            ("es.tag.field", "kind"),
            ("es.envelope", "true"),
        ],
    );
    let mut task = start(&task_configs(&cfg, 1).await.unwrap()[0], 0).await;
    let records = read(&mut task, 4).await;
    assert_eq!(records.len(), 4);
    for r in &records {
        assert_eq!(r.topic.as_deref(), Some(format!("p_{a}").as_str()));
        let props: HashMap<&str, &str> = r
            .properties
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let id = props["es_id"];
        let n: u64 = id.trim_start_matches('d').parse().unwrap();
        assert_eq!(r.tags.as_deref(), Some(format!("k{}", n % 2).as_str()));
        assert_eq!(props["es_index"], a);
        assert_eq!(props["es_tracking_value"], n.to_string());
        assert!(props["es_seq_no"].parse::<u64>().is_ok(), "{props:?}");
        let RecordValue::RawJson(body) = &r.value else {
            panic!("not raw JSON")
        };
        let v: Value = serde_json::from_slice(body).unwrap();
        assert_eq!(v["_index"], json!(a));
        assert_eq!(v["_id"], json!(id));
        assert!(v["_seq_no"].is_u64() && v["_primary_term"].is_u64(), "{v}");
        assert_eq!(v["tracking"], json!(n));
        assert_eq!(v["_source"]["ts"], json!(n));
    }
}

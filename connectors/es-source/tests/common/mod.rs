//! Helpers shared by the live test files: the Elasticsearch under test, indices that
//! delete themselves, bulk loading, an in-memory offset store, and driving an
//! `EsSourceTask` through connect-api. Each test file uses a part of it.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use connect_api::{
    ConfigMap, ConnectError, OffsetReader, RecordValue, SourceOffset, SourcePartition,
    SourceRecord, SourceTask, TaskContext,
};
use connect_es_source::EsSourceTask;
use elasticsearch::http::request::JsonBody;
use elasticsearch::http::transport::Transport;
use elasticsearch::indices::{IndicesCreateParts, IndicesDeleteParts, IndicesRefreshParts};
use elasticsearch::{BulkParts, Elasticsearch};
use serde_json::{json, Value};

/// The Elasticsearch under test (`ES_URL`, default http://127.0.0.1:9200).
pub fn es_url() -> String {
    std::env::var("ES_URL").unwrap_or_else(|_| "http://127.0.0.1:9200".to_owned())
}

/// A client for [`es_url`].
pub fn es() -> Elasticsearch {
    Elasticsearch::new(Transport::single_node(&es_url()).unwrap())
}

/// An index name unique to this process and moment: `<prefix>-<pid>-<nanos><tag>`.
pub fn unique_index(prefix: &str, tag: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{prefix}-{}-{nanos}{tag}", std::process::id())
}

/// Deletes the test index when dropped, also when the test fails.
pub struct IndexGuard(pub String);

impl Drop for IndexGuard {
    fn drop(&mut self) {
        let index = self.0.clone();
        // Drop cannot await, and the test's runtime may be unwinding: use a thread of its own.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                let _ = es()
                    .indices()
                    .delete(IndicesDeleteParts::Index(&[&index]))
                    .send()
                    .await;
            });
        })
        .join();
    }
}

/// Creates `index` with `body` (settings and mappings); deleted when the guard drops.
pub async fn create_index(index: &str, body: Value) -> IndexGuard {
    let r = es()
        .indices()
        .create(IndicesCreateParts::Index(index))
        .body(body)
        .send()
        .await
        .unwrap();
    let guard = IndexGuard(index.to_owned());
    assert!(r.status_code().is_success(), "{}", r.text().await.unwrap());
    guard
}

/// Bulk-indexes `docs` (id, body) in chunks and refreshes so they are searchable.
pub async fn index_docs(index: &str, docs: &[(String, Value)]) {
    let es = es();
    for chunk in docs.chunks(5000) {
        let mut body: Vec<JsonBody<Value>> = Vec::with_capacity(chunk.len() * 2);
        for (id, d) in chunk {
            body.push(json!({"index": {"_id": id}}).into());
            body.push(d.clone().into());
        }
        let r = es
            .bulk(BulkParts::Index(index))
            .body(body)
            .send()
            .await
            .unwrap();
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["errors"], json!(false), "bulk failed: {v}");
    }
    let r = es
        .indices()
        .refresh(IndicesRefreshParts::Index(&[index]))
        .send()
        .await
        .unwrap();
    assert!(r.status_code().is_success());
}

/// An in-memory offset store.
#[derive(Default)]
pub struct Offsets(pub Mutex<HashMap<SourcePartition, SourceOffset>>);

impl OffsetReader for Offsets {
    fn offset(&self, partition: &SourcePartition) -> Result<Option<SourceOffset>, ConnectError> {
        Ok(self.0.lock().unwrap().get(partition).cloned())
    }
}

/// Starts task 0 of `config`, resuming from `committed`'s offset when given.
pub async fn start_task(config: &ConfigMap, committed: Option<&SourceRecord>) -> EsSourceTask {
    let offsets = Offsets::default();
    if let Some(r) = committed {
        offsets
            .0
            .lock()
            .unwrap()
            .insert(r.partition.clone(), r.offset.clone().unwrap());
    }
    let mut task = EsSourceTask::new();
    task.start(TaskContext::new("it", 0, config.clone(), Arc::new(offsets)))
        .await
        .unwrap();
    task
}

/// Polls until `want` records arrived (failing after `deadline`), then twice more to
/// catch any extra record. Every non-empty batch must end on an offset.
pub async fn poll_records(
    task: &mut EsSourceTask,
    want: usize,
    deadline: Duration,
) -> Vec<SourceRecord> {
    let until = Instant::now() + deadline;
    let mut out = Vec::new();
    let mut extra_polls = 0;
    while extra_polls < 2 {
        assert!(
            Instant::now() < until,
            "only {} of {want} records",
            out.len()
        );
        let batch = task.poll().await.unwrap();
        if let Some(last) = batch.last() {
            assert!(last.offset.is_some(), "a batch must end on an offset");
        }
        out.extend(batch);
        if out.len() >= want {
            extra_polls += 1;
        }
    }
    out
}

/// The `_id` part of a record's `<index>/<_id>` key.
pub fn id_of(r: &SourceRecord) -> String {
    r.key
        .as_deref()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned()
}

/// A record's body, parsed.
pub fn source_of(r: &SourceRecord) -> Value {
    let RecordValue::RawJson(bytes) = &r.value else {
        panic!("value is not raw JSON")
    };
    serde_json::from_slice(bytes).unwrap()
}

//! Hermetic tests of the task's poll loop against a tiny fake Elasticsearch on loopback:
//! cancel-safety, error kinds, prefetching, and that a failed or dropped poll leaves the
//! cursor where it was. The fake answers the field-mapping call and evaluates the connector's own
//! search bodies (`exists` + `range gte` + `must_not ids`, sorted by value then id).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use connect_api::{
    ConfigMap, ConnectError, ErrorKind, OffsetReader, SourceOffset, SourcePartition, SourceRecord,
    SourceTask, TaskContext,
};
use connect_es_source::EsSourceTask;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the fake does with the n-th search (from 1): answer normally after a delay, or
/// answer with a fixed status and body.
#[derive(Clone)]
enum Script {
    Normal,
    Slow(Duration),
    Fail(u16, &'static str),
}

#[derive(Default)]
struct State {
    docs: Vec<(String, i64)>,
    scripts: HashMap<usize, Script>,
    searches: Vec<Value>,
    mapping_calls: usize,
}

struct FakeEs {
    url: String,
    state: Arc<Mutex<State>>,
}

impl FakeEs {
    async fn start(docs: &[(&str, i64)]) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(Mutex::new(State {
            docs: docs.iter().map(|(id, v)| (id.to_string(), *v)).collect(),
            ..State::default()
        }));
        let shared = state.clone();
        tokio::spawn(async move {
            loop {
                let (sock, _) = listener.accept().await.unwrap();
                tokio::spawn(handle(sock, shared.clone()));
            }
        });
        Self { url, state }
    }

    fn script(&self, nth_search: usize, script: Script) {
        self.state
            .lock()
            .unwrap()
            .scripts
            .insert(nth_search, script);
    }

    fn searches(&self) -> Vec<Value> {
        self.state.lock().unwrap().searches.clone()
    }

    /// Waits (with a deadline) until the fake has received `n` searches.
    async fn wait_for_searches(&self, n: usize) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while self.searches().len() < n {
            assert!(
                tokio::time::Instant::now() < deadline,
                "expected {n} searches, got {}",
                self.searches().len()
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

async fn handle(mut sock: TcpStream, state: Arc<Mutex<State>>) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        let n = sock.read(&mut chunk).await.unwrap_or(0);
        if n == 0 {
            return;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break pos + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let len: usize = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())?
        })
        .unwrap_or(0);
    while buf.len() < head_end + len {
        let n = sock.read(&mut chunk).await.unwrap_or(0);
        if n == 0 {
            return;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let path = head.split_whitespace().nth(1).unwrap_or("").to_owned();
    let body: Value = serde_json::from_slice(&buf[head_end..head_end + len]).unwrap_or(Value::Null);

    let (status, answer, delay) = {
        let mut s = state.lock().unwrap();
        if path.contains("/_mapping/field/") {
            s.mapping_calls += 1;
            (200, mapping_answer(&path), Duration::ZERO)
        } else if path.contains("/_search") {
            s.searches.push(body.clone());
            match s
                .scripts
                .get(&s.searches.len())
                .cloned()
                .unwrap_or(Script::Normal)
            {
                Script::Normal => (200, search_answer(&s.docs, &body), Duration::ZERO),
                Script::Slow(d) => (200, search_answer(&s.docs, &body), d),
                Script::Fail(status, body) => (status, body.to_owned(), Duration::ZERO),
            }
        } else {
            (
                404,
                r#"{"error":"no such route"}"#.to_owned(),
                Duration::ZERO,
            )
        }
    };
    tokio::time::sleep(delay).await;
    let reply = format!(
        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
         connection: close\r\n\r\n{answer}",
        answer.len()
    );
    // The client may have gone away (a cancelled poll); that is the point of some tests.
    let _ = sock.write_all(reply.as_bytes()).await;
    let _ = sock.shutdown().await;
}

fn mapping_answer(path: &str) -> String {
    let index = path.trim_start_matches('/').split('/').next().unwrap_or("");
    json!({ index: { "mappings": {
        "seq": { "full_name": "seq", "mapping": { "seq": { "type": "long" } } }
    }}})
    .to_string()
}

/// Evaluates the connector's search body over `docs`.
fn search_answer(docs: &[(String, i64)], body: &Value) -> String {
    let q = &body["query"]["bool"];
    let gte = q["filter"]
        .as_array()
        .unwrap()
        .iter()
        .find_map(|f| f["range"]["seq"]["gte"].as_i64());
    let skip: Vec<&str> = q["must_not"][0]["ids"]["values"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let size = body["size"].as_u64().unwrap() as usize;
    let mut hits: Vec<&(String, i64)> = docs
        .iter()
        .filter(|(id, v)| gte.is_none_or(|g| *v >= g) && !skip.contains(&id.as_str()))
        .collect();
    hits.sort_by_key(|(id, v)| (*v, id.clone()));
    let hits: Vec<Value> = hits
        .into_iter()
        .take(size)
        .map(|(id, v)| {
            json!({"_index": "idx", "_id": id, "_score": null,
                   "_source": {"seq": v, "id": id}, "sort": [v]})
        })
        .collect();
    json!({"took": 1, "timed_out": false,
           "_shards": {"total": 1, "successful": 1, "skipped": 0, "failed": 0},
           "hits": {"hits": hits}})
    .to_string()
}

#[derive(Default)]
struct NoOffsets;

impl OffsetReader for NoOffsets {
    fn offset(&self, _: &SourcePartition) -> Result<Option<SourceOffset>, ConnectError> {
        Ok(None)
    }
}

async fn task(es: &FakeEs) -> EsSourceTask {
    let config: ConfigMap = [
        ("es.hosts", es.url.as_str()),
        ("es.index", "idx"),
        ("es.tracking.field", "seq"),
        ("es.batch.size", "2"),
        ("es.poll.interval.ms", "20"),
        // The fake evaluates the incremental phase's searches only (the PIT backfill is
        // tested against the real Elasticsearch, live_backfill).
        ("es.backfill.mode", "sorted"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let mut task = EsSourceTask::new();
    task.start(TaskContext::new("fake", 0, config, Arc::new(NoOffsets)))
        .await
        .unwrap();
    task
}

fn ids(records: &[SourceRecord]) -> Vec<String> {
    records
        .iter()
        .map(|r| r.key.clone().unwrap().trim_start_matches("idx/").to_owned())
        .collect()
}

const DOCS: &[(&str, i64)] = &[("a", 1), ("b", 1), ("c", 1), ("d", 2), ("e", 3)];

#[tokio::test]
async fn a_dropped_poll_leaves_the_cursor_unchanged() {
    let es = FakeEs::start(DOCS).await;
    let mut task = task(&es).await;
    // The second search (the prefetch the full first page starts) is slow, and the poll
    // waiting for it is dropped before it answers.
    es.script(2, Script::Slow(Duration::from_millis(500)));
    assert_eq!(ids(&task.poll().await.unwrap()), ["a", "b"]);
    let dropped = tokio::time::timeout(Duration::from_millis(50), task.poll()).await;
    assert!(dropped.is_err(), "the poll should still have been waiting");

    let page = task.poll().await.unwrap();
    assert_eq!(ids(&page), ["c", "d"]);
    let searches = es.searches();
    assert_eq!(
        searches[1], searches[2],
        "the retry must search from the same cursor"
    );

    // Offsets only at run ends: "c" ends the run at 1, "d" the run at 2.
    assert!(page.iter().all(|r| r.offset.is_some()));
    assert_eq!(
        page[0].offset.as_ref().unwrap().to_canonical_bytes(),
        br#"{"ids":["a","b","c"],"value":1}"#
    );
    assert_eq!(ids(&task.poll().await.unwrap()), ["e"]);
    assert!(task.poll().await.unwrap().is_empty());
    assert_eq!(es.state.lock().unwrap().mapping_calls, 1);
}

#[tokio::test]
async fn failed_searches_have_the_right_kind_and_keep_the_cursor() {
    let es = FakeEs::start(DOCS).await;
    let mut task = task(&es).await;
    es.script(
        1,
        Script::Fail(
            429,
            r#"{"error":{"type":"es_rejected_execution_exception","reason":"busy"},"status":429}"#,
        ),
    );
    es.script(
        2,
        Script::Fail(
            200,
            r#"{"timed_out":false,"_shards":{"total":2,"failed":1},"hits":{"hits":[]}}"#,
        ),
    );
    es.script(3, Script::Fail(503, ""));
    es.script(
        4,
        Script::Fail(400, r#"{"error":{"type":"search_phase_execution_exception","reason":"all shards failed","root_cause":[{"type":"illegal_argument_exception","reason":"bad sort"}]},"status":400}"#),
    );

    let err = task.poll().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Retriable, "{}", err.chain());
    assert!(err.chain().contains("busy"));
    let err = task.poll().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Retriable, "{}", err.chain());
    assert!(err.chain().contains("failed on 1 shard"));
    let err = task.poll().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Retriable, "{}", err.chain());
    let err = task.poll().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Fatal, "{}", err.chain());
    assert!(err.chain().contains("bad sort"));

    // Nothing moved: the next search is the very first one again, and all docs come.
    assert_eq!(ids(&task.poll().await.unwrap()), ["a", "b"]);
    let searches = es.searches();
    assert!(searches.windows(2).take(4).all(|w| w[0] == w[1]));
}

#[tokio::test]
async fn an_unreachable_cluster_is_retriable() {
    // Bind and drop a listener to get a loopback port nobody listens on.
    let port = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let es = FakeEs {
        url: format!("http://127.0.0.1:{port}"),
        state: Arc::default(),
    };
    let mut task = task(&es).await;
    let err = task.poll().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Retriable, "{}", err.chain());
}

#[tokio::test]
async fn a_full_page_starts_the_next_search_before_the_next_poll_which_uses_it() {
    let es = FakeEs::start(DOCS).await;
    let mut task = task(&es).await;
    assert_eq!(ids(&task.poll().await.unwrap()), ["a", "b"]);
    // The page was full: the search for the next one runs without waiting for a poll.
    es.wait_for_searches(2).await;
    assert_eq!(ids(&task.poll().await.unwrap()), ["c", "d"]);
    es.wait_for_searches(3).await;
    assert_eq!(
        es.searches().len(),
        3,
        "the second poll used the prefetched page and searched nothing itself"
    );
    // "e" is a short page: nothing is prefetched after it, and the reader catches up.
    assert_eq!(ids(&task.poll().await.unwrap()), ["e"]);
    assert!(task.poll().await.unwrap().is_empty());
    assert_eq!(es.searches().len(), 4);
}

#[tokio::test]
async fn a_failed_prefetch_fails_the_next_poll_and_the_retry_searches_from_the_same_cursor() {
    let es = FakeEs::start(DOCS).await;
    let mut task = task(&es).await;
    es.script(
        2,
        Script::Fail(
            429,
            r#"{"error":{"type":"es_rejected_execution_exception","reason":"busy"},"status":429}"#,
        ),
    );
    assert_eq!(ids(&task.poll().await.unwrap()), ["a", "b"]);
    let err = task.poll().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Retriable, "{}", err.chain());
    assert!(err.chain().contains("busy"));
    assert_eq!(ids(&task.poll().await.unwrap()), ["c", "d"]);
    let searches = es.searches();
    assert_eq!(
        searches[1], searches[2],
        "the retry searched from the same cursor"
    );
}

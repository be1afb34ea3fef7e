//! Live tests against a real Elasticsearch at `ES_URL` (default http://127.0.0.1:9200).
//!
//! Each test creates its own index (`it-es-<pid>-<nanos>`), drives `EsSourceTask`
//! directly with an in-memory offset store, and deletes the index at the end. Run with
//! `cargo test -p es-source -- --ignored --nocapture` once Elasticsearch answers.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::{
    create_index, es, es_url, id_of, index_docs, poll_records, start_task, unique_index, IndexGuard,
};

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use connect_api::{ConfigMap, ErasedSourceConnector, RecordValue, SourceRecord, SourceTask};
use connect_es_source::EsSourceConnector;
use serde_json::{json, Value};

/// An index with the field types the tests track on, deleted when the guard drops.
async fn create_es_index(index: &str) -> IndexGuard {
    create_index(
        index,
        json!({
            "settings": {"number_of_shards": 2, "number_of_replicas": 0},
            "mappings": {"properties": {
                "seq": {"type": "long"},
                "ts": {"type": "date"},
                "tsn": {"type": "date_nanos"},
                "uid": {"type": "keyword"},
                "title": {"type": "text"},
                "n": {"type": "integer"}
            }}
        }),
    )
    .await
}

/// The document for number `n` in tie group `group`.
fn doc(n: usize, group: usize) -> Value {
    let g = group as i64;
    json!({
        "seq": g * 10,
        "ts": 1_700_000_000_000_i64 + g * 1000,
        "tsn": format!("2024-01-01T00:00:{:02}.{:09}Z", g / 1_000_000 % 60, g % 1_000_000 * 7 + 1),
        "uid": format!("u{n:06}"),
        "title": format!("document {n}"),
        "n": n,
        "nested": {"list": [1, 2.5, 3], "tags": ["a", "b"], "text": "é✓ \"q\" \\ \n"}
    })
}

/// Tie groups of sizes cycling through `SIZES` (up to 300), `count` docs in all,
/// numbered from `first`, groups numbered from `first_group`.
fn tie_groups(first: usize, count: usize, first_group: usize) -> Vec<(String, Value)> {
    const SIZES: [usize; 8] = [300, 1, 57, 200, 201, 7, 299, 135];
    let mut out = Vec::with_capacity(count);
    let mut group = first_group;
    let mut k = 0;
    while out.len() < count {
        for _ in 0..SIZES[k % SIZES.len()] {
            if out.len() == count {
                break;
            }
            let n = first + out.len();
            out.push((format!("d{n}"), doc(n, group)));
        }
        group += 1;
        k += 1;
    }
    out
}

fn config(index: &str, tracking: &str, tiebreaker: Option<&str>) -> ConfigMap {
    let mut c: ConfigMap = [
        ("connector.class", "es-source"),
        ("es.hosts", es_url().as_str()),
        ("es.index", index),
        ("es.tracking.field", tracking),
        ("es.batch.size", "200"),
        ("es.poll.interval.ms", "50"),
        // The incremental cursor from the first document (live_backfill tests the
        // default pit backfill).
        ("es.backfill.mode", "sorted"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    if let Some(tb) = tiebreaker {
        c.insert("es.tiebreaker.field".into(), tb.into());
    }
    c
}

/// Asserts the records are exactly `docs`, each once, with `_source` as indexed.
fn assert_exactly(index: &str, records: &[SourceRecord], docs: &[(String, Value)]) {
    let expected: BTreeMap<&str, &Value> = docs.iter().map(|(id, d)| (id.as_str(), d)).collect();
    let mut seen = BTreeMap::new();
    for r in records {
        let id = id_of(r);
        assert_eq!(r.key.as_deref(), Some(format!("{index}/{id}").as_str()));
        let RecordValue::RawJson(bytes) = &r.value else {
            panic!("value is not raw JSON")
        };
        let source: Value = serde_json::from_slice(bytes).unwrap();
        let want = expected
            .get(id.as_str())
            .unwrap_or_else(|| panic!("unexpected id {id}"));
        assert_eq!(&&source, want, "_source of {id}");
        *seen.entry(id).or_insert(0) += 1;
    }
    let dups: Vec<_> = seen.iter().filter(|(_, &n)| n > 1).collect();
    assert!(
        dups.is_empty(),
        "read more than once: {:?}",
        &dups[..dups.len().min(5)]
    );
    assert_eq!(seen.len(), expected.len(), "missing documents");
}

/// The full scenario for one tracking setup: read 3,000 docs in tie groups of up to 300,
/// pick up 100 more (some at the last value), restart from a mid-stream commit and from
/// the final one.
async fn scenario(tracking: &str, tiebreaker: Option<&str>) {
    let _es = es();
    let index = unique_index("it-es", &format!("-{tracking}"));
    let _guard = create_es_index(&index).await;
    let cfg = config(&index, tracking, tiebreaker);

    let docs = tie_groups(0, 3000, 0);
    index_docs(&index, &docs).await;
    let mut task = start_task(&cfg, None).await;
    let started = Instant::now();
    let first = poll_records(&mut task, 3000, Duration::from_secs(60)).await;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "[{tracking}/{tiebreaker:?}] 3000 docs in {secs:.2} s ({:.0} docs/s, batch 200)",
        3000.0 / secs
    );
    assert_exactly(&index, &first, &docs);
    if tiebreaker.is_none() {
        // Offsets only on the last record of each run of equal tracking values.
        let with_offsets = first.iter().filter(|r| r.offset.is_some()).count();
        assert!(with_offsets < 100, "{with_offsets} records carry offsets");
    } else {
        assert!(first.iter().all(|r| r.offset.is_some()));
    }

    // 100 more: 40 at the last tracking value read (a tie across polls), 60 above it.
    let last_doc = &docs[docs.len() - 1].1;
    let last_group = (last_doc["seq"].as_i64().unwrap() / 10) as usize;
    let mut more: Vec<(String, Value)> = (3000..3040)
        .map(|n| (format!("d{n}"), doc(n, last_group)))
        .collect();
    more.extend(tie_groups(3040, 60, last_group + 1));
    index_docs(&index, &more).await;
    let second = poll_records(&mut task, 100, Duration::from_secs(30)).await;
    assert_exactly(&index, &second, &more);

    let all: Vec<(String, Value)> = docs.iter().chain(&more).cloned().collect();
    let delivered: Vec<SourceRecord> = first.into_iter().chain(second).collect();

    // Crash mid-stream: the last offset committed is somewhere inside the first 1,500.
    let k = delivered[..1500]
        .iter()
        .rposition(|r| r.offset.is_some())
        .unwrap();
    let mut restarted = start_task(&cfg, Some(&delivered[k])).await;
    let again = poll_records(&mut restarted, all.len() - (k + 1), Duration::from_secs(60)).await;
    let resumed: Vec<SourceRecord> = delivered[..=k].iter().cloned().chain(again).collect();
    assert_exactly(&index, &resumed, &all);

    // Restart from the final committed offset: only documents indexed after it come.
    let last = delivered.iter().rev().find(|r| r.offset.is_some()).unwrap();
    let mut restarted = start_task(&cfg, Some(last)).await;
    let late: Vec<(String, Value)> = (3100..3120)
        .map(|n| (format!("d{n}"), doc(n, last_group + 1000)))
        .collect();
    index_docs(&index, &late).await;
    let tail = poll_records(&mut restarted, 20, Duration::from_secs(30)).await;
    assert_exactly(&index, &tail, &late);
}

#[tokio::test]
#[ignore = "needs a real Elasticsearch: run tests/run"]
async fn long_tracking_without_tiebreaker() {
    scenario("seq", None).await;
}

#[tokio::test]
#[ignore = "needs a real Elasticsearch: run tests/run"]
async fn long_tracking_with_keyword_tiebreaker() {
    scenario("seq", Some("uid")).await;
}

#[tokio::test]
#[ignore = "needs a real Elasticsearch: run tests/run"]
async fn date_tracking_without_tiebreaker() {
    scenario("ts", None).await;
}

#[tokio::test]
#[ignore = "needs a real Elasticsearch: run tests/run"]
async fn date_nanos_tracking_without_tiebreaker() {
    scenario("tsn", None).await;
}

#[tokio::test]
#[ignore = "needs a real Elasticsearch: run tests/run"]
async fn record_timestamps_come_from_date_fields() {
    let _es = es();
    let index = unique_index("it-es", "-ts");
    let _guard = create_es_index(&index).await;
    let docs = tie_groups(0, 10, 5);
    index_docs(&index, &docs).await;
    let mut task = start_task(&config(&index, "ts", None), None).await;
    let records = poll_records(&mut task, 10, Duration::from_secs(30)).await;
    for r in &records {
        assert_eq!(r.timestamp_ms, Some(1_700_000_000_000 + 5 * 1000));
    }
}

#[tokio::test]
#[ignore = "needs a real Elasticsearch: run tests/run"]
async fn validate_reports_each_problem_on_its_key() {
    let _es = es();
    let index = unique_index("it-es", "-v");
    let _guard = create_es_index(&index).await;
    let connector = EsSourceConnector::new();

    let ok = connector
        .parse_and_validate(&config(&index, "seq", Some("uid")))
        .await;
    assert!(ok.is_empty(), "{ok:?}");

    let missing = format!("{index}-missing");
    let errs = connector
        .parse_and_validate(&config(&missing, "seq", None))
        .await;
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert_eq!(errs[0].field, "es.index");
    assert!(
        errs[0].message.contains("does not exist"),
        "{}",
        errs[0].message
    );

    let errs = connector
        .parse_and_validate(&config(&index, "title", None))
        .await;
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert_eq!(errs[0].field, "es.tracking.field");
    assert!(errs[0].message.contains("text"), "{}", errs[0].message);

    let errs = connector
        .parse_and_validate(&config(&index, "nope", Some("title")))
        .await;
    let fields: Vec<_> = errs.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(
        fields,
        ["es.tracking.field", "es.tiebreaker.field"],
        "{errs:?}"
    );

    // The task refuses the same mapping with a config error.
    let mut task = start_task(&config(&index, "title", None), None).await;
    let err = task.poll().await.unwrap_err();
    assert_eq!(
        err.kind(),
        connect_api::ErrorKind::Config,
        "{}",
        err.chain()
    );
}

/// Not a pass/fail test: pull rate of one task over a larger index.
#[tokio::test]
#[ignore = "needs a real Elasticsearch: run tests/run"]
async fn single_task_pull_rate() {
    let total: usize = std::env::var("ES_PERF_DOCS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50_000);
    let _es = es();
    let index = unique_index("it-es", "-perf");
    let _guard = create_es_index(&index).await;
    let docs = tie_groups(0, total, 0);
    index_docs(&index, &docs).await;
    for (tracking, tb, batch) in [("seq", None, "1000"), ("seq", Some("uid"), "1000")] {
        let mut cfg = config(&index, tracking, tb);
        cfg.insert("es.batch.size".into(), batch.into());
        let mut task = start_task(&cfg, None).await;
        let started = Instant::now();
        let records = poll_records(&mut task, total, Duration::from_secs(600)).await;
        let secs = started.elapsed().as_secs_f64();
        assert_eq!(records.len(), total);
        println!(
            "pull rate [{tracking}, tiebreaker {tb:?}, batch {batch}]: {total} docs in \
             {secs:.2} s = {:.0} docs/s",
            total as f64 / secs
        );
    }
}

//! Live tests of the PIT backfill (`es.backfill.mode=pit`, the default) against a real
//! Elasticsearch at `ES_URL` (default http://127.0.0.1:9200): every document below the
//! snapshot bound once, across ranges and slices; the switch to the incremental phase at
//! the bound; documents written during the backfill; restarts within the point in time
//! and after it is gone; the progress in status.
//!
//! Each test creates its own index, drives `EsSourceTask` directly with an in-memory
//! offset store, and deletes the index at the end. Run one with
//! `cargo test -p connect-es-source --test live_backfill -- --ignored <name>`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::{create_index, es, es_url, id_of, index_docs, start_task, unique_index, IndexGuard};

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use connect_api::{BackfillPhase, ConfigMap, SourceRecord, SourceTask};
use connect_es_source::EsSourceTask;
use serde_json::{json, Value};

/// An index (3 shards) with a long tracking field `t`.
async fn long_index(tag: &str) -> (String, IndexGuard) {
    let index = unique_index("it-backfill", &format!("-{tag}"));
    let guard = create_index(
        &index,
        json!({
            "settings": {"number_of_shards": 3, "number_of_replicas": 0},
            "mappings": {"properties": {"t": {"type": "long"}, "n": {"type": "long"}}}
        }),
    )
    .await;
    (index, guard)
}

fn config(index: &str, extra: &[(&str, &str)]) -> ConfigMap {
    let mut c: ConfigMap = [
        ("connector.class", "es-source"),
        ("es.hosts", es_url().as_str()),
        ("es.index", index),
        ("es.tracking.field", "t"),
        ("es.batch.size", "100"),
        ("es.poll.interval.ms", "50"),
        ("es.backfill.range.docs", "1000"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    for (k, v) in extra {
        c.insert(k.to_string(), v.to_string());
    }
    c
}

/// Documents `d<i>` with `t = i` for `i` in `range`.
fn docs(range: std::ops::Range<i64>) -> Vec<(String, Value)> {
    range
        .map(|i| (format!("d{i}"), json!({"t": i, "n": i})))
        .collect()
}

/// Polls until `done` holds for the records so far (failing after a minute); returns
/// every record, offset-only ones included.
async fn poll_until(
    task: &mut EsSourceTask,
    out: &mut Vec<SourceRecord>,
    done: impl Fn(&EsSourceTask, &[SourceRecord]) -> bool,
) {
    let until = Instant::now() + Duration::from_secs(60);
    while !done(task, out) {
        assert!(
            Instant::now() < until,
            "gave up after {} records",
            data(out).len()
        );
        out.extend(task.poll().await.unwrap());
    }
}

/// The records that carry a document.
fn data(records: &[SourceRecord]) -> Vec<&SourceRecord> {
    records.iter().filter(|r| !r.is_offset_only()).collect()
}

/// How many times each id was read.
fn counts(records: &[SourceRecord]) -> BTreeMap<String, usize> {
    let mut seen = BTreeMap::new();
    for r in data(records) {
        *seen.entry(id_of(r)).or_insert(0) += 1;
    }
    seen
}

fn phase(task: &EsSourceTask) -> Option<BackfillPhase> {
    task.progress().partitions[0]
        .backfill
        .as_ref()
        .map(|b| b.phase)
}

fn complete(task: &EsSourceTask, _: &[SourceRecord]) -> bool {
    phase(task) == Some(BackfillPhase::Complete)
}

/// The last record carrying an offset: what the runtime would have committed.
fn last_committed(records: &[SourceRecord]) -> SourceRecord {
    records
        .iter()
        .rev()
        .find(|r| r.offset.is_some())
        .cloned()
        .unwrap()
}

#[tokio::test]
#[ignore = "needs a real Elasticsearch: run tests/run"]
async fn a_pit_backfill_reads_every_document_below_the_bound_once_then_the_bound_and_newer_ones_incrementally(
) {
    let (index, _guard) = long_index("once").await;
    let mut all = docs(0..2500);
    // Three documents share the largest value, the snapshot bound.
    all.extend([
        ("s1".to_owned(), json!({"t": 2500})),
        ("s2".to_owned(), json!({"t": 2500})),
        ("s3".to_owned(), json!({"t": 2500})),
    ]);
    index_docs(&index, &all).await;
    let mut task = start_task(&config(&index, &[]), None).await;
    let mut out = Vec::new();
    poll_until(&mut task, &mut out, complete).await;
    let b = task.progress().partitions[0].backfill.clone().unwrap();
    assert_eq!((b.done, b.left), (2500, 0), "{b:?}");
    assert_eq!(b.snapshot.as_deref(), Some("2500"));
    assert!(b.completed_at_ms.is_some());
    // es.backfill.slices=auto: one slice per primary shard (the index has three).
    let reading = out
        .iter()
        .filter_map(|r| r.offset.as_ref()?.get("backfill"))
        .find(|b| b["phase"] == "reading")
        .cloned()
        .expect("an offset of the reading phase");
    assert_eq!(
        reading["slices"].as_array().map(Vec::len),
        Some(3),
        "{reading}"
    );
    // The bound's documents come through the incremental phase, then newer ones.
    index_docs(
        &index,
        &[
            ("s4".to_owned(), json!({"t": 2500})),
            ("new".to_owned(), json!({"t": 9000})),
        ],
    )
    .await;
    poll_until(&mut task, &mut out, |_, r| counts(r).len() == all.len() + 2).await;
    for _ in 0..3 {
        out.extend(task.poll().await.unwrap());
    }
    let seen = counts(&out);
    assert_eq!(seen.len(), all.len() + 2);
    let twice: Vec<_> = seen.iter().filter(|(_, &n)| n > 1).collect();
    assert!(twice.is_empty(), "read twice: {twice:?}");
    // Records carry their tracking value as the incremental phase's would.
    let d7 = data(&out).into_iter().find(|r| id_of(r) == "d7").unwrap();
    assert!(d7
        .properties
        .contains(&("es_tracking_value".to_owned(), "7".to_owned())));
}

#[tokio::test]
#[ignore = "needs a real Elasticsearch: run tests/run"]
async fn documents_written_during_the_backfill_arrive_above_the_bound_and_in_ranges_not_started_yet(
) {
    let (index, _guard) = long_index("during").await;
    index_docs(&index, &docs(0..3001)).await;
    let mut task = start_task(&config(&index, &[]), None).await;
    let mut out = Vec::new();
    poll_until(&mut task, &mut out, |_, r| data(r).len() >= 300).await;
    assert_eq!(phase(&task), Some(BackfillPhase::Reading));
    assert!(
        data(&out)
            .iter()
            .all(|r| id_of(r)[1..].parse::<i64>().unwrap() < 1000),
        "the first range is read first"
    );
    index_docs(
        &index,
        &[
            // In the range being read: its point in time does not see it (a late arrival).
            ("late-read-range".to_owned(), json!({"t": 5})),
            // In the last range, not started yet: read when it starts.
            ("late-later-range".to_owned(), json!({"t": 2500})),
            // Above the bound: the incremental phase.
            ("new".to_owned(), json!({"t": 5000})),
        ],
    )
    .await;
    poll_until(&mut task, &mut out, |_, r| counts(r).contains_key("new")).await;
    for _ in 0..3 {
        out.extend(task.poll().await.unwrap());
    }
    let seen = counts(&out);
    for i in 0..3001 {
        assert_eq!(seen.get(&format!("d{i}")), Some(&1), "d{i}");
    }
    assert_eq!(seen.get("late-later-range"), Some(&1));
    assert_eq!(seen.get("new"), Some(&1));
    assert_eq!(
        seen.get("late-read-range"),
        None,
        "documented as a late arrival"
    );
}

#[tokio::test]
#[ignore = "needs a real Elasticsearch: run tests/run"]
async fn a_restart_within_the_keep_alive_continues_the_point_in_time_without_a_duplicate() {
    let (index, _guard) = long_index("restart").await;
    index_docs(&index, &docs(0..2001)).await;
    let cfg = config(&index, &[("es.backfill.slices", "2")]);
    let mut task = start_task(&cfg, None).await;
    let mut out = Vec::new();
    poll_until(&mut task, &mut out, |_, r| data(r).len() >= 1200).await;
    task.stop().await.unwrap();
    let committed = last_committed(&out);
    assert!(committed.offset.as_ref().unwrap().get("backfill").is_some());
    let mut task = start_task(&cfg, Some(&committed)).await;
    poll_until(&mut task, &mut out, complete).await;
    let seen = counts(&out);
    assert_eq!(seen.len(), 2000);
    let twice: Vec<_> = seen.iter().filter(|(_, &n)| n > 1).collect();
    assert!(twice.is_empty(), "read twice: {twice:?}");
}

#[tokio::test]
#[ignore = "needs a real Elasticsearch: run tests/run"]
async fn a_point_in_time_that_is_gone_repeats_only_the_range_being_read() {
    let (index, _guard) = long_index("gone").await;
    index_docs(&index, &docs(0..3001)).await;
    let cfg = config(&index, &[]);
    let mut task = start_task(&cfg, None).await;
    let mut out = Vec::new();
    // Into the second range.
    poll_until(&mut task, &mut out, |_, r| data(r).len() >= 1500).await;
    task.stop().await.unwrap();
    let committed = last_committed(&out);
    let stored = committed
        .offset
        .as_ref()
        .unwrap()
        .get("backfill")
        .unwrap()
        .clone();
    assert_eq!(stored["range"], json!(1), "{stored}");
    let r = es()
        .close_point_in_time()
        .body(json!({"id": stored["pit"]}))
        .send()
        .await
        .unwrap();
    assert!(r.status_code().is_success());
    let mut task = start_task(&cfg, Some(&committed)).await;
    poll_until(&mut task, &mut out, complete).await;
    let seen = counts(&out);
    assert_eq!(seen.len(), 3000);
    let twice: Vec<i64> = seen
        .iter()
        .filter(|(_, &n)| n > 1)
        .map(|(id, _)| id[1..].parse().unwrap())
        .collect();
    assert!(!twice.is_empty(), "the second range was read again");
    let cut = stored["bounds"][0].as_i64().unwrap();
    assert!(
        twice.iter().all(|&t| t >= cut),
        "only the second range repeats: {twice:?} (cut at {cut})"
    );
    assert!(twice.len() <= 1100, "{} repeated", twice.len());
}

#[tokio::test]
#[ignore = "needs a real Elasticsearch: run tests/run"]
async fn a_restart_after_the_switch_reads_on_incrementally_from_the_bound() {
    let (index, _guard) = long_index("switch").await;
    index_docs(&index, &docs(0..51)).await;
    let cfg = config(&index, &[]);
    let mut task = start_task(&cfg, None).await;
    let mut out = Vec::new();
    poll_until(&mut task, &mut out, complete).await;
    task.stop().await.unwrap();
    let committed = last_committed(&out);
    assert_eq!(
        committed.offset.as_ref().unwrap().get("backfill").unwrap()["phase"],
        json!("complete")
    );
    index_docs(&index, &[("new".to_owned(), json!({"t": 77}))]).await;
    let mut task = start_task(&cfg, Some(&committed)).await;
    assert_eq!(phase(&task), Some(BackfillPhase::Complete));
    poll_until(&mut task, &mut out, |_, r| counts(r).contains_key("new")).await;
    let seen = counts(&out);
    assert_eq!(seen.len(), 52, "d0..d50 and new");
    assert!(seen.values().all(|&n| n == 1), "{seen:?}");
}

#[tokio::test]
#[ignore = "needs a real Elasticsearch: run tests/run"]
async fn date_fields_are_cut_into_ranges_and_records_keep_their_epoch_millis() {
    let index = unique_index("it-backfill", "-date");
    let _guard = create_index(
        &index,
        json!({
            "settings": {"number_of_shards": 2, "number_of_replicas": 0},
            "mappings": {"properties": {"t": {"type": "date"}}}
        }),
    )
    .await;
    let base = 1_700_000_000_000_i64;
    let all: Vec<(String, Value)> = (0..2200)
        .map(|i| (format!("d{i}"), json!({"t": base + i * 1000})))
        .collect();
    index_docs(&index, &all).await;
    let mut task = start_task(&config(&index, &[("es.lag", "5s")]), None).await;
    let mut out = Vec::new();
    poll_until(&mut task, &mut out, complete).await;
    let seen = counts(&out);
    assert_eq!(seen.len(), 2199, "all but the bound's document");
    let d3 = data(&out).into_iter().find(|r| id_of(r) == "d3").unwrap();
    assert_eq!(d3.timestamp_ms, Some(base + 3000));
    poll_until(&mut task, &mut out, |_, r| counts(r).len() == 2200).await;
}

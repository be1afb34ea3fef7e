//! Live tests of the read position against a real Elasticsearch at `ES_URL` (default
//! http://127.0.0.1:9200): every supported tracking field type, with and without a
//! tiebreaker, across page boundaries, polls and task restarts; `es.start`; `es.query`
//! and `_source` filtering; `es.lag`.
//!
//! Each test creates its own index, drives `EsSourceTask` directly with an in-memory
//! offset store, and deletes the index at the end. Run one with
//! `cargo test -p es-source --test live_cursor -- --ignored --test-threads=1 <name>`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::{
    create_index, es, es_url, id_of, index_docs, poll_records, source_of, start_task, unique_index,
    IndexGuard,
};

use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use connect_api::{ConfigMap, ErrorKind, SourceRecord, SourceTask};
use connect_es_source::EsSourceTask;
use elasticsearch::indices::IndicesDeleteParts;
use serde_json::{json, Value};

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// A fresh index name for this file: `it-cursor-<pid>-<nanos>-<tag>`.
fn cursor_index(tag: &str) -> String {
    unique_index("it-cursor", &format!("-{tag}"))
}

/// An index (2 shards) whose field `t` has type `ty`, with a keyword tiebreaker `tb`.
async fn create_typed_index(index: &str, ty: &str) -> IndexGuard {
    create_index(
        index,
        json!({
            "settings": {"number_of_shards": 2, "number_of_replicas": 0},
            "mappings": {"properties": {
                "t": {"type": ty},
                "tb": {"type": "keyword"},
                "status": {"type": "keyword"},
                "secret": {"type": "keyword"},
                "n": {"type": "long"}
            }}
        }),
    )
    .await
}

fn config(index: &str, tiebreaker: bool, extra: &[(&str, &str)]) -> ConfigMap {
    let mut c: ConfigMap = [
        ("connector.class", "es-source"),
        ("es.hosts", es_url().as_str()),
        ("es.index", index),
        ("es.tracking.field", "t"),
        // Small pages: tie groups span several pages.
        ("es.batch.size", "7"),
        ("es.poll.interval.ms", "50"),
        // The incremental cursor from the first document (live_backfill tests the
        // default pit backfill).
        ("es.backfill.mode", "sorted"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    if tiebreaker {
        c.insert("es.tiebreaker.field".into(), "tb".into());
    }
    for (k, v) in extra {
        c.insert(k.to_string(), v.to_string());
    }
    c
}

/// Asserts the records are exactly `docs`, each once, with `_source` as indexed.
fn assert_exactly(records: &[SourceRecord], docs: &[(String, Value)]) {
    let expected: BTreeMap<&str, &Value> = docs.iter().map(|(id, d)| (id.as_str(), d)).collect();
    let mut seen = BTreeMap::new();
    for r in records {
        let id = id_of(r);
        let want = expected
            .get(id.as_str())
            .unwrap_or_else(|| panic!("unexpected id {id}"));
        assert_eq!(&&source_of(r), want, "_source of {id}");
        *seen.entry(id).or_insert(0) += 1;
    }
    let dups: Vec<_> = seen.iter().filter(|(_, &n)| n > 1).collect();
    assert!(
        dups.is_empty(),
        "read more than once: {:?}",
        &dups[..dups.len().min(5)]
    );
    let missing: Vec<_> = expected
        .keys()
        .filter(|id| !seen.contains_key(**id))
        .collect();
    assert!(
        missing.is_empty(),
        "never read: {:?}",
        &missing[..missing.len().min(5)]
    );
}

/// The tracking value the offset of a record stands at (`value` or `sort[0]`).
fn offset_value(r: &SourceRecord) -> Value {
    let off = r.offset.as_ref().unwrap();
    off.get("value")
        .cloned()
        .or_else(|| off.get("sort").and_then(|s| s.get(0)).cloned())
        .unwrap()
}

/// A tracking field type under test: the value written for tie group `g`, and the sort
/// value Elasticsearch must hand back for it (when it is exactly predictable).
struct TypeCase {
    ty: &'static str,
    source: fn(i64) -> Value,
    sort: Option<fn(i64) -> Value>,
}

const GROUP_SIZES: [usize; 8] = [1, 9, 3, 15, 7, 2, 14, 8];

/// `count` documents numbered from `first`, in tie groups from `first_group`.
fn docs(case: &TypeCase, first: usize, count: usize, first_group: i64) -> Vec<(String, Value)> {
    let mut out = Vec::with_capacity(count);
    let mut group = first_group;
    let mut k = 0;
    while out.len() < count {
        for _ in 0..GROUP_SIZES[k % GROUP_SIZES.len()] {
            if out.len() == count {
                break;
            }
            let n = first + out.len();
            out.push((format!("d{n:05}"), doc(case, n, group)));
        }
        group += 1;
        k += 1;
    }
    out
}

fn doc(case: &TypeCase, n: usize, group: i64) -> Value {
    json!({"t": (case.source)(group), "tb": format!("d{n:05}"), "g": group, "n": n})
}

/// Reads 150 documents in tie groups (pages of 7), picks up 30 more (10 at the last
/// value read), then restarts from several committed offsets and from the last one: every
/// document arrives exactly once each time.
async fn scenario(case: &TypeCase, tiebreaker: bool) {
    let index = cursor_index(&format!(
        "{}-{}",
        case.ty,
        if tiebreaker { "tb" } else { "ids" }
    ));
    let _guard = create_typed_index(&index, case.ty).await;
    let cfg = config(&index, tiebreaker, &[]);

    let first_docs = docs(case, 0, 150, 1);
    index_docs(&index, &first_docs).await;
    let mut task = start_task(&cfg, None).await;
    let first = poll_records(&mut task, 150, Duration::from_secs(60)).await;
    assert_exactly(&first, &first_docs);

    // Sort values come back exactly (nanoseconds, doubles) and never go backwards.
    let group_of = |r: &SourceRecord| source_of(r)["g"].as_i64().unwrap();
    for r in first.iter().filter(|r| r.offset.is_some()) {
        if let Some(sort) = case.sort {
            assert_eq!(
                offset_value(r),
                sort(group_of(r)),
                "sort value of {}",
                id_of(r)
            );
        }
    }
    let groups: Vec<i64> = first.iter().map(group_of).collect();
    assert!(
        groups.windows(2).all(|w| w[0] <= w[1]),
        "out of order: {groups:?}"
    );

    // 30 more: 10 at the last tracking value read (a tie across polls), 20 above it.
    let last_group = groups[groups.len() - 1];
    let mut more: Vec<(String, Value)> = (150..160)
        .map(|n| (format!("d{n:05}"), doc(case, n, last_group)))
        .collect();
    more.extend(docs(case, 160, 20, last_group + 1));
    index_docs(&index, &more).await;
    let second = poll_records(&mut task, 30, Duration::from_secs(30)).await;
    assert_exactly(&second, &more);

    let all: Vec<(String, Value)> = first_docs.iter().chain(&more).cloned().collect();
    let delivered: Vec<SourceRecord> = first.into_iter().chain(second).collect();
    // A crash after each of a few commits: inside a tie group, at a page end, near the end.
    for upto in [12, 40, 77, 151, 175] {
        let k = delivered[..upto]
            .iter()
            .rposition(|r| r.offset.is_some())
            .unwrap();
        let mut restarted = start_task(&cfg, Some(&delivered[k])).await;
        let again =
            poll_records(&mut restarted, all.len() - (k + 1), Duration::from_secs(60)).await;
        let resumed: Vec<SourceRecord> = delivered[..=k].iter().cloned().chain(again).collect();
        assert_exactly(&resumed, &all);
    }
}

macro_rules! type_tests {
    ($($name:ident: $case:expr;)*) => {$(
        #[tokio::test]
        #[ignore = "needs a real Elasticsearch: run tests/run"]
        async fn $name() {
            let case = $case;
            scenario(&case, false).await;
            scenario(&case, true).await;
        }
    )*};
}

type_tests! {
    long_tracking_reads_every_document_once_with_and_without_tiebreaker: TypeCase {
        ty: "long",
        source: |g| json!(g * 1_000_000_007 - 9_000_000_000),
        sort: Some(|g| json!(g * 1_000_000_007 - 9_000_000_000)),
    };
    integer_tracking_reads_every_document_once_with_and_without_tiebreaker: TypeCase {
        ty: "integer",
        source: |g| json!(g * 1000 - 20_000),
        sort: Some(|g| json!(g * 1000 - 20_000)),
    };
    short_tracking_reads_every_document_once_with_and_without_tiebreaker: TypeCase {
        ty: "short",
        source: |g| json!(g * 100 - 1000),
        sort: Some(|g| json!(g * 100 - 1000)),
    };
    byte_tracking_reads_every_document_once_with_and_without_tiebreaker: TypeCase {
        ty: "byte",
        source: |g| json!(g - 100),
        sort: Some(|g| json!(g - 100)),
    };
    double_tracking_keeps_exact_values_with_and_without_tiebreaker: TypeCase {
        ty: "double",
        // 17 significant digits, and neighbours one ulp apart.
        source: |g| json!(double_of(g)),
        sort: Some(|g| json!(double_of(g))),
    };
    float_tracking_reads_every_document_once_with_and_without_tiebreaker: TypeCase {
        ty: "float",
        source: |g| json!(g as f64 / 3.0),
        sort: None,
    };
    float_tracking_keeps_floats_that_a_double_round_trip_would_change: TypeCase {
        ty: "float",
        // Consecutive floats around 7.038531E-26 (bits 363742205), which Elasticsearch
        // would narrow to a neighbour if the position were sent as a JSON number.
        // Written as strings so Elasticsearch parses them straight to float.
        // Group 4 (15 documents, across page ends) holds exactly that float.
        source: |g| json!(f32::from_bits(363_742_201 + g as u32).to_string()),
        sort: None,
    };
    half_float_tracking_reads_every_document_once_with_and_without_tiebreaker: TypeCase {
        ty: "half_float",
        source: |g| json!(g as f64 * 0.1),
        sort: None,
    };
    date_tracking_reads_every_document_once_with_and_without_tiebreaker: TypeCase {
        ty: "date",
        source: |g| json!(format!("2024-03-01T12:00:{:02}.{:03}Z", g / 1000, g % 1000)),
        sort: Some(|g| json!(1_709_294_400_000_i64 + g)),
    };
    date_nanos_tracking_keeps_nanoseconds_with_and_without_tiebreaker: TypeCase {
        ty: "date_nanos",
        // Groups one nanosecond apart: any loss of precision would merge them.
        source: |g| json!(format!("2024-03-01T12:00:00.123456{:03}Z", g)),
        sort: Some(|g| json!(1_709_294_400_123_456_000_i64 + g)),
    };
    keyword_tracking_reads_every_document_once_with_and_without_tiebreaker: TypeCase {
        ty: "keyword",
        source: |g| json!(format!("k-{g:04}-é")),
        sort: Some(|g| json!(format!("k-{g:04}-é"))),
    };
}

/// Doubles that need all 17 digits; odd groups sit one ulp above the even one before.
fn double_of(g: i64) -> f64 {
    let base = (g / 2) as f64 / 3.0 + 0.1;
    if g % 2 == 1 {
        f64::from_bits(base.to_bits() + 1)
    } else {
        base
    }
}

#[tokio::test]
#[ignore = "needs a real Elasticsearch: run tests/run"]
async fn unsupported_tracking_types_fail_with_the_supported_list() {
    let index = cursor_index("bool");
    let _guard = create_typed_index(&index, "boolean").await;
    index_docs(&index, &[("a".into(), json!({"t": true, "tb": "a"}))]).await;
    let mut task = start_task(&config(&index, false, &[]), None).await;
    let err = task.poll().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config, "{}", err.chain());
    assert!(err.chain().contains("boolean"), "{}", err.chain());
    assert!(
        err.chain().contains("date_nanos or keyword"),
        "{}",
        err.chain()
    );
}

const LONG: TypeCase = TypeCase {
    ty: "long",
    source: |g| json!(g),
    sort: None,
};

async fn assert_quiet(task: &mut EsSourceTask, polls: usize) {
    for _ in 0..polls {
        let batch = task.poll().await.unwrap();
        assert!(
            batch.is_empty(),
            "unexpected: {:?}",
            batch.iter().map(id_of).collect::<Vec<_>>()
        );
    }
}

#[tokio::test]
#[ignore = "needs a real Elasticsearch: run tests/run"]
async fn start_latest_reads_only_documents_after_the_first_start() {
    for tiebreaker in [false, true] {
        let index = cursor_index(&format!("latest-{tiebreaker}"));
        let _guard = create_typed_index(&index, "long").await;
        let present = docs(&LONG, 0, 40, 1);
        index_docs(&index, &present).await;
        let cfg = config(&index, tiebreaker, &[("es.start", "latest")]);
        let mut task = start_task(&cfg, None).await;
        assert_quiet(&mut task, 3).await;
        let newer = docs(&LONG, 100, 25, 1000);
        index_docs(&index, &newer).await;
        let got = poll_records(&mut task, 25, Duration::from_secs(30)).await;
        assert_exactly(&got, &newer);
        // A committed offset wins over es.start.
        let mut restarted = start_task(&cfg, got.iter().rev().find(|r| r.offset.is_some())).await;
        let last = docs(&LONG, 200, 5, 2000);
        index_docs(&index, &last).await;
        let got = poll_records(&mut restarted, 5, Duration::from_secs(30)).await;
        assert_exactly(&got, &last);
    }
}

#[tokio::test]
#[ignore = "needs a real Elasticsearch: run tests/run"]
async fn start_value_reads_documents_at_and_above_it() {
    // A long field, a date field given as RFC 3339, and a keyword field.
    let cases: [(TypeCase, &str, i64); 3] = [
        (LONG, "20", 20),
        (
            TypeCase {
                ty: "date",
                source: |g| json!(1_709_294_400_000_i64 + g * 1000),
                sort: None,
            },
            "2024-03-01T12:00:20Z",
            20,
        ),
        (
            TypeCase {
                ty: "keyword",
                source: |g| json!(format!("k{g:03}")),
                sort: None,
            },
            "k020",
            20,
        ),
    ];
    for (case, start, from_group) in &cases {
        for tiebreaker in [false, true] {
            let index = cursor_index(&format!("startv-{}-{tiebreaker}", case.ty));
            let _guard = create_typed_index(&index, case.ty).await;
            let all = docs(case, 0, 200, 1);
            index_docs(&index, &all).await;
            let want: Vec<(String, Value)> = all
                .iter()
                .filter(|(_, d)| d["g"].as_i64().unwrap() >= *from_group)
                .cloned()
                .collect();
            assert!(want.len() < all.len() && !want.is_empty());
            let mut task =
                start_task(&config(&index, tiebreaker, &[("es.start", start)]), None).await;
            let got = poll_records(&mut task, want.len(), Duration::from_secs(60)).await;
            assert_exactly(&got, &want);
        }
    }
}

#[tokio::test]
#[ignore = "needs a real Elasticsearch: run tests/run"]
async fn a_start_value_that_does_not_fit_the_field_is_an_es_start_error() {
    let index = cursor_index("startbad");
    let _guard = create_typed_index(&index, "date").await;
    let mut task = start_task(
        &config(&index, false, &[("es.start", "last tuesday")]),
        None,
    )
    .await;
    let err = task.poll().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config, "{}", err.chain());
    assert!(err.chain().starts_with("es.start:"), "{}", err.chain());
}

#[tokio::test]
#[ignore = "needs a real Elasticsearch: run tests/run"]
async fn query_and_source_filters_apply_and_the_cursor_needs_no_source_fields() {
    let index = cursor_index("query");
    let _guard = create_typed_index(&index, "long").await;
    let all: Vec<(String, Value)> = (0..120)
        .map(|n: i64| {
            let status = if n % 3 == 0 { "paid" } else { "open" };
            (
                format!("d{n:05}"),
                json!({"t": n / 4, "tb": format!("d{n:05}"), "status": status,
                       "secret": "s3cret", "n": n, "nested": {"a": 1, "b": 2}}),
            )
        })
        .collect();
    index_docs(&index, &all).await;
    for tiebreaker in [false, true] {
        // `_source` holds neither the tracking field nor the tiebreaker.
        let cfg = config(
            &index,
            tiebreaker,
            &[
                ("es.query", r#"{"term": {"status": "paid"}}"#),
                ("es.source.includes", "n,status,nested.*"),
                ("es.source.excludes", "nested.b"),
            ],
        );
        let want: Vec<(String, Value)> = all
            .iter()
            .filter(|(_, d)| d["status"] == "paid")
            .map(|(id, d)| {
                (
                    id.clone(),
                    json!({"n": d["n"], "status": "paid", "nested": {"a": 1}}),
                )
            })
            .collect();
        let mut task = start_task(&cfg, None).await;
        let got = poll_records(&mut task, want.len(), Duration::from_secs(60)).await;
        assert_exactly(&got, &want);
        // And a restart from a commit in the middle.
        let k = got[..20].iter().rposition(|r| r.offset.is_some()).unwrap();
        let mut restarted = start_task(&cfg, Some(&got[k])).await;
        let again = poll_records(&mut restarted, want.len() - k - 1, Duration::from_secs(60)).await;
        let resumed: Vec<_> = got[..=k].iter().cloned().chain(again).collect();
        assert_exactly(&resumed, &want);
    }
}

fn ts_doc(id: &str, ts_ms: i64) -> (String, Value) {
    (id.to_owned(), json!({"t": ts_ms, "tb": id}))
}

/// A late writer: document `older` has a smaller timestamp than `newer` but becomes
/// searchable after `newer` was (or could have been) read.
#[tokio::test]
#[ignore = "needs a real Elasticsearch: run tests/run"]
async fn lag_keeps_late_visible_documents_that_lag_zero_skips() {
    for tiebreaker in [false, true] {
        // es.lag=0: the late document is skipped, which is what es.lag is for.
        let index = cursor_index(&format!("lag0-{tiebreaker}"));
        let _guard = create_typed_index(&index, "date").await;
        let mut task = start_task(&config(&index, tiebreaker, &[]), None).await;
        let t0 = now_ms();
        let newer = ts_doc("newer", t0);
        index_docs(&index, std::slice::from_ref(&newer)).await;
        let got = poll_records(&mut task, 1, Duration::from_secs(30)).await;
        assert_exactly(&got, std::slice::from_ref(&newer));
        let late = ts_doc("late", t0 - 1000);
        let sentinel = ts_doc("sentinel", t0 + 1);
        index_docs(&index, &[late, sentinel.clone()]).await;
        let got = poll_records(&mut task, 1, Duration::from_secs(30)).await;
        assert_exactly(&got, &[sentinel]);

        // es.lag=5s: the same writes lose nothing.
        late_writer_with_lag(tiebreaker, "date", &[("es.lag", "5s")]).await;
    }
}

/// Indexes `newer`, polls, then indexes `late` (one second older): with the lag both
/// arrive, the late one first.
async fn late_writer_with_lag(tiebreaker: bool, ty: &str, extra: &[(&str, &str)]) {
    let index = cursor_index(&format!("lag5-{ty}-{tiebreaker}"));
    let _guard = create_typed_index(&index, ty).await;
    let mut task = start_task(&config(&index, tiebreaker, extra), None).await;
    let t0 = now_ms();
    let newer = ts_doc("newer", t0);
    index_docs(&index, std::slice::from_ref(&newer)).await;
    let early = poll_records(&mut task, 0, Duration::from_secs(30)).await;
    let late = ts_doc("late", t0 - 1000);
    index_docs(&index, std::slice::from_ref(&late)).await;
    let rest = poll_records(&mut task, 2 - early.len(), Duration::from_secs(30)).await;
    let got: Vec<_> = early.into_iter().chain(rest).collect();
    assert_exactly(&got, &[newer, late]);
    let order: Vec<String> = got.iter().map(id_of).collect();
    assert_eq!(order, ["late", "newer"]);
}

#[tokio::test]
#[ignore = "needs a real Elasticsearch: run tests/run"]
async fn lag_applies_to_long_epoch_fields_with_a_time_unit() {
    for tiebreaker in [false, true] {
        late_writer_with_lag(
            tiebreaker,
            "long",
            &[("es.lag", "5s"), ("es.tracking.time.unit", "millis")],
        )
        .await;
    }
}

#[tokio::test]
#[ignore = "needs a real Elasticsearch: run tests/run"]
async fn lag_on_a_non_time_field_is_an_es_lag_error() {
    let index = cursor_index("laglong");
    let _guard = create_typed_index(&index, "long").await;
    let mut task = start_task(&config(&index, false, &[("es.lag", "5s")]), None).await;
    let err = task.poll().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config, "{}", err.chain());
    assert!(err.chain().starts_with("es.lag:"), "{}", err.chain());
}

fn progress_of(task: &EsSourceTask, index: &str) -> connect_api::PartitionProgress {
    task.progress()
        .partitions
        .into_iter()
        .find(|p| p.label == index)
        .unwrap()
}

/// Measured on every poll (interval 0), before the poll's page is read: `remaining` is
/// what was not yet delivered, `lag_seconds` is newest minus the last delivered value.
#[tokio::test]
#[ignore = "needs a real Elasticsearch: run tests/run"]
async fn progress_reports_remaining_lag_and_documents_missing_the_tracking_field() {
    for tiebreaker in [false, true] {
        let index = cursor_index(&format!("progress-{tiebreaker}"));
        let _guard = create_typed_index(&index, "date").await;
        let base = 1_709_294_400_000_i64;
        // 50 documents in tie groups of 3, two seconds apart, and 3 without `t`.
        let mut all: Vec<(String, Value)> = (0..50)
            .map(|n: i64| ts_doc(&format!("d{n:05}"), base + (n / 3) * 2000))
            .collect();
        let newest = base + (49 / 3) * 2000;
        index_docs(&index, &all).await;
        let no_ts: Vec<(String, Value)> = (0..3)
            .map(|n| (format!("x{n}"), json!({"tb": format!("x{n}")})))
            .collect();
        index_docs(&index, &no_ts).await;
        let cfg = config(&index, tiebreaker, &[("es.progress.interval.ms", "0")]);
        let mut task = start_task(&cfg, None).await;
        let before = progress_of(&task, &index);
        assert_eq!((before.remaining, before.problem), (None, None));

        let mut delivered: Vec<SourceRecord> = Vec::new();
        let until = Instant::now() + Duration::from_secs(60);
        loop {
            assert!(Instant::now() < until, "only {} read", delivered.len());
            let read_before = delivered.len();
            let last_ts = delivered
                .last()
                .map(|r| source_of(r)["t"].as_i64().unwrap());
            delivered.extend(task.poll().await.unwrap());
            let p = progress_of(&task, &index);
            assert_eq!(
                p.remaining,
                Some(50 - read_before as u64),
                "after {read_before}"
            );
            let want_lag = match last_ts {
                None => None,
                Some(_) if read_before == 50 => Some(0.0),
                Some(ts) => Some((newest - ts) as f64 / 1000.0),
            };
            assert_eq!(p.lag_seconds, want_lag, "after {read_before}");
            assert!(p.measured_at_ms.is_some());
            assert_eq!(
                task.progress().counters.get("docs_missing_tracking_field"),
                Some(&3)
            );
            if read_before == 50 {
                break;
            }
        }
        all.truncate(50);
        assert_exactly(&delivered, &all);
    }
}

/// Polls until `check` holds for the task's progress, returning the records read meanwhile.
async fn poll_until(
    task: &mut EsSourceTask,
    what: &str,
    deadline: Duration,
    check: impl Fn(&connect_api::TaskProgress, &[SourceRecord]) -> bool,
) -> Vec<SourceRecord> {
    let until = Instant::now() + deadline;
    let mut out = Vec::new();
    loop {
        out.extend(task.poll().await.unwrap());
        if check(&task.progress(), &out) {
            return out;
        }
        assert!(
            Instant::now() < until,
            "timed out waiting for {what}; progress {:?}, {} records",
            task.progress(),
            out.len()
        );
    }
}

async fn delete_index(index: &str) {
    let r = es()
        .indices()
        .delete(IndicesDeleteParts::Index(&[index]))
        .send()
        .await
        .unwrap();
    assert!(r.status_code().is_success());
}

fn problem_of(progress: &connect_api::TaskProgress, index: &str) -> Option<String> {
    progress
        .partitions
        .iter()
        .find(|p| p.label == index)
        .and_then(|p| p.problem.clone())
}

#[tokio::test]
#[ignore = "needs a real Elasticsearch: run tests/run"]
async fn a_deleted_index_is_a_problem_while_others_flow_and_resumes_when_recreated() {
    for tiebreaker in [false, true] {
        let gone = cursor_index(&format!("gone-{tiebreaker}"));
        let stays = cursor_index(&format!("stays-{tiebreaker}"));
        let _g1 = create_typed_index(&gone, "long").await;
        let _g2 = create_typed_index(&stays, "long").await;
        let gone_docs = docs(&LONG, 0, 30, 1);
        let stays_docs = docs(&LONG, 100, 30, 1);
        index_docs(&gone, &gone_docs).await;
        index_docs(&stays, &stays_docs).await;
        let cfg = config(&format!("{gone},{stays}"), tiebreaker, &[]);
        let mut task = start_task(&cfg, None).await;
        let first = poll_records(&mut task, 60, Duration::from_secs(60)).await;
        assert_exactly(&first, &[gone_docs.clone(), stays_docs.clone()].concat());

        delete_index(&gone).await;
        let more = docs(&LONG, 200, 20, 500);
        index_docs(&stays, &more).await;
        // The task keeps running, says what is wrong, and the other index keeps flowing.
        let got = poll_until(
            &mut task,
            "the problem and the new documents",
            Duration::from_secs(60),
            |p, r| problem_of(p, &gone).is_some() && r.len() >= 20,
        )
        .await;
        assert_exactly(&got, &more);
        let problem = problem_of(&task.progress(), &gone).unwrap();
        assert!(problem.contains("does not exist"), "{problem}");
        assert!(problem_of(&task.progress(), &stays).is_none());

        // Back with the same mapping: reading resumes from the cursor (older values stay
        // behind it, newer ones arrive).
        let _again = create_typed_index(&gone, "long").await;
        let back = docs(&LONG, 300, 15, 1000);
        index_docs(&gone, &back).await;
        let got = poll_until(
            &mut task,
            "reading to resume",
            Duration::from_secs(90),
            |p, r| problem_of(p, &gone).is_none() && r.len() >= 15,
        )
        .await;
        let got = [
            got,
            poll_records(&mut task, 0, Duration::from_secs(30)).await,
        ]
        .concat();
        assert_exactly(&got, &back);
    }
}

#[tokio::test]
#[ignore = "needs a real Elasticsearch: run tests/run"]
async fn a_changed_tracking_mapping_is_a_problem_not_a_silent_skip() {
    let index = cursor_index("remap");
    let _guard = create_typed_index(&index, "long").await;
    let first = docs(&LONG, 0, 10, 1);
    index_docs(&index, &first).await;
    let mut task = start_task(&config(&index, false, &[]), None).await;
    let got = poll_records(&mut task, 10, Duration::from_secs(30)).await;
    assert_exactly(&got, &first);

    delete_index(&index).await;
    let keyword = TypeCase {
        ty: "keyword",
        source: |g| json!(format!("k{g}")),
        sort: None,
    };
    let _again = create_typed_index(&index, "keyword").await;
    index_docs(&index, &docs(&keyword, 100, 10, 1)).await;
    let got = poll_until(
        &mut task,
        "the mapping problem",
        Duration::from_secs(90),
        |p, _| problem_of(p, &index).is_some_and(|m| m.contains("now mapped as")),
    )
    .await;
    assert!(
        got.is_empty(),
        "{} records read from a remapped index",
        got.len()
    );
    let problem = problem_of(&task.progress(), &index).unwrap();
    assert!(
        problem.contains("keyword") && problem.contains("whole number"),
        "{problem}"
    );
}

//! The searches of a backfill, all through one point in time, and what their answers
//! mean: the snapshot bound, the count, the range cuts, the pages.
//!
//! Contract: pure. Every search matches the documents the incremental phase would
//! match (tracking field present, the tiebreaker present when set, `es.query`), so the
//! two phases read the same set; the backfill adds `tracking < S` (and the range).

use serde_json::{json, Map, Value};

use super::position::{Floor, Reading};
use crate::query::{range_from, range_ops, QuerySpec};
use crate::tracking::{compare, TrackingKind};

/// The most ranges a snapshot is cut into (a percentile each).
pub const MAX_RANGES: u64 = 1000;

/// `{"id": pit, "keep_alive": keep_alive}`.
fn pit_ref(pit: &str, keep_alive: &str) -> Value {
    json!({ "id": pit, "keep_alive": keep_alive })
}

/// The filters every backfill search shares: the incremental phase's (without the lag
/// bound, which `upper` replaces) plus `from` and the bounds of `lower..upper`.
fn filters(
    spec: &QuerySpec<'_>,
    from: Option<&Floor>,
    lower: Option<&Value>,
    upper: Option<&Value>,
) -> Vec<Value> {
    let unbounded = QuerySpec {
        upper_bound_ms: None,
        ..*spec
    };
    let mut filter = unbounded.base_filters();
    if let Some(f) = from {
        filter.push(range_from(
            spec,
            &f.value,
            if f.inclusive { "gte" } else { "gt" },
        ));
    }
    let mut bounds: Vec<(&str, &Value)> = Vec::with_capacity(2);
    if let Some(l) = lower {
        bounds.push(("gte", l));
    }
    if let Some(u) = upper {
        bounds.push(("lt", u));
    }
    if !bounds.is_empty() {
        filter.push(range_ops(spec, &bounds));
    }
    filter
}

/// The search that fixes the snapshot bound: the largest tracking value at or below
/// now − `es.lag` (`spec.upper_bound_ms`), one hit, no `_source`.
pub fn snapshot_body(
    spec: &QuerySpec<'_>,
    from: Option<&Floor>,
    pit: &str,
    keep_alive: &str,
) -> Value {
    let mut filter = spec.base_filters();
    if let Some(f) = from {
        filter.push(range_from(
            spec,
            &f.value,
            if f.inclusive { "gte" } else { "gt" },
        ));
    }
    json!({
        "pit": pit_ref(pit, keep_alive),
        "size": 1,
        "track_total_hits": false,
        "_source": { "excludes": ["*"] },
        "sort": [{ spec.tracking_field: { "order": "desc", "mode": "max" } }],
        "query": { "bool": { "filter": filter } }
    })
}

/// The count of the snapshot: documents below `snapshot` (and from `from`).
pub fn count_body(
    spec: &QuerySpec<'_>,
    from: Option<&Floor>,
    snapshot: &Value,
    pit: &str,
    keep_alive: &str,
) -> Value {
    json!({
        "pit": pit_ref(pit, keep_alive),
        "size": 0,
        "track_total_hits": true,
        "query": { "bool": { "filter": filters(spec, from, None, Some(snapshot)) } }
    })
}

/// Where `total` documents are cut into ranges of about `range_docs`: the percentiles
/// to ask for (none when one range holds them all).
pub fn percents(total: u64, range_docs: u64) -> Vec<f64> {
    let ranges = total.div_ceil(range_docs.max(1)).clamp(1, MAX_RANGES);
    (1..ranges)
        .map(|i| i as f64 * 100.0 / ranges as f64)
        .collect()
}

/// Whether the snapshot of a field of `kind` can be cut at percentiles (which are
/// doubles): not for keyword, and not for date_nanos, whose nanoseconds a double
/// cannot hold.
pub fn can_cut(kind: TrackingKind) -> bool {
    matches!(
        kind,
        TrackingKind::Long | TrackingKind::Double | TrackingKind::Date
    )
}

/// The search for the cut points of the snapshot.
pub fn cuts_body(
    spec: &QuerySpec<'_>,
    from: Option<&Floor>,
    snapshot: &Value,
    pit: &str,
    keep_alive: &str,
    percents: &[f64],
) -> Value {
    json!({
        "pit": pit_ref(pit, keep_alive),
        "size": 0,
        "track_total_hits": false,
        "query": { "bool": { "filter": filters(spec, from, None, Some(snapshot)) } },
        "aggs": { "cuts": { "percentiles": {
            "field": spec.tracking_field,
            "percents": percents,
            "keyed": false
        }}}
    })
}

/// The cut points in the answer of [`cuts_body`] as tracking values of `kind`:
/// ascending, each above `from` and below `snapshot`, without repeats.
pub fn cut_values(
    kind: TrackingKind,
    answer: &Value,
    from: Option<&Floor>,
    snapshot: &Value,
) -> Vec<Value> {
    let values = answer["aggregations"]["cuts"]["values"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    let mut out: Vec<Value> = Vec::with_capacity(values.len());
    for v in values.iter().filter_map(|v| v["value"].as_f64()) {
        let value = match kind {
            TrackingKind::Long | TrackingKind::Date => {
                let floored = v.floor();
                if !(-9.0e18..=9.0e18).contains(&floored) {
                    continue;
                }
                Value::from(floored as i64)
            }
            TrackingKind::Double => match serde_json::Number::from_f64(v) {
                Some(n) => Value::Number(n),
                None => continue,
            },
            TrackingKind::DateNanos | TrackingKind::Keyword => continue,
        };
        let above =
            |floor: &Value| compare(kind, &value, floor) == Some(std::cmp::Ordering::Greater);
        let below_snapshot = compare(kind, &value, snapshot) == Some(std::cmp::Ordering::Less);
        let above_from = from.is_none_or(|f| above(&f.value));
        let above_last = out.last().is_none_or(above);
        if below_snapshot && above_from && above_last {
            out.push(value);
        }
    }
    out
}

/// The doc value the pages ask for, so each record carries its tracking value as the
/// incremental phase's sort value would (epoch milliseconds for dates).
fn docvalue_field(spec: &QuerySpec<'_>) -> Value {
    if spec.tracking_kind.is_time() {
        json!({ "field": spec.tracking_field, "format": "epoch_millis" })
    } else {
        json!({ "field": spec.tracking_field })
    }
}

/// The search for the next page of `slice` in the current range of `reading`.
pub fn page_body(spec: &QuerySpec<'_>, reading: &Reading, slice: usize, keep_alive: &str) -> Value {
    let (lower, upper) = reading.range_bounds();
    let mut body = Map::new();
    body.insert("pit".into(), pit_ref(&reading.pit, keep_alive));
    body.insert("size".into(), json!(spec.batch_size));
    body.insert("track_total_hits".into(), json!(false));
    body.insert("sort".into(), json!([{ "_shard_doc": "asc" }]));
    body.insert(
        "query".into(),
        json!({ "bool": { "filter": filters(spec, reading.from.as_ref(), lower, Some(upper)) } }),
    );
    body.insert("docvalue_fields".into(), json!([docvalue_field(spec)]));
    if let Some(source) = source_filter(spec) {
        body.insert("_source".into(), source);
    }
    if let Some(after) = reading.slices.get(slice).and_then(|s| s.after.as_ref()) {
        body.insert("search_after".into(), Value::Array(after.clone()));
    }
    if reading.slices.len() > 1 {
        body.insert(
            "slice".into(),
            json!({ "id": slice, "max": reading.slices.len() }),
        );
    }
    Value::Object(body)
}

fn source_filter(spec: &QuerySpec<'_>) -> Option<Value> {
    if spec.source_includes.is_empty() && spec.source_excludes.is_empty() {
        return None;
    }
    let mut source = Map::new();
    if !spec.source_includes.is_empty() {
        source.insert("includes".into(), json!(spec.source_includes));
    }
    if !spec.source_excludes.is_empty() {
        source.insert("excludes".into(), json!(spec.source_excludes));
    }
    Some(Value::Object(source))
}

/// A hit's tracking value from its doc values, as the incremental phase's sort value
/// would hold it: the largest of several values (the sort's `mode: max`), dates as
/// epoch milliseconds and date_nanos as epoch nanoseconds. `None` when absent or
/// unreadable.
pub fn tracking_value(kind: TrackingKind, values: &[Value]) -> Option<Value> {
    let mut best: Option<Value> = None;
    for raw in values {
        let Some(v) = sort_value(kind, raw) else {
            continue;
        };
        let larger = best
            .as_ref()
            .is_none_or(|b| compare(kind, &v, b) == Some(std::cmp::Ordering::Greater));
        if larger {
            best = Some(v);
        }
    }
    best
}

fn sort_value(kind: TrackingKind, raw: &Value) -> Option<Value> {
    match (kind, raw) {
        (TrackingKind::Date, Value::String(s)) => {
            let (whole, _) = s.split_once('.').unwrap_or((s, ""));
            whole.parse::<i64>().ok().map(Value::from)
        }
        (TrackingKind::DateNanos, Value::String(s)) => {
            let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
            let millis = whole.parse::<i64>().ok()?;
            let digits: String = frac.chars().chain(std::iter::repeat('0')).take(6).collect();
            let sub = digits.parse::<i64>().ok()?;
            millis
                .checked_mul(1_000_000)?
                .checked_add(sub)
                .map(Value::from)
        }
        (TrackingKind::Date | TrackingKind::DateNanos, Value::Number(n)) => {
            n.as_i64().map(Value::from)
        }
        (TrackingKind::Long, Value::Number(n)) => n.as_i64().map(Value::from),
        (TrackingKind::Double, Value::Number(_)) => Some(raw.clone()),
        (TrackingKind::Keyword, Value::String(_)) => Some(raw.clone()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::tests::spec;

    #[test]
    fn a_page_reads_the_range_in_shard_doc_order_through_the_point_in_time() {
        let mut r = Reading::new("p".into(), json!(100), None, vec![json!(40)], 1, 9);
        let s = spec(None, TrackingKind::Long);
        let body = page_body(&s, &r, 0, "300s");
        assert_eq!(
            body,
            json!({
                "pit": {"id": "p", "keep_alive": "300s"},
                "size": 200,
                "track_total_hits": false,
                "sort": [{"_shard_doc": "asc"}],
                "query": {"bool": {"filter": [
                    {"exists": {"field": "ts"}},
                    {"range": {"ts": {"lt": 40}}}
                ]}},
                "docvalue_fields": [{"field": "ts"}]
            })
        );
        r.after_page(0, 5, Some(vec![json!(77)]), false, 0);
        let body = page_body(&s, &r, 0, "300s");
        assert_eq!(
            body["query"]["bool"]["filter"][1],
            json!({"range": {"ts": {"gte": 40, "lt": 100}}})
        );
        assert!(body.get("search_after").is_none());
    }

    #[test]
    fn slices_and_positions_go_into_the_page() {
        let mut r = Reading::new("p".into(), json!(100), None, vec![], 2, 9);
        r.after_page(1, 5, Some(vec![json!(77)]), true, 0);
        let body = page_body(&spec(None, TrackingKind::Date), &r, 1, "60s");
        assert_eq!(body["slice"], json!({"id": 1, "max": 2}));
        assert_eq!(body["search_after"], json!([77]));
        assert_eq!(
            body["docvalue_fields"],
            json!([{"field": "ts", "format": "epoch_millis"}])
        );
    }

    #[test]
    fn the_snapshot_is_cut_at_percentiles_into_ranges_of_about_range_docs() {
        assert!(percents(900, 1000).is_empty());
        assert_eq!(percents(3000, 1000), [100.0 / 3.0, 200.0 / 3.0]);
        assert_eq!(percents(u64::MAX, 1000).len(), 999);
        let answer = json!({"aggregations": {"cuts": {"values": [
            {"key": 25.0, "value": 10.7}, {"key": 50.0, "value": 10.2},
            {"key": 75.0, "value": 55.5}, {"key": 90.0, "value": 100.0},
            {"key": 95.0, "value": null}
        ]}}});
        let from = Floor {
            value: json!(5),
            inclusive: true,
        };
        assert_eq!(
            cut_values(TrackingKind::Long, &answer, Some(&from), &json!(100)),
            [json!(10), json!(55)]
        );
        assert!(cut_values(TrackingKind::Keyword, &answer, None, &json!("z")).is_empty());
        assert!(!can_cut(TrackingKind::DateNanos));
    }

    #[test]
    fn doc_values_become_the_sort_values_the_incremental_phase_would_see() {
        assert_eq!(
            tracking_value(TrackingKind::Date, &[json!("1700000000123")]),
            Some(json!(1_700_000_000_123_i64))
        );
        assert_eq!(
            tracking_value(TrackingKind::DateNanos, &[json!("1700000000123.4567")]),
            Some(json!(1_700_000_000_123_456_700_i64))
        );
        assert_eq!(
            tracking_value(TrackingKind::Long, &[json!(3), json!(9), json!(4)]),
            Some(json!(9))
        );
        assert_eq!(
            tracking_value(TrackingKind::Keyword, &[json!("b"), json!("a")]),
            Some(json!("b"))
        );
        assert_eq!(tracking_value(TrackingKind::Long, &[json!("x")]), None);
        assert_eq!(tracking_value(TrackingKind::Long, &[]), None);
    }
}

//! Search bodies for incremental reads, and which mapped field types they can sort on.
//!
//! Contract: [`search_body`] is a pure function of the cursor and the query settings; the
//! body it returns, run against one index, yields the documents after the cursor in the
//! order [`crate::cursor::advance`] expects: ascending by the tracking field (by its
//! largest value when a document holds several), then by the tiebreaker. Documents
//! without the tracking field (or the tiebreaker, when set) never match: they would sort
//! last and drag the cursor past every later document.

use serde_json::{json, Map, Value};

use crate::cursor::Cursor;

use crate::tracking::TimeUnit;
pub use crate::tracking::{check_sortable, TrackingKind, SUPPORTED_TYPES as SORTABLE_TYPES};

/// Everything a search body depends on besides the cursor.
#[derive(Debug, Clone, Copy)]
pub struct QuerySpec<'a> {
    /// `es.tracking.field`.
    pub tracking_field: &'a str,
    /// `es.tiebreaker.field`, when set.
    pub tiebreaker_field: Option<&'a str>,
    /// `es.batch.size`.
    pub batch_size: u32,
    /// The tracking field's kind, from its mapping.
    pub tracking_kind: TrackingKind,
    /// `es.query`: a query every document read must also match.
    pub filter: Option<&'a Map<String, Value>>,
    /// `es.source.includes`: `_source` fields to return (all when empty).
    pub source_includes: &'a [String],
    /// `es.source.excludes`: `_source` fields to leave out.
    pub source_excludes: &'a [String],
    /// For time fields with `es.lag`: only documents with tracking value <= this bound,
    /// epoch milliseconds (now - lag, taken when the poll starts).
    pub upper_bound_ms: Option<i64>,
    /// `es.tracking.time.unit`: the epoch unit of a long tracking field.
    pub time_unit: Option<TimeUnit>,
}

impl QuerySpec<'_> {
    /// The filters every search and count shares: the tracking (and tiebreaker) field
    /// exists, the user's query, and the lag bound.
    pub fn base_filters(&self) -> Vec<Value> {
        let mut filter = vec![json!({ "exists": { "field": self.tracking_field } })];
        if let Some(tb) = self.tiebreaker_field {
            filter.push(json!({ "exists": { "field": tb } }));
        }
        if let Some(q) = self.filter {
            filter.push(Value::Object(q.clone()));
        }
        match (self.upper_bound_ms, self.tracking_kind, self.time_unit) {
            (Some(bound), kind, _) if kind.is_time() => {
                // Epoch milliseconds suit date and date_nanos alike.
                filter.push(json!({ "range": { self.tracking_field: {
                    "lte": bound, "format": "epoch_millis"
                }}}));
            }
            (Some(bound), TrackingKind::Long, Some(unit)) => {
                let in_unit = (i128::from(bound) * i128::from(unit.per_second())).div_euclid(1000);
                let in_unit = i64::try_from(in_unit).unwrap_or(i64::MAX);
                filter.push(json!({ "range": { self.tracking_field: { "lte": in_unit } } }));
            }
            _ => {}
        }
        filter
    }

    fn source(&self) -> Option<Value> {
        if self.source_includes.is_empty() && self.source_excludes.is_empty() {
            return None;
        }
        let mut source = Map::new();
        if !self.source_includes.is_empty() {
            source.insert("includes".into(), json!(self.source_includes));
        }
        if !self.source_excludes.is_empty() {
            source.insert("excludes".into(), json!(self.source_excludes));
        }
        Some(Value::Object(source))
    }
}

/// The `_search` body that finds the newest document (`es.start=latest`): one hit with an
/// empty `_source`, sorted descending on the tracking field and the tiebreaker.
pub fn latest_body(spec: &QuerySpec<'_>) -> Value {
    let mut sort = vec![json!({ spec.tracking_field: { "order": "desc", "mode": "max" } })];
    if let Some(tb) = spec.tiebreaker_field {
        sort.push(json!({ tb: { "order": "desc" } }));
    }
    json!({
        "size": 1,
        "track_total_hits": false,
        "_source": { "excludes": ["*"] },
        "sort": sort,
        "query": { "bool": { "filter": spec.base_filters() } }
    })
}

/// The `_search` body for the page after `cursor`.
pub fn search_body(spec: &QuerySpec<'_>, cursor: &Cursor) -> Value {
    // `mode: max` keeps a document with several tracking values in the same place for
    // `range`/`search_after` (any value >= cursor) and for the sort (the largest).
    let mut sort = vec![json!({ spec.tracking_field: { "order": "asc", "mode": "max" } })];
    if let Some(tb) = spec.tiebreaker_field {
        sort.push(json!({ tb: { "order": "asc" } }));
    }
    let mut filter = spec.base_filters();

    let mut bool_query = Map::new();
    let mut body = Map::new();
    match cursor {
        Cursor::Start => {}
        Cursor::From { value, inclusive } => {
            filter.push(range_from(
                spec,
                value,
                if *inclusive { "gte" } else { "gt" },
            ));
        }
        Cursor::After(values) => {
            body.insert(
                "search_after".into(),
                Value::Array(values.iter().map(to_es).collect()),
            );
        }
        Cursor::Boundary { value, ids } => {
            filter.push(range_from(spec, value, "gte"));
            if !ids.is_empty() {
                bool_query.insert("must_not".into(), json!([{ "ids": { "values": ids } }]));
            }
        }
    }
    bool_query.insert("filter".into(), Value::Array(filter));

    body.insert("size".into(), json!(spec.batch_size));
    body.insert("track_total_hits".into(), json!(false));
    if let Some(source) = spec.source() {
        body.insert("_source".into(), source);
    }
    body.insert("sort".into(), Value::Array(sort));
    body.insert("query".into(), json!({ "bool": bool_query }));
    Value::Object(body)
}

/// `range <op> value` on the tracking field (`op` is `gte`, `gt`, `lte` or `lt`), read the
/// way the sort value was written.
pub(crate) fn range_from(spec: &QuerySpec<'_>, value: &Value, op: &str) -> Value {
    range_ops(spec, &[(op, value)])
}

/// One `range` on the tracking field with several bounds, each read the way the sort
/// value was written.
pub(crate) fn range_ops(spec: &QuerySpec<'_>, bounds: &[(&str, &Value)]) -> Value {
    let mut range = Map::new();
    for (op, value) in bounds {
        match (spec.tracking_kind, value) {
            (TrackingKind::Date, Value::Number(_)) => {
                range.insert((*op).into(), (*value).clone());
                range.insert("format".into(), json!("epoch_millis"));
            }
            (TrackingKind::DateNanos, Value::Number(n)) => {
                // Sort values of date_nanos are epoch nanoseconds; epoch_millis accepts a
                // fraction with up to six digits, which keeps the full precision.
                range.insert((*op).into(), json!(nanos_as_millis(n)));
                range.insert("format".into(), json!("epoch_millis"));
            }
            _ => {
                range.insert((*op).into(), to_es(value));
            }
        }
    }
    json!({ "range": { spec.tracking_field: range } })
}

/// A sort value as it must be sent back to Elasticsearch. Floating-point numbers go as
/// strings: Elasticsearch reads a JSON number as a `double` and narrows it to `float`
/// (for float and half_float fields), which for some values lands one step off (for
/// example the float written as `7.038531E-26`), so `search_after` and `range` would
/// skip the documents at exactly that value; a string is parsed straight to the field's
/// type. Integers and strings go as they are.
pub(crate) fn to_es(value: &Value) -> Value {
    match value {
        Value::Number(n) if n.is_f64() => Value::String(n.to_string()),
        other => other.clone(),
    }
}

/// Epoch nanoseconds written as epoch milliseconds with a six-digit fraction.
fn nanos_as_millis(n: &serde_json::Number) -> String {
    match n.as_i64() {
        Some(nanos) => {
            let millis = nanos.div_euclid(1_000_000);
            let frac = nanos.rem_euclid(1_000_000);
            format!("{millis}.{frac:06}")
        }
        None => n.to_string(),
    }
}

/// The record timestamp for a tracking sort value, in epoch milliseconds.
pub fn timestamp_ms(kind: TrackingKind, value: &Value) -> Option<i64> {
    match kind {
        TrackingKind::Date => value.as_i64(),
        TrackingKind::DateNanos => value.as_i64().map(|n| n.div_euclid(1_000_000)),
        TrackingKind::Long | TrackingKind::Double | TrackingKind::Keyword => None,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A spec on `ts` with pages of 200 and no filters (also used by `measure`'s tests).
    pub(crate) fn spec(tb: Option<&'static str>, kind: TrackingKind) -> QuerySpec<'static> {
        QuerySpec {
            tracking_field: "ts",
            tiebreaker_field: tb,
            batch_size: 200,
            tracking_kind: kind,
            filter: None,
            source_includes: &[],
            source_excludes: &[],
            upper_bound_ms: None,
            time_unit: None,
        }
    }

    #[test]
    fn first_page_has_no_position() {
        let body = search_body(&spec(None, TrackingKind::Long), &Cursor::Start);
        assert_eq!(
            body,
            json!({
                "size": 200,
                "track_total_hits": false,
                "sort": [{"ts": {"order": "asc", "mode": "max"}}],
                "query": {"bool": {"filter": [{"exists": {"field": "ts"}}]}}
            })
        );
    }

    #[test]
    fn tiebreaker_mode_uses_search_after_on_both_fields() {
        let cursor = Cursor::After(vec![json!(1_700_000_000_000_i64), json!("doc-7")]);
        let body = search_body(&spec(Some("id"), TrackingKind::Date), &cursor);
        assert_eq!(
            body,
            json!({
                "size": 200,
                "track_total_hits": false,
                "sort": [
                    {"ts": {"order": "asc", "mode": "max"}},
                    {"id": {"order": "asc"}}
                ],
                "search_after": [1_700_000_000_000_i64, "doc-7"],
                "query": {"bool": {"filter": [
                    {"exists": {"field": "ts"}},
                    {"exists": {"field": "id"}}
                ]}}
            })
        );
    }

    #[test]
    fn boundary_mode_reads_gte_and_skips_the_ids_read() {
        let cursor = Cursor::Boundary {
            value: json!(42),
            ids: vec!["a".into(), "b".into()],
        };
        let body = search_body(&spec(None, TrackingKind::Long), &cursor);
        assert_eq!(
            body,
            json!({
                "size": 200,
                "track_total_hits": false,
                "sort": [{"ts": {"order": "asc", "mode": "max"}}],
                "query": {"bool": {
                    "filter": [
                        {"exists": {"field": "ts"}},
                        {"range": {"ts": {"gte": 42}}}
                    ],
                    "must_not": [{"ids": {"values": ["a", "b"]}}]
                }}
            })
        );
        assert!(body.get("search_after").is_none());
    }

    #[test]
    fn date_ranges_name_their_format() {
        let cursor = Cursor::Boundary {
            value: json!(1_700_000_000_123_i64),
            ids: vec![],
        };
        let body = search_body(&spec(None, TrackingKind::Date), &cursor);
        assert_eq!(
            body["query"]["bool"]["filter"][1],
            json!({"range": {"ts": {"gte": 1_700_000_000_123_i64, "format": "epoch_millis"}}})
        );
        assert!(body["query"]["bool"].get("must_not").is_none());

        let cursor = Cursor::Boundary {
            value: json!(1_700_000_000_123_456_789_i64),
            ids: vec![],
        };
        let body = search_body(&spec(None, TrackingKind::DateNanos), &cursor);
        assert_eq!(
            body["query"]["bool"]["filter"][1],
            json!({"range": {"ts": {"gte": "1700000000123.456789", "format": "epoch_millis"}}})
        );
    }

    #[test]
    fn keyword_values_stay_strings() {
        let cursor = Cursor::Boundary {
            value: json!("2024-05-01#0007"),
            ids: vec!["x".into()],
        };
        let body = search_body(&spec(None, TrackingKind::Keyword), &cursor);
        assert_eq!(
            body["query"]["bool"]["filter"][1],
            json!({"range": {"ts": {"gte": "2024-05-01#0007"}}})
        );
    }

    #[test]
    fn timestamps_come_from_date_values_only() {
        assert_eq!(timestamp_ms(TrackingKind::Date, &json!(1234)), Some(1234));
        assert_eq!(
            timestamp_ms(TrackingKind::DateNanos, &json!(1_234_567_890_i64)),
            Some(1234)
        );
        assert_eq!(timestamp_ms(TrackingKind::Long, &json!(1234)), None);
    }

    #[test]
    fn floating_point_positions_are_sent_as_strings() {
        let cursor = Cursor::After(vec![json!(7.038531e-26), json!("a")]);
        let body = search_body(&spec(Some("tb"), TrackingKind::Double), &cursor);
        assert_eq!(body["search_after"], json!(["7.038531e-26", "a"]));
        let cursor = Cursor::Boundary {
            value: json!(0.30000000000000004),
            ids: vec![],
        };
        let body = search_body(&spec(None, TrackingKind::Double), &cursor);
        assert_eq!(
            body["query"]["bool"]["filter"][1],
            json!({"range": {"ts": {"gte": "0.30000000000000004"}}})
        );
        // Integers stay numbers.
        let cursor = Cursor::After(vec![json!(-5), json!(9_007_199_254_740_993_i64)]);
        let body = search_body(&spec(Some("tb"), TrackingKind::Long), &cursor);
        assert_eq!(body["search_after"], json!([-5, 9_007_199_254_740_993_i64]));
    }

    #[test]
    fn start_values_read_from_or_after_them() {
        let from = Cursor::From {
            value: json!(1_700_000_000_123_456_789_i64),
            inclusive: true,
        };
        let body = search_body(&spec(Some("id"), TrackingKind::DateNanos), &from);
        assert_eq!(
            body["query"]["bool"]["filter"][2],
            json!({"range": {"ts": {"gte": "1700000000123.456789", "format": "epoch_millis"}}})
        );
        assert!(body.get("search_after").is_none());
        let above = Cursor::From {
            value: json!(7),
            inclusive: false,
        };
        let body = search_body(&spec(None, TrackingKind::Long), &above);
        assert_eq!(
            body["query"]["bool"]["filter"][1],
            json!({"range": {"ts": {"gt": 7}}})
        );
    }

    #[test]
    fn user_query_source_filter_and_lag_apply_to_every_search() {
        let q = json!({"term": {"status": "paid"}});
        let includes = vec!["a".to_owned(), "b.*".to_owned()];
        let excludes = vec!["secret".to_owned()];
        let mut s = spec(None, TrackingKind::Date);
        s.filter = q.as_object();
        s.source_includes = &includes;
        s.source_excludes = &excludes;
        s.upper_bound_ms = Some(1_700_000_000_000);
        let cursor = Cursor::Boundary {
            value: json!(5),
            ids: vec!["x".into()],
        };
        let body = search_body(&s, &cursor);
        assert_eq!(
            body["query"]["bool"]["filter"],
            json!([
                {"exists": {"field": "ts"}},
                {"term": {"status": "paid"}},
                {"range": {"ts": {"lte": 1_700_000_000_000_i64, "format": "epoch_millis"}}},
                {"range": {"ts": {"gte": 5, "format": "epoch_millis"}}}
            ])
        );
        assert_eq!(
            body["_source"],
            json!({"includes": ["a", "b.*"], "excludes": ["secret"]})
        );
        // The cursor comes from sort values, never from `_source`.
        assert!(body["sort"][0]["ts"].is_object());

        let latest = latest_body(&s);
        assert_eq!(latest["size"], json!(1));
        assert_eq!(latest["_source"], json!({"excludes": ["*"]}));
        assert_eq!(latest["sort"][0]["ts"]["order"], json!("desc"));
        assert_eq!(
            latest["query"]["bool"]["filter"][1],
            json!({"term": {"status": "paid"}})
        );

        // The lag bound only exists for time fields, and for long fields with a unit.
        s.tracking_kind = TrackingKind::Long;
        assert_eq!(s.base_filters().len(), 2);
        s.time_unit = Some(TimeUnit::Seconds);
        assert_eq!(
            s.base_filters()[2],
            json!({"range": {"ts": {"lte": 1_700_000_000}}})
        );
        s.time_unit = Some(TimeUnit::Micros);
        assert_eq!(
            s.base_filters()[2],
            json!({"range": {"ts": {"lte": 1_700_000_000_000_000_i64}}})
        );
    }
}

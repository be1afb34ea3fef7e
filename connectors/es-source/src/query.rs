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

/// What the tracking field's mapping means for queries and record timestamps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrackingKind {
    /// `date`: sort values are epoch milliseconds.
    Date,
    /// `date_nanos`: sort values are epoch nanoseconds.
    DateNanos,
    /// Numbers, keywords and other sortable types: values compare as returned.
    Plain,
}

/// The field types a tracking or tiebreaker field may have: sortable, with doc values.
pub const SORTABLE_TYPES: &[&str] = &[
    "long",
    "integer",
    "short",
    "byte",
    "double",
    "float",
    "half_float",
    "scaled_float",
    "unsigned_long",
    "date",
    "date_nanos",
    "keyword",
];

/// Checks a mapped field type; `Err` says in words why it cannot be sorted on.
///
/// `doc_values` is the mapping's `doc_values` setting when it is written out.
pub fn check_sortable(
    field: &str,
    ty: &str,
    doc_values: Option<bool>,
) -> Result<TrackingKind, String> {
    if !SORTABLE_TYPES.contains(&ty) {
        let hint = if ty == "text" {
            " (text fields cannot be sorted on; use a keyword sub-field such as \
             `<field>.keyword` or map the field as keyword)"
        } else {
            ""
        };
        return Err(format!(
            "field {field} is mapped as {ty}, which cannot be sorted on{hint}; use a field of \
             type long, integer, double, date, date_nanos or keyword"
        ));
    }
    if doc_values == Some(false) {
        return Err(format!(
            "field {field} has doc_values disabled, so it cannot be sorted on; use a field \
             with doc values"
        ));
    }
    Ok(match ty {
        "date" => TrackingKind::Date,
        "date_nanos" => TrackingKind::DateNanos,
        _ => TrackingKind::Plain,
    })
}

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
}

/// The `_search` body for the page after `cursor`.
pub fn search_body(spec: &QuerySpec<'_>, cursor: &Cursor) -> Value {
    // `mode: max` keeps a document with several tracking values in the same place for
    // `range`/`search_after` (any value >= cursor) and for the sort (the largest).
    let mut sort = vec![json!({ spec.tracking_field: { "order": "asc", "mode": "max" } })];
    let mut filter = vec![json!({ "exists": { "field": spec.tracking_field } })];
    if let Some(tb) = spec.tiebreaker_field {
        sort.push(json!({ tb: { "order": "asc" } }));
        filter.push(json!({ "exists": { "field": tb } }));
    }

    let mut bool_query = Map::new();
    let mut body = Map::new();
    match cursor {
        Cursor::Start => {}
        Cursor::After(values) => {
            body.insert("search_after".into(), Value::Array(values.clone()));
        }
        Cursor::Boundary { value, ids } => {
            filter.push(range_gte(spec, value));
            if !ids.is_empty() {
                bool_query.insert("must_not".into(), json!([{ "ids": { "values": ids } }]));
            }
        }
    }
    bool_query.insert("filter".into(), Value::Array(filter));

    body.insert("size".into(), json!(spec.batch_size));
    body.insert("track_total_hits".into(), json!(false));
    body.insert("sort".into(), Value::Array(sort));
    body.insert("query".into(), json!({ "bool": bool_query }));
    Value::Object(body)
}

/// `range gte value` on the tracking field, read the way the sort value was written.
fn range_gte(spec: &QuerySpec<'_>, value: &Value) -> Value {
    let mut range = Map::new();
    match (spec.tracking_kind, value) {
        (TrackingKind::Date, Value::Number(_)) => {
            range.insert("gte".into(), value.clone());
            range.insert("format".into(), json!("epoch_millis"));
        }
        (TrackingKind::DateNanos, Value::Number(n)) => {
            // Sort values of date_nanos are epoch nanoseconds; epoch_millis accepts a
            // fraction with up to six digits, which keeps the full precision.
            range.insert("gte".into(), json!(nanos_as_millis(n)));
            range.insert("format".into(), json!("epoch_millis"));
        }
        _ => {
            range.insert("gte".into(), value.clone());
        }
    }
    json!({ "range": { spec.tracking_field: range } })
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
        TrackingKind::Plain => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(tb: Option<&'static str>, kind: TrackingKind) -> QuerySpec<'static> {
        QuerySpec {
            tracking_field: "ts",
            tiebreaker_field: tb,
            batch_size: 200,
            tracking_kind: kind,
        }
    }

    #[test]
    fn first_page_has_no_position() {
        let body = search_body(&spec(None, TrackingKind::Plain), &Cursor::Start);
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
        let body = search_body(&spec(None, TrackingKind::Plain), &cursor);
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
        let body = search_body(&spec(None, TrackingKind::Plain), &cursor);
        assert_eq!(
            body["query"]["bool"]["filter"][1],
            json!({"range": {"ts": {"gte": "2024-05-01#0007"}}})
        );
    }

    #[test]
    fn sortable_types_are_checked() {
        assert_eq!(check_sortable("ts", "date", None), Ok(TrackingKind::Date));
        assert_eq!(
            check_sortable("ts", "date_nanos", None),
            Ok(TrackingKind::DateNanos)
        );
        assert_eq!(
            check_sortable("n", "long", Some(true)),
            Ok(TrackingKind::Plain)
        );
        assert_eq!(
            check_sortable("k", "keyword", None),
            Ok(TrackingKind::Plain)
        );
        let err = check_sortable("title", "text", None).unwrap_err();
        assert!(err.contains("keyword sub-field"), "{err}");
        assert!(check_sortable("o", "object", None).is_err());
        assert!(check_sortable("n", "long", Some(false))
            .unwrap_err()
            .contains("doc_values"));
    }

    #[test]
    fn timestamps_come_from_date_values_only() {
        assert_eq!(timestamp_ms(TrackingKind::Date, &json!(1234)), Some(1234));
        assert_eq!(
            timestamp_ms(TrackingKind::DateNanos, &json!(1_234_567_890_i64)),
            Some(1234)
        );
        assert_eq!(timestamp_ms(TrackingKind::Plain, &json!(1234)), None);
    }
}

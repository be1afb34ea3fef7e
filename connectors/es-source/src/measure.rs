//! Progress figures of one index, measured with the same filters the poll uses.
//!
//! Contract: [`remaining_query`] and [`missing_query`] are pure; [`measure`] runs two
//! counts and one one-hit search and is cancel-safe (it changes nothing). `remaining`
//! counts the documents after the cursor, tie group included: with a tiebreaker, the
//! documents at the cursor's tracking value with a larger tiebreaker; without one, the
//! documents at the cursor value whose ids were not read yet.

use serde_json::{json, Value};

use crate::client::EsClient;
use crate::cursor::Cursor;
use crate::error::EsError;
use crate::query::{latest_body, range_from, range_ops, to_es, QuerySpec};
use crate::tracking::units_per_second;
#[cfg(test)]
use crate::tracking::TrackingKind;

/// What one measurement found in one index.
#[derive(Debug, Clone, PartialEq)]
pub struct Figures {
    /// Documents the poll would still read after the cursor.
    pub remaining: u64,
    /// Seconds between the newest readable tracking value and the cursor (time fields;
    /// `None` when unknown, 0 when caught up).
    pub lag_seconds: Option<f64>,
    /// Documents (matching `es.query`) without the tracking field or the tiebreaker:
    /// no range or sort on them can ever read them.
    pub missing: u64,
}

/// The query of the documents after `cursor` that the poll would read.
pub fn remaining_query(spec: &QuerySpec<'_>, cursor: &Cursor) -> Value {
    let mut filter = spec.base_filters();
    let mut must_not = Vec::new();
    match cursor {
        Cursor::Start => {}
        Cursor::From { value, inclusive } => {
            filter.push(range_from(
                spec,
                value,
                if *inclusive { "gte" } else { "gt" },
            ));
        }
        Cursor::Boundary { value, ids } => {
            filter.push(range_from(spec, value, "gte"));
            if !ids.is_empty() {
                must_not.push(json!({ "ids": { "values": ids } }));
            }
        }
        Cursor::After(sort) => {
            if let (Some(value), Some(tb_value), Some(tb)) =
                (sort.first(), sort.get(1), spec.tiebreaker_field)
            {
                // search_after [v, t]: above v, or at v with a larger tiebreaker.
                filter.push(json!({ "bool": {
                    "should": [
                        range_from(spec, value, "gt"),
                        { "bool": { "filter": [
                            range_ops(spec, &[("gte", value), ("lte", value)]),
                            { "range": { tb: { "gt": to_es(tb_value) } } }
                        ]}}
                    ],
                    "minimum_should_match": 1
                }}));
            }
        }
    }
    let mut bool_query = serde_json::Map::new();
    bool_query.insert("filter".into(), Value::Array(filter));
    if !must_not.is_empty() {
        bool_query.insert("must_not".into(), Value::Array(must_not));
    }
    json!({ "bool": bool_query })
}

/// The query of the documents (matching `es.query`) that lack the tracking field or the
/// tiebreaker.
pub fn missing_query(spec: &QuerySpec<'_>) -> Value {
    let mut needed = vec![json!({ "exists": { "field": spec.tracking_field } })];
    if let Some(tb) = spec.tiebreaker_field {
        needed.push(json!({ "exists": { "field": tb } }));
    }
    let mut bool_query = serde_json::Map::new();
    if let Some(q) = spec.filter {
        bool_query.insert("filter".into(), json!([Value::Object(q.clone())]));
    }
    bool_query.insert("must_not".into(), json!([{ "bool": { "filter": needed } }]));
    json!({ "bool": bool_query })
}

/// The cursor's tracking value, when it has one.
fn cursor_value(cursor: &Cursor) -> Option<&Value> {
    match cursor {
        Cursor::Start => None,
        Cursor::From { value, .. } | Cursor::Boundary { value, .. } => Some(value),
        Cursor::After(sort) => sort.first(),
    }
}

/// Seconds from `cursor` to `newest` for values counted in `per_second` units a second.
pub fn lag_seconds(per_second: i64, newest: &Value, cursor: &Value) -> Option<f64> {
    let diff = newest.as_i64()?.checked_sub(cursor.as_i64()?)?;
    Some((diff.max(0) as f64) / per_second as f64)
}

/// Measures `index` at `cursor`.
pub async fn measure(
    client: &EsClient,
    spec: &QuerySpec<'_>,
    index: &str,
    cursor: &Cursor,
) -> Result<Figures, EsError> {
    let remaining = client.count(index, remaining_query(spec, cursor)).await?;
    let missing = client.count(index, missing_query(spec)).await?;
    let per_second = units_per_second(spec.tracking_kind, spec.time_unit);
    let lag = if per_second.is_none() {
        None
    } else if remaining == 0 {
        Some(0.0)
    } else {
        let newest = client.search(index, latest_body(spec)).await?;
        match (
            newest.first().and_then(|h| h.sort.first()),
            cursor_value(cursor),
        ) {
            (Some(newest), Some(at)) => lag_seconds(per_second.unwrap_or(1), newest, at),
            _ => None,
        }
    };
    Ok(Figures {
        remaining,
        lag_seconds: lag,
        missing,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::tests::spec;

    #[test]
    fn remaining_without_tiebreaker_counts_the_unread_part_of_the_tie_group() {
        let cursor = Cursor::Boundary {
            value: json!(7),
            ids: vec!["a".into(), "b".into()],
        };
        assert_eq!(
            remaining_query(&spec(None, TrackingKind::Long), &cursor),
            json!({"bool": {
                "filter": [{"exists": {"field": "ts"}}, {"range": {"ts": {"gte": 7}}}],
                "must_not": [{"ids": {"values": ["a", "b"]}}]
            }})
        );
    }

    #[test]
    fn remaining_with_tiebreaker_counts_the_tie_group_after_the_cursor() {
        let cursor = Cursor::After(vec![json!(1_700_000_000_000_000_123_i64), json!("k9")]);
        let q = remaining_query(&spec(Some("id"), TrackingKind::DateNanos), &cursor);
        assert_eq!(
            q["bool"]["filter"][2],
            json!({"bool": {
                "should": [
                    {"range": {"ts": {"gt": "1700000000000.000123", "format": "epoch_millis"}}},
                    {"bool": {"filter": [
                        {"range": {"ts": {"gte": "1700000000000.000123",
                                          "lte": "1700000000000.000123",
                                          "format": "epoch_millis"}}},
                        {"range": {"id": {"gt": "k9"}}}
                    ]}}
                ],
                "minimum_should_match": 1
            }})
        );
        // From the start: every readable document.
        let q = remaining_query(&spec(Some("id"), TrackingKind::Long), &Cursor::Start);
        assert_eq!(q["bool"]["filter"].as_array().unwrap().len(), 2);
    }

    #[test]
    fn missing_counts_documents_without_either_field_within_the_user_query() {
        let user = json!({"term": {"status": "paid"}});
        let mut s = spec(Some("id"), TrackingKind::Long);
        s.filter = user.as_object();
        assert_eq!(
            missing_query(&s),
            json!({"bool": {
                "filter": [{"term": {"status": "paid"}}],
                "must_not": [{"bool": {"filter": [
                    {"exists": {"field": "ts"}}, {"exists": {"field": "id"}}
                ]}}]
            }})
        );
    }

    #[test]
    fn lag_is_measured_in_seconds() {
        assert_eq!(lag_seconds(1000, &json!(10_500), &json!(500)), Some(10.0));
        assert_eq!(
            lag_seconds(1_000_000_000, &json!(3_000_000_000_i64), &json!(0)),
            Some(3.0)
        );
        assert_eq!(lag_seconds(1000, &json!(1), &json!(5)), Some(0.0));
        assert_eq!(lag_seconds(1, &json!(10), &json!(5)), Some(5.0));
        assert_eq!(lag_seconds(1, &json!("x"), &json!(5)), None);
    }
}

//! How the indices are read: the tracking and tiebreaker fields, the page size and poll
//! pace, where a partition starts (`es.start`), which documents it reads (`es.query`,
//! `es.lag`, `es.tracking.time.unit`) and how often its progress is measured.
//!
//! Contract: what can be checked without Elasticsearch is checked at parse time; the
//! options that depend on the tracking field's mapped type are checked by
//! [`check_for_kind`], which `EsSourceConfig::check_for_kind` calls once that type is
//! known.

use std::time::Duration;

use connect_api::{ConfigMap, ConfigReader, FieldError};

use crate::tracking::{describe, parse_value, units_per_second, TimeUnit, TrackingKind};

/// The field documents are read in ascending order of.
pub const TRACKING_FIELD: &str = "es.tracking.field";
/// An optional unique field that orders documents sharing a tracking value.
pub const TIEBREAKER_FIELD: &str = "es.tiebreaker.field";
/// Documents per search request.
pub const BATCH_SIZE: &str = "es.batch.size";
/// Wait after a poll that found nothing new.
pub const POLL_INTERVAL_MS: &str = "es.poll.interval.ms";
/// Where a partition without a committed offset starts: `earliest`, `latest` or a value.
pub const START: &str = "es.start";
/// A JSON query object every document read must also match.
pub const QUERY: &str = "es.query";
/// How far behind now reads of time-based tracking fields stay.
pub const LAG: &str = "es.lag";
/// The epoch unit of a long tracking field that holds time (`seconds`, `millis`, ...).
pub const TIME_UNIT: &str = "es.tracking.time.unit";
/// How often a task measures each index's progress (remaining, lag, missing field).
pub const PROGRESS_INTERVAL_MS: &str = "es.progress.interval.ms";
/// Default of [`BATCH_SIZE`].
pub const DEFAULT_BATCH_SIZE: u32 = 1000;
/// Largest [`BATCH_SIZE`]: Elasticsearch's default `index.max_result_window`.
pub const MAX_BATCH_SIZE: u32 = 10_000;
/// Default of [`POLL_INTERVAL_MS`].
pub const DEFAULT_POLL_INTERVAL_MS: u64 = 1000;
/// Smallest [`POLL_INTERVAL_MS`].
pub const MIN_POLL_INTERVAL_MS: u64 = 10;
/// Largest [`POLL_INTERVAL_MS`] (one hour).
pub const MAX_POLL_INTERVAL_MS: u64 = 3_600_000;
/// Largest [`LAG`]: one day.
pub const MAX_LAG: Duration = Duration::from_secs(86_400);
/// Default of [`PROGRESS_INTERVAL_MS`].
pub const DEFAULT_PROGRESS_INTERVAL_MS: u64 = 5000;
/// Largest [`PROGRESS_INTERVAL_MS`] (one hour).
pub const MAX_PROGRESS_INTERVAL_MS: u64 = 3_600_000;

/// Where a partition without a committed offset starts reading (`es.start`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum StartPosition {
    /// `earliest`: from the first document.
    #[default]
    Earliest,
    /// `latest`: after the newest document present when the task first reads the index.
    Latest,
    /// A tracking value: from the documents with tracking value >= it. Kept as written;
    /// it is read per the tracking field's type once the mapping is known.
    Value(String),
}

/// Where reading starts and which documents it reads, as parsed.
pub(super) struct Bounds {
    pub(super) start: StartPosition,
    pub(super) query: Option<serde_json::Map<String, serde_json::Value>>,
    pub(super) lag: Option<Duration>,
    pub(super) time_unit: Option<TimeUnit>,
}

/// Reads `es.tracking.field` (required) and `es.tiebreaker.field`, which must differ.
pub(super) fn read_fields(r: &mut ConfigReader<'_>) -> (String, Option<String>) {
    let tracking_field = r.required_str(TRACKING_FIELD);
    let tiebreaker_field = r.optional_str(TIEBREAKER_FIELD);
    if tiebreaker_field.as_deref() == Some(tracking_field.as_str()) {
        r.error(
            TIEBREAKER_FIELD,
            "must differ from es.tracking.field: use a field that is unique per document",
        );
    }
    (tracking_field, tiebreaker_field)
}

/// Reads `es.batch.size`.
pub(super) fn read_batch_size(r: &mut ConfigReader<'_>) -> u32 {
    r.number_or(BATCH_SIZE, DEFAULT_BATCH_SIZE, 1..=MAX_BATCH_SIZE)
}

/// Reads `es.poll.interval.ms`.
pub(super) fn read_poll_interval(r: &mut ConfigReader<'_>) -> Duration {
    Duration::from_millis(r.number_or(
        POLL_INTERVAL_MS,
        DEFAULT_POLL_INTERVAL_MS,
        MIN_POLL_INTERVAL_MS..=MAX_POLL_INTERVAL_MS,
    ))
}

/// Reads `es.progress.interval.ms`.
pub(super) fn read_progress_interval(r: &mut ConfigReader<'_>) -> Duration {
    Duration::from_millis(r.number_or(
        PROGRESS_INTERVAL_MS,
        DEFAULT_PROGRESS_INTERVAL_MS,
        0..=MAX_PROGRESS_INTERVAL_MS,
    ))
}

/// Reads `es.start`, `es.query`, `es.lag` and `es.tracking.time.unit`.
pub(super) fn read_bounds(r: &mut ConfigReader<'_>, map: &ConfigMap) -> Bounds {
    let start = match r.optional_str(START).as_deref() {
        None | Some("earliest") => StartPosition::Earliest,
        Some("latest") => StartPosition::Latest,
        Some(value) => StartPosition::Value(value.to_owned()),
    };
    let query = read_query(r, map);
    let lag = match r.optional_str(LAG) {
        None => None,
        Some(raw) => match parse_duration(&raw) {
            Ok(d) if d > MAX_LAG => {
                r.error(LAG, format!("{raw:?} is more than one day (86400s)"));
                None
            }
            Ok(d) if d.is_zero() => None,
            Ok(d) => Some(d),
            Err(msg) => {
                r.error(LAG, msg);
                None
            }
        },
    };
    let time_unit = match r.optional_str(TIME_UNIT) {
        None => None,
        Some(name) => {
            let unit = TimeUnit::parse(&name);
            if unit.is_none() {
                r.error(
                    TIME_UNIT,
                    format!("{name:?} is not a unit; use seconds, millis, micros or nanos"),
                );
            }
            unit
        }
    };
    Bounds {
        start,
        query,
        lag,
        time_unit,
    }
}

/// Reads `es.query`: a non-empty JSON object, or nothing.
fn read_query(
    r: &mut ConfigReader<'_>,
    map: &ConfigMap,
) -> Option<serde_json::Map<String, serde_json::Value>> {
    let raw = map.get(QUERY).map(|q| q.trim()).filter(|q| !q.is_empty())?;
    match serde_json::from_str::<serde_json::Value>(raw) {
        Ok(serde_json::Value::Object(q)) if !q.is_empty() => Some(q),
        Ok(serde_json::Value::Object(_)) => {
            r.error(QUERY, "is an empty object; write a query such as {\"term\": {\"status\": \"paid\"}} or leave it unset");
            None
        }
        Ok(other) => {
            r.error(
                QUERY,
                format!(
                    "must be a JSON object such as {{\"term\": {{\"status\": \"paid\"}}}}, not {}",
                    json_kind(&other)
                ),
            );
            None
        }
        Err(e) => {
            r.error(QUERY, format!("is not valid JSON ({e})"));
            None
        }
    }
}

/// Checks the options that depend on the tracking field's mapped `kind`:
/// `es.tracking.time.unit` needs a long field, `es.lag` a date or date_nanos field (or a
/// long one with a time unit), and an `es.start` value must be a value of the field.
pub(super) fn check_for_kind(
    kind: TrackingKind,
    tracking_field: &str,
    start: &StartPosition,
    lag: Option<Duration>,
    time_unit: Option<TimeUnit>,
) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if time_unit.is_some() && kind != TrackingKind::Long {
        errors.push(FieldError::new(
            TIME_UNIT,
            format!(
                "only applies to long (integer, short, byte) tracking fields, but {} is \
                 {}; remove es.tracking.time.unit",
                tracking_field,
                describe(kind)
            ),
        ));
    } else if lag.is_some() && units_per_second(kind, time_unit).is_none() {
        errors.push(FieldError::new(
            LAG,
            format!(
                "only applies to date and date_nanos tracking fields, or long fields with \
                 es.tracking.time.unit, but {} is {}; remove es.lag or set \
                 es.tracking.time.unit",
                tracking_field,
                describe(kind)
            ),
        ));
    }
    if let StartPosition::Value(raw) = start {
        if let Err(msg) = parse_value(kind, raw) {
            errors.push(FieldError::new(
                START,
                format!("{msg}; {} is {}", tracking_field, describe(kind)),
            ));
        }
    }
    errors
}

/// A duration written as a number with a unit, `500ms`, `5s`, `2m` or `1h`; a bare
/// number is milliseconds.
pub fn parse_duration(raw: &str) -> Result<Duration, String> {
    let text = raw.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let bad = || {
        format!(
            "{raw:?} is not a duration; write a whole number with a unit (500ms, 5s, 2m, 1h) \
             or a number of milliseconds"
        )
    };
    let n: u64 = digits.parse().map_err(|_| bad())?;
    let millis = match unit.trim() {
        "" | "ms" => Some(n),
        "s" => n.checked_mul(1000),
        "m" => n.checked_mul(60_000),
        "h" => n.checked_mul(3_600_000),
        _ => return Err(bad()),
    };
    millis.map(Duration::from_millis).ok_or_else(bad)
}

/// How a JSON value that is not an object is named in messages.
fn json_kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

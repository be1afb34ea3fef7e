//! Tests of the tracking field, the read position and pace.

use std::time::Duration;

use super::{fields, minimal};
use crate::config::*;

#[test]
fn start_query_source_and_lag_parse() {
    let c = EsSourceConfig::parse(&minimal()).unwrap();
    assert_eq!(c.start, StartPosition::Earliest);
    assert_eq!((c.query, c.lag), (None, None));
    assert!(c.source_includes.is_empty() && c.source_excludes.is_empty());
    assert_eq!(
        c.progress_interval,
        Duration::from_millis(DEFAULT_PROGRESS_INTERVAL_MS)
    );

    let mut m = minimal();
    m.insert(START.into(), "latest".into());
    m.insert(QUERY.into(), r#" {"term": {"status": "paid"}} "#.into());
    m.insert(SOURCE_INCLUDES.into(), "a, b.*".into());
    m.insert(SOURCE_EXCLUDES.into(), "secret".into());
    m.insert(LAG.into(), "5s".into());
    let c = EsSourceConfig::parse(&m).unwrap();
    assert_eq!(c.start, StartPosition::Latest);
    assert_eq!(
        serde_json::Value::Object(c.query.unwrap()),
        serde_json::json!({"term": {"status": "paid"}})
    );
    assert_eq!(c.source_includes, ["a", "b.*"]);
    assert_eq!(c.source_excludes, ["secret"]);
    assert_eq!(c.lag, Some(Duration::from_secs(5)));

    m.insert(START.into(), "2024-05-01T00:00:00Z".into());
    m.insert(LAG.into(), "0".into());
    let c = EsSourceConfig::parse(&m).unwrap();
    assert_eq!(c.start, StartPosition::Value("2024-05-01T00:00:00Z".into()));
    assert_eq!(c.lag, None);
}

#[test]
fn bad_queries_and_lags_are_field_errors() {
    for (query, want) in [
        ("{not json", "not valid JSON"),
        ("[1]", "an array"),
        ("\"match_all\"", "a string"),
        ("{}", "empty object"),
    ] {
        let mut m = minimal();
        m.insert(QUERY.into(), query.into());
        let errs = EsSourceConfig::parse(&m).unwrap_err();
        assert_eq!(fields(&errs), [QUERY], "{query}");
        assert!(
            errs[0].message.contains(want),
            "{query}: {}",
            errs[0].message
        );
    }
    for lag in ["5 parsecs", "-1s", "1.5s", "2d", "25h"] {
        let mut m = minimal();
        m.insert(LAG.into(), lag.into());
        assert_eq!(
            fields(&EsSourceConfig::parse(&m).unwrap_err()),
            [LAG],
            "{lag}"
        );
    }
}

#[test]
fn kind_dependent_options_are_field_errors() {
    use crate::tracking::TrackingKind;
    let mut m = minimal();
    m.insert(LAG.into(), "5s".into());
    m.insert(START.into(), "2024-05-01T00:00:00Z".into());
    let c = EsSourceConfig::parse(&m).unwrap();
    assert!(c.check_for_kind(TrackingKind::Date).is_empty());
    assert!(c.check_for_kind(TrackingKind::DateNanos).is_empty());
    assert_eq!(fields(&c.check_for_kind(TrackingKind::Long)), [LAG, START]);
    m.insert(START.into(), "k-7".into());
    m.remove(LAG);
    let c = EsSourceConfig::parse(&m).unwrap();
    assert!(c.check_for_kind(TrackingKind::Keyword).is_empty());
    let errs = c.check_for_kind(TrackingKind::Double);
    assert_eq!(fields(&errs), [START]);
    assert!(errs[0].message.contains("floating-point"), "{errs:?}");

    // A long field holding epoch time takes es.lag once its unit is named.
    let mut m = minimal();
    m.insert(LAG.into(), "5s".into());
    let c = EsSourceConfig::parse(&m).unwrap();
    assert_eq!(fields(&c.check_for_kind(TrackingKind::Long)), [LAG]);
    m.insert(TIME_UNIT.into(), "seconds".into());
    let c = EsSourceConfig::parse(&m).unwrap();
    assert!(c.check_for_kind(TrackingKind::Long).is_empty());
    assert_eq!(fields(&c.check_for_kind(TrackingKind::Date)), [TIME_UNIT]);
    m.insert(TIME_UNIT.into(), "fortnights".into());
    assert_eq!(fields(&EsSourceConfig::parse(&m).unwrap_err()), [TIME_UNIT]);
}

#[test]
fn durations_take_a_unit_or_milliseconds() {
    assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
    assert_eq!(parse_duration("750"), Ok(Duration::from_millis(750)));
    assert_eq!(parse_duration("5s"), Ok(Duration::from_secs(5)));
    assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
    assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
    assert!(parse_duration("").is_err());
    assert!(parse_duration("s").is_err());
    assert!(parse_duration("99999999999999999999h").is_err());
}

//! Tests of the message keys.

use std::time::Duration;

use super::{fields, minimal};
use crate::config::*;

#[test]
fn message_keys_parse_and_conflicts_are_field_errors() {
    let c = EsSourceConfig::parse(&minimal()).unwrap();
    assert_eq!(
        c.index_refresh_interval,
        Some(Duration::from_millis(DEFAULT_INDEX_REFRESH_INTERVAL_MS))
    );
    assert!(!c.envelope && c.topic_prefix.is_none() && c.tag.is_none());
    let mut m = minimal();
    m.insert(INDEX_REFRESH_INTERVAL_MS.into(), "0".into());
    m.insert(TOPIC_PREFIX.into(), "es_".into());
    m.insert(TAG_FIELD.into(), "kind".into());
    m.insert(ENVELOPE.into(), "true".into());
    let c = EsSourceConfig::parse(&m).unwrap();
    assert_eq!(c.index_refresh_interval, None);
    assert_eq!(c.topic_prefix.as_deref(), Some("es_"));
    assert_eq!(c.tag_field.as_deref(), Some("kind"));
    assert!(c.envelope);

    m.insert(INDEX_REFRESH_INTERVAL_MS.into(), "10".into());
    m.insert(TOPIC_PREFIX.into(), "es.".into());
    m.insert(TAG.into(), "t".into());
    m.insert(ENVELOPE.into(), "yes".into());
    let errs = EsSourceConfig::parse(&m).unwrap_err();
    assert_eq!(
        fields(&errs),
        [INDEX_REFRESH_INTERVAL_MS, TOPIC_PREFIX, TAG_FIELD, ENVELOPE]
    );
}

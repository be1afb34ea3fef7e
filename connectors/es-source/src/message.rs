//! How one search hit becomes a [`SourceRecord`]: topic, key, tag, user properties,
//! timestamp and body.
//!
//! - Topic: `None` (the runtime uses `connect.topicname`) unless `es.topic.prefix` is set;
//!   then `<prefix><index>` with characters RocketMQ topics cannot hold replaced by `_`.
//!   The prefix wins over `connect.topicname`.
//! - Key: `<index>/<_id>`, so consumers can de-duplicate.
//! - Tag: `es.tag`, or the value of `es.tag.field` in `_source` (none when missing).
//! - Properties (those `es.message.properties` lists, all by default): `es_index`,
//!   `es_id`, `es_tracking_value` and, when the search returned it, `es_seq_no`; a
//!   blank value (an empty keyword) leaves its property out, since RocketMQ clients
//!   refuse blank values. Lower-case names never collide with RocketMQ's
//!   reserved (upper-case) system properties such as `KEYS`, `TAGS` or `UNIQ_KEY`; the
//!   two characters RocketMQ uses to separate properties (U+0001, U+0002) are replaced by
//!   U+FFFD in values.
//! - Body: `_source` byte for byte ([`RecordValue::RawJson`], a slice of the search
//!   answer), or with `es.envelope=true` an object whose `_source` member holds those
//!   bytes unparsed.
//!
//! Pure functions, no I/O.

use std::borrow::Cow;
use std::collections::BTreeMap;

use bytes::Bytes;
use connect_api::{RecordValue, SourceOffset, SourcePartition, SourceRecord};
use serde_json::value::RawValue;
use serde_json::Value;

use crate::client::Hit;
use crate::config::{self, EsSourceConfig};
use crate::error::EsError;
use crate::query::{timestamp_ms, TrackingKind};

/// Adds what the search must return for the messages the config asks for
/// (`seq_no_primary_term` when the envelope is on).
pub fn request_extras(body: &mut Value, config: &EsSourceConfig) {
    if config.envelope {
        if let Some(obj) = body.as_object_mut() {
            obj.insert("seq_no_primary_term".to_owned(), Value::Bool(true));
        }
    }
}

/// The record for one hit of `partition`.
pub fn to_record(
    config: &EsSourceConfig,
    partition: &SourcePartition,
    offset: Option<SourceOffset>,
    kind: TrackingKind,
    hit: Hit,
) -> Result<SourceRecord, EsError> {
    let tracking = hit.sort.first();
    let timestamp = tracking.and_then(|v| timestamp_ms(kind, v));
    let topic = match &config.topic_prefix {
        Some(prefix) => Some(topic_for(prefix, &hit.index)?),
        None => None,
    };
    let tags = match (&config.tag, &config.tag_field) {
        (Some(tag), _) => Some(tag.clone()),
        (None, Some(field)) => tag_from_source(&hit.source, field),
        (None, None) => None,
    };
    let mut properties = Vec::with_capacity(4);
    let mut property = |name: &str, value: &str| {
        // RocketMQ clients refuse blank property values.
        if !value.trim().is_empty() {
            properties.push((name.to_owned(), property_value(value)));
        }
    };
    let wanted = config.message_properties;
    if wanted.index {
        property("es_index", &hit.index);
    }
    if wanted.id {
        property("es_id", &hit.id);
    }
    if let Some(value) = tracking.filter(|_| wanted.tracking_value) {
        property("es_tracking_value", &scalar_text(value));
    }
    if let Some(seq_no) = hit.seq_no.filter(|_| wanted.seq_no) {
        property("es_seq_no", &seq_no.to_string());
    }
    let value = if config.envelope {
        RecordValue::RawJson(envelope(&hit)?)
    } else {
        RecordValue::RawJson(hit.source.clone())
    };
    let mut record = SourceRecord::new(partition.clone(), offset, value)
        .with_key(format!("{}/{}", hit.index, hit.id));
    record.topic = topic;
    record.tags = tags;
    record.properties = properties;
    record.timestamp_ms = timestamp;
    Ok(record)
}

/// `<prefix><index>` as a valid RocketMQ topic name.
pub fn topic_for(prefix: &str, index: &str) -> Result<String, EsError> {
    let topic: String = prefix
        .chars()
        .chain(
            index
                .chars()
                .map(|c| if config::is_topic_char(c) { c } else { '_' }),
        )
        .collect();
    if topic.len() > config::MAX_TOPIC_LEN {
        return Err(EsError::Config(format!(
            "topic {topic} for index {index} is longer than {} characters; shorten \
             {}",
            config::MAX_TOPIC_LEN,
            config::TOPIC_PREFIX
        )));
    }
    Ok(topic)
}

/// The value of `field` in `source` as a tag: a top-level key first (it may contain
/// dots), then a dotted path through objects. Strings, numbers and booleans only.
pub fn tag_from_source(source: &[u8], field: &str) -> Option<String> {
    let value = lookup(source, field)?;
    let tag = match value {
        Value::String(s) => s,
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Null | Value::Array(_) | Value::Object(_) => return None,
    };
    (!tag.is_empty()).then_some(tag)
}

/// Finds `path` in a JSON object without building values for the other members.
fn lookup(json: &[u8], path: &str) -> Option<Value> {
    let members: BTreeMap<Cow<'_, str>, &RawValue> = serde_json::from_slice(json).ok()?;
    if let Some(raw) = members.get(path) {
        return serde_json::from_str(raw.get()).ok();
    }
    let (head, rest) = path.split_once('.')?;
    let inner = members.get(head)?;
    lookup(inner.get().as_bytes(), rest)
}

/// A sort value as text: strings without quotes, anything else as JSON.
fn scalar_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        // Straight to text (the same digits Value's Display writes, without a serializer).
        Value::Number(n) => n.to_string(),
        other => other.to_string(),
    }
}

/// `value` with RocketMQ's property separators (U+0001, U+0002) replaced.
fn property_value(value: &str) -> String {
    if value.contains(['\u{1}', '\u{2}']) {
        value.replace(['\u{1}', '\u{2}'], "\u{FFFD}")
    } else {
        value.to_owned()
    }
}

/// The envelope body, with `_source` copied in as the exact bytes Elasticsearch sent.
fn envelope(hit: &Hit) -> Result<Bytes, EsError> {
    let mut out = Vec::with_capacity(hit.source.len() + hit.index.len() + hit.id.len() + 128);
    let json = |out: &mut Vec<u8>, v: &dyn erased::Json| v.write(out);
    out.extend_from_slice(b"{\"_index\":");
    json(&mut out, &hit.index.as_str())?;
    out.extend_from_slice(b",\"_id\":");
    json(&mut out, &hit.id.as_str())?;
    out.extend_from_slice(b",\"_seq_no\":");
    json(&mut out, &hit.seq_no)?;
    out.extend_from_slice(b",\"_primary_term\":");
    json(&mut out, &hit.primary_term)?;
    out.extend_from_slice(b",\"tracking\":");
    json(&mut out, &hit.sort.first())?;
    out.extend_from_slice(b",\"_source\":");
    out.extend_from_slice(&hit.source);
    out.push(b'}');
    Ok(Bytes::from(out))
}

mod erased {
    //! A tiny object-safe "write as JSON" so the envelope writer takes any member type.
    use crate::error::EsError;

    pub trait Json {
        fn write(&self, out: &mut Vec<u8>) -> Result<(), EsError>;
    }

    impl<T: serde::Serialize> Json for T {
        fn write(&self, out: &mut Vec<u8>) -> Result<(), EsError> {
            serde_json::to_writer(out, self).map_err(|e| EsError::Decode {
                what: "the message envelope".to_owned(),
                detail: e.to_string(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::task::IndexPartition;
    use serde_json::json;

    fn config(extra: &[(&str, &str)]) -> EsSourceConfig {
        let map: connect_api::ConfigMap = [
            (config::HOSTS, "http://127.0.0.1:9200"),
            (config::INDEX, "orders"),
            (config::TRACKING_FIELD, "ts"),
        ]
        .iter()
        .chain(extra)
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        EsSourceConfig::parse(&map).unwrap()
    }

    fn hit(source: &'static [u8]) -> Hit {
        Hit {
            index: "orders".into(),
            id: "42".into(),
            sort: vec![json!(1_700_000_000_000_i64)],
            source: Bytes::from_static(source),
            seq_no: Some(7),
            primary_term: Some(1),
            fields: Default::default(),
        }
    }

    fn record(extra: &[(&str, &str)], source: &'static [u8]) -> SourceRecord {
        let p = IndexPartition::of("orders").unwrap();
        to_record(&config(extra), &p, None, TrackingKind::Date, hit(source)).unwrap()
    }

    #[test]
    fn default_record_has_key_raw_source_properties_and_no_topic() {
        let r = record(&[], br#"{"a":1}"#);
        assert_eq!(r.key.as_deref(), Some("orders/42"));
        assert_eq!(
            r.value,
            RecordValue::RawJson(Bytes::from_static(br#"{"a":1}"#))
        );
        assert_eq!(r.timestamp_ms, Some(1_700_000_000_000));
        assert_eq!(r.topic, None);
        assert_eq!(r.tags, None);
        let props: Vec<(&str, &str)> = r
            .properties
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            props,
            [
                ("es_index", "orders"),
                ("es_id", "42"),
                ("es_tracking_value", "1700000000000"),
                ("es_seq_no", "7")
            ]
        );
    }

    #[test]
    fn source_body_is_a_slice_of_the_answer_not_a_copy() {
        let answer = Bytes::from_static(br#"xx{"a":1}yy"#);
        let mut h = hit(b"");
        h.source = answer.slice(2..9);
        let p = IndexPartition::of("orders").unwrap();
        let r = to_record(&config(&[]), &p, None, TrackingKind::Long, h).unwrap();
        let RecordValue::RawJson(body) = r.value else {
            panic!("not raw")
        };
        assert_eq!(body.as_ptr(), answer[2..].as_ptr());
    }

    #[test]
    fn topic_prefix_plus_index_with_invalid_characters_replaced() {
        let r = record(&[(config::TOPIC_PREFIX, "es-")], b"{}");
        assert_eq!(r.topic.as_deref(), Some("es-orders"));
        assert_eq!(
            topic_for("p_", ".ds-logs-2024.01.01-000001").unwrap(),
            "p__ds-logs-2024_01_01-000001"
        );
        let long = "i".repeat(200);
        let err = topic_for("p_", &long).unwrap_err();
        assert!(err.to_string().contains(config::TOPIC_PREFIX), "{err}");
    }

    #[test]
    fn constant_tag_and_tag_from_top_level_or_dotted_fields() {
        assert_eq!(
            record(&[(config::TAG, "orders")], b"{}").tags.as_deref(),
            Some("orders")
        );
        let src = br#"{"kind":"paid","a":{"b":{"c":5}},"x.y":true,"o":{},"n":null}"#;
        assert_eq!(tag_from_source(src, "kind").as_deref(), Some("paid"));
        assert_eq!(tag_from_source(src, "a.b.c").as_deref(), Some("5"));
        assert_eq!(tag_from_source(src, "x.y").as_deref(), Some("true"));
        assert_eq!(tag_from_source(src, "o"), None);
        assert_eq!(tag_from_source(src, "n"), None);
        assert_eq!(tag_from_source(src, "missing"), None);
        assert_eq!(tag_from_source(src, "a.missing.c"), None);
        assert_eq!(
            record(&[(config::TAG_FIELD, "kind")], src).tags.as_deref(),
            Some("paid")
        );
        assert_eq!(record(&[(config::TAG_FIELD, "nope")], src).tags, None);
    }

    #[test]
    fn envelope_wraps_the_raw_source_with_metadata() {
        let r = record(&[(config::ENVELOPE, "true")], br#"{ "a" : 1.50 }"#);
        let RecordValue::RawJson(body) = r.value else {
            panic!("not raw")
        };
        let text = std::str::from_utf8(&body).unwrap();
        assert_eq!(
            text,
            r#"{"_index":"orders","_id":"42","_seq_no":7,"_primary_term":1,"tracking":1700000000000,"_source":{ "a" : 1.50 }}"#
        );
        let parsed: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(parsed["_source"]["a"], json!(1.5));
    }

    #[test]
    fn envelope_asks_the_search_for_seq_no() {
        let mut body = json!({"size": 1});
        request_extras(&mut body, &config(&[]));
        assert_eq!(body, json!({"size": 1}));
        request_extras(&mut body, &config(&[(config::ENVELOPE, "true")]));
        assert_eq!(body["seq_no_primary_term"], json!(true));
    }

    #[test]
    fn es_message_properties_chooses_the_properties_set() {
        let names = |r: &SourceRecord| -> Vec<String> {
            r.properties.iter().map(|(k, _)| k.clone()).collect()
        };
        let r = record(&[(config::ENVELOPE, "true")], b"{}");
        assert_eq!(
            names(&r),
            ["es_index", "es_id", "es_tracking_value", "es_seq_no"]
        );
        let r = record(&[(config::MESSAGE_PROPERTIES, "es_id")], b"{}");
        assert_eq!(names(&r), ["es_id"]);
        let r = record(&[(config::MESSAGE_PROPERTIES, "none")], b"{}");
        assert!(r.properties.is_empty());
        let map: connect_api::ConfigMap = [
            (config::HOSTS, "http://127.0.0.1:9200"),
            (config::INDEX, "orders"),
            (config::TRACKING_FIELD, "ts"),
            (config::MESSAGE_PROPERTIES, "es_id,routing"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let errs = EsSourceConfig::parse(&map).unwrap_err();
        assert_eq!(errs[0].field, config::MESSAGE_PROPERTIES);
        assert!(errs[0].message.contains("\"routing\""), "{errs:?}");
    }

    #[test]
    fn property_values_never_hold_rocketmq_separators_or_blanks() {
        assert_eq!(property_value("a\u{1}b\u{2}c"), "a\u{FFFD}b\u{FFFD}c");
        let p = IndexPartition::of("orders").unwrap();
        let mut h = hit(b"{}");
        h.sort = vec![json!("")];
        h.seq_no = None;
        let r = to_record(&config(&[]), &p, None, TrackingKind::Long, h).unwrap();
        let names: Vec<&str> = r.properties.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(names, ["es_index", "es_id"]);
    }
}

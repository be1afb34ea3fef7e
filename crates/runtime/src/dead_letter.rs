//! Dead-letter messages: with `errors.tolerance=all` and
//! `errors.deadletterqueue.topic.name` set, each skipped record becomes one message on
//! that topic. The task loop sends it in the record's place, so its offset commits in
//! order with the records around it.
//!
//! The message carries the original body when it fits under RocketMQ's limit; otherwise
//! (RocketMQ refuses empty bodies) a small JSON note of the reason and the original size.
//! User properties name the reason, connector, task, original topic and key.

use bytes::Bytes;
use connect_rocketmq::OutMessage;

use connect_rocketmq::DEFAULT_MAX_MESSAGE_SIZE;

/// Property: why the record was skipped.
pub const PROP_REASON: &str = "rmq_connect_error_reason";
/// Property: the connector.
pub const PROP_CONNECTOR: &str = "rmq_connect_connector";
/// Property: the task number.
pub const PROP_TASK: &str = "rmq_connect_task";
/// Property: the topic the record was meant for.
pub const PROP_TOPIC: &str = "rmq_connect_original_topic";
/// Property: the record's key (for `es-source`: `<index>/<_id>`).
pub const PROP_KEY: &str = "rmq_connect_original_key";

/// Longest reason kept in the property (RocketMQ caps all properties at 32 KiB).
const REASON_MAX_CHARS: usize = 2_000;

/// Where a skipped record came from.
pub struct Origin<'a> {
    /// Connector name.
    pub connector: &'a str,
    /// Task number.
    pub task: u32,
    /// The record's destination topic.
    pub topic: &'a str,
    /// The record's key.
    pub key: Option<&'a str>,
}

/// The dead-letter message for a skipped record and its encoded size, or `None` (logged)
/// when even that message is not valid for RocketMQ.
pub fn message(
    dlq_topic: &str,
    origin: &Origin<'_>,
    reason: &str,
    body: Option<Bytes>,
) -> Option<(OutMessage, usize)> {
    let reason = clean(reason, REASON_MAX_CHARS);
    let original_size = body.as_ref().map(Bytes::len);
    let body = match body {
        Some(b) if !b.is_empty() && b.len() <= DEFAULT_MAX_MESSAGE_SIZE => b,
        _ => Bytes::from(
            serde_json::json!({
                "error": reason,
                "original_bytes": original_size,
                "body_included": false,
            })
            .to_string(),
        ),
    };
    let mut properties = vec![
        (PROP_REASON.to_owned(), reason),
        (PROP_CONNECTOR.to_owned(), origin.connector.to_owned()),
        (PROP_TASK.to_owned(), origin.task.to_string()),
        (PROP_TOPIC.to_owned(), origin.topic.to_owned()),
    ];
    if let Some(key) = origin.key {
        properties.push((PROP_KEY.to_owned(), clean(key, 1_000)));
    }
    let msg = OutMessage {
        topic: dlq_topic.to_owned(),
        key: origin.key.map(str::to_owned),
        tags: None,
        properties,
        body,
    };
    match connect_rocketmq::check_message(&msg, DEFAULT_MAX_MESSAGE_SIZE) {
        Ok(size) => Some((msg, size)),
        // A key RocketMQ refuses (too long, control characters) stays in the property.
        Err(_) if msg.key.is_some() => {
            let msg = OutMessage { key: None, ..msg };
            retry_without_key(msg)
        }
        Err(e) => {
            tracing::error!(connector = origin.connector, task = origin.task, error = %e, "cannot build the dead-letter message; the record is only counted");
            None
        }
    }
}

fn retry_without_key(msg: OutMessage) -> Option<(OutMessage, usize)> {
    match connect_rocketmq::check_message(&msg, DEFAULT_MAX_MESSAGE_SIZE) {
        Ok(size) => Some((msg, size)),
        Err(e) => {
            tracing::error!(error = %e, "cannot build the dead-letter message; the record is only counted");
            None
        }
    }
}

/// Control characters (RocketMQ's property separators among them) become spaces; long
/// texts are cut.
fn clean(text: &str, max_chars: usize) -> String {
    text.chars()
        .take(max_chars)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin() -> Origin<'static> {
        Origin {
            connector: "c",
            task: 2,
            topic: "orders",
            key: Some("idx/7"),
        }
    }

    fn prop<'a>(m: &'a OutMessage, name: &str) -> Option<&'a str> {
        m.properties
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    #[test]
    fn a_body_that_fits_is_kept_with_properties_naming_the_origin() {
        let (m, _) = message("dlq", &origin(), "bad\u{1}thing", Some(Bytes::from("{}"))).unwrap();
        assert_eq!(m.topic, "dlq");
        assert_eq!(m.body, Bytes::from("{}"));
        assert_eq!(m.key.as_deref(), Some("idx/7"));
        assert_eq!(prop(&m, PROP_REASON), Some("bad thing"));
        assert_eq!(prop(&m, PROP_CONNECTOR), Some("c"));
        assert_eq!(prop(&m, PROP_TASK), Some("2"));
        assert_eq!(prop(&m, PROP_TOPIC), Some("orders"));
        assert_eq!(prop(&m, PROP_KEY), Some("idx/7"));
    }

    #[test]
    fn an_oversized_or_missing_body_becomes_a_note_with_the_original_size() {
        let big = Bytes::from(vec![b'x'; DEFAULT_MAX_MESSAGE_SIZE + 1]);
        let (m, size) = message("dlq", &origin(), "too large", Some(big)).unwrap();
        assert!(size < 10_000, "{size}");
        let note: serde_json::Value = serde_json::from_slice(&m.body).unwrap();
        assert_eq!(note["original_bytes"], DEFAULT_MAX_MESSAGE_SIZE + 1);
        assert_eq!(note["error"], "too large");
        let (m, _) = message("dlq", &origin(), "cannot convert", None).unwrap();
        let note: serde_json::Value = serde_json::from_slice(&m.body).unwrap();
        assert!(note["original_bytes"].is_null());
    }

    #[test]
    fn a_key_rocketmq_refuses_is_dropped_but_kept_in_the_property() {
        let o = Origin {
            key: Some("a\u{1}b"),
            ..origin()
        };
        let (m, _) = message("dlq", &o, "r", Some(Bytes::from("1"))).unwrap();
        assert_eq!(m.key, None);
        assert_eq!(prop(&m, PROP_KEY), Some("a b"));
    }
}

//! Local checks run before anything is sent, so that permanent errors are reported
//! clearly (and never retried) instead of surfacing as opaque broker rejections.

use rocketmq_model::common::message::STRING_HASH_SET;
use rocketmq_model::common::topic::TopicValidator;

use crate::error::MqError;
use crate::message::OutMessage;

/// Longest topic name RocketMQ accepts.
pub const TOPIC_MAX_LEN: usize = 127;
/// Longest group name the client accepts.
pub const GROUP_MAX_LEN: usize = 120;
/// Longest message key accepted here (the broker indexes keys; keep them small).
pub const KEY_MAX_LEN: usize = 16 * 1024;
/// The encoded properties of one message are prefixed by a 16-bit length.
pub const PROPERTIES_MAX_LEN: usize = i16::MAX as usize;

/// Fixed part of one message in RocketMQ's batch encoding: total size, magic code,
/// body CRC, flag, body length (4 bytes each) and the 2-byte properties length.
const ENCODED_FIXED_LEN: usize = 4 + 4 + 4 + 4 + 4 + 2;
/// Room for properties the client adds to every message (`UNIQ_KEY` with its 32-hex id,
/// `WAIT=true`, separators) and a little slack.
const CLIENT_PROPERTIES_ALLOWANCE: usize = 96;

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '%' | '|')
}

/// Checks a topic name: `^[%|a-zA-Z0-9_-]+$`, at most 127 characters, not a system topic.
pub fn check_topic(topic: &str) -> Result<(), MqError> {
    let err = |reason: &str| MqError::InvalidTopic {
        topic: topic.to_string(),
        reason: reason.to_string(),
    };
    if topic.is_empty() {
        return Err(err("empty"));
    }
    if topic.len() > TOPIC_MAX_LEN {
        return Err(err("longer than 127 characters"));
    }
    if !topic.chars().all(is_name_char) {
        return Err(err("only ^[%|a-zA-Z0-9_-]+$ is allowed"));
    }
    if topic.to_ascii_lowercase().starts_with("rmq_sys_")
        || TopicValidator::is_system_topic(topic)
        || TopicValidator::is_not_allowed_send_topic(topic)
    {
        return Err(err("reserved for RocketMQ system topics"));
    }
    Ok(())
}

/// Checks a producer or consumer group name.
pub fn check_group(group: &str) -> Result<(), MqError> {
    if group.is_empty() || group.len() > GROUP_MAX_LEN || !group.chars().all(is_name_char) {
        return Err(MqError::Config(format!(
            "group {group:?} must match ^[%|a-zA-Z0-9_-]+$ and have at most {GROUP_MAX_LEN} characters"
        )));
    }
    Ok(())
}

/// Characters that would corrupt RocketMQ's property encoding (`name\u{1}value\u{2}`)
/// or its key index.
fn has_separator(s: &str) -> bool {
    s.contains(['\u{0}', '\u{1}', '\u{2}'])
}

/// Checks one message's topic, key, tags and properties and returns its encoded size in
/// a batch (an upper estimate including the properties the client adds).
pub fn check_message(msg: &OutMessage, max_message_size: usize) -> Result<usize, MqError> {
    check_topic(&msg.topic)?;
    check_message_content(msg, max_message_size)
}

/// [`check_message`] without the topic check, for callers that checked the topic once
/// for many messages (the system-topic lookup is the costly part of checking a message).
pub fn check_message_content(msg: &OutMessage, max_message_size: usize) -> Result<usize, MqError> {
    if msg.body.is_empty() {
        return Err(MqError::InvalidMessage(
            "empty body (RocketMQ rejects zero-length bodies)".into(),
        ));
    }
    if msg.body.len() > max_message_size {
        return Err(MqError::MessageTooLarge {
            size: msg.body.len(),
            limit: max_message_size,
        });
    }
    let mut props_len = 0usize;
    if let Some(key) = &msg.key {
        if key.is_empty() {
            return Err(MqError::InvalidMessage("empty key".into()));
        }
        if key.len() > KEY_MAX_LEN {
            return Err(MqError::InvalidMessage(format!(
                "key of {} bytes exceeds {KEY_MAX_LEN}",
                key.len()
            )));
        }
        if has_separator(key) {
            return Err(MqError::InvalidMessage(
                "key contains a control character (\\u0000-\\u0002)".into(),
            ));
        }
        props_len += "KEYS".len() + key.len() + 2;
    }
    if let Some(tags) = &msg.tags {
        if tags.is_empty() || has_separator(tags) || tags.contains("||") {
            return Err(MqError::InvalidMessage(format!(
                "tag {tags:?} is empty or contains '||' or a control character"
            )));
        }
        props_len += "TAGS".len() + tags.len() + 2;
    }
    for (name, value) in &msg.properties {
        if name.is_empty() || has_separator(name) || has_separator(value) {
            return Err(MqError::InvalidMessage(format!(
                "property {name:?} has an empty name or contains a control character"
            )));
        }
        if STRING_HASH_SET.contains(name.as_str()) {
            return Err(MqError::InvalidMessage(format!(
                "property name {name:?} is reserved by RocketMQ"
            )));
        }
        props_len += name.len() + value.len() + 2;
    }
    if props_len + CLIENT_PROPERTIES_ALLOWANCE > PROPERTIES_MAX_LEN {
        return Err(MqError::InvalidMessage(format!(
            "properties take {props_len} bytes, more than RocketMQ's {PROPERTIES_MAX_LEN}"
        )));
    }
    Ok(ENCODED_FIXED_LEN + msg.body.len() + props_len + CLIENT_PROPERTIES_ALLOWANCE)
}

/// Checks a batch: not empty, one topic, every message valid, and the encoded batch
/// within `max_message_size`. Returns the estimated encoded size.
pub fn check_batch(msgs: &[OutMessage], max_message_size: usize) -> Result<usize, MqError> {
    let Some(first) = msgs.first() else {
        return Err(MqError::EmptyBatch);
    };
    check_topic(&first.topic)?;
    let mut total = 0usize;
    for m in msgs {
        if m.topic != first.topic {
            return Err(MqError::MixedTopics {
                first: first.topic.clone(),
                other: m.topic.clone(),
            });
        }
        total = total.saturating_add(check_message_content(m, max_message_size)?);
    }
    if total > max_message_size {
        return Err(MqError::BatchTooLarge {
            size: total,
            count: msgs.len(),
            limit: max_message_size,
        });
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::DEFAULT_MAX_MESSAGE_SIZE;

    fn msg(topic: &str, body_len: usize) -> OutMessage {
        OutMessage::new(topic, vec![b'x'; body_len])
            .with_key("k1")
            .with_tags("TagA")
            .with_property("source", "es")
    }

    #[test]
    fn topic_names() {
        check_topic("rt_123_456").unwrap();
        check_topic("a-b_C9%|x").unwrap();
        assert!(check_topic("").is_err());
        assert!(check_topic("has space").is_err());
        assert!(check_topic("dot.ted").is_err());
        assert!(check_topic(&"t".repeat(128)).is_err());
        check_topic(&"t".repeat(127)).unwrap();
        assert!(check_topic("rmq_sys_foo").is_err());
        assert!(check_topic("RMQ_SYS_TRANS_HALF_TOPIC").is_err());
        assert!(check_topic("SCHEDULE_TOPIC_XXXX").is_err());
        assert!(!MqError::InvalidTopic {
            topic: String::new(),
            reason: String::new()
        }
        .is_retriable());
    }

    #[test]
    fn groups() {
        check_group("rmq-connect-producer").unwrap();
        assert!(check_group("a b").is_err());
        assert!(check_group("").is_err());
    }

    #[test]
    fn batch_must_be_non_empty_and_single_topic() {
        assert!(matches!(
            check_batch(&[], DEFAULT_MAX_MESSAGE_SIZE),
            Err(MqError::EmptyBatch)
        ));
        let err = check_batch(&[msg("a", 10), msg("b", 10)], DEFAULT_MAX_MESSAGE_SIZE).unwrap_err();
        assert!(matches!(err, MqError::MixedTopics { .. }), "{err}");
        assert!(!err.is_retriable());
        let n = check_batch(&[msg("a", 10), msg("a", 10)], DEFAULT_MAX_MESSAGE_SIZE).unwrap();
        assert!(n > 20);
    }

    #[test]
    fn batch_size_limit_counts_encoding_overhead() {
        // 4 messages of exactly 1 MiB: bodies alone equal the limit, the encoding does not fit.
        let batch: Vec<_> = (0..4).map(|_| msg("a", 1024 * 1024)).collect();
        let err = check_batch(&batch, DEFAULT_MAX_MESSAGE_SIZE).unwrap_err();
        assert!(
            matches!(err, MqError::BatchTooLarge { count: 4, .. }),
            "{err}"
        );
        assert!(!err.is_retriable());
        // 200 messages of 1 KB fit comfortably.
        let batch: Vec<_> = (0..200).map(|_| msg("a", 1000)).collect();
        let n = check_batch(&batch, DEFAULT_MAX_MESSAGE_SIZE).unwrap();
        assert!(n < 300_000, "{n}");
    }

    #[test]
    fn single_message_limits() {
        let err =
            check_message(&msg("a", 4 * 1024 * 1024 + 1), DEFAULT_MAX_MESSAGE_SIZE).unwrap_err();
        assert!(matches!(err, MqError::MessageTooLarge { .. }), "{err}");
        assert!(!err.is_retriable());
        assert!(check_message(&msg("a", 0), DEFAULT_MAX_MESSAGE_SIZE).is_err());
        assert!(check_message(&msg("a b", 1), DEFAULT_MAX_MESSAGE_SIZE).is_err());
    }

    #[test]
    fn keys_tags_and_properties() {
        let ok = msg("a", 1);
        check_message(&ok, DEFAULT_MAX_MESSAGE_SIZE).unwrap();
        let bad_key = ok.clone().with_key("a\u{1}b");
        assert!(check_message(&bad_key, DEFAULT_MAX_MESSAGE_SIZE).is_err());
        let long_key = ok.clone().with_key("k".repeat(KEY_MAX_LEN + 1));
        assert!(check_message(&long_key, DEFAULT_MAX_MESSAGE_SIZE).is_err());
        let bad_tag = ok.clone().with_tags("A||B");
        assert!(check_message(&bad_tag, DEFAULT_MAX_MESSAGE_SIZE).is_err());
        let reserved = ok.clone().with_property("KEYS", "x");
        assert!(check_message(&reserved, DEFAULT_MAX_MESSAGE_SIZE).is_err());
        let reserved = ok.clone().with_property("UNIQ_KEY", "x");
        assert!(check_message(&reserved, DEFAULT_MAX_MESSAGE_SIZE).is_err());
        let bad_value = ok.clone().with_property("p", "a\u{2}b");
        assert!(check_message(&bad_value, DEFAULT_MAX_MESSAGE_SIZE).is_err());
        let huge_props = ok.with_property("p", "v".repeat(PROPERTIES_MAX_LEN));
        assert!(check_message(&huge_props, DEFAULT_MAX_MESSAGE_SIZE).is_err());
    }
}

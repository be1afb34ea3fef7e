//! The shape of the messages: topic (`es.topic.prefix`), tag (`es.tag`, `es.tag.field`),
//! body (`es.envelope`) and the `_source` fields kept (`es.source.includes`,
//! `es.source.excludes`).
//!
//! Contract: a prefix holds only characters RocketMQ topic names allow and leaves room
//! for an index name; a constant tag and a tag field are exclusive. How a hit becomes a
//! record is [`crate::message`]'s job.

use connect_api::ConfigReader;

/// Topic prefix: records go to `<prefix><concrete index>`.
pub const TOPIC_PREFIX: &str = "es.topic.prefix";
/// A constant message tag.
pub const TAG: &str = "es.tag";
/// A `_source` field whose value becomes the message tag.
pub const TAG_FIELD: &str = "es.tag.field";
/// Whether the body is an envelope with metadata around `_source`.
pub const ENVELOPE: &str = "es.envelope";
/// Comma-separated `_source` fields (or patterns) to include.
pub const SOURCE_INCLUDES: &str = "es.source.includes";
/// Comma-separated `_source` fields (or patterns) to exclude.
pub const SOURCE_EXCLUDES: &str = "es.source.excludes";
/// Longest RocketMQ topic name.
pub const MAX_TOPIC_LEN: usize = 127;

/// The message keys of a config, as parsed.
pub(super) struct MessageShape {
    pub(super) topic_prefix: Option<String>,
    pub(super) tag: Option<String>,
    pub(super) tag_field: Option<String>,
    pub(super) envelope: bool,
    pub(super) source_includes: Vec<String>,
    pub(super) source_excludes: Vec<String>,
}

/// Reads the message keys.
pub(super) fn read_shape(r: &mut ConfigReader<'_>) -> MessageShape {
    let topic_prefix = r.optional_str(TOPIC_PREFIX);
    if let Some(prefix) = &topic_prefix {
        if let Err(msg) = check_topic_prefix(prefix) {
            r.error(TOPIC_PREFIX, msg);
        }
    }
    let tag = r.optional_str(TAG);
    let tag_field = r.optional_str(TAG_FIELD);
    if tag.is_some() && tag_field.is_some() {
        r.error(
            TAG_FIELD,
            "cannot be set together with es.tag: use a constant tag or a field, not both",
        );
    }
    if let Some(t) = &tag {
        if t.contains("||") {
            r.error(
                TAG,
                "must not contain \"||\", which RocketMQ uses to combine tags",
            );
        }
    }
    MessageShape {
        topic_prefix,
        tag,
        tag_field,
        envelope: r.bool_or(ENVELOPE, false),
        source_includes: r.list(SOURCE_INCLUDES),
        source_excludes: r.list(SOURCE_EXCLUDES),
    }
}

/// Checks that `prefix` only holds characters RocketMQ topic names allow.
fn check_topic_prefix(prefix: &str) -> Result<(), String> {
    if let Some(c) = prefix.chars().find(|c| !is_topic_char(*c)) {
        return Err(format!(
            "{prefix:?} contains {c:?}; RocketMQ topic names only allow letters, digits, \
             '_', '-', '%' and '|'"
        ));
    }
    if prefix.len() >= MAX_TOPIC_LEN {
        return Err(format!(
            "is {} characters long; the topic (prefix + index name) must be at most \
             {MAX_TOPIC_LEN}",
            prefix.len()
        ));
    }
    Ok(())
}

/// Whether RocketMQ allows `c` in a topic name (`^[%|a-zA-Z0-9_-]+$`).
pub fn is_topic_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '%' | '|')
}

//! The shape of the messages: topic (`es.topic.prefix`), tag (`es.tag`, `es.tag.field`),
//! body (`es.envelope`), the `_source` fields kept (`es.source.includes`,
//! `es.source.excludes`) and the user properties set (`es.message.properties`).
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
/// Which user properties each message carries.
pub const MESSAGE_PROPERTIES: &str = "es.message.properties";
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
    pub(super) properties: MessageProperties,
}

/// The user properties a message carries (`es.message.properties`). Each costs the
/// broker a little per message (it parses and stores them); consumers that
/// de-duplicate by key need none of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MessageProperties {
    /// `es_index`: the concrete index.
    pub index: bool,
    /// `es_id`: the document's `_id`.
    pub id: bool,
    /// `es_tracking_value`: the tracking field's value, as text.
    pub tracking_value: bool,
    /// `es_seq_no`: the document's `_seq_no`, with `es.envelope=true` only.
    pub seq_no: bool,
}

impl MessageProperties {
    /// Every property (the default).
    pub const ALL: Self = Self {
        index: true,
        id: true,
        tracking_value: true,
        seq_no: true,
    };
    /// No property.
    pub const NONE: Self = Self {
        index: false,
        id: false,
        tracking_value: false,
        seq_no: false,
    };
    /// The names, as `es.message.properties` lists them.
    pub const NAMES: [&'static str; 4] = ["es_index", "es_id", "es_tracking_value", "es_seq_no"];
}

impl Default for MessageProperties {
    fn default() -> Self {
        Self::ALL
    }
}

/// Reads `es.message.properties`: names from [`MessageProperties::NAMES`], or `none`.
fn read_properties(r: &mut ConfigReader<'_>) -> MessageProperties {
    if r.optional_str(MESSAGE_PROPERTIES).is_none() {
        return MessageProperties::default();
    }
    let names = r.list(MESSAGE_PROPERTIES);
    let mut out = MessageProperties::NONE;
    if names.len() == 1 && names[0] == "none" {
        return out;
    }
    for name in &names {
        match name.as_str() {
            "es_index" => out.index = true,
            "es_id" => out.id = true,
            "es_tracking_value" => out.tracking_value = true,
            "es_seq_no" => out.seq_no = true,
            other => {
                r.error(
                    MESSAGE_PROPERTIES,
                    format!(
                        "{other:?} is not a property es-source sets; list some of {} or write none",
                        MessageProperties::NAMES.join(", ")
                    ),
                );
                return MessageProperties::default();
            }
        }
    }
    out
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
        properties: read_properties(r),
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

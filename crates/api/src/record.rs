//! The record a source task hands to the runtime.

use bytes::Bytes;
use serde_json::Value;

use crate::position::{SourceOffset, SourcePartition};

/// The payload of a record, before conversion.
#[derive(Debug, Clone, PartialEq)]
pub enum RecordValue {
    /// A JSON value the converter serializes.
    Json(Value),
    /// Bytes that are already one valid JSON document; converters pass them through
    /// without re-parsing (zero-copy for sources that read JSON, such as Elasticsearch).
    RawJson(Bytes),
}

/// One record produced by a source task.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceRecord {
    /// Where the record comes from.
    pub partition: SourcePartition,
    /// The position just after this record in its partition.
    ///
    /// `None` means "not a resume point": the committed position of the partition moves
    /// to the offset of the last acknowledged record that carries one. Tasks whose
    /// offsets are large (for example a set of ids) set it only at safe points such as the
    /// last record of a poll.
    pub offset: Option<SourceOffset>,
    /// The topic to produce to; `None` uses the connector's `connect.topicname`.
    pub topic: Option<String>,
    /// The message key, used by consumers to de-duplicate (for `es-source`: `<index>/<_id>`).
    pub key: Option<String>,
    /// The message tag, used for broker-side filtering.
    pub tags: Option<String>,
    /// User properties attached to the message.
    pub properties: Vec<(String, String)>,
    /// When the record was created in the source, in epoch milliseconds, if known.
    pub timestamp_ms: Option<i64>,
    /// The payload.
    pub value: RecordValue,
}

impl SourceRecord {
    /// A record with the given partition, offset and value and no key, tag or topic override.
    pub fn new(
        partition: SourcePartition,
        offset: Option<SourceOffset>,
        value: RecordValue,
    ) -> Self {
        Self {
            partition,
            offset,
            topic: None,
            key: None,
            tags: None,
            properties: Vec::new(),
            timestamp_ms: None,
            value,
        }
    }

    /// Sets the message key.
    pub fn with_key(mut self, key: impl Into<String>) -> Self {
        self.key = Some(key.into());
        self
    }
}

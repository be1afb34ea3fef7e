//! The record a source task hands to the runtime.
//!
//! A record is either a message to produce (its [`RecordValue`] holds the payload) or an
//! offset-only record ([`SourceRecord::offset_only`]): a position the task reached
//! without anything new to send. Both commit their offset the same way: in the order the
//! task returned them, once every earlier record of the partition was acknowledged.

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
    /// No payload: the record only carries its offset. Build it with
    /// [`SourceRecord::offset_only`], whose docs give the contract. Converters have
    /// nothing to convert and return an error; the runtime never asks them.
    OffsetOnly,
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

    /// A record that carries only a position: "everything of `partition` up to `offset`
    /// is done", for a task that moved on without emitting anything new (an empty range
    /// scanned, a checkpoint of a source it reads, records it filtered out itself).
    ///
    /// The runtime sends no message for it (topic, key, tags, properties and timestamp
    /// are ignored) and counts it neither as polled nor as sent. Its offset is committed
    /// in its place in the order of the task's records: only after every record of
    /// `partition` returned before it (in the same poll or an earlier one) was
    /// acknowledged by RocketMQ, never before; a later record of `partition` moves the
    /// position on as usual. A poll that returns only offset-only records sends
    /// nothing and commits their offsets once the records before them are acknowledged.
    pub fn offset_only(partition: SourcePartition, offset: SourceOffset) -> Self {
        Self::new(partition, Some(offset), RecordValue::OffsetOnly)
    }

    /// Whether the record carries only an offset (see [`SourceRecord::offset_only`]);
    /// such a record with no offset is ignored.
    pub fn is_offset_only(&self) -> bool {
        matches!(self.value, RecordValue::OffsetOnly)
    }

    /// Sets the message key.
    pub fn with_key(mut self, key: impl Into<String>) -> Self {
        self.key = Some(key.into());
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_offset_only_record_has_its_offset_and_nothing_to_send() {
        let partition = SourcePartition::try_from(json!({"file": "a.log"})).unwrap();
        let offset = SourceOffset::try_from(json!({"line": 7})).unwrap();
        let r = SourceRecord::offset_only(partition.clone(), offset.clone());
        assert!(r.is_offset_only());
        assert_eq!(r.partition, partition);
        assert_eq!(r.offset, Some(offset.clone()));
        assert_eq!((r.topic, r.key, r.tags), (None, None, None));
        let data = SourceRecord::new(partition, Some(offset), RecordValue::Json(json!(1)));
        assert!(!data.is_offset_only());
    }
}

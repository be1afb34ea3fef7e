//! Message types exchanged with the wrapper, and their conversion to and from the
//! client's types.

use std::collections::BTreeMap;

use bytes::Bytes;
use rocketmq_model::common::message::message_ext::MessageExt;
use rocketmq_model::common::message::message_single::Message;
use rocketmq_model::common::message::MessageConst;
use rocketmq_model::common::message::STRING_HASH_SET;
use rocketmq_model::result::SendResult;
use rocketmq_model::result::SendStatus;

use crate::error::MqError;

/// A message to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutMessage {
    /// Destination topic.
    pub topic: String,
    /// Business key, stored in RocketMQ's `KEYS` property and indexed by the broker
    /// (`queryMsgByKey`). RocketMQ splits `KEYS` on spaces for indexing, so a key with
    /// spaces is found by each space-separated part, not as a whole.
    pub key: Option<String>,
    /// One tag, used for broker-side filtering.
    pub tags: Option<String>,
    /// User properties (names reserved by RocketMQ are rejected).
    pub properties: Vec<(String, String)>,
    /// Payload; must not be empty.
    pub body: Bytes,
}

impl OutMessage {
    /// A message with only a topic and a body.
    pub fn new(topic: impl Into<String>, body: impl Into<Bytes>) -> Self {
        OutMessage {
            topic: topic.into(),
            key: None,
            tags: None,
            properties: Vec::new(),
            body: body.into(),
        }
    }

    /// Sets the key.
    #[must_use]
    pub fn with_key(mut self, key: impl Into<String>) -> Self {
        self.key = Some(key.into());
        self
    }

    /// Sets the tag.
    #[must_use]
    pub fn with_tags(mut self, tags: impl Into<String>) -> Self {
        self.tags = Some(tags.into());
        self
    }

    /// Adds a user property.
    #[must_use]
    pub fn with_property(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.properties.push((name.into(), value.into()));
        self
    }

    /// Converts into the client's message type. Call only after validation.
    /// The client's message for this one. Built from references: callers that keep
    /// their messages for a retry need not clone them first.
    pub(crate) fn to_client(&self) -> Result<Message, MqError> {
        let mut b = Message::builder()
            .topic(self.topic.as_str())
            .body(self.body.clone());
        if let Some(key) = &self.key {
            b = b.key(key.as_str());
        }
        if let Some(tags) = &self.tags {
            b = b.tags(tags.as_str());
        }
        for (name, value) in &self.properties {
            b = b
                .raw_property(name.as_str(), value.as_str())
                .map_err(|e| MqError::InvalidMessage(e.to_string()))?;
        }
        b.build()
            .map_err(|e| MqError::InvalidMessage(e.to_string()))
    }
}

/// How durable an acknowledged send is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SendStatusKind {
    /// Stored as configured.
    Ok,
    /// Stored, but the synchronous disk flush did not finish in time.
    FlushDiskTimeout,
    /// Stored on the master, but replication to the slave did not finish in time.
    FlushSlaveTimeout,
    /// Stored on the master; no slave is available for synchronous replication.
    SlaveNotAvailable,
}

impl SendStatusKind {
    /// Whether the broker reported the message fully durable (`SEND_OK`). The other
    /// statuses mean "stored, but not yet durable as configured".
    pub fn is_ok(self) -> bool {
        self == SendStatusKind::Ok
    }
}

impl From<SendStatus> for SendStatusKind {
    fn from(s: SendStatus) -> Self {
        match s {
            SendStatus::SendOk => SendStatusKind::Ok,
            SendStatus::FlushDiskTimeout => SendStatusKind::FlushDiskTimeout,
            SendStatus::FlushSlaveTimeout => SendStatusKind::FlushSlaveTimeout,
            SendStatus::SlaveNotAvailable => SendStatusKind::SlaveNotAvailable,
        }
    }
}

/// The broker's acknowledgement of a send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendOutcome {
    /// Client-generated unique ids (`UNIQ_KEY`), one per message, in send order.
    pub msg_ids: Vec<String>,
    /// Durability status.
    pub status: SendStatusKind,
    /// Broker name of the queue written, when reported.
    pub broker_name: Option<String>,
    /// Queue written, when reported (a batch goes to a single queue).
    pub queue_id: Option<i32>,
    /// Offset of the first message written in that queue.
    pub queue_offset: Option<u64>,
}

impl SendOutcome {
    pub(crate) fn from_client(r: &SendResult) -> SendOutcome {
        let msg_ids = r
            .msg_id
            .as_ref()
            .map(|ids| {
                ids.as_str()
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        SendOutcome {
            msg_ids,
            status: r.send_status.into(),
            broker_name: r
                .message_queue
                .as_ref()
                .map(|q| q.broker_name().to_string()),
            queue_id: r.message_queue.as_ref().map(|q| q.queue_id()),
            queue_offset: r.message_queue.as_ref().map(|_| r.queue_offset),
        }
    }

    /// The same outcome with the ids the sender gave its messages (a batch encoded by
    /// `batch_wire` knows them; the client's result does not).
    pub(crate) fn with_msg_ids(mut self, ids: Vec<String>) -> SendOutcome {
        self.msg_ids = ids;
        self
    }
}

/// A message read back by [`crate::PullConsumer`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedMessage {
    /// Topic read.
    pub topic: String,
    /// The `KEYS` property.
    pub key: Option<String>,
    /// The `TAGS` property.
    pub tags: Option<String>,
    /// User properties (RocketMQ's own properties removed).
    pub properties: BTreeMap<String, String>,
    /// Client-generated unique id (`UNIQ_KEY`), when present.
    pub msg_id: Option<String>,
    /// Payload (decompressed).
    pub body: Vec<u8>,
    /// Broker name of the queue.
    pub broker_name: String,
    /// Queue id.
    pub queue_id: i32,
    /// Offset within the queue.
    pub queue_offset: i64,
    /// When the broker stored it, milliseconds since the epoch.
    pub store_timestamp_ms: i64,
}

impl ReceivedMessage {
    pub(crate) fn from_client(m: &MessageExt) -> ReceivedMessage {
        let props = m.properties();
        let get = |k: &str| {
            props
                .iter()
                .find(|(name, _)| name.as_str() == k)
                .map(|(_, v)| v.to_string())
        };
        let properties = props
            .iter()
            .filter(|(name, _)| !STRING_HASH_SET.contains(name.as_str()))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        ReceivedMessage {
            topic: m.topic().to_string(),
            key: get(MessageConst::PROPERTY_KEYS),
            tags: get(MessageConst::PROPERTY_TAGS),
            properties,
            msg_id: get(MessageConst::PROPERTY_UNIQ_CLIENT_MESSAGE_ID_KEYIDX),
            body: m.body().map(|b| b.to_vec()).unwrap_or_default(),
            broker_name: m.broker_name().to_string(),
            queue_id: m.queue_id(),
            queue_offset: m.queue_offset(),
            store_timestamp_ms: m.store_timestamp(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rocketmq_model::common::message::MessageTrait;

    #[test]
    fn out_message_converts_key_tags_and_properties() {
        let m = OutMessage::new("t1", &b"hello"[..])
            .with_key("doc-1")
            .with_tags("TagA")
            .with_property("index", "books")
            .to_client()
            .unwrap();
        assert_eq!(m.topic().as_str(), "t1");
        assert_eq!(
            m.get_keys().map(|k| k.to_string()).as_deref(),
            Some("doc-1")
        );
        assert_eq!(m.tags().map(|k| k.to_string()).as_deref(), Some("TagA"));
        assert_eq!(
            m.properties()
                .as_map()
                .get("index")
                .map(|v| v.to_string())
                .as_deref(),
            Some("books")
        );
        assert_eq!(m.get_body().map(|b| b.as_ref()), Some(&b"hello"[..]));
    }

    #[test]
    fn reserved_property_is_rejected_by_conversion_too() {
        let err = OutMessage::new("t1", &b"x"[..])
            .with_property("KEYS", "k")
            .to_client()
            .unwrap_err();
        assert!(matches!(err, MqError::InvalidMessage(_)));
    }

    #[test]
    fn batch_ids_are_split() {
        let r = SendResult {
            msg_id: Some("A,B,C".into()),
            send_status: SendStatus::FlushDiskTimeout,
            ..Default::default()
        };
        let o = SendOutcome::from_client(&r);
        assert_eq!(o.msg_ids, vec!["A", "B", "C"]);
        assert_eq!(o.status, SendStatusKind::FlushDiskTimeout);
        assert!(!o.status.is_ok());
        assert_eq!(o.queue_id, None);
    }
}

//! A batch send's body, encoded straight from [`OutMessage`]s.
//!
//! The client's own batch path (`send_batch_with_timeout`) first builds one client
//! `Message` per record (a hash map of properties each), checks every message's topic
//! against the system-topic sets again, and encodes into a buffer it grows message by
//! message: about a quarter of rmq-connect's CPU in an end-to-end run (bench/README.md,
//! "CPU per document"). This module writes the same bytes in one pass into a buffer
//! sized once, and hands the client a ready `MessageBatch`, which it sends as the
//! batch request it would have built itself.
//!
//! The layout per message is the one RocketMQ's `MessageDecoder.encodeMessage` writes
//! for a batch (and the client's `encode_message_into`): total size (i32), magic code
//! (i32, 0), body CRC (u32, 0), flag (i32, 0), body length (i32), body, properties
//! length (i16), properties as `name\u{1}value\u{2}`. Each message carries what the
//! client's builder and batch path give it: `KEYS`, `TAGS`, the user properties,
//! `WAIT=true` and a fresh `UNIQ_KEY` (the message id a consumer sees).

use bytes::{BufMut, BytesMut};
use rocketmq_model::common::message::message_batch::MessageBatch;
use rocketmq_model::common::message::message_client_id_setter::MessageClientIDSetter;
use rocketmq_model::common::message::message_single::Message;
use rocketmq_model::common::message::MessageConst;

use crate::error::MqError;
use crate::message::OutMessage;

/// Separates a property's name from its value.
const NAME_VALUE: u8 = 1;
/// Ends a property.
const PROPERTY_END: u8 = 2;
/// Bytes of a message's fixed fields: total size, magic code, body CRC, flag, body
/// length, properties length.
const FIXED: usize = 4 + 4 + 4 + 4 + 4 + 2;

/// The batch to hand to the client, and the message ids (`UNIQ_KEY`) given to its
/// messages, in order.
pub(crate) struct EncodedBatch {
    pub(crate) batch: MessageBatch,
    pub(crate) ids: Vec<String>,
}

/// Encodes `msgs` (already checked: one topic, valid names and values, within the size
/// limits) as one batch.
pub(crate) fn encode(msgs: &[OutMessage]) -> Result<EncodedBatch, MqError> {
    let Some(first) = msgs.first() else {
        return Err(MqError::EmptyBatch);
    };
    let mut ids = Vec::with_capacity(msgs.len());
    let mut lens = Vec::with_capacity(msgs.len());
    let mut total = 0usize;
    for m in msgs {
        let id = MessageClientIDSetter::create_uniq_id();
        let props = properties_len(m, &id);
        total += FIXED + m.body.len() + props;
        lens.push(props);
        ids.push(id);
    }
    let mut body = BytesMut::with_capacity(total);
    for ((m, id), &props) in msgs.iter().zip(&ids).zip(&lens) {
        let props_len = i16::try_from(props).map_err(|_| {
            MqError::InvalidMessage(format!("properties take {props} bytes, more than 32,767"))
        })?;
        let size = FIXED + m.body.len() + props;
        body.put_i32(to_i32(size)?);
        body.put_i32(0); // magic code
        body.put_u32(0); // body CRC
        body.put_i32(0); // flag
        body.put_i32(to_i32(m.body.len())?);
        body.put_slice(&m.body);
        body.put_i16(props_len);
        write_properties(&mut body, m, id);
    }
    let mut final_message = Message::builder()
        .topic(first.topic.as_str())
        .body(body.freeze())
        .build()
        .map_err(|e| MqError::InvalidMessage(e.to_string()))?;
    MessageClientIDSetter::set_uniq_id(&mut final_message);
    Ok(EncodedBatch {
        batch: MessageBatch {
            final_message,
            messages: Vec::new(),
        },
        ids,
    })
}

fn to_i32(n: usize) -> Result<i32, MqError> {
    i32::try_from(n).map_err(|_| MqError::InvalidMessage(format!("{n} bytes do not fit a batch")))
}

/// The length of a message's properties string.
fn properties_len(m: &OutMessage, id: &str) -> usize {
    let pair = |name: &str, value: &str| name.len() + value.len() + 2;
    m.key
        .as_deref()
        .map_or(0, |k| pair(MessageConst::PROPERTY_KEYS, k))
        + m.tags
            .as_deref()
            .map_or(0, |t| pair(MessageConst::PROPERTY_TAGS, t))
        + m.properties.iter().map(|(n, v)| pair(n, v)).sum::<usize>()
        + pair(MessageConst::PROPERTY_WAIT_STORE_MSG_OK, "true")
        + pair(MessageConst::PROPERTY_UNIQ_CLIENT_MESSAGE_ID_KEYIDX, id)
}

fn write_properties(out: &mut BytesMut, m: &OutMessage, id: &str) {
    let mut pair = |name: &str, value: &str| {
        out.put_slice(name.as_bytes());
        out.put_u8(NAME_VALUE);
        out.put_slice(value.as_bytes());
        out.put_u8(PROPERTY_END);
    };
    if let Some(key) = &m.key {
        pair(MessageConst::PROPERTY_KEYS, key);
    }
    if let Some(tags) = &m.tags {
        pair(MessageConst::PROPERTY_TAGS, tags);
    }
    for (name, value) in &m.properties {
        pair(name, value);
    }
    pair(MessageConst::PROPERTY_WAIT_STORE_MSG_OK, "true");
    pair(MessageConst::PROPERTY_UNIQ_CLIENT_MESSAGE_ID_KEYIDX, id);
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use bytes::{Buf, Bytes};
    use rocketmq_model::common::message::MessageTrait;
    use rocketmq_protocol::common::message::message_decoder;

    use super::*;

    fn sample() -> Vec<OutMessage> {
        vec![
            OutMessage::new("t_wire", &b"{\"a\":1}"[..])
                .with_key("idx/1")
                .with_tags("TagA")
                .with_property("es_index", "idx")
                .with_property("es_id", "1"),
            OutMessage::new("t_wire", vec![b'x'; 3000]).with_property("only", "one"),
            OutMessage::new("t_wire", "ünïcode body").with_key("k é"),
        ]
    }

    /// Each message of an encoded batch body (parsed by the layout above): flag, body
    /// and properties (UNIQ_KEY's value replaced by whether it is present, since ids
    /// are fresh each time).
    fn decode(body: &Bytes) -> Vec<(i32, Vec<u8>, BTreeMap<String, String>)> {
        let mut buf = body.clone();
        let mut out = Vec::new();
        while buf.has_remaining() {
            let size = buf.get_i32() as usize;
            assert_eq!(buf.get_i32(), 0, "magic code");
            assert_eq!(buf.get_u32(), 0, "body CRC");
            let flag = buf.get_i32();
            let body_len = buf.get_i32() as usize;
            let body = buf.split_to(body_len).to_vec();
            let props_len = buf.get_i16() as usize;
            assert_eq!(size, FIXED + body_len + props_len, "total size");
            let props = String::from_utf8(buf.split_to(props_len).to_vec()).unwrap();
            let props = props
                .split('\u{2}')
                .filter(|p| !p.is_empty())
                .map(|p| {
                    let (k, v) = p.split_once('\u{1}').unwrap();
                    let v = if k == "UNIQ_KEY" {
                        format!("present={}", !v.is_empty())
                    } else {
                        v.to_owned()
                    };
                    (k.to_owned(), v)
                })
                .collect();
            out.push((flag, body, props));
        }
        out
    }

    #[test]
    fn encoding_matches_what_the_clients_own_batch_path_writes() {
        let msgs = sample();
        // The client's path: its messages, its batch, its encoder.
        let client: Vec<Message> = msgs.iter().map(|m| m.to_client().unwrap()).collect();
        let mut theirs = MessageBatch::generate_from_vec(client).unwrap();
        for m in &mut theirs.messages {
            MessageClientIDSetter::set_uniq_id(m);
        }
        let their_body = message_decoder::encode_messages(&theirs.messages);

        let ours = encode(&msgs).unwrap();
        let our_body = ours.batch.final_message.get_body().cloned().unwrap();
        assert_eq!(our_body.len(), their_body.len(), "same encoded size");
        let (ours_decoded, theirs_decoded) = (decode(&our_body), decode(&their_body));
        assert_eq!(ours_decoded.len(), 3);
        assert_eq!(ours_decoded, theirs_decoded);
        assert_eq!(ours_decoded[0].2["KEYS"], "idx/1");
        assert_eq!(ours_decoded[0].2["TAGS"], "TagA");
        assert_eq!(ours_decoded[0].2["WAIT"], "true");
        assert_eq!(ours_decoded[0].2["UNIQ_KEY"], "present=true");
        assert_eq!(ours_decoded[1].1.len(), 3000);
    }

    #[test]
    fn every_message_gets_its_own_id_and_the_batch_one_too() {
        let ours = encode(&sample()).unwrap();
        assert_eq!(ours.ids.len(), 3);
        let distinct: std::collections::HashSet<_> = ours.ids.iter().collect();
        assert_eq!(distinct.len(), 3, "{:?}", ours.ids);
        assert!(MessageClientIDSetter::get_uniq_id(&ours.batch.final_message).is_some());
        assert_eq!(ours.batch.final_message.topic().as_str(), "t_wire");
        assert!(ours.batch.messages.is_empty());
    }

    #[test]
    fn an_empty_batch_is_refused() {
        assert!(matches!(encode(&[]), Err(MqError::EmptyBatch)));
    }
}

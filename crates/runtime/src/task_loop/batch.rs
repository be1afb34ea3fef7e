//! How a batch is built: the records of one poll become RocketMQ messages (converted,
//! given their topic, tags and properties, and checked against RocketMQ's limits), cut
//! into batches of one topic, at most `max_batch_bytes` encoded bytes and at most
//! `max_batch_messages` messages.
//!
//! Each batch carries the last offset of each partition it holds, so committing a batch
//! after its acknowledgement commits its records and every earlier one. A record that
//! cannot become a message fails the task (`errors.tolerance=none`), or is skipped and
//! counted (`errors.tolerance=all`): its dead-letter message, if any, takes its place, or
//! its offset moves with the batch being cut. Runs inline in the poll loop: no await.

use connect_api::{SourceOffset, SourcePartition, SourceRecord};
use connect_rocketmq::{OutMessage, DEFAULT_MAX_MESSAGE_SIZE};

use super::run::TaskRun;
use super::settings::LoopSettings;
use crate::connector_config::Tolerance;

/// Messages of one topic, sent together, and the offsets their acknowledgement commits.
pub(super) struct Batch {
    /// The messages, in the order of their records.
    pub(super) messages: Vec<OutMessage>,
    /// The last offset of each partition whose records the batch holds (or passed over).
    pub(super) offsets: Vec<(SourcePartition, SourceOffset)>,
}

/// Converts records and cuts them into batches of one topic and bounded bytes. Each
/// batch carries the last offset of each partition it contains.
pub(super) fn build_batches(
    records: Vec<SourceRecord>,
    run: &TaskRun,
    settings: &LoopSettings,
) -> Result<Vec<Batch>, String> {
    let mut out: Vec<Batch> = Vec::new();
    let mut cur = Batch {
        messages: Vec::new(),
        offsets: Vec::new(),
    };
    let mut cur_bytes = 0usize;
    // The last offset per partition of the batch being cut. A batch holds few partitions
    // (usually one), so a list searched from its end beats hashing every record's
    // partition.
    let mut cur_offsets: Vec<(SourcePartition, SourceOffset)> = Vec::new();
    // The topic checked last: records of a poll almost always share one, and checking a
    // topic name (a system-topic lookup) costs more than checking the rest of a message.
    let mut checked_topic: Option<String> = None;
    let finish = |cur: &mut Batch, offs: &mut Vec<(SourcePartition, SourceOffset)>| Batch {
        messages: std::mem::take(&mut cur.messages),
        offsets: std::mem::take(offs),
    };
    for rec in records {
        let topic = match rec.topic.as_ref().or(run.default_topic.as_ref()) {
            Some(t) => t.clone(),
            None => {
                return Err(
                    "a record has no topic: set connect.topicname in the connector config".into(),
                )
            }
        };
        let key_text = || rec.key.as_deref().unwrap_or("(no key)");
        let converted = match run.converter.convert(&rec.value) {
            Err(e) => Err(BadRecord {
                reason: format!("cannot convert record {}: {e}", key_text()),
                body: None,
            }),
            Ok(body) => {
                let mut properties = rec.properties;
                properties.extend(run.delivery.properties.iter().cloned());
                let msg = OutMessage {
                    topic: topic.clone(),
                    key: rec.key.clone(),
                    tags: rec.tags.or_else(|| run.delivery.tags.clone()),
                    properties,
                    body,
                };
                let checked = if checked_topic.as_deref() == Some(topic.as_str()) {
                    connect_rocketmq::check_message_content(&msg, DEFAULT_MAX_MESSAGE_SIZE)
                } else {
                    connect_rocketmq::check_message(&msg, DEFAULT_MAX_MESSAGE_SIZE).inspect(|_| {
                        checked_topic = Some(topic.clone());
                    })
                };
                match checked {
                    Ok(size) => Ok((msg, size)),
                    Err(e) => Err(BadRecord {
                        reason: format!("record {} cannot be sent to RocketMQ: {e}", key_text()),
                        body: Some(msg.body),
                    }),
                }
            }
        };
        let (msg, size) = match converted {
            Ok(ok) => ok,
            Err(bad) if run.delivery.tolerance == Tolerance::All => {
                // Skipped, counted and logged; its offset still moves with the batch (or
                // with its dead-letter message) so the record is not read again and the
                // committed prefix does not stall behind it.
                let reason = (run.redact)(&bad.reason);
                tracing::warn!(connector = %run.connector, task = run.task_id, reason = %reason, "skipping a bad record (errors.tolerance=all)");
                run.status.update(|s| s.records_failed += 1);
                let dead = run.delivery.dlq_topic.as_deref().and_then(|dlq| {
                    crate::dead_letter::message(
                        dlq,
                        &crate::dead_letter::Origin {
                            connector: &run.connector,
                            task: run.task_id,
                            topic: &topic,
                            key: rec.key.as_deref(),
                        },
                        &reason,
                        bad.body,
                    )
                });
                match dead {
                    // Its offset moves with the dead-letter message (below).
                    Some((msg, size)) => (msg, size),
                    None => {
                        if let Some(offset) = rec.offset {
                            set_offset(&mut cur_offsets, rec.partition, offset);
                        }
                        continue;
                    }
                }
            }
            Err(bad) => return Err(bad.reason),
        };
        let topic_changed = cur.messages.first().is_some_and(|m| m.topic != msg.topic);
        if !cur.messages.is_empty()
            && (topic_changed
                || cur_bytes + size > settings.max_batch_bytes
                || cur.messages.len() >= settings.max_batch_messages)
        {
            out.push(finish(&mut cur, &mut cur_offsets));
            cur_bytes = 0;
        }
        cur_bytes += size;
        if let Some(offset) = rec.offset {
            set_offset(&mut cur_offsets, rec.partition, offset);
        }
        cur.messages.push(msg);
    }
    // A batch with offsets but no message (every record skipped) still carries them.
    if !cur.messages.is_empty() || !cur_offsets.is_empty() {
        out.push(finish(&mut cur, &mut cur_offsets));
    }
    Ok(out)
}

/// Records `offset` as the latest of `partition` in `offsets`.
fn set_offset(
    offsets: &mut Vec<(SourcePartition, SourceOffset)>,
    partition: SourcePartition,
    offset: SourceOffset,
) {
    match offsets.iter_mut().rev().find(|(p, _)| *p == partition) {
        Some((_, o)) => *o = offset,
        None => offsets.push((partition, offset)),
    }
}

/// A record that cannot become a RocketMQ message: why, and its converted body if it has
/// one (for the dead-letter topic).
struct BadRecord {
    reason: String,
    body: Option<bytes::Bytes>,
}

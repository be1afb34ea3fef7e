//! How a batch is built: the records of one poll become RocketMQ messages (converted,
//! given their topic, tags and properties, and checked against RocketMQ's limits), cut
//! into batches of one topic, at most `max_batch_bytes` encoded bytes and at most
//! `max_batch_messages` messages.
//!
//! Each batch carries the last offset of each partition it holds, so committing a batch
//! after its acknowledgement commits its records and every earlier one. A record that
//! cannot become a message fails the task (`errors.tolerance=none`), or is skipped and
//! counted (`errors.tolerance=all`): its dead-letter message, if any, takes its place.
//! Records with nothing to send (offset-only records, skipped records without a
//! dead-letter message) take one path, `Cutter::pass`: their offset moves with the
//! batch being cut and commits in order. Runs inline in the poll loop: no await.

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
    let mut cutter = Cutter::new(settings);
    // The topic checked last: records of a poll almost always share one, and checking a
    // topic name (a system-topic lookup) costs more than checking the rest of a message.
    let mut checked_topic: Option<String> = None;
    for rec in records {
        if rec.is_offset_only() {
            cutter.pass(rec.partition, rec.offset);
            continue;
        }
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
                match skip(run, bad, &topic, rec.key.as_deref()) {
                    // The dead-letter message takes the record's place; its offset moves
                    // with it.
                    Some(dead) => dead,
                    None => {
                        cutter.pass(rec.partition, rec.offset);
                        continue;
                    }
                }
            }
            Err(bad) => return Err(bad.reason),
        };
        cutter.push(msg, size, rec.partition, rec.offset);
    }
    Ok(cutter.finish())
}

/// Skips a bad record (`errors.tolerance=all`): logs and counts it, and returns the
/// dead-letter message that takes its place, if a dead-letter topic is set.
fn skip(
    run: &TaskRun,
    bad: BadRecord,
    topic: &str,
    key: Option<&str>,
) -> Option<(OutMessage, usize)> {
    let reason = (run.redact)(&bad.reason);
    tracing::warn!(connector = %run.connector, task = run.task_id, reason = %reason, "skipping a bad record (errors.tolerance=all)");
    run.status.update(|s| s.records_failed += 1);
    let dlq = run.delivery.dlq_topic.as_deref()?;
    crate::dead_letter::message(
        dlq,
        &crate::dead_letter::Origin {
            connector: &run.connector,
            task: run.task_id,
            topic,
            key,
        },
        &reason,
        bad.body,
    )
}

/// Cuts messages into batches as they come, in order.
struct Cutter<'a> {
    settings: &'a LoopSettings,
    out: Vec<Batch>,
    messages: Vec<OutMessage>,
    bytes: usize,
    /// The last offset per partition of the batch being cut. A batch holds few
    /// partitions (usually one), so a list searched from its end beats hashing every
    /// record's partition.
    offsets: Vec<(SourcePartition, SourceOffset)>,
}

impl<'a> Cutter<'a> {
    fn new(settings: &'a LoopSettings) -> Self {
        Self {
            settings,
            out: Vec::new(),
            messages: Vec::new(),
            bytes: 0,
            offsets: Vec::new(),
        }
    }

    /// Adds a message of `size` encoded bytes, first cutting the batch when the message
    /// has another topic or does not fit; `offset` moves with it.
    fn push(
        &mut self,
        msg: OutMessage,
        size: usize,
        partition: SourcePartition,
        offset: Option<SourceOffset>,
    ) {
        let topic_changed = self.messages.first().is_some_and(|m| m.topic != msg.topic);
        if !self.messages.is_empty()
            && (topic_changed
                || self.bytes + size > self.settings.max_batch_bytes
                || self.messages.len() >= self.settings.max_batch_messages)
        {
            self.cut();
        }
        self.bytes += size;
        self.pass(partition, offset);
        self.messages.push(msg);
    }

    /// The path of every record with nothing to send (offset-only, or skipped without a
    /// dead-letter message): its offset joins the batch being cut, so it is committed
    /// in the record's place, once every earlier record was acknowledged, and never
    /// before.
    fn pass(&mut self, partition: SourcePartition, offset: Option<SourceOffset>) {
        let Some(offset) = offset else { return };
        match self.offsets.iter_mut().rev().find(|(p, _)| *p == partition) {
            Some((_, o)) => *o = offset,
            None => self.offsets.push((partition, offset)),
        }
    }

    fn cut(&mut self) {
        self.out.push(Batch {
            messages: std::mem::take(&mut self.messages),
            offsets: std::mem::take(&mut self.offsets),
        });
        self.bytes = 0;
    }

    /// The batches, the last one cut; a batch with offsets and no message (every record
    /// passed) still carries them.
    fn finish(mut self) -> Vec<Batch> {
        if !self.messages.is_empty() || !self.offsets.is_empty() {
            self.cut();
        }
        self.out
    }
}

/// A record that cannot become a RocketMQ message: why, and its converted body if it has
/// one (for the dead-letter topic).
struct BadRecord {
    reason: String,
    body: Option<bytes::Bytes>,
}

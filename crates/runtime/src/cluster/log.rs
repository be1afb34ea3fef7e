//! Reading and writing the cluster's internal logs: JSON records wrapped with the
//! cluster id, appended with an acknowledged send, tailed in order from any offset.

use std::ops::ControlFlow;
use std::time::Duration;

use async_trait::async_trait;
use connect_rocketmq::{LogBatch, LogReader, MqError, OutMessage, Producer};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::ClusterError;

/// Wait after a failed read before the next.
const READ_RETRY: Duration = Duration::from_millis(500);
/// How long a stopping reader waits for its parked read to end.
const STOP_GRACE: Duration = Duration::from_secs(3);

#[derive(Serialize)]
struct EnvelopeOut<'a, R> {
    cluster: &'a str,
    #[serde(flatten)]
    record: &'a R,
}

#[derive(Deserialize)]
struct EnvelopeIn<R> {
    cluster: String,
    #[serde(flatten)]
    record: R,
}

/// A record's bytes: `{"cluster": "<id>", "type": ..., ...}`.
pub fn encode<R: Serialize>(cluster: &str, record: &R) -> Result<Vec<u8>, ClusterError> {
    serde_json::to_vec(&EnvelopeOut { cluster, record }).map_err(ClusterError::Encode)
}

/// What a record read from a log is.
#[derive(Debug)]
pub enum Decoded<R> {
    /// A record of this cluster.
    Ours(R),
    /// A record of another cluster sharing the topic.
    OtherCluster,
    /// Not a record this version understands.
    Unreadable(String),
}

/// Reads a record's bytes.
pub fn decode<R: DeserializeOwned>(cluster: &str, body: &[u8]) -> Decoded<R> {
    #[derive(Deserialize)]
    struct ClusterOnly {
        cluster: String,
    }
    match serde_json::from_slice::<EnvelopeIn<R>>(body) {
        Ok(e) if e.cluster == cluster => Decoded::Ours(e.record),
        Ok(_) => Decoded::OtherCluster,
        Err(e) => match serde_json::from_slice::<ClusterOnly>(body) {
            Ok(c) if c.cluster != cluster => Decoded::OtherCluster,
            _ => Decoded::Unreadable(e.to_string()),
        },
    }
}

/// Appends records of one cluster to one log topic.
#[derive(Clone)]
pub struct LogWriter {
    producer: Producer,
    topic: String,
    cluster: String,
}

impl std::fmt::Debug for LogWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogWriter")
            .field("topic", &self.topic)
            .finish_non_exhaustive()
    }
}

impl LogWriter {
    /// A writer of `cluster`'s records to `topic`.
    pub fn new(producer: Producer, topic: &str, cluster: &str) -> Self {
        Self {
            producer,
            topic: topic.to_owned(),
            cluster: cluster.to_owned(),
        }
    }

    /// The topic written.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// One past the last record stored.
    pub async fn end_offset(&self) -> Result<i64, ClusterError> {
        let end = self.producer.stored_message_count(&self.topic).await?;
        Ok(i64::try_from(end).unwrap_or(i64::MAX))
    }

    /// Appends one record; returns its offset once the broker acknowledged it.
    pub async fn append<R: Serialize>(&self, record: &R) -> Result<i64, ClusterError> {
        let body = encode(&self.cluster, record)?;
        let outcome = self
            .producer
            .send_one(OutMessage::new(self.topic.clone(), body))
            .await?;
        outcome
            .queue_offset
            .and_then(|o| i64::try_from(o).ok())
            .ok_or_else(|| ClusterError::NoOffset(self.topic.clone()))
    }
}

/// Where a record sits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogPos {
    /// Offset in the queue.
    pub offset: i64,
    /// Broker store time, epoch milliseconds.
    pub store_ms: i64,
}

/// A log read from chosen offsets: a [`LogReader`], or a fake in unit tests.
#[async_trait]
pub trait LogSource: Send + Sync {
    /// The topic (for logs).
    fn topic(&self) -> &str;
    /// Reads records from `from` without waiting for new ones.
    async fn read_now(&self, from: i64) -> Result<LogBatch, MqError>;
}

#[async_trait]
impl LogSource for LogReader {
    fn topic(&self) -> &str {
        LogReader::topic(self)
    }

    async fn read_now(&self, from: i64) -> Result<LogBatch, MqError> {
        self.read(from, false).await
    }
}

/// Reads `log` from `from` up to `end` (exclusive), handing every record of `cluster`
/// to `visit` in order until it says stop. Unreadable records are skipped; a read error
/// ends the scan with the error. Stops early if the log ends before `end`.
pub async fn scan<R, F>(
    log: &dyn LogSource,
    cluster: &str,
    from: i64,
    end: i64,
    mut visit: F,
) -> Result<(), ClusterError>
where
    R: DeserializeOwned,
    F: FnMut(LogPos, R) -> ControlFlow<()> + Send,
{
    let mut next = from;
    while next < end {
        let batch = log.read_now(next).await?;
        for r in batch.records.iter().filter(|r| r.offset < end) {
            if let Decoded::Ours(record) = decode::<R>(cluster, &r.body) {
                let pos = LogPos {
                    offset: r.offset,
                    store_ms: r.store_ms,
                };
                if visit(pos, record).is_break() {
                    return Ok(());
                }
            }
        }
        let after = batch
            .records
            .last()
            .map_or(batch.next, |r| batch.next.max(r.offset + 1));
        if after <= next {
            break;
        }
        next = after;
    }
    Ok(())
}

/// Reads `reader` from `from` until `cancel`, handing every record of `cluster` to
/// `apply` in order and publishing, after each read, the offset up to which everything
/// was applied. Read errors are logged and retried; unreadable records are logged and
/// skipped (a newer worker version may write records this one does not know).
pub async fn tail<R, F>(
    reader: LogReader,
    cluster: String,
    from: i64,
    mut apply: F,
    applied: watch::Sender<i64>,
    cancel: CancellationToken,
) where
    R: DeserializeOwned,
    F: FnMut(LogPos, R) + Send,
{
    let mut next = from;
    let mut failing = false;
    loop {
        let read = reader.read(next, true);
        tokio::pin!(read);
        let batch = tokio::select! {
            _ = cancel.cancelled() => {
                // Let a parked read end (the broker answers within its long poll) rather
                // than drop it half-way: the client logs an error for a read torn down
                // under it.
                let _ = tokio::time::timeout(STOP_GRACE, &mut read).await;
                break;
            }
            b = &mut read => b,
        };
        let batch = match batch {
            Ok(b) => {
                if failing {
                    tracing::info!(topic = reader.topic(), "internal topic readable again");
                    failing = false;
                }
                b
            }
            Err(e) => {
                if !failing {
                    tracing::warn!(topic = reader.topic(), error = %e, "cannot read internal topic; retrying");
                    failing = true;
                }
                tokio::select! {
                    _ = cancel.cancelled() => break,
                    _ = tokio::time::sleep(READ_RETRY) => continue,
                }
            }
        };
        for r in &batch.records {
            match decode::<R>(&cluster, &r.body) {
                Decoded::Ours(record) => apply(
                    LogPos {
                        offset: r.offset,
                        store_ms: r.store_ms,
                    },
                    record,
                ),
                Decoded::OtherCluster => {}
                Decoded::Unreadable(e) => tracing::warn!(
                    topic = reader.topic(),
                    offset = r.offset,
                    error = %e,
                    "skipping an internal record this worker cannot read"
                ),
            }
        }
        next = batch
            .records
            .last()
            .map_or(batch.next, |r| batch.next.max(r.offset + 1));
        applied.send_replace(next);
    }
    reader.shutdown().await;
}

/// Waits until `applied` reaches `offset` (exclusive end), up to `timeout`.
pub async fn wait_applied(
    applied: &mut watch::Receiver<i64>,
    offset: i64,
    timeout: Duration,
) -> Result<(), ClusterError> {
    match tokio::time::timeout(timeout, applied.wait_for(|a| *a >= offset)).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(_)) => Err(ClusterError::Stopped),
        Err(_) => Err(ClusterError::Timeout {
            what: "reading back an internal record",
            after: timeout,
        }),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::cluster::positions::PositionRecord;
    use connect_rocketmq::LogRecord;

    /// A log in memory whose records before `min` are gone (as after retention).
    #[derive(Debug, Default)]
    pub(crate) struct FakeLog {
        pub(crate) records: Vec<Vec<u8>>,
        pub(crate) min: i64,
    }

    impl FakeLog {
        /// Appends a record; returns its offset.
        pub(crate) fn push(&mut self, body: Vec<u8>) -> i64 {
            self.records.push(body);
            self.end() - 1
        }

        /// One past the last record.
        pub(crate) fn end(&self) -> i64 {
            i64::try_from(self.records.len()).unwrap()
        }
    }

    #[async_trait]
    impl LogSource for FakeLog {
        fn topic(&self) -> &str {
            "fake"
        }

        async fn read_now(&self, from: i64) -> Result<LogBatch, MqError> {
            let start = from.max(self.min);
            // Three records per read, to cross read boundaries in tests.
            let records: Vec<LogRecord> = (start..self.end().min(start + 3))
                .map(|o| LogRecord {
                    offset: o,
                    store_ms: 0,
                    body: self.records[usize::try_from(o).unwrap()].clone().into(),
                })
                .collect();
            let next = records.last().map_or(start, |r| r.offset + 1);
            Ok(LogBatch {
                records,
                next,
                end: self.end(),
            })
        }
    }

    #[test]
    fn records_of_other_clusters_are_told_apart_from_unreadable_ones() {
        let r = PositionRecord::Reset {
            connector: "c".into(),
        };
        let bytes = encode("A", &r).unwrap();
        assert!(matches!(decode::<PositionRecord>("A", &bytes), Decoded::Ours(x) if x == r));
        assert!(matches!(
            decode::<PositionRecord>("B", &bytes),
            Decoded::OtherCluster
        ));
        assert!(matches!(
            decode::<PositionRecord>("A", br#"{"cluster":"A","type":"from_the_future"}"#),
            Decoded::Unreadable(_)
        ));
        assert!(matches!(
            decode::<PositionRecord>("A", b"not json"),
            Decoded::Unreadable(_)
        ));
    }
}

//! A totally ordered log on a one-queue topic: the records of a cluster's internal topics
//! (configs, offsets, status, membership), read from any offset by every worker.
//!
//! Records are appended with [`crate::Producer::send_one`] (the queue offset of the
//! acknowledgement is the record's position) and read back here with a plain pull
//! consumer that keeps no consumer-group offsets of its own: the caller says where to
//! read from. A topic with more than one queue has no total order, so [`LogReader::open`]
//! refuses it.
//!
//! The client marks its classic pull consumer deprecated in favour of the lite pull
//! consumer. The lite consumer pulls ahead in the background into a cache and commits
//! group offsets; a log reader needs the opposite: one read at an offset it chooses, with
//! nothing fetched behind its back. So this module keeps the classic pull consumer.
#![allow(deprecated)]

use std::time::Duration;

use bytes::Bytes;
use rocketmq_client_rust::DefaultMQPullConsumer;
use rocketmq_client_rust::PullStatus;
use rocketmq_model::common::message::message_queue::MessageQueue;

use crate::admin::acl_hook;
use crate::boxed::boxed;
use crate::config::MqConfig;
use crate::env::ClientEnv;
use crate::error::MqError;
use crate::validate;

/// Longest the broker holds a read that found nothing new (long polling).
pub const LOG_LONG_POLL: Duration = Duration::from_secs(2);
/// Records fetched per read at most.
const MAX_READ: i32 = 256;
/// Time a parked read may take beyond its suspend (the broker checks parked reads
/// every 5 s by default).
const READ_GUARD_SLACK: Duration = Duration::from_secs(6);

/// One record of a log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogRecord {
    /// Its position in the queue.
    pub offset: i64,
    /// When the broker stored it, milliseconds since the epoch (broker clock).
    pub store_ms: i64,
    /// Its bytes.
    pub body: Bytes,
}

/// What one read returned.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogBatch {
    /// Records in order (maybe none).
    pub records: Vec<LogRecord>,
    /// Where the next read starts.
    pub next: i64,
    /// The queue's end (one past the last record) when the broker answered.
    pub end: i64,
}

/// Reads a one-queue topic from chosen offsets.
pub struct LogReader {
    consumer: DefaultMQPullConsumer,
    queue: MessageQueue,
    env: ClientEnv,
    topic: String,
}

impl std::fmt::Debug for LogReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogReader")
            .field("topic", &self.topic)
            .finish_non_exhaustive()
    }
}

impl LogReader {
    /// Opens the log of `topic` (which must exist and have exactly one queue) for the
    /// client group `group` (used only to identify the reader to the broker).
    pub async fn open(cfg: &MqConfig, group: &str, topic: &str) -> Result<Self, MqError> {
        cfg.validate()?;
        validate::check_group(group)?;
        validate::check_topic(topic)?;
        crate::install_crypto_provider();
        let env = ClientEnv::new("log", cfg.client_threads)?;
        let mut builder = DefaultMQPullConsumer::builder(env.client_runtime())
            .consumer_group(group)
            .name_server_addr(cfg.namesrv_list())
            .broker_suspend_max_time(LOG_LONG_POLL)
            // The broker looks at parked reads every few seconds (and at once when a
            // record arrives): leave it time beyond the suspend itself.
            .consumer_timeout_when_suspend(LOG_LONG_POLL + READ_GUARD_SLACK)
            .consumer_pull_timeout(cfg.admin_timeout);
        if let Some(hook) = acl_hook(cfg) {
            builder = builder.rpc_hook(hook);
        }
        let consumer = match builder.build() {
            Ok(c) => c,
            Err(e) => {
                env.shutdown().await;
                return Err(MqError::from_client("log reader build", &e));
            }
        };
        let opened = async {
            boxed(consumer.start())
                .await
                .map_err(|e| MqError::from_client("log reader start", &e))?;
            boxed(consumer.fetch_subscribe_message_queues(topic))
                .await
                .map_err(|e| MqError::from_client("log topic route", &e))
        };
        let queues = match tokio::time::timeout(cfg.admin_timeout, opened).await {
            Ok(Ok(q)) => Ok(q),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(MqError::Timeout {
                operation: "log reader start",
                after: cfg.admin_timeout,
            }),
        };
        let queue = match queues {
            Ok(q) if q.len() == 1 => q.into_iter().next(),
            Ok(q) => {
                let _ = tokio::time::timeout(cfg.admin_timeout, boxed(consumer.shutdown())).await;
                env.shutdown().await;
                return Err(MqError::Config(format!(
                    "topic {topic} has {} queues; an internal topic of the cluster must have \
                     exactly one (its records need one order): delete it, or name another \
                     topic in the worker config",
                    q.len()
                )));
            }
            Err(e) => {
                let _ = tokio::time::timeout(cfg.admin_timeout, boxed(consumer.shutdown())).await;
                env.shutdown().await;
                return Err(e);
            }
        };
        let Some(queue) = queue else {
            env.shutdown().await;
            return Err(MqError::Closed("log queue"));
        };
        Ok(Self {
            consumer,
            queue,
            env,
            topic: topic.to_owned(),
        })
    }

    /// The topic read.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// The first offset still stored (older records were removed by retention).
    pub async fn min_offset(&self) -> Result<i64, MqError> {
        boxed(self.consumer.min_offset(&self.queue))
            .await
            .map_err(|e| MqError::from_client("log min offset", &e))
    }

    /// One past the last record.
    pub async fn end_offset(&self) -> Result<i64, MqError> {
        boxed(self.consumer.max_offset(&self.queue))
            .await
            .map_err(|e| MqError::from_client("log max offset", &e))
    }

    /// The offset of the first record stored at or after `store_ms` (broker clock).
    pub async fn offset_at(&self, store_ms: i64) -> Result<i64, MqError> {
        let ts = u64::try_from(store_ms).unwrap_or(0);
        boxed(self.consumer.search_offset(&self.queue, ts))
            .await
            .map_err(|e| MqError::from_client("log search offset", &e))
    }

    /// Reads records from `from`. With `wait`, an empty read is held by the broker for
    /// up to [`LOG_LONG_POLL`] until something arrives.
    ///
    /// An offset below the queue's first one (removed by retention) or beyond its end is
    /// not an error: the batch is empty and `next` is moved into the queue's range.
    pub async fn read(&self, from: i64, wait: bool) -> Result<LogBatch, MqError> {
        let fut = async {
            if wait {
                boxed(
                    self.consumer
                        .pull_block_if_not_found(&self.queue, "*", from, MAX_READ),
                )
                .await
            } else {
                boxed(self.consumer.pull(&self.queue, "*", from, MAX_READ)).await
            }
        };
        let guard = LOG_LONG_POLL + READ_GUARD_SLACK * 2;
        let result = match tokio::time::timeout(guard, fut).await {
            Ok(Ok(r)) => r,
            Ok(Err(e)) => return Err(MqError::from_client("log read", &e)),
            Err(_) => {
                return Err(MqError::Timeout {
                    operation: "log read",
                    after: guard,
                })
            }
        };
        let end = i64::try_from(result.max_offset()).unwrap_or(i64::MAX);
        let next = i64::try_from(result.next_begin_offset()).unwrap_or(from);
        let records = match result.pull_status() {
            PullStatus::Found => result
                .msg_found_list()
                .unwrap_or_default()
                .iter()
                .map(|m| LogRecord {
                    offset: m.queue_offset(),
                    store_ms: m.store_timestamp(),
                    body: m.body().unwrap_or_default(),
                })
                .collect(),
            PullStatus::NoNewMsg | PullStatus::NoMatchedMsg | PullStatus::OffsetIllegal => {
                Vec::new()
            }
        };
        Ok(LogBatch { records, next, end })
    }

    /// Stops the reader within a few seconds, without blocking the thread.
    pub async fn shutdown(self) {
        let graceful =
            tokio::time::timeout(Duration::from_secs(2), boxed(self.consumer.shutdown())).await;
        if graceful.is_err() {
            self.env.abort();
            return;
        }
        self.env.shutdown().await;
    }
}

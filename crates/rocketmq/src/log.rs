//! A totally ordered log on a one-queue topic: the records of a cluster's internal topics
//! (configs, offsets, status, membership), read from any offset by every worker.
//!
//! Records are appended with [`crate::Producer::send_one`] (the queue offset of the
//! acknowledgement is the record's position) and read back here: one pull request for
//! the topic's queue at the offset the caller names, sent to the master broker serving it.
//! A topic with more than one queue has no total order, so [`LogReader::open`] refuses it.
//!
//! The reader keeps no consumer-group state: it never subscribes, never takes part in a
//! rebalance, commits no offset and fetches nothing in the background. It talks to the
//! broker through the client's bare client instance (`ClientInstanceHandle`), not
//! through a consumer: the client's pull consumers register a subscription on their
//! first pull, and the rebalance that follows starts a background prefetch for the
//! queue on whichever worker of the shared consumer group it picks. Nobody reads that
//! prefetch, and it fails with an `ERROR Pull error for MessageQueue` line when the
//! consumer stops — on every clean stop of that worker.

use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering;
use std::sync::Mutex;
use std::time::Duration;

use bytes::Bytes;
use cheetah_string::CheetahString;
use rocketmq_client_rust::ClientConfig;
use rocketmq_client_rust::ClientError;
use rocketmq_client_rust::ClientInstanceHandle;
use rocketmq_client_rust::ClientRpcHook;
use rocketmq_client_rust::PullStatus;
use rocketmq_model::common::boundary_type::BoundaryType;
use rocketmq_model::common::constant::PermName;
use rocketmq_model::common::message::message_queue::MessageQueue;
use rocketmq_model::common::sys_flag::pull_sys_flag::PullSysFlag;
use rocketmq_protocol::protocol::header::namesrv::topic_operation_header::TopicRequestHeader;
use rocketmq_protocol::protocol::header::pull_message_request_header::PullMessageRequestHeader;
use rocketmq_protocol::rpc::rpc_request_header::RpcRequestHeader;

use crate::admin::{acl_hook, MASTER_ID};
use crate::boxed::{boxed, BoxFut};
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
/// How long [`LogReader::shutdown`] lets the client instance stop before tearing its
/// runtime down.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

/// Numbers the readers of this process, so that each has its own client instance name.
static READER_SEQ: AtomicU64 = AtomicU64::new(0);

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
    client: ClientInstanceHandle,
    /// The consumer group named in pull requests (the broker's view of who reads).
    group: CheetahString,
    queue: MessageQueue,
    /// The master broker serving `queue`; forgotten after a failed request and looked
    /// up again by the next one (the broker may have moved).
    broker: Mutex<Option<CheetahString>>,
    /// Budget of a request that is not a parked read.
    timeout: Duration,
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
        let seq = READER_SEQ.fetch_add(1, Ordering::Relaxed);
        let hook = acl_hook(cfg).map(|h| h as std::sync::Arc<ClientRpcHook>);
        let client = ClientInstanceHandle::get_or_create(
            &env.client_runtime(),
            seq,
            client_config(cfg, seq),
            hook,
        )
        .map_err(|e| MqError::from_client("log reader build", &e));
        let client = match client {
            Ok(c) => c,
            Err(e) => {
                env.shutdown().await;
                return Err(e);
            }
        };
        let opened = async {
            boxed(client.start())
                .await
                .map_err(|e| MqError::from_client("log reader start", &e))?;
            locate(&client, topic, cfg.admin_timeout).await
        };
        let located = match tokio::time::timeout(cfg.admin_timeout, opened).await {
            Ok(r) => r,
            Err(_) => Err(MqError::Timeout {
                operation: "log reader start",
                after: cfg.admin_timeout,
            }),
        };
        match located {
            Ok((queue, broker)) => Ok(Self {
                client,
                group: CheetahString::from(group),
                queue,
                broker: Mutex::new(Some(broker)),
                timeout: cfg.admin_timeout,
                env,
                topic: topic.to_owned(),
            }),
            Err(e) => {
                close(&client, &env).await;
                Err(e)
            }
        }
    }

    /// The topic read.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// The first offset still stored (older records were removed by retention).
    pub async fn min_offset(&self) -> Result<i64, MqError> {
        self.offset(OffsetQuery::First).await
    }

    /// One past the last record.
    pub async fn end_offset(&self) -> Result<i64, MqError> {
        self.offset(OffsetQuery::End).await
    }

    /// The offset of the first record stored at or after `store_ms` (broker clock).
    pub async fn offset_at(&self, store_ms: i64) -> Result<i64, MqError> {
        self.offset(OffsetQuery::StoredAt(store_ms)).await
    }

    /// Asks the broker for one offset of the queue.
    async fn offset(&self, query: OffsetQuery) -> Result<i64, MqError> {
        let broker = self.broker().await?;
        let (queue, ms) = (&self.queue, millis(self.timeout));
        let (operation, fut): (_, BoxFut<'_, Result<i64, ClientError>>) = match query {
            OffsetQuery::First => (
                "log min offset",
                boxed(self.client.min_offset(&broker, queue, ms)),
            ),
            OffsetQuery::End => (
                "log max offset",
                boxed(self.client.max_offset(&broker, queue, ms)),
            ),
            OffsetQuery::StoredAt(store_ms) => (
                "log search offset",
                boxed(self.client.search_offset(
                    &broker,
                    queue,
                    store_ms.max(0),
                    BoundaryType::Lower,
                    ms,
                )),
            ),
        };
        self.request(operation, self.timeout, fut).await
    }

    /// Reads records from `from`. With `wait`, an empty read is held by the broker for
    /// up to [`LOG_LONG_POLL`] until something arrives.
    ///
    /// An offset below the queue's first one (removed by retention) or beyond its end is
    /// not an error: the batch is empty and `next` is moved into the queue's range.
    pub async fn read(&self, from: i64, wait: bool) -> Result<LogBatch, MqError> {
        let broker = self.broker().await?;
        let (suspend, budget) = if wait {
            (LOG_LONG_POLL, LOG_LONG_POLL + READ_GUARD_SLACK)
        } else {
            (Duration::ZERO, self.timeout)
        };
        let header = PullMessageRequestHeader {
            consumer_group: self.group.clone(),
            topic: self.queue.topic().clone(),
            queue_id: self.queue.queue_id(),
            queue_offset: from,
            max_msg_nums: MAX_READ,
            // No offset commit; parked by the broker when `wait`; the subscription is
            // the one in this request (the broker needs no registered consumer).
            sys_flag: PullSysFlag::build_sys_flag(false, wait, true, false) as i32,
            commit_offset: 0,
            suspend_timeout_millis: millis(suspend),
            sub_version: 0,
            subscription: Some(CheetahString::from_static_str("*")),
            expression_type: Some(CheetahString::from_static_str("TAG")),
            topic_request: Some(TopicRequestHeader {
                lo: None,
                rpc: Some(RpcRequestHeader {
                    broker_name: Some(self.queue.broker_name().clone()),
                    ..RpcRequestHeader::default()
                }),
            }),
            ..PullMessageRequestHeader::default()
        };
        let outcome = self
            .request(
                "log read",
                LOG_LONG_POLL + READ_GUARD_SLACK * 2,
                boxed(
                    self.client
                        .pull_outcome_from_broker(&broker, header, millis(budget)),
                ),
            )
            .await?;
        let end = i64::try_from(outcome.max_offset()).unwrap_or(i64::MAX);
        let next = i64::try_from(outcome.next_begin_offset()).unwrap_or(from);
        let records = match outcome.pull_status() {
            PullStatus::Found => outcome
                .messages()
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
        close(&self.client, &self.env).await;
    }

    /// The broker serving the queue: the one known, or the one the route names now.
    async fn broker(&self) -> Result<CheetahString, MqError> {
        if let Some(known) = lock(&self.broker).clone() {
            return Ok(known);
        }
        let (queue, broker) = match tokio::time::timeout(
            self.timeout,
            locate(&self.client, &self.topic, self.timeout),
        )
        .await
        {
            Ok(located) => located?,
            Err(_) => {
                return Err(MqError::Timeout {
                    operation: "log topic route",
                    after: self.timeout,
                })
            }
        };
        if queue != self.queue {
            return Err(MqError::Config(format!(
                "the queue of internal topic {} moved from {} to {}: restart the worker",
                self.topic, self.queue, queue
            )));
        }
        *lock(&self.broker) = Some(broker.clone());
        Ok(broker)
    }

    /// Awaits one request for at most `limit`; on failure, forgets the broker so that
    /// the next request looks it up again.
    async fn request<T>(
        &self,
        operation: &'static str,
        limit: Duration,
        fut: BoxFut<'_, Result<T, ClientError>>,
    ) -> Result<T, MqError> {
        let result = match tokio::time::timeout(limit, fut).await {
            Ok(Ok(v)) => return Ok(v),
            Ok(Err(e)) => MqError::from_client(operation, &e),
            Err(_) => MqError::Timeout {
                operation,
                after: limit,
            },
        };
        *lock(&self.broker) = None;
        Err(result)
    }
}

/// Which offset of the queue [`LogReader::offset`] asks for.
enum OffsetQuery {
    /// The first one still stored.
    First,
    /// One past the last record.
    End,
    /// The first record stored at or after this time (epoch milliseconds, broker clock).
    StoredAt(i64),
}

/// The client settings of a reader: the worker's name servers and TLS, and an instance
/// name of its own (`seq`).
fn client_config(cfg: &MqConfig, seq: u64) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set_namesrv_addr(CheetahString::from(cfg.namesrv_list()));
    c.set_instance_name(CheetahString::from(format!(
        "rmq-connect-log-{}-{seq}",
        std::process::id()
    )));
    c.set_use_tls(cfg.use_tls);
    c.set_mq_client_api_timeout(millis(cfg.admin_timeout));
    c
}

/// The one readable queue of `topic` and the address of the master broker serving it.
async fn locate(
    client: &ClientInstanceHandle,
    topic: &str,
    timeout: Duration,
) -> Result<(MessageQueue, CheetahString), MqError> {
    let route = boxed(client.topic_route(topic, millis(timeout)))
        .await
        .map_err(|e| MqError::from_client("log topic route", &e))?
        .ok_or_else(|| MqError::Unavailable(format!("the name server knows no topic {topic}")))?;
    let readable: Vec<_> = route
        .queue_datas
        .iter()
        .filter(|q| PermName::is_readable(q.perm()) && q.read_queue_nums() > 0)
        .collect();
    let queues: u32 = readable.iter().map(|q| q.read_queue_nums()).sum();
    let [data] = readable.as_slice() else {
        return Err(many_queues(topic, queues));
    };
    if queues != 1 {
        return Err(many_queues(topic, queues));
    }
    let broker_name = data.broker_name().clone();
    let addr = route
        .broker_datas
        .iter()
        .find(|b| *b.broker_name() == broker_name)
        .and_then(|b| b.broker_addrs().get(&MASTER_ID).cloned())
        .ok_or_else(|| {
            MqError::Unavailable(format!(
                "no master broker serves internal topic {topic} (broker {broker_name})"
            ))
        })?;
    Ok((MessageQueue::from_parts(topic, broker_name, 0), addr))
}

fn many_queues(topic: &str, queues: u32) -> MqError {
    MqError::Config(format!(
        "topic {topic} has {queues} queues; an internal topic of the cluster must have \
         exactly one (its records need one order): delete it, or name another \
         topic in the worker config"
    ))
}

/// Stops the client instance (its connections and tasks), then its runtime; tears the
/// runtime down at once if the instance does not stop within [`SHUTDOWN_GRACE`].
async fn close(client: &ClientInstanceHandle, env: &ClientEnv) {
    if tokio::time::timeout(SHUTDOWN_GRACE, boxed(client.shutdown_owned()))
        .await
        .is_err()
    {
        env.abort();
        return;
    }
    env.shutdown().await;
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

//! A cloneable, concurrency-limited producer.

use std::borrow::Borrow;
use std::sync::atomic::AtomicBool;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use rocketmq_client_rust::DefaultMQProducer;
use tokio::sync::Mutex;
use tokio::sync::Semaphore;
use tokio::sync::SemaphorePermit;

use crate::admin::acl_hook;
use crate::admin::ms_u32;
use crate::admin::Admin;
use crate::admin::MAX_QUEUES;
use crate::batch_wire::{self, EncodedBatch};
use crate::boxed::boxed;
use crate::config::MqConfig;
use crate::env::ClientEnv;
use crate::error::MqError;
use crate::message::OutMessage;
use crate::message::SendOutcome;
use crate::validate;

/// Extra time granted to the client beyond `send_timeout` before a send is abandoned
/// locally as timed out (the client enforces `send_timeout` itself; this only guards
/// against a hang).
const SEND_GUARD_SLACK: Duration = Duration::from_secs(2);

/// A RocketMQ producer.
///
/// Cheap to clone; clones share one client. Sends take `&self` and may run
/// concurrently from many tasks; at most `MqConfig::max_in_flight` are in flight at
/// once, the rest wait. The client runs on its own internal runtime, so a `Producer`
/// can be created and dropped from any tokio runtime.
#[derive(Clone)]
pub struct Producer {
    inner: Arc<Inner>,
}

struct Inner {
    cfg: MqConfig,
    producer: DefaultMQProducer,
    /// Started lazily by the first `ensure_topic`.
    admin: Mutex<Option<Admin>>,
    in_flight: Semaphore,
    closed: AtomicBool,
    /// Declared last: dropped after the clients that run on it.
    env: ClientEnv,
}

impl std::fmt::Debug for Producer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Producer")
            .field("cfg", &self.inner.cfg)
            .field("closed", &self.inner.closed.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl Producer {
    /// Validates `cfg`, builds the client runtime and starts the producer.
    ///
    /// Installs the process-wide rustls crypto provider if none is installed yet
    /// ([`crate::install_crypto_provider`]). Starting does not contact the servers: an
    /// unreachable name server shows up as retriable errors on the first send.
    pub async fn start(cfg: MqConfig) -> Result<Producer, MqError> {
        cfg.validate()?;
        crate::install_crypto_provider();
        let env = ClientEnv::new("producer", cfg.client_threads)?;
        let mut builder = DefaultMQProducer::builder(env.client_runtime())
            .producer_group(cfg.producer_group.clone())
            .name_server_addr(cfg.namesrv_list())
            .send_msg_timeout(ms_u32(cfg.send_timeout))
            .retry_times_when_send_failed(cfg.retries)
            .max_message_size(u32::try_from(cfg.max_message_size).unwrap_or(u32::MAX))
            .use_tls(cfg.use_tls);
        if let Some(hook) = acl_hook(&cfg) {
            builder = builder.rpc_hook(hook);
        }
        let mut producer = builder.build();
        let started = tokio::time::timeout(cfg.admin_timeout, boxed(producer.start())).await;
        let failure = match started {
            Ok(Ok(())) => None,
            Ok(Err(e)) => Some(MqError::from_client("producer start", &e)),
            Err(_) => Some(MqError::Timeout {
                operation: "producer start",
                after: cfg.admin_timeout,
            }),
        };
        if let Some(e) = failure {
            env.shutdown().await;
            return Err(e);
        }
        Ok(Producer {
            inner: Arc::new(Inner {
                in_flight: Semaphore::new(cfg.max_in_flight),
                cfg,
                producer,
                admin: Mutex::new(None),
                closed: AtomicBool::new(false),
                env,
            }),
        })
    }

    /// The configuration this producer was started with.
    pub fn config(&self) -> &MqConfig {
        &self.inner.cfg
    }

    fn check_open(&self) -> Result<(), MqError> {
        if self.inner.closed.load(Ordering::Acquire) {
            Err(MqError::Closed("producer"))
        } else {
            Ok(())
        }
    }

    async fn permit(&self) -> Result<SemaphorePermit<'_>, MqError> {
        self.inner
            .in_flight
            .acquire()
            .await
            .map_err(|_| MqError::Closed("producer"))
    }

    fn guard(&self) -> Duration {
        self.inner.cfg.send_timeout + SEND_GUARD_SLACK
    }

    /// Sends all messages of one topic in one batch request; Ok only when the broker
    /// acknowledged the whole batch (check [`SendOutcome::status`] for durability).
    ///
    /// The batch must be non-empty, target a single topic and encode to at most
    /// `MqConfig::max_message_size` bytes (4 MiB by default); otherwise a
    /// non-retriable error is returned and nothing is sent. A timeout is reported as
    /// [`MqError::Timeout`] (retriable, indeterminate: the batch may be stored).
    pub async fn send_batch(&self, msgs: impl AsRef<[OutMessage]>) -> Result<SendOutcome, MqError> {
        self.check_open()?;
        let msgs = msgs.as_ref();
        validate::check_batch(msgs, self.inner.cfg.max_message_size)?;
        // Encoded here in one pass rather than by the client's batch path (see
        // `batch_wire`); the client sends it as the same batch request.
        let EncodedBatch { batch, ids } = batch_wire::encode(msgs)?;
        let _permit = self.permit().await?;
        let send = boxed(
            self.inner
                .producer
                .send_with_timeout(batch, u64::from(ms_u32(self.inner.cfg.send_timeout))),
        );
        match tokio::time::timeout(self.guard(), send).await {
            Ok(Ok(Some(r))) => Ok(SendOutcome::from_client(&r).with_msg_ids(ids)),
            // A synchronous send always yields a result; treat its absence as unknown.
            Ok(Ok(None)) => Err(MqError::Timeout {
                operation: "send_batch (no result)",
                after: self.inner.cfg.send_timeout,
            }),
            Ok(Err(e)) => Err(MqError::from_client("send_batch", &e)),
            Err(_) => Err(MqError::Timeout {
                operation: "send_batch",
                after: self.guard(),
            }),
        }
    }

    /// Sends one message synchronously (acknowledged by the broker).
    pub async fn send_one(&self, msg: impl Borrow<OutMessage>) -> Result<SendOutcome, MqError> {
        self.check_open()?;
        let msg = msg.borrow();
        validate::check_message(msg, self.inner.cfg.max_message_size)?;
        let msg = msg.to_client()?;
        let _permit = self.permit().await?;
        let send = boxed(
            self.inner
                .producer
                .send_with_timeout(msg, u64::from(ms_u32(self.inner.cfg.send_timeout))),
        );
        match tokio::time::timeout(self.guard(), send).await {
            Ok(Ok(Some(r))) => Ok(SendOutcome::from_client(&r)),
            // A synchronous send always yields a result; treat its absence as unknown.
            Ok(Ok(None)) => Err(MqError::Timeout {
                operation: "send_one (no result)",
                after: self.inner.cfg.send_timeout,
            }),
            Ok(Err(e)) => Err(MqError::from_client("send_one", &e)),
            Err(_) => Err(MqError::Timeout {
                operation: "send_one",
                after: self.guard(),
            }),
        }
    }

    /// Sends one message without waiting for any acknowledgement. `Ok` only means the
    /// request was handed to the connection; it cannot back an offset commit.
    pub async fn send_oneway(&self, msg: impl Borrow<OutMessage>) -> Result<(), MqError> {
        self.check_open()?;
        let msg = msg.borrow();
        validate::check_message(msg, self.inner.cfg.max_message_size)?;
        let msg = msg.to_client()?;
        let _permit = self.permit().await?;
        match tokio::time::timeout(self.guard(), boxed(self.inner.producer.send_oneway(msg))).await
        {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(MqError::from_client("send_oneway", &e)),
            Err(_) => Err(MqError::Timeout {
                operation: "send_oneway",
                after: self.guard(),
            }),
        }
    }

    /// Create (or update) a topic on the broker(s) of the cluster, idempotent.
    ///
    /// Creates `topic` with `queues` read and write queues on every master broker known
    /// to the name server (an existing topic is never shrunk), then waits until the
    /// name server serves its route, so a send right after succeeds.
    pub async fn ensure_topic(&self, topic: &str, queues: u32) -> Result<(), MqError> {
        self.check_open()?;
        validate::check_topic(topic)?;
        if queues == 0 || queues > MAX_QUEUES {
            return Err(MqError::Config(format!(
                "queue count {queues} must be within 1..={MAX_QUEUES}"
            )));
        }
        let mut admin = self.inner.admin.lock().await;
        if admin.is_none() {
            *admin = Some(Admin::start(&self.inner.cfg, self.inner.env.client_runtime()).await?);
        }
        match admin.as_ref() {
            Some(a) => a.ensure_topic(topic, queues).await,
            None => Err(MqError::Closed("producer admin")),
        }
    }

    /// How many messages were ever stored in `topic` on every master broker: the sum of
    /// its queues' max offsets (messages deleted since by retention still count). For
    /// tools and benchmarks that check a topic's content without consuming it.
    pub async fn stored_message_count(&self, topic: &str) -> Result<u64, MqError> {
        self.check_open()?;
        validate::check_topic(topic)?;
        let mut admin = self.inner.admin.lock().await;
        if admin.is_none() {
            *admin = Some(Admin::start(&self.inner.cfg, self.inner.env.client_runtime()).await?);
        }
        match admin.as_ref() {
            Some(a) => a.stored_message_count(topic).await,
            None => Err(MqError::Closed("producer admin")),
        }
    }

    /// Shuts the producer down (for every clone). Waits up to `send_timeout` for sends
    /// in flight, never blocks the thread and never panics inside a runtime.
    pub async fn shutdown(self) {
        let inner = self.inner;
        if inner.closed.swap(true, Ordering::AcqRel) {
            return;
        }
        let all = u32::try_from(inner.cfg.max_in_flight).unwrap_or(u32::MAX);
        // Let sends in flight finish, then refuse new ones.
        if let Ok(Ok(permits)) =
            tokio::time::timeout(inner.cfg.send_timeout, inner.in_flight.acquire_many(all)).await
        {
            permits.forget();
        }
        inner.in_flight.close();
        if let Some(admin) = inner.admin.lock().await.take() {
            admin.shutdown().await;
        }
        let mut producer = inner.producer.clone();
        let _ = tokio::time::timeout(inner.cfg.admin_timeout, boxed(producer.shutdown())).await;
        inner.env.shutdown().await;
    }
}

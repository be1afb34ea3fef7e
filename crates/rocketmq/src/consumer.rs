//! A pull consumer for tests and tools: reads one topic from its first offset.

use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering;
use std::time::Duration;

use rocketmq_client_rust::DefaultLitePullConsumer;
use rocketmq_model::common::consumer::consume_from_where::ConsumeFromWhere;

use crate::admin::acl_hook;
use crate::boxed::boxed;
use crate::config::MqConfig;
use crate::env::ClientEnv;
use crate::error::MqError;
use crate::message::ReceivedMessage;
use crate::validate;

/// Messages fetched per pull request and queue.
const PULL_BATCH_SIZE: i32 = 32;
/// Slack added to a poll's own timeout before it is abandoned locally.
const POLL_GUARD_SLACK: Duration = Duration::from_secs(5);
/// How long `shutdown` lets the client stop gracefully. The client's own shutdown
/// waits, queue by queue, up to 5 s for each pull request parked in the broker's long
/// poll (up to 20 s) and then for its offset store; past this budget its runtime is
/// torn down instead, which closes the connections (the broker then drops the consumer).
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

static INSTANCE_SEQ: AtomicU64 = AtomicU64::new(0);

/// A lite pull consumer subscribed to one topic, starting at the first offset of
/// every queue (for a consumer group that has no committed offsets yet). Offsets are
/// committed automatically.
pub struct PullConsumer {
    consumer: DefaultLitePullConsumer,
    topic: String,
    env: ClientEnv,
}

impl std::fmt::Debug for PullConsumer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PullConsumer")
            .field("topic", &self.topic)
            .finish_non_exhaustive()
    }
}

impl PullConsumer {
    /// Starts a consumer in `consumer_group` reading `topic` from the first offset.
    ///
    /// Uses `cfg`'s name servers, credentials, TLS and thread settings
    /// (`producer_group` and send settings are ignored).
    pub async fn start(cfg: &MqConfig, consumer_group: &str, topic: &str) -> Result<Self, MqError> {
        cfg.validate()?;
        validate::check_group(consumer_group)?;
        validate::check_topic(topic)?;
        crate::install_crypto_provider();
        let env = ClientEnv::new("consumer", cfg.client_threads)?;
        // A distinct instance name per consumer, so two consumers in one process do
        // not share a client id (which would confuse the broker's rebalance).
        let instance = format!(
            "rmq-connect-{}-{}",
            std::process::id(),
            INSTANCE_SEQ.fetch_add(1, Ordering::Relaxed)
        );
        let mut builder = DefaultLitePullConsumer::builder(env.client_runtime())
            .consumer_group(consumer_group)
            .name_server_addr(cfg.namesrv_list())
            .instance_name(instance)
            .use_tls(cfg.use_tls)
            .consume_from_where(ConsumeFromWhere::ConsumeFromFirstOffset)
            .pull_batch_size(PULL_BATCH_SIZE)
            .auto_commit(true);
        if let Some(hook) = acl_hook(cfg) {
            builder = builder.rpc_hook(hook);
        }
        let consumer = match builder.build() {
            Ok(c) => c,
            Err(e) => {
                env.shutdown().await;
                return Err(MqError::from_client("consumer build", &e));
            }
        };
        let started = async {
            boxed(consumer.subscribe(topic))
                .await
                .map_err(|e| MqError::from_client("subscribe", &e))?;
            boxed(consumer.start())
                .await
                .map_err(|e| MqError::from_client("consumer start", &e))
        };
        let failure = match tokio::time::timeout(cfg.admin_timeout, started).await {
            Ok(Ok(())) => None,
            Ok(Err(e)) => Some(e),
            Err(_) => Some(MqError::Timeout {
                operation: "consumer start",
                after: cfg.admin_timeout,
            }),
        };
        if let Some(e) = failure {
            let _ = tokio::time::timeout(cfg.admin_timeout, boxed(consumer.shutdown())).await;
            env.shutdown().await;
            return Err(e);
        }
        Ok(PullConsumer {
            consumer,
            topic: topic.to_string(),
            env,
        })
    }

    /// The subscribed topic.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// Returns the messages available now, waiting up to `timeout` for some to arrive.
    /// An empty vector means nothing arrived in time (the client logs and swallows pull
    /// errors, so an unreachable broker also looks like "nothing yet").
    ///
    /// Not guaranteed cancel-safe: dropping the future after the client dequeued a
    /// batch loses that batch for this consumer (its offset still advances).
    pub async fn poll(&self, timeout: Duration) -> Result<Vec<ReceivedMessage>, MqError> {
        let millis = u64::try_from(timeout.as_millis())
            .unwrap_or(u64::MAX)
            .max(1);
        match tokio::time::timeout(
            timeout + POLL_GUARD_SLACK,
            boxed(self.consumer.poll_with_timeout_zero_copy(millis)),
        )
        .await
        {
            Ok(msgs) => Ok(msgs
                .iter()
                .map(|m| ReceivedMessage::from_client(m))
                .collect()),
            Err(_) => Err(MqError::Timeout {
                operation: "poll",
                after: timeout + POLL_GUARD_SLACK,
            }),
        }
    }

    /// Stops the consumer and its runtime within a few seconds, without blocking the
    /// thread. Offsets are committed to the broker automatically every 5 s; commits made
    /// after the last persist may be lost, so a restarted consumer of the same group can
    /// see a few messages again (never fewer).
    pub async fn shutdown(self) {
        let graceful = tokio::time::timeout(SHUTDOWN_GRACE, boxed(self.consumer.shutdown())).await;
        if graceful.is_err() {
            tracing::debug!(
                topic = %self.topic,
                "lite pull consumer did not stop within {SHUTDOWN_GRACE:?}; tearing its runtime down"
            );
            // A graceful runtime shutdown would wait for the same parked pulls again.
            self.env.abort();
            return;
        }
        self.env.shutdown().await;
    }
}

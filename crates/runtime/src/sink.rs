//! Where converted records go: a trait so the task loop can be tested with a fake, and
//! its RocketMQ implementation.

use async_trait::async_trait;
use connect_rocketmq::{MqConfig, OutMessage, Producer};

/// A failed send; `retriable` says whether sending the same batch again may succeed
/// (a timeout is retriable and indeterminate: the batch may have been stored).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct SendError {
    /// Whether a retry may succeed.
    pub retriable: bool,
    /// What went wrong.
    pub message: String,
}

/// Produces batches of messages of one topic.
#[async_trait]
pub trait MessageSink: Send + Sync + 'static {
    /// Sends one batch (all messages of one topic); `Ok` only when every message of it
    /// was acknowledged.
    async fn send_batch(&self, batch: &[OutMessage]) -> Result<(), SendError>;

    /// Sends each message without waiting for an acknowledgement (`send.mode=oneway`);
    /// `Ok` means handed to the network, not stored. Sinks without a fire-and-forget
    /// path send normally.
    async fn send_oneway(&self, batch: &[OutMessage]) -> Result<(), SendError> {
        self.send_batch(batch).await
    }

    /// Makes sure `topic` exists (best effort; brokers may also auto-create).
    async fn ensure_topic(&self, _topic: &str) -> Result<(), SendError> {
        Ok(())
    }
}

/// The RocketMQ producer as a [`MessageSink`].
pub struct RocketMqSink {
    producer: Producer,
}

impl RocketMqSink {
    /// Starts a producer.
    pub async fn start(cfg: MqConfig) -> Result<Self, connect_rocketmq::MqError> {
        Ok(Self {
            producer: Producer::start(cfg).await?,
        })
    }

    /// The producer (shared with the cluster engine's internal logs).
    pub fn producer(&self) -> &Producer {
        &self.producer
    }

    /// Stops the producer.
    pub async fn shutdown(self) {
        self.producer.shutdown().await;
    }
}

fn send_error(e: connect_rocketmq::MqError) -> SendError {
    SendError {
        retriable: e.is_retriable(),
        message: e.to_string(),
    }
}

#[async_trait]
impl MessageSink for RocketMqSink {
    async fn send_batch(&self, batch: &[OutMessage]) -> Result<(), SendError> {
        let outcome = match batch {
            [one] => self.producer.send_one(one).await,
            _ => self.producer.send_batch(batch).await,
        }
        .map_err(send_error)?;
        // FLUSH_DISK_TIMEOUT, FLUSH_SLAVE_TIMEOUT and SLAVE_NOT_AVAILABLE: stored, but not
        // durable as the broker is configured; offsets must not move past them, so the
        // batch is sent again (consumers de-duplicate by key).
        if !outcome.status.is_ok() {
            return Err(SendError {
                retriable: true,
                message: format!(
                    "the broker stored the batch but reported {:?}; sending it again",
                    outcome.status
                ),
            });
        }
        Ok(())
    }

    async fn send_oneway(&self, batch: &[OutMessage]) -> Result<(), SendError> {
        for m in batch {
            self.producer.send_oneway(m).await.map_err(send_error)?;
        }
        Ok(())
    }

    async fn ensure_topic(&self, topic: &str) -> Result<(), SendError> {
        self.producer
            .ensure_topic(topic, 4)
            .await
            .map_err(send_error)
    }
}

//! A thin wrapper over `rocketmq-client-rust` for rmq-connect: a batched, cloneable
//! [`Producer`] with topic creation, a [`PullConsumer`] for tests and tools, a
//! [`LogReader`] for the one-queue internal topics of a cluster, and one
//! error type, [`MqError`], that says whether a failure is retriable and whether the
//! message may already be stored.
//!
//! The RocketMQ client runs on its own tokio runtime, built and torn down inside this
//! crate; callers only need some tokio runtime of their own to `.await` in.
//!
//! Every client future is boxed behind a `dyn Future` here, so the futures of this
//! crate stay small and shallow: crates that await them do not need to raise their
//! `recursion_limit` (the client's own futures are too deep for the default).

// Computing the layout of the client's deeply nested futures (before boxing them).
#![recursion_limit = "256"]

mod admin;
mod batch_wire;
mod boxed;
mod config;
mod consumer;
mod env;
mod error;
mod log;
mod message;
mod producer;
mod validate;

pub use admin::MAX_QUEUES;
pub use config::MqConfig;
pub use config::DEFAULT_ADMIN_TIMEOUT;
pub use config::DEFAULT_CLIENT_THREADS;
pub use config::DEFAULT_MAX_IN_FLIGHT;
pub use config::DEFAULT_MAX_MESSAGE_SIZE;
pub use config::DEFAULT_NAMESRV_ADDR;
pub use config::DEFAULT_PRODUCER_GROUP;
pub use config::DEFAULT_RETRIES;
pub use config::DEFAULT_SEND_TIMEOUT;
pub use consumer::PullConsumer;
pub use error::MqError;
pub use log::{LogBatch, LogReader, LogRecord, LOG_LONG_POLL};
pub use message::OutMessage;
pub use message::ReceivedMessage;
pub use message::SendOutcome;
pub use message::SendStatusKind;
pub use producer::Producer;
pub use validate::check_batch;
pub use validate::check_message;
pub use validate::check_message_content;
pub use validate::check_topic;

/// Installs rustls' aws-lc-rs crypto provider as the process default, unless a
/// provider is already installed. Idempotent and cheap; called by
/// [`Producer::start`] and [`PullConsumer::start`].
///
/// The client's TLS transport builds its rustls configuration from the process
/// default provider, which rustls cannot pick by itself when several backends are
/// compiled into the binary (as in this workspace). Applications that want another
/// provider install it before starting any producer.
pub fn install_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Losing a race against another installer is fine: some provider is installed.
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    }
}

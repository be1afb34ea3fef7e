//! Clustered mode: workers with the same `connectClusterId` coordinate through
//! RocketMQ topics only — four one-queue logs that every worker reads in order.
//!
//! - [`configs`]: connector configs, target states, task configs and restarts.
//! - [`positions`]: offset commits and the fences that keep a worker which lost a task
//!   from committing for it.
//! - [`members`]: heartbeats, membership, the leader and its assignments.
//! - [`statuses`]: the task statuses every worker publishes.
//! - [`assign`]: the balanced, sticky assignment of tasks to live workers.
//! - [`lease`]: when a worker may produce and commit at all.
//! - [`engine`]: one worker's view of all four logs, its heartbeats and its writes.
//! - [`fenced`]: the offset store and sink a task run writes through.
//! - [`cache`]: the worker's local copy of configs and offsets, for quick restarts.
//! - [`snapshot`]: snapshots of the config and offsets logs, for workers starting
//!   without a copy (and after the broker removed old records).

pub mod assign;
pub mod cache;
pub mod configs;
pub mod engine;
pub mod fenced;
pub mod lease;
pub mod log;
pub mod members;
pub mod positions;
pub mod snapshot;
pub mod statuses;

use std::time::Duration;

/// What can go wrong between a worker and its cluster.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// RocketMQ failed.
    #[error(transparent)]
    Mq(#[from] connect_rocketmq::MqError),
    /// A record could not be encoded.
    #[error("cannot encode an internal record: {0}")]
    Encode(serde_json::Error),
    /// The broker did not say where a record was stored.
    #[error("the broker did not report the offset of a record written to {0}")]
    NoOffset(String),
    /// Waited too long.
    #[error("timed out {what} after {after:?}")]
    Timeout {
        /// What was waited for.
        what: &'static str,
        /// How long.
        after: Duration,
    },
    /// The worker is stopping.
    #[error("the worker is stopping")]
    Stopped,
    /// Another run owns the task.
    #[error("{0}")]
    Fenced(String),
    /// The local copy of the cluster state could not be opened or written.
    #[error("local copy of the cluster state: {0}")]
    Cache(String),
}

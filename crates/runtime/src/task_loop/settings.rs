//! The settings of the task loop: its tunables ([`LoopSettings`]) and the restart policy
//! of failed tasks ([`RestartPolicy`]), with their defaults.
//!
//! The worker conf ([`crate::worker_config`]) fills them; the loop only reads them.

use std::time::Duration;

use crate::placeholders::PlaceholderPolicy;

/// Default bound on batches sent but not yet acknowledged, per task
/// (`maxInFlightBatches`).
pub const DEFAULT_MAX_IN_FLIGHT_BATCHES: usize = 4;
/// Upper bound on the encoded bytes of one batch (bodies, keys, properties and framing,
/// as estimated by `connect_rocketmq::check_message`), under RocketMQ's 4 MiB limit.
pub const DEFAULT_MAX_BATCH_BYTES: usize = 3 * 1024 * 1024;
/// Upper bound on the messages of one batch.
pub const DEFAULT_MAX_BATCH_MESSAGES: usize = 1000;

/// Tunables of the loop.
#[derive(Debug, Clone)]
pub struct LoopSettings {
    /// Batches sent and not yet acknowledged.
    pub max_in_flight_batches: usize,
    /// Encoded bytes per batch.
    pub max_batch_bytes: usize,
    /// Messages per batch.
    pub max_batch_messages: usize,
    /// Offsets are written at most this often (0: after every acknowledged batch).
    pub commit_interval: Duration,
    /// First back-off after a retriable error.
    pub backoff_initial: Duration,
    /// Longest back-off.
    pub backoff_max: Duration,
    /// How long a stop waits for in-flight batches before giving up on them.
    pub shutdown_timeout: Duration,
    /// What happens after a task fails.
    pub restart: RestartPolicy,
    /// Which `${env:..}` / `${file:..}` placeholders the task config may use; they are
    /// resolved right before each start of the task and never stored.
    pub placeholders: PlaceholderPolicy,
}

/// Automatic restarts of failed tasks, with exponential back-off.
#[derive(Debug, Clone)]
pub struct RestartPolicy {
    /// Whether failed tasks are restarted automatically.
    pub enabled: bool,
    /// Wait before the first restart.
    pub initial: Duration,
    /// Longest wait between restarts.
    pub max: Duration,
}

impl Default for RestartPolicy {
    fn default() -> Self {
        Self {
            enabled: true,
            initial: Duration::from_secs(1),
            max: Duration::from_secs(60),
        }
    }
}

impl Default for LoopSettings {
    fn default() -> Self {
        Self {
            max_in_flight_batches: DEFAULT_MAX_IN_FLIGHT_BATCHES,
            max_batch_bytes: DEFAULT_MAX_BATCH_BYTES,
            max_batch_messages: DEFAULT_MAX_BATCH_MESSAGES,
            commit_interval: Duration::ZERO,
            backoff_initial: Duration::from_millis(100),
            backoff_max: Duration::from_secs(10),
            shutdown_timeout: Duration::from_secs(30),
            restart: RestartPolicy::default(),
            placeholders: PlaceholderPolicy::default(),
        }
    }
}

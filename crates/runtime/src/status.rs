//! Live status of connectors and tasks, shared between the task loop and the REST API.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::progress::PartitionStatus;

/// Connector and task states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum State {
    /// Not running anywhere yet.
    Unassigned,
    /// Running.
    Running,
    /// Paused by the user.
    Paused,
    /// Stopped by the user or by shutdown.
    Stopped,
    /// Failed; `trace` says why.
    Failed,
    /// Being restarted.
    Restarting,
}

/// What a task reports about itself.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TaskStatus {
    /// The task's number.
    pub id: u32,
    /// Its state.
    pub state: State,
    /// The worker running it.
    pub worker_id: String,
    /// The error that failed it, or the last retriable error while it retries.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trace: Option<String>,
    /// How often the task was restarted after failing.
    pub restarts: u32,
    /// Records returned by `poll`.
    pub records_polled: u64,
    /// Records acknowledged by RocketMQ.
    pub records_sent: u64,
    /// Records sent and not yet acknowledged.
    pub records_in_flight: u64,
    /// Records skipped because they could not be converted or sent
    /// (`errors.tolerance=all`); sent to the dead-letter topic when one is set.
    pub records_failed: u64,
    /// Batches acknowledged by RocketMQ.
    pub batches_acked: u64,
    /// Sum of the batches' send-to-acknowledgement times, ms.
    pub batch_latency_ms_total: u64,
    /// Offset commits written to the store.
    pub commits: u64,
    /// Sum of the commits' write-and-flush times, ms.
    pub commit_latency_ms_total: u64,
    /// Committed position per partition (partition JSON → offset JSON).
    pub position: BTreeMap<String, Value>,
    /// Progress per partition, as the task last reported it (after its latest poll),
    /// with the ETA the runtime derives from it.
    pub partitions: Vec<PartitionStatus>,
    /// The task's own counters since it started, by name (see the connector's docs).
    pub counters: BTreeMap<String, u64>,
}

/// A task status behind a lock; held only for short updates, never across `.await`.
#[derive(Debug, Clone)]
pub struct StatusCell(Arc<Mutex<TaskStatus>>);

impl StatusCell {
    /// A new UNASSIGNED status.
    pub fn new(id: u32, worker_id: &str) -> Self {
        Self(Arc::new(Mutex::new(TaskStatus {
            id,
            state: State::Unassigned,
            worker_id: worker_id.to_owned(),
            trace: None,
            restarts: 0,
            records_polled: 0,
            records_sent: 0,
            records_in_flight: 0,
            records_failed: 0,
            batches_acked: 0,
            batch_latency_ms_total: 0,
            commits: 0,
            commit_latency_ms_total: 0,
            position: BTreeMap::new(),
            partitions: Vec::new(),
            counters: BTreeMap::new(),
        })))
    }

    fn lock(&self) -> MutexGuard<'_, TaskStatus> {
        // A poisoned lock only means a panic elsewhere; the status itself stays usable.
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Applies an update.
    pub fn update(&self, f: impl FnOnce(&mut TaskStatus)) {
        f(&mut self.lock());
    }

    /// A copy of the current status.
    pub fn snapshot(&self) -> TaskStatus {
        self.lock().clone()
    }
}

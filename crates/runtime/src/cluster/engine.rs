//! The cluster engine of one worker: creates and tails the four internal logs into one
//! shared [`View`], sends heartbeats (which hold the [`Lease`]), and offers the herder
//! the calls it needs to write records and wait until they are read back.
//!
//! [`Engine::start`] and its steps live in `engine/start.rs` and the periodic loops
//! (heartbeats, checkpoints, snapshots) in `engine/loops.rs`; both build on the engine
//! defined here, which uses neither. `engine/clock.rs` holds the clock they read.

mod clock;
mod loops;
mod start;
mod view;

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub use view::View;

use super::assign::TaskKey;
use super::cache::ClusterCache;
use super::configs::ConfigRecord;
use super::lease::Lease;
use super::log::{wait_applied, LogWriter};
use super::members::{Claim, ClusterRecord, Heartbeat};
use super::positions::PositionRecord;
use super::statuses::StatusRecord;
use super::ClusterError;
use crate::worker_config::ClusterConf;

/// How long a worker waits to read an internal record back after writing it.
pub const READ_BACK_TIMEOUT: Duration = Duration::from_secs(30);

/// The engine; shared by the herder and its loops.
pub struct Engine {
    me: String,
    incarnation: u64,
    rest_url: Mutex<String>,
    conf: ClusterConf,
    view: Mutex<View>,
    lease: Lease,
    /// Tasks this worker runs now, with their generation (what heartbeats say).
    claimed: Mutex<BTreeMap<TaskKey, u64>>,
    changed: Notify,
    config_log: LogWriter,
    position_log: LogWriter,
    status_log: LogWriter,
    cluster_log: LogWriter,
    config_applied: watch::Receiver<i64>,
    positions_applied: watch::Receiver<i64>,
    cache: ClusterCache,
    cancel: CancellationToken,
    loops: Mutex<Vec<JoinHandle<()>>>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("me", &self.me)
            .field("incarnation", &self.incarnation)
            .finish_non_exhaustive()
    }
}

impl Engine {
    fn lock_loops(&self) -> MutexGuard<'_, Vec<JoinHandle<()>>> {
        self.loops
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The shared view; hold it briefly, never across an `.await`.
    pub fn view(&self) -> MutexGuard<'_, View> {
        self.view
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// This worker's id.
    pub fn me(&self) -> &str {
        &self.me
    }

    /// Records where this worker's REST API listens (sent with its heartbeats).
    pub fn set_rest_url(&self, url: String) {
        *self
            .rest_url
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = url;
    }

    /// This process's incarnation.
    pub fn incarnation(&self) -> u64 {
        self.incarnation
    }

    /// The cluster settings.
    pub fn conf(&self) -> &ClusterConf {
        &self.conf
    }

    /// The lease on this worker's tasks.
    pub fn lease(&self) -> &Lease {
        &self.lease
    }

    /// Wakes up on every record read from any log.
    pub fn changed(&self) -> &Notify {
        &self.changed
    }

    /// Says which tasks this worker runs (sent with the next heartbeat).
    pub fn set_claimed(&self, claimed: BTreeMap<TaskKey, u64>) {
        *self
            .claimed
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = claimed;
    }

    /// Appends a config record and waits until this worker has read it back; returns
    /// its offset.
    pub async fn write_config(&self, record: &ConfigRecord) -> Result<i64, ClusterError> {
        let offset = self.config_log.append(record).await?;
        let mut applied = self.config_applied.clone();
        wait_applied(&mut applied, offset + 1, READ_BACK_TIMEOUT).await?;
        Ok(offset)
    }

    /// Appends an offsets record and waits until this worker has read it back.
    pub async fn write_position(&self, record: &PositionRecord) -> Result<i64, ClusterError> {
        let offset = self.position_log.append(record).await?;
        let mut applied = self.positions_applied.clone();
        wait_applied(&mut applied, offset + 1, READ_BACK_TIMEOUT).await?;
        Ok(offset)
    }

    /// Appends an offsets record without waiting to read it back (offset commits).
    pub async fn append_position(&self, record: &PositionRecord) -> Result<i64, ClusterError> {
        self.position_log.append(record).await
    }

    /// Waits until every offsets record written so far is read (for REST reads).
    pub async fn catch_up_positions(&self) -> Result<(), ClusterError> {
        let end = self.position_log.end_offset().await?;
        let mut applied = self.positions_applied.clone();
        wait_applied(&mut applied, end, READ_BACK_TIMEOUT).await
    }

    /// Publishes this worker's task statuses.
    pub async fn write_status(&self, record: &StatusRecord) -> Result<i64, ClusterError> {
        self.status_log.append(record).await
    }

    /// Appends a cluster record (an assignment, by the leader).
    pub async fn write_cluster(&self, record: &ClusterRecord) -> Result<i64, ClusterError> {
        self.cluster_log.append(record).await
    }

    /// Whether this worker leads now: it holds its lease and is the leader of the view.
    pub fn leads(&self) -> bool {
        self.lease.current(Instant::now()).is_some()
            && self.view().members.leader() == Some(self.me.as_str())
    }

    fn heartbeat(&self, leaving: bool) -> ClusterRecord {
        ClusterRecord::Heartbeat(Heartbeat {
            worker: self.me.clone(),
            incarnation: self.incarnation,
            rest_url: self
                .rest_url
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .clone(),
            running: if leaving {
                Vec::new()
            } else {
                self.claimed
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .iter()
                    .map(|(task, generation)| Claim {
                        task: task.clone(),
                        generation: *generation,
                    })
                    .collect()
            },
            leaving,
            snapshots: self.view().snapshots,
        })
    }

    /// Writes the configs and offsets read so far to the local copy.
    async fn save_copy(&self) -> Result<(), ClusterError> {
        let copy = self.view().checkpoint();
        self.cache.save(&copy).await
    }

    /// Leaves the cluster: says so (after the herder stopped every task), gives up the
    /// lease, stops the loops and writes the local copy a last time.
    pub async fn leave(&self) {
        self.lease.release();
        if let Err(e) = self.cluster_log.append(&self.heartbeat(true)).await {
            tracing::warn!(error = %e, "could not tell the cluster this worker leaves; it times out instead");
        }
        self.cancel.cancel();
        let loops: Vec<_> = self.lock_loops().drain(..).collect();
        for l in loops {
            let _ = tokio::time::timeout(Duration::from_secs(5), l).await;
        }
        if let Err(e) = self.save_copy().await {
            tracing::warn!(error = %e, "could not write the local copy of the cluster state");
        }
    }
}

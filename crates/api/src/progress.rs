//! What a task says about how far it has come: per partition, the work left and how far
//! behind the source it is, plus counters of documents it could not use.
//!
//! The runtime asks for it with [`crate::SourceTask::progress`] between polls and shows it
//! in the task's status, in `/metrics` and in `rmq-connect status` (with an ETA it
//! computes from the rate at which `remaining` falls).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::position::SourcePartition;

/// Progress of one source partition (for `es-source`: one concrete index).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PartitionProgress {
    /// The partition, as in the records' `partition`.
    pub partition: SourcePartition,
    /// A short human name for it (for `es-source`: the index name).
    pub label: String,
    /// Records still to read after the committed or current position, when known.
    pub remaining: Option<u64>,
    /// For time-ordered sources: seconds between the newest record in the source and
    /// the current position (0 when caught up), when known.
    pub lag_seconds: Option<f64>,
    /// When the last `remaining` / `lag_seconds` figures were taken, epoch milliseconds.
    pub measured_at_ms: Option<i64>,
    /// A problem with this partition the task keeps retrying (for example "index
    /// deleted"), in plain words; `None` when it reads normally.
    pub problem: Option<String>,
    /// When the partition is read in two phases, a bulk copy of what existed first and
    /// then the new records: how far the copy has come. `None` for sources without one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backfill: Option<BackfillProgress>,
}

impl PartitionProgress {
    /// A partition with nothing known yet.
    pub fn new(partition: SourcePartition, label: impl Into<String>) -> Self {
        Self {
            partition,
            label: label.into(),
            remaining: None,
            lag_seconds: None,
            measured_at_ms: None,
            problem: None,
            backfill: None,
        }
    }
}

/// Which step of a backfill a partition is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BackfillPhase {
    /// Fixing the snapshot and counting what it holds.
    Planning,
    /// Copying the snapshot.
    Reading,
    /// The snapshot is copied; the partition reads new records only.
    Complete,
}

/// How far the backfill of one partition has come.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BackfillProgress {
    /// The current step.
    pub phase: BackfillPhase,
    /// Records of the snapshot read so far, across restarts.
    pub done: u64,
    /// Records of the snapshot still to read (its count less `done`; 0 once complete).
    pub left: u64,
    /// Records per second read by this run of the task, when it has read any.
    pub rate_per_second: Option<f64>,
    /// Seconds until `left` is read at `rate_per_second`, when known.
    pub eta_seconds: Option<f64>,
    /// The bound of the snapshot, as text (for `es-source`: the highest tracking value
    /// copied; newer records come through the incremental phase).
    pub snapshot: Option<String>,
    /// When the backfill completed, epoch milliseconds (set in phase `complete`).
    pub completed_at_ms: Option<i64>,
}

/// Everything a task reports about its progress.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TaskProgress {
    /// One entry per partition the task reads.
    pub partitions: Vec<PartitionProgress>,
    /// Figures by name: counts since the task started or current counts, as the
    /// connector documents each (for `es-source`: `docs_missing_tracking_field`, the
    /// current number of documents without the tracking field). Names are `snake_case`;
    /// they become gauges `rmq_connect_task_<name>` in `/metrics`.
    pub counters: BTreeMap<String, u64>,
}

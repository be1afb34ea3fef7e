//! Progress of a task's partitions as shown in its status: the figures the task reports
//! ([`connect_api::TaskProgress`]), the records read from each partition in this run,
//! and an ETA the runtime derives from how fast `remaining` has been falling.
//!
//! The task loop owns one [`ProgressTracker`] per task run and feeds it after every poll;
//! the tracker is plain data (no locks, no clock of its own: time comes from the task's
//! `measured_at_ms`), so the ETA maths is tested without a runtime.

use std::collections::{HashMap, VecDeque};

use connect_api::{BackfillPhase, BackfillProgress, SourcePartition, TaskProgress};
use serde::{Deserialize, Serialize};

/// How far back the rate of `remaining` is measured, ms.
pub const ETA_WINDOW_MS: i64 = 5 * 60 * 1000;
/// Samples kept per partition within the window (older ones are dropped first).
pub const ETA_MAX_SAMPLES: usize = 120;

/// One partition of a task, as its status shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PartitionStatus {
    /// The partition's label (for `es-source`: the index name).
    pub partition: String,
    /// Records still to read, when the task knows.
    pub remaining: Option<u64>,
    /// Seconds between the newest record in the source and the task's position, when
    /// the task knows.
    pub lag_seconds: Option<f64>,
    /// Seconds until `remaining` reaches 0 at the rate it fell over the last five
    /// minutes; `null` while it is not falling or not known (0 when nothing remains).
    pub eta_seconds: Option<f64>,
    /// A problem the task keeps retrying on this partition, in plain words.
    pub problem: Option<String>,
    /// Records polled from this partition since the task (re)started.
    pub records_read: u64,
    /// The backfill of what existed when the partition was first read, while it runs and
    /// once it completed; absent for partitions read without one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backfill: Option<BackfillStatus>,
}

/// How far a partition's backfill has come (see `es.backfill.mode`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BackfillStatus {
    /// `planning` (fixing the snapshot and counting it), `reading` or `complete`.
    pub phase: String,
    /// Records of the snapshot read so far, across restarts.
    pub done: u64,
    /// Records of the snapshot still to read.
    pub left: u64,
    /// Records per second read by this run of the task.
    pub rate_per_second: Option<f64>,
    /// Seconds until `left` is read at that rate.
    pub eta_seconds: Option<f64>,
    /// The snapshot's bound (for `es-source`: the tracking value the incremental phase
    /// starts at).
    pub snapshot: Option<String>,
    /// When the backfill completed, epoch milliseconds.
    pub completed_at_ms: Option<i64>,
}

impl From<&BackfillProgress> for BackfillStatus {
    fn from(b: &BackfillProgress) -> Self {
        Self {
            phase: match b.phase {
                BackfillPhase::Planning => "planning",
                BackfillPhase::Reading => "reading",
                BackfillPhase::Complete => "complete",
            }
            .to_owned(),
            done: b.done,
            left: b.left,
            rate_per_second: b.rate_per_second,
            eta_seconds: b.eta_seconds,
            snapshot: b.snapshot.clone(),
            completed_at_ms: b.completed_at_ms,
        }
    }
}

/// Keeps the recent `remaining` samples of each partition and the records read.
#[derive(Debug, Default)]
pub struct ProgressTracker {
    samples: HashMap<SourcePartition, VecDeque<(i64, u64)>>,
    read: HashMap<SourcePartition, u64>,
}

impl ProgressTracker {
    /// A tracker with no history.
    pub fn new() -> Self {
        Self::default()
    }

    /// Counts records polled from `partition`.
    pub fn count_read(&mut self, partition: &SourcePartition, n: u64) {
        match self.read.get_mut(partition) {
            Some(c) => *c += n,
            None => {
                self.read.insert(partition.clone(), n);
            }
        }
    }

    /// Takes in the task's latest figures and returns the partitions' statuses.
    /// Partitions the task no longer reports are forgotten.
    pub fn observe(&mut self, progress: &TaskProgress) -> Vec<PartitionStatus> {
        self.samples
            .retain(|p, _| progress.partitions.iter().any(|q| &q.partition == p));
        progress
            .partitions
            .iter()
            .map(|p| {
                let samples = self.samples.entry(p.partition.clone()).or_default();
                if let (Some(at), Some(remaining)) = (p.measured_at_ms, p.remaining) {
                    record_sample(samples, at, remaining);
                }
                PartitionStatus {
                    partition: p.label.clone(),
                    remaining: p.remaining,
                    lag_seconds: p.lag_seconds,
                    eta_seconds: p.remaining.and_then(|r| eta_seconds(samples, r)),
                    problem: p.problem.clone(),
                    records_read: self.read.get(&p.partition).copied().unwrap_or(0),
                    backfill: p.backfill.as_ref().map(BackfillStatus::from),
                }
            })
            .collect()
    }
}

/// Adds a sample unless it repeats the last measurement; drops samples older than the
/// window and beyond [`ETA_MAX_SAMPLES`].
fn record_sample(samples: &mut VecDeque<(i64, u64)>, at_ms: i64, remaining: u64) {
    match samples.back() {
        Some(&(last, _)) if at_ms <= last => return,
        _ => samples.push_back((at_ms, remaining)),
    }
    while samples
        .front()
        .is_some_and(|&(t, _)| at_ms - t > ETA_WINDOW_MS)
    {
        samples.pop_front();
    }
    while samples.len() > ETA_MAX_SAMPLES {
        samples.pop_front();
    }
}

/// `remaining` divided by the rate it fell between the oldest and the newest sample of
/// the window; `None` when it did not fall (or there is only one sample).
pub fn eta_seconds(samples: &VecDeque<(i64, u64)>, remaining: u64) -> Option<f64> {
    if remaining == 0 {
        return Some(0.0);
    }
    let (&(t0, r0), &(t1, r1)) = (samples.front()?, samples.back()?);
    if t1 <= t0 || r1 >= r0 {
        return None;
    }
    let per_second = (r0 - r1) as f64 / ((t1 - t0) as f64 / 1000.0);
    Some((remaining as f64 / per_second).max(0.0))
}

#[cfg(test)]
mod tests {
    use connect_api::PartitionProgress;
    use serde_json::json;

    use super::*;

    fn samples(points: &[(i64, u64)]) -> VecDeque<(i64, u64)> {
        let mut s = VecDeque::new();
        for &(t, r) in points {
            record_sample(&mut s, t, r);
        }
        s
    }

    #[test]
    fn eta_is_remaining_over_the_rate_it_fell_across_the_window() {
        // 1000 fewer in 10 s: 100/s, so 500 left take 5 s.
        let s = samples(&[(0, 1500), (5_000, 1000), (10_000, 500)]);
        assert_eq!(eta_seconds(&s, 500), Some(5.0));
    }

    #[test]
    fn eta_is_none_when_remaining_is_flat_rising_or_measured_once() {
        assert_eq!(eta_seconds(&samples(&[(0, 10), (1_000, 10)]), 10), None);
        assert_eq!(eta_seconds(&samples(&[(0, 10), (1_000, 20)]), 20), None);
        assert_eq!(eta_seconds(&samples(&[(0, 10)]), 10), None);
        assert_eq!(eta_seconds(&VecDeque::new(), 10), None);
    }

    #[test]
    fn eta_is_zero_when_nothing_remains() {
        assert_eq!(eta_seconds(&VecDeque::new(), 0), Some(0.0));
    }

    #[test]
    fn samples_older_than_the_window_and_repeated_measurements_are_dropped() {
        let s = samples(&[
            (0, 9_000),
            (1_000, 8_000),
            (1_000, 1),
            (ETA_WINDOW_MS + 500, 100),
        ]);
        assert_eq!(
            s,
            VecDeque::from([(1_000, 8_000), (ETA_WINDOW_MS + 500, 100)])
        );
        // Only the window's fall counts: 7900 in 299.5 s.
        let eta = eta_seconds(&s, 100).unwrap();
        assert!((eta - 100.0 / (7_900.0 / 299.5)).abs() < 1e-9, "{eta}");
    }

    #[test]
    fn the_tracker_reports_labels_reads_and_forgets_vanished_partitions() {
        let a = SourcePartition::try_from(json!({"index": "a"})).unwrap();
        let b = SourcePartition::try_from(json!({"index": "b"})).unwrap();
        let mut t = ProgressTracker::new();
        t.count_read(&a, 3);
        t.count_read(&a, 2);
        let at = |ms, r, p: &SourcePartition, label| {
            let mut x = PartitionProgress::new(p.clone(), label);
            x.remaining = Some(r);
            x.measured_at_ms = Some(ms);
            x
        };
        let first = TaskProgress {
            partitions: vec![at(0, 100, &a, "a"), at(0, 7, &b, "b")],
            ..TaskProgress::default()
        };
        let out = t.observe(&first);
        assert_eq!(out[0].partition, "a");
        assert_eq!(out[0].records_read, 5);
        assert_eq!(out[0].eta_seconds, None);
        assert_eq!(out[1].records_read, 0);
        let second = TaskProgress {
            partitions: vec![at(2_000, 60, &a, "a")],
            ..TaskProgress::default()
        };
        let out = t.observe(&second);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].eta_seconds, Some(3.0));
        assert!(!t.samples.contains_key(&b));
    }
}

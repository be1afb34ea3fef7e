//! Per-index health of a task: the problem an index has (deleted, mapping changed), when
//! to try it again (exponential back-off), and its last progress figures.
//!
//! Contract: pure bookkeeping, no I/O. The task measures inside `poll` when
//! [`PartitionHealth::measure_due`] says so (every `es.progress.interval.ms`) and
//! `progress()` only reads what is stored here.

use std::time::{Duration, Instant};

use crate::measure::Figures;

/// First wait before retrying an index with a problem.
pub const RETRY_INITIAL: Duration = Duration::from_secs(1);
/// Longest wait between retries of an index with a problem.
pub const RETRY_MAX: Duration = Duration::from_secs(60);

/// The counter of documents without the tracking field (or the tiebreaker), summed over
/// the task's indices; a current count, refreshed with each measurement.
pub const DOCS_MISSING_TRACKING_FIELD: &str = "docs_missing_tracking_field";

/// Health and figures of one index.
#[derive(Debug, Clone, Default)]
pub struct PartitionHealth {
    /// The current problem in plain words; `None` while the index reads normally.
    pub problem: Option<String>,
    retry_at: Option<Instant>,
    backoff: Duration,
    /// The last measurement, if any.
    pub figures: Option<Figures>,
    /// When `figures` were taken, epoch milliseconds.
    pub measured_at_ms: Option<i64>,
    next_measure: Option<Instant>,
}

impl PartitionHealth {
    /// Whether the index may be used now (no problem, or its back-off has passed).
    pub fn ready(&self, now: Instant) -> bool {
        self.retry_at.is_none_or(|at| now >= at)
    }

    /// Records a problem and backs off: 1 s, 2 s, 4 s, ... up to [`RETRY_MAX`]. Returns
    /// the wait before the next try.
    pub fn fail(&mut self, problem: String, now: Instant) -> Duration {
        self.backoff = if self.backoff.is_zero() {
            RETRY_INITIAL
        } else {
            (self.backoff * 2).min(RETRY_MAX)
        };
        self.retry_at = Some(now + self.backoff);
        self.problem = Some(problem);
        // Figures of an index that cannot be read are stale.
        self.figures = None;
        self.backoff
    }

    /// Clears the problem and the back-off; returns the problem there was.
    pub fn recover(&mut self) -> Option<String> {
        self.retry_at = None;
        self.backoff = Duration::ZERO;
        self.problem.take()
    }

    /// Whether a measurement is due.
    pub fn measure_due(&self, now: Instant) -> bool {
        self.next_measure.is_none_or(|at| now >= at)
    }

    /// Schedules the next measurement `interval` from `now`, with or without new figures.
    pub fn measured(
        &mut self,
        figures: Option<Figures>,
        now: Instant,
        now_ms: i64,
        interval: Duration,
    ) {
        self.next_measure = Some(now + interval);
        if let Some(figures) = figures {
            self.figures = Some(figures);
            self.measured_at_ms = Some(now_ms);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problems_back_off_exponentially_up_to_the_maximum() {
        let now = Instant::now();
        let mut h = PartitionHealth::default();
        assert!(h.ready(now));
        let waits: Vec<u64> = (0..9)
            .map(|_| h.fail("index deleted".into(), now).as_secs())
            .collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 60, 60, 60]);
        assert!(!h.ready(now));
        assert!(h.ready(now + RETRY_MAX));
        assert_eq!(h.recover().as_deref(), Some("index deleted"));
        assert!(h.ready(now));
        assert_eq!(h.fail("again".into(), now), RETRY_INITIAL);
    }

    #[test]
    fn measurements_are_spaced_by_the_interval() {
        let now = Instant::now();
        let mut h = PartitionHealth::default();
        assert!(h.measure_due(now));
        let interval = Duration::from_secs(5);
        h.measured(None, now, 0, interval);
        assert!(!h.measure_due(now + Duration::from_secs(1)));
        assert!(h.measure_due(now + interval));
        assert!(h.figures.is_none() && h.measured_at_ms.is_none());
        let f = Figures {
            remaining: 3,
            lag_seconds: Some(1.5),
            missing: 0,
        };
        h.measured(Some(f.clone()), now, 42, interval);
        assert_eq!((h.figures, h.measured_at_ms), (Some(f), Some(42)));
    }
}

//! Where the backfill of one index stands in a task run.

use std::time::Instant;

use connect_api::BackfillProgress;
use serde_json::Value;

use super::position::{Complete, Reading, Stored};
use crate::config::{BackfillMode, StartPosition};
use crate::cursor::Cursor;

/// Where the backfill of one index stands in this task run.
#[derive(Debug)]
pub enum Backfill {
    /// None: the index is read incrementally (mode `sorted`, `es.start=latest`, or it
    /// resumed from an incremental offset).
    Off,
    /// To be planned before the index is read (no committed position).
    Pending,
    /// The snapshot is being copied.
    Reading {
        state: Box<Reading>,
        /// When this run first read from it.
        started: Option<Instant>,
        /// Documents this run read from it.
        read: u64,
    },
    /// Copied in this run or before; the index is read incrementally from the snapshot.
    Complete(Complete),
}

impl Backfill {
    /// The backfill of an index at the task's start: from its committed offset when
    /// that is a backfill offset, else pending for an index without a position in
    /// mode `pit` (and `es.start` not `latest`).
    pub fn at_start(
        stored: Option<Stored>,
        cursor: &Cursor,
        mode: BackfillMode,
        start: &StartPosition,
    ) -> Self {
        match stored {
            Some(Stored::Reading(r)) => Backfill::Reading {
                state: Box::new(r),
                started: None,
                read: 0,
            },
            Some(Stored::Complete(c)) => Backfill::Complete(c),
            None if *cursor == Cursor::Start
                && mode == BackfillMode::Pit
                && *start != StartPosition::Latest =>
            {
                Backfill::Pending
            }
            None => Backfill::Off,
        }
    }

    /// Whether the incremental phase reads the index (no backfill, or it is complete).
    pub fn incremental(&self) -> bool {
        matches!(self, Backfill::Off | Backfill::Complete(_))
    }

    /// The status figures, for a backfill that is reading or complete.
    pub fn progress(&self, now: Instant) -> Option<BackfillProgress> {
        match self {
            Backfill::Reading {
                state,
                started,
                read,
            } => {
                let elapsed = started.map_or(0.0, |s| now.duration_since(s).as_secs_f64());
                Some(state.progress(*read, elapsed, Some(snapshot_text(&state.snapshot))))
            }
            Backfill::Complete(c) => Some(c.progress(Some(snapshot_text(&c.snapshot)))),
            Backfill::Off | Backfill::Pending => None,
        }
    }
}

/// A sort value as status text: strings without quotes.
pub fn snapshot_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

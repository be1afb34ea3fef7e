//! Where the backfill of one index stands, its committed form, and how it moves over a
//! page of one slice.
//!
//! Contract: pure. The stored offset is `{"backfill": {"phase": "reading", ...}}` while
//! the snapshot is copied and `{"backfill": {"phase": "complete", ...}}` once it is,
//! which resumes the incremental phase at the snapshot bound, inclusive. A position
//! resumes exactly within one point in time (the `_shard_doc` values of the last
//! document read per slice); when the point in time is gone, [`Reading::restart_range`]
//! goes back to the start of the range being read, so at most that range is read twice.

use connect_api::{BackfillPhase, BackfillProgress, SourceOffset};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::error::EsError;

/// The key of a backfill offset.
pub const OFFSET_KEY: &str = "backfill";

/// The committed form of a backfill.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "phase", rename_all = "snake_case")]
pub enum Stored {
    /// The snapshot is being copied.
    Reading(Reading),
    /// The snapshot is copied; the index is read incrementally from `snapshot`.
    Complete(Complete),
}

/// A lower bound of the tracking field (`es.start` given as a value).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Floor {
    /// The tracking sort value.
    pub value: Value,
    /// Whether documents at `value` are included.
    pub inclusive: bool,
}

/// A backfill in progress.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reading {
    /// The point in time the current range is read through (it may have expired
    /// since); empty when the range's point in time is still to be opened. Each range
    /// gets its own, opened when the range starts.
    pub pit: String,
    /// The snapshot bound S: the backfill copies documents with tracking value below
    /// it; the incremental phase starts at it, inclusive.
    pub snapshot: Value,
    /// The lower bound of the first range, when `es.start` gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<Floor>,
    /// The exclusive upper bounds of the ranges, ascending; the last is `snapshot`.
    pub bounds: Vec<Value>,
    /// The range being read (index into `bounds`).
    pub range: usize,
    /// Per slice of the point in time: how far it has come in the current range.
    pub slices: Vec<SlicePos>,
    /// Documents copied so far, across restarts.
    pub done: u64,
    /// `done` when the current range started (what an expired point in time goes back
    /// to).
    pub range_start_done: u64,
    /// Documents in the snapshot when it was fixed.
    pub total: u64,
}

/// How far one slice has come in the current range.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SlicePos {
    /// The `sort` values (`_shard_doc`) of the last document read; `None` before the
    /// first page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<Vec<Value>>,
    /// The slice has no more documents in the current range.
    #[serde(default)]
    pub finished: bool,
}

/// A finished backfill.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Complete {
    /// The snapshot bound the incremental phase starts at, inclusive.
    pub snapshot: Value,
    /// Documents copied.
    pub done: u64,
    /// Documents in the snapshot when it was fixed.
    pub total: u64,
    /// When it completed, epoch milliseconds.
    pub completed_at_ms: i64,
}

/// What a page did to the backfill.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// More to read in this range.
    Reading,
    /// The range is read; the next one starts.
    NextRange,
    /// The last range is read: the backfill is complete.
    Complete(Complete),
}

impl Stored {
    /// The backfill a committed offset holds, `None` when it is not a backfill offset.
    pub fn from_offset(offset: &SourceOffset, index: &str) -> Option<Result<Self, EsError>> {
        let stored = offset.get(OFFSET_KEY)?;
        Some(
            serde_json::from_value::<Stored>(stored.clone())
                .map_err(|e| {
                    EsError::Offset(format!(
                        "the committed backfill offset of index {index} cannot be read ({e}); \
                         reset the connector's offsets"
                    ))
                })
                .and_then(|s| s.checked(index)),
        )
    }

    /// The offset to commit for this state.
    pub fn to_offset(&self) -> Result<SourceOffset, EsError> {
        let value = serde_json::to_value(self)
            .map_err(|e| EsError::Offset(format!("cannot write a backfill offset: {e}")))?;
        SourceOffset::try_from(json!({ OFFSET_KEY: value }))
            .map_err(|e| EsError::Offset(format!("cannot write a backfill offset: {e}")))
    }

    fn checked(self, index: &str) -> Result<Self, EsError> {
        if let Stored::Reading(r) = &self {
            if r.bounds.is_empty() || r.range > r.bounds.len() || r.slices.is_empty() {
                return Err(EsError::Offset(format!(
                    "the committed backfill offset of index {index} is inconsistent ({} \
                     ranges, at range {}, {} slices); reset the connector's offsets",
                    r.bounds.len(),
                    r.range,
                    r.slices.len()
                )));
            }
        }
        Ok(self)
    }
}

impl Reading {
    /// A backfill of `total` documents below `snapshot`, cut at `bounds` (ascending,
    /// each below `snapshot`), read with `slices` slices through `pit`.
    pub fn new(
        pit: String,
        snapshot: Value,
        from: Option<Floor>,
        cuts: Vec<Value>,
        slices: u32,
        total: u64,
    ) -> Self {
        let mut bounds = cuts;
        bounds.push(snapshot.clone());
        Self {
            pit,
            snapshot,
            from,
            bounds,
            range: 0,
            slices: vec![SlicePos::default(); slices.max(1) as usize],
            done: 0,
            range_start_done: 0,
            total,
        }
    }

    /// The current range: its lower bound (`None` below the first cut: only `from`, if
    /// any) and its exclusive upper bound.
    pub fn range_bounds(&self) -> (Option<&Value>, &Value) {
        let upper = self
            .bounds
            .get(self.range)
            .or(self.bounds.last())
            .unwrap_or(&self.snapshot);
        let lower = self.range.checked_sub(1).and_then(|i| self.bounds.get(i));
        (lower, upper)
    }

    /// The slices still to read in the current range.
    pub fn open_slices(&self) -> impl Iterator<Item = usize> + '_ {
        self.slices
            .iter()
            .enumerate()
            .filter(|(_, s)| !s.finished)
            .map(|(i, _)| i)
    }

    /// Moves `slice` over a page of `n` documents whose last one had sort values `last`
    /// (`None` for an empty page); `full` says the page was as large as asked for.
    pub fn after_page(
        &mut self,
        slice: usize,
        n: usize,
        last: Option<Vec<Value>>,
        full: bool,
        now_ms: i64,
    ) -> Step {
        if let Some(pos) = self.slices.get_mut(slice) {
            if let Some(last) = last {
                pos.after = Some(last);
            }
            if !full {
                pos.finished = true;
            }
        }
        self.done += n as u64;
        if self.slices.iter().any(|s| !s.finished) {
            return Step::Reading;
        }
        self.range += 1;
        self.range_start_done = self.done;
        self.pit.clear();
        for s in &mut self.slices {
            *s = SlicePos::default();
        }
        if self.range < self.bounds.len() {
            Step::NextRange
        } else {
            Step::Complete(Complete {
                snapshot: self.snapshot.clone(),
                done: self.done,
                total: self.total,
                completed_at_ms: now_ms,
            })
        }
    }

    /// The point in time expired: the current range is read again through `pit`.
    pub fn restart_range(&mut self, pit: String) {
        self.pit = pit;
        self.done = self.range_start_done;
        for s in &mut self.slices {
            *s = SlicePos::default();
        }
    }

    /// Documents left to copy (never below 0: documents deleted since the count).
    pub fn left(&self) -> u64 {
        self.total.saturating_sub(self.done)
    }
}

impl Reading {
    /// The status figures: `read_this_run` documents in `elapsed_s` seconds of this run
    /// give the rate.
    pub fn progress(
        &self,
        read_this_run: u64,
        elapsed_s: f64,
        snapshot_text: Option<String>,
    ) -> BackfillProgress {
        let rate = (read_this_run > 0 && elapsed_s > 0.0).then(|| read_this_run as f64 / elapsed_s);
        BackfillProgress {
            phase: BackfillPhase::Reading,
            done: self.done,
            left: self.left(),
            rate_per_second: rate,
            eta_seconds: rate.map(|rate| self.left() as f64 / rate),
            snapshot: snapshot_text,
            completed_at_ms: None,
        }
    }
}

impl Complete {
    /// The status figures of a finished backfill.
    pub fn progress(&self, snapshot_text: Option<String>) -> BackfillProgress {
        BackfillProgress {
            phase: BackfillPhase::Complete,
            done: self.done,
            left: 0,
            rate_per_second: None,
            eta_seconds: Some(0.0),
            snapshot: snapshot_text,
            completed_at_ms: Some(self.completed_at_ms),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reading(slices: u32) -> Reading {
        Reading::new(
            "pit-1".into(),
            json!(100),
            None,
            vec![json!(40)],
            slices,
            90,
        )
    }

    #[test]
    fn a_backfill_reads_its_ranges_in_order_and_completes_after_the_last() {
        let mut r = reading(1);
        assert_eq!(r.range_bounds(), (None, &json!(40)));
        assert_eq!(
            r.after_page(0, 10, Some(vec![json!(7)]), true, 0),
            Step::Reading
        );
        assert_eq!(r.slices[0].after, Some(vec![json!(7)]));
        assert_eq!(
            r.after_page(0, 3, Some(vec![json!(9)]), false, 0),
            Step::NextRange
        );
        assert_eq!(r.range_bounds(), (Some(&json!(40)), &json!(100)));
        assert_eq!(r.slices[0], SlicePos::default());
        assert_eq!(r.range_start_done, 13);
        assert_eq!(r.pit, "", "the next range opens its own point in time");
        let step = r.after_page(0, 0, None, false, 5);
        assert_eq!(
            step,
            Step::Complete(Complete {
                snapshot: json!(100),
                done: 13,
                total: 90,
                completed_at_ms: 5
            })
        );
    }

    #[test]
    fn a_range_ends_only_when_every_slice_is_finished() {
        let mut r = reading(2);
        assert_eq!(
            r.after_page(0, 2, Some(vec![json!(1)]), false, 0),
            Step::Reading
        );
        assert_eq!(r.open_slices().collect::<Vec<_>>(), [1]);
        assert_eq!(
            r.after_page(1, 2, Some(vec![json!(5)]), false, 0),
            Step::NextRange
        );
        assert_eq!(r.open_slices().collect::<Vec<_>>(), [0, 1]);
    }

    #[test]
    fn an_expired_point_in_time_goes_back_to_the_start_of_the_range_only() {
        let mut r = reading(1);
        r.after_page(0, 13, Some(vec![json!(9)]), false, 0);
        r.after_page(0, 5, Some(vec![json!(3)]), true, 0);
        assert_eq!(r.done, 18);
        r.restart_range("pit-3".into());
        assert_eq!(r.pit, "pit-3");
        assert_eq!(r.done, 13);
        assert_eq!(r.range, 1);
        assert_eq!(r.slices[0], SlicePos::default());
    }

    #[test]
    fn offsets_round_trip_and_other_offsets_are_not_backfills() {
        let stored = Stored::Reading(reading(2));
        let offset = stored.to_offset().unwrap();
        assert_eq!(offset.get("backfill").unwrap()["phase"], json!("reading"));
        let back = Stored::from_offset(&offset, "i").unwrap().unwrap();
        assert_eq!(back, stored);
        let done = Stored::Complete(Complete {
            snapshot: json!("k"),
            done: 1,
            total: 1,
            completed_at_ms: 2,
        });
        let back = Stored::from_offset(&done.to_offset().unwrap(), "i")
            .unwrap()
            .unwrap();
        assert_eq!(back, done);
        let other = SourceOffset::try_from(json!({"value": 1, "ids": []})).unwrap();
        assert!(Stored::from_offset(&other, "i").is_none());
    }

    #[test]
    fn a_damaged_backfill_offset_is_an_error_naming_the_index() {
        let bad = SourceOffset::try_from(json!({"backfill": {"phase": "reading"}})).unwrap();
        let e = Stored::from_offset(&bad, "orders").unwrap().unwrap_err();
        assert!(e.to_string().contains("index orders"), "{e}");
        let mut r = reading(1);
        r.bounds.clear();
        let e = Stored::from_offset(&Stored::Reading(r).to_offset().unwrap(), "orders")
            .unwrap()
            .unwrap_err();
        assert!(e.to_string().contains("inconsistent"), "{e}");
    }

    #[test]
    fn progress_gives_rate_and_eta_from_this_run() {
        let mut r = reading(1);
        r.after_page(0, 30, Some(vec![json!(1)]), true, 0);
        let p = r.progress(30, 3.0, Some("100".into()));
        assert_eq!(p.phase, BackfillPhase::Reading);
        assert_eq!((p.done, p.left), (30, 60));
        assert_eq!(p.rate_per_second, Some(10.0));
        assert_eq!(p.eta_seconds, Some(6.0));
    }
}

//! The state a task keeps for one index: its cursor, what it knows of the index's
//! mapping, its problem and back-off, and the search prefetched for its next page.
//!
//! Contract: the tracking kind is set in one place, [`PartitionState::checked`], after
//! the mapping check; everything else reads it through [`PartitionState::kind`] or
//! [`PartitionState::readable`], which give it only once it is checked. An index whose
//! mapping must be checked again (it went missing, or a page came back out of order)
//! keeps the kind it was read with, to notice a mapping that changed.

use std::time::Instant;

use connect_api::SourcePartition;
use serde_json::Value;
use tokio_util::task::AbortOnDropHandle;

use crate::backfill::{Backfill, Reading};
use crate::client::{EsClient, Hit, PitPage};
use crate::cursor::Cursor;
use crate::error::EsError;
use crate::progress::PartitionHealth;
use crate::query::TrackingKind;

/// Without a tiebreaker, an id set this large at one tracking value makes every search
/// and offset heavy; the task says so once per index.
pub const LARGE_TIE_GROUP: usize = 10_000;

/// One index of a task.
#[derive(Debug)]
pub(super) struct PartitionState {
    /// The concrete index name.
    pub(super) index: String,
    /// Its source partition, `{"index": "<name>"}`.
    pub(super) partition: SourcePartition,
    /// Where the next page starts.
    pub(super) cursor: Cursor,
    /// What the task knows of the tracking field's mapping in the index.
    mapping: Mapping,
    /// Whether `es.start` was applied (or did not apply: an offset was committed).
    pub(super) start_resolved: bool,
    /// Problem, back-off and progress figures.
    pub(super) health: PartitionHealth,
    /// Whether the large-tie-group warning was logged for this index.
    warned_large_tie: bool,
    /// The search for the next page, started when the last page came back full.
    prefetch: Option<Prefetch>,
    /// The searches for the next backfill pages (one per slice at most), started when a
    /// slice's last page came back full.
    page_prefetch: Vec<PagePrefetch>,
    /// The backfill of what the index held when it was first read; while it is pending
    /// or reading, the incremental phase waits.
    pub(super) backfill: Backfill,
}

/// What a task knows of the tracking field's mapping in one index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mapping {
    /// To be checked before the index is read: at the task's start (`read_as` is
    /// `None`), or again after the index went missing or a page came back out of order
    /// (`read_as` is the kind the index was read with in this run).
    Unchecked { read_as: Option<TrackingKind> },
    /// Checked: the index is read as this kind.
    Checked(TrackingKind),
}

/// A search started in the background from one cursor of an index.
#[derive(Debug)]
struct Prefetch {
    /// The cursor the search was made from: the page is used only while the index's
    /// cursor is still this one.
    cursor: Cursor,
    /// The search; dropping it aborts it.
    search: AbortOnDropHandle<Result<Vec<Hit>, EsError>>,
}

impl PartitionState {
    /// The state of `index` at the task's start, resuming from `cursor` (or `backfill`).
    pub(super) fn new(
        index: String,
        partition: SourcePartition,
        cursor: Cursor,
        backfill: Backfill,
    ) -> Self {
        Self {
            index,
            partition,
            start_resolved: cursor != Cursor::Start,
            cursor,
            mapping: Mapping::Unchecked { read_as: None },
            health: PartitionHealth::default(),
            warned_large_tie: false,
            prefetch: None,
            page_prefetch: Vec::new(),
            backfill,
        }
    }

    /// Whether the mapping is to be checked (again) before the index is read.
    pub(super) fn unchecked(&self) -> bool {
        matches!(self.mapping, Mapping::Unchecked { .. })
    }

    /// The kind the index was last read with in this run, whether or not its mapping
    /// must be checked again.
    pub(super) fn read_as(&self) -> Option<TrackingKind> {
        match self.mapping {
            Mapping::Unchecked { read_as } => read_as,
            Mapping::Checked(kind) => Some(kind),
        }
    }

    /// Records the kind the mapping check found: the index is read as `kind` from now on.
    pub(super) fn checked(&mut self, kind: TrackingKind) {
        self.mapping = Mapping::Checked(kind);
    }

    /// The tracking field's kind, once the mapping is checked.
    pub(super) fn kind(&self) -> Option<TrackingKind> {
        match self.mapping {
            Mapping::Checked(kind) => Some(kind),
            Mapping::Unchecked { .. } => None,
        }
    }

    /// The kind to search the index with incrementally, when it can be searched now:
    /// mapping checked, start applied, no backfill pending or reading, no problem
    /// waiting out its back-off.
    pub(super) fn readable(&self, now: Instant) -> Option<TrackingKind> {
        self.kind().filter(|_| {
            self.start_resolved && self.backfill.incremental() && self.health.ready(now)
        })
    }

    /// Records a problem and backs off; a prefetched page is discarded.
    pub(super) fn problem(&mut self, problem: String, now: Instant) {
        self.prefetch = None;
        self.page_prefetch.clear();
        let wait = self.health.fail(problem.clone(), now);
        tracing::warn!(index = %self.index, %problem, retry_in_s = wait.as_secs(), "index problem; other indices keep flowing");
    }

    /// A page came back out of order or of another type: the index changed under the
    /// cursor. Its mapping is checked again, after the back-off.
    pub(super) fn broken(&mut self, problem: String, now: Instant) {
        self.recheck();
        self.problem(problem, now);
    }

    /// The index disappeared: keep the cursor, check the mapping again when it is back.
    pub(super) fn index_missing(&mut self, now: Instant) {
        self.recheck();
        self.problem(
            format!(
                "index {} does not exist (deleted?); retrying with back-off, and reading \
                 resumes from the cursor when it exists again",
                self.index
            ),
            now,
        );
    }

    fn recheck(&mut self) {
        self.mapping = Mapping::Unchecked {
            read_as: self.read_as(),
        };
    }

    /// A clean answer ends the index's problem (not the mapping check alone: an index
    /// whose pages keep failing keeps backing off).
    pub(super) fn answered(&mut self) {
        if let Some(problem) = self.health.recover() {
            tracing::info!(index = %self.index, %problem, "index readable again; reading resumes from its cursor");
        }
    }

    /// Says once per index that `next` carries a large id set, when it does.
    pub(super) fn warn_if_large_tie(&mut self, next: &Cursor) {
        if let Cursor::Boundary { value, ids } = next {
            if ids.len() >= LARGE_TIE_GROUP && !self.warned_large_tie {
                self.warned_large_tie = true;
                tracing::warn!(
                    index = %self.index,
                    %value,
                    ids = ids.len(),
                    "many documents share one tracking value; offsets and searches \
                     carry all their ids: set es.tiebreaker.field to a unique field"
                );
            }
        }
    }

    /// Starts the search for the page after `cursor` in the background.
    pub(super) fn prefetch(&mut self, client: &EsClient, cursor: Cursor, body: Value) {
        let client = client.clone();
        let index = self.index.clone();
        self.prefetch = Some(Prefetch {
            cursor,
            search: AbortOnDropHandle::new(tokio::spawn(async move {
                client.search(&index, body).await
            })),
        });
    }

    /// The prefetched search, when it was made from the current cursor (a stale one is
    /// dropped, which aborts it).
    pub(super) fn take_prefetch(&mut self) -> Option<AbortOnDropHandle<Result<Vec<Hit>, EsError>>> {
        self.prefetch
            .take()
            .filter(|f| f.cursor == self.cursor)
            .map(|f| f.search)
    }
}

/// Where a backfill page is read from: the point in time, range, slice and the slice's
/// last sort values. A prefetched page is used only for the position it was made from.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct PageKey {
    pit: String,
    range: usize,
    slice: usize,
    after: Option<Vec<Value>>,
}

impl PageKey {
    /// The position of `slice` in `reading`; `None` while the range has no point in time.
    pub(super) fn of(reading: &Reading, slice: usize) -> Option<Self> {
        (!reading.pit.is_empty()).then(|| PageKey {
            pit: reading.pit.clone(),
            range: reading.range,
            slice,
            after: reading.slices.get(slice).and_then(|s| s.after.clone()),
        })
    }
}

/// A backfill page searched in the background.
#[derive(Debug)]
struct PagePrefetch {
    key: PageKey,
    search: AbortOnDropHandle<Result<PitPage, EsError>>,
}

impl PartitionState {
    /// Starts the search of the backfill page at `key` in the background.
    pub(super) fn prefetch_page(&mut self, client: &EsClient, key: PageKey, body: Value) {
        let client = client.clone();
        let index = self.index.clone();
        self.page_prefetch.retain(|f| f.key.slice != key.slice);
        self.page_prefetch.push(PagePrefetch {
            key,
            search: AbortOnDropHandle::new(tokio::spawn(async move {
                client.search_pit(&index, body).await
            })),
        });
    }

    /// The prefetched search of the page at `key`, if one was started.
    pub(super) fn take_page(
        &mut self,
        key: &PageKey,
    ) -> Option<AbortOnDropHandle<Result<PitPage, EsError>>> {
        let at = self.page_prefetch.iter().position(|f| f.key == *key)?;
        Some(self.page_prefetch.swap_remove(at).search)
    }

    /// Drops (aborts) the prefetched backfill pages not taken.
    pub(super) fn drop_pages(&mut self) {
        self.page_prefetch.clear();
    }
}

/// The backfill page of `index`: the prefetched search when there is one (and it ran to
/// its end), otherwise a search with `body`.
pub(super) async fn fetch_pit_page(
    client: &EsClient,
    index: &str,
    body: Value,
    prefetched: Option<AbortOnDropHandle<Result<PitPage, EsError>>>,
) -> Result<PitPage, EsError> {
    if let Some(search) = prefetched {
        match search.await {
            Ok(result) => return result,
            Err(e) => {
                tracing::warn!(%index, error = %e, "prefetched backfill search did not finish; searching again")
            }
        }
    }
    client.search_pit(index, body).await
}

/// The next page of `index`: the prefetched search when there is one (and it ran to its
/// end), otherwise a search with `body`.
pub(super) async fn fetch_page(
    client: &EsClient,
    index: &str,
    body: Value,
    prefetched: Option<AbortOnDropHandle<Result<Vec<Hit>, EsError>>>,
) -> Result<Vec<Hit>, EsError> {
    if let Some(search) = prefetched {
        match search.await {
            Ok(result) => return result,
            Err(e) => {
                tracing::warn!(%index, error = %e, "prefetched search did not finish; searching again")
            }
        }
    }
    client.search(index, body).await
}

/// Whether a search failed because the index does not exist.
pub(super) fn is_index_missing(e: &EsError) -> bool {
    matches!(
        e,
        EsError::Status { status: 404, error_type: Some(t), .. } if t == "index_not_found_exception"
    )
}

//! The backfill steps of a poll (see [`crate::backfill`]): planning the indices whose
//! backfill is pending, searching the next page of every open slice, and turning the
//! pages into records and the next backfill state.
//!
//! Contract: as for the incremental steps, every await comes before any state moves,
//! except that an expired point in time is replaced (a new one opened, the range started
//! over) as soon as it is noticed; that state is consistent on its own.

use std::time::Instant;

use connect_api::{ConnectError, SourceRecord};
use serde::Deserialize;
use serde_json::Value;

use super::partition::{fetch_pit_page, is_index_missing, PageKey};
use super::{now_ms, query_spec, Running};
use crate::backfill::bodies::{
    can_cut, count_body, cut_values, cuts_body, page_body, percents, snapshot_body, tracking_value,
};
use crate::backfill::state::snapshot_text;
use crate::backfill::{Backfill, Floor, Reading, Step, Stored};
use crate::client::{Hit, PitPage};
use crate::cursor::Cursor;
use crate::error::EsError;
use crate::query::TrackingKind;

/// One page of one slice of one index's backfill.
pub(super) struct BackfillPage {
    at: usize,
    slice: usize,
    page: PitPage,
}

/// What a point in time that is gone looks like.
fn is_pit_gone(e: &EsError) -> bool {
    matches!(
        e,
        EsError::Status { status: 404, error_type: Some(t), .. }
            if t == "search_context_missing_exception"
    ) || matches!(e, EsError::Status { status: 404 | 400 | 500, reason, .. }
        if reason.contains("search_context_missing_exception")
            || reason.contains("No search context found"))
}

impl Running {
    /// Plans the backfill of every index whose backfill is pending and that can be read
    /// now: opens a point in time, fixes the snapshot bound, counts and cuts it.
    pub(super) async fn plan_backfills(&mut self, now: Instant) -> Result<(), ConnectError> {
        for at in 0..self.partitions.len() {
            let p = &self.partitions[at];
            let ready =
                matches!(p.backfill, Backfill::Pending) && p.start_resolved && p.health.ready(now);
            let Some(kind) = p.kind().filter(|_| ready) else {
                continue;
            };
            let from = match &p.cursor {
                Cursor::From { value, inclusive } => Some(Floor {
                    value: value.clone(),
                    inclusive: *inclusive,
                }),
                _ => None,
            };
            let index = p.index.clone();
            let planned = match self.plan(&index, kind, from).await {
                Ok(planned) => planned,
                Err(e) if is_index_missing(&e) => {
                    self.partitions[at].index_missing(now);
                    continue;
                }
                Err(e) => return Err(e.into()),
            };
            let p = &mut self.partitions[at];
            p.backfill = match planned {
                None => {
                    tracing::info!(index = %index, "backfill: no document at or below now - es.lag yet; reading incrementally");
                    Backfill::Off
                }
                Some(reading) => {
                    tracing::info!(
                        index = %index,
                        snapshot = %snapshot_text(&reading.snapshot),
                        documents = reading.total,
                        ranges = reading.bounds.len(),
                        slices = reading.slices.len(),
                        "backfill planned: copying the documents below the snapshot bound through a point in time, then reading incrementally from it"
                    );
                    Backfill::Reading {
                        state: Box::new(reading),
                        started: None,
                        read: 0,
                    }
                }
            };
        }
        Ok(())
    }

    /// The plan of one index's backfill; `None` when it holds nothing to copy yet.
    async fn plan(
        &self,
        index: &str,
        kind: TrackingKind,
        from: Option<Floor>,
    ) -> Result<Option<Reading>, EsError> {
        let settings = &self.config.backfill;
        let keep_alive = settings.keep_alive_param();
        let spec = query_spec(&self.config, kind, now_ms());
        let pit = self.client.open_pit(index, &keep_alive).await?;
        let body = snapshot_body(&spec, from.as_ref(), &pit, &keep_alive);
        let newest = self.client.search_pit(index, body).await?;
        let pit = newest.pit.unwrap_or(pit);
        let Some(snapshot) = newest
            .hits
            .into_iter()
            .next()
            .and_then(|h| h.sort.into_iter().next())
        else {
            self.close_pit_later(pit);
            return Ok(None);
        };
        let what = format!("the count of the backfill of index {index}");
        let body = count_body(&spec, from.as_ref(), &snapshot, &pit, &keep_alive);
        let answer = self.client.search_pit_raw(index, body).await?;
        let (total, shards) = decode_total(&answer, &what)?;
        let cuts = percents(total, settings.range_docs);
        let cuts = if can_cut(kind) && !cuts.is_empty() {
            let body = cuts_body(&spec, from.as_ref(), &snapshot, &pit, &keep_alive, &cuts);
            let answer = self.client.search_pit_raw(index, body).await?;
            let answer: Value = serde_json::from_slice(&answer).map_err(|e| EsError::Decode {
                what: format!("the ranges of the backfill of index {index}"),
                detail: e.to_string(),
            })?;
            cut_values(kind, &answer, from.as_ref(), &snapshot)
        } else {
            Vec::new()
        };
        Ok(Some(Reading::new(
            pit,
            snapshot,
            from,
            cuts,
            settings.slices.for_shards(shards),
            total,
        )))
    }

    /// Frees a point in time in the background (it expires by itself otherwise).
    fn close_pit_later(&self, pit: String) {
        let client = self.client.clone();
        tokio::spawn(async move {
            if let Err(e) = client.close_pit(&pit).await {
                tracing::debug!(error = %e, "closing a point in time failed; it expires by itself");
            }
        });
    }

    /// Searches the next page of every open slice of every index being backfilled that
    /// can be read now. A point in time that is gone is opened again and its range
    /// started over; a missing index becomes its problem; anything else fails the poll.
    pub(super) async fn search_backfills(
        &mut self,
        now: Instant,
    ) -> Result<Vec<BackfillPage>, ConnectError> {
        let keep_alive = self.config.backfill.keep_alive_param();
        let mut pages = Vec::new();
        for at in 0..self.partitions.len() {
            let p = &self.partitions[at];
            let Backfill::Reading { state, .. } = &p.backfill else {
                continue;
            };
            if p.kind().is_none() || !p.health.ready(now) {
                continue;
            }
            if state.pit.is_empty() {
                // A new range: its own point in time, so that it sees what was written
                // before it started.
                if !self.open_range_pit(at, &keep_alive, now).await? {
                    continue;
                }
            }
            let p = &self.partitions[at];
            let (Backfill::Reading { state, .. }, Some(kind)) = (&p.backfill, p.kind()) else {
                continue;
            };
            let spec = query_spec(&self.config, kind, now_ms());
            let wanted: Vec<(usize, Option<PageKey>, Value)> = state
                .open_slices()
                .map(|slice| {
                    let mut body = page_body(&spec, state, slice, &keep_alive);
                    crate::message::request_extras(&mut body, &self.config);
                    (slice, PageKey::of(state, slice), body)
                })
                .collect();
            let p = &mut self.partitions[at];
            let searches: Vec<_> = wanted
                .into_iter()
                .map(|(slice, key, body)| {
                    let prefetched = key.and_then(|k| p.take_page(&k));
                    let client = self.client.clone();
                    let index = p.index.clone();
                    async move {
                        (
                            slice,
                            fetch_pit_page(&client, &index, body, prefetched).await,
                        )
                    }
                })
                .collect();
            // Prefetches made from another position are stale: dropping them aborts them.
            p.drop_pages();
            let results = futures::future::join_all(searches).await;
            let mut gone = false;
            for (slice, result) in results {
                match result {
                    Ok(page) => pages.push(BackfillPage { at, slice, page }),
                    Err(e) if is_pit_gone(&e) => gone = true,
                    Err(e) if is_index_missing(&e) => {
                        pages.retain(|b| b.at != at);
                        self.partitions[at].index_missing(now);
                        break;
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            if gone {
                pages.retain(|b| b.at != at);
                self.reopen(at, &keep_alive, now).await?;
            }
        }
        Ok(pages)
    }

    /// Opens a point in time on index `at`; `None` when the index is missing (then its
    /// problem).
    async fn open_pit_of(
        &mut self,
        at: usize,
        keep_alive: &str,
        now: Instant,
    ) -> Result<Option<String>, ConnectError> {
        let index = self.partitions[at].index.clone();
        match self.client.open_pit(&index, keep_alive).await {
            Ok(pit) => Ok(Some(pit)),
            Err(e) if is_index_missing(&e) => {
                self.partitions[at].index_missing(now);
                Ok(None)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Opens the point in time of the range of index `at` that starts; `false` when
    /// the index is missing.
    async fn open_range_pit(
        &mut self,
        at: usize,
        keep_alive: &str,
        now: Instant,
    ) -> Result<bool, ConnectError> {
        let Some(pit) = self.open_pit_of(at, keep_alive, now).await? else {
            return Ok(false);
        };
        if let Backfill::Reading { state, .. } = &mut self.partitions[at].backfill {
            state.pit = pit;
        }
        Ok(true)
    }

    /// The point in time of index `at` is gone: opens a new one and starts the range
    /// being read over.
    async fn reopen(
        &mut self,
        at: usize,
        keep_alive: &str,
        now: Instant,
    ) -> Result<(), ConnectError> {
        let Some(pit) = self.open_pit_of(at, keep_alive, now).await? else {
            return Ok(());
        };
        let p = &mut self.partitions[at];
        if let Backfill::Reading { state, .. } = &mut p.backfill {
            tracing::warn!(
                index = %p.index,
                range = state.range + 1,
                ranges = state.bounds.len(),
                again = state.done - state.range_start_done,
                "backfill: the point in time expired (the task was stopped longer than es.backfill.keep.alive?); this range is read again through a new one, its documents read so far are sent twice"
            );
            state.restart_range(pit);
        }
        Ok(())
    }

    /// Turns the backfill pages into records and moves the backfills on. Only the last
    /// record of a page carries an offset; a range or backfill that ends on an empty
    /// page commits through an offset-only record.
    pub(super) fn read_backfills(
        &mut self,
        pages: Vec<BackfillPage>,
        now: Instant,
    ) -> Result<Vec<SourceRecord>, ConnectError> {
        let now_ms = now_ms();
        let batch = self.config.batch_size as usize;
        let mut records = Vec::with_capacity(pages.iter().map(|b| b.page.hits.len()).sum());
        // Per index: its next state, built on a copy so that an error leaves it as it was.
        let mut next: Vec<(usize, Backfill)> = Vec::new();
        // Points in time of ranges read to their end, freed once the states move.
        let mut done_pits = Vec::new();
        // Slices whose page came back full: their next page is searched in the background.
        let mut full: Vec<(usize, usize)> = Vec::new();
        for BackfillPage { at, slice, page } in pages {
            let p = &self.partitions[at];
            let Some(kind) = p.kind() else { continue };
            let mut current = match next.iter().position(|(i, _)| *i == at) {
                Some(i) => next.swap_remove(i).1,
                None => match &p.backfill {
                    Backfill::Reading {
                        state,
                        started,
                        read,
                    } => Backfill::Reading {
                        state: state.clone(),
                        started: *started,
                        read: *read,
                    },
                    _ => continue,
                },
            };
            let Backfill::Reading {
                state,
                started,
                read,
            } = &mut current
            else {
                next.push((at, current));
                continue;
            };
            let n = page.hits.len();
            if let Some(pit) = page.pit {
                state.pit = pit;
            }
            let pit = state.pit.clone();
            let last = page.hits.last().map(|h| h.sort.clone());
            let step = state.after_page(slice, n, last, n >= batch, now_ms);
            *read += n as u64;
            started.get_or_insert(now);
            let stored = match &step {
                Step::Complete(c) => Stored::Complete(c.clone()),
                Step::Reading | Step::NextRange => Stored::Reading((**state).clone()),
            };
            let offset = stored.to_offset()?;
            let field = &self.config.tracking_field;
            for (i, mut hit) in page.hits.into_iter().enumerate() {
                with_tracking(&mut hit, field, kind);
                let offset = (i + 1 == n).then(|| offset.clone());
                records.push(crate::message::to_record(
                    &self.config,
                    &p.partition,
                    offset,
                    kind,
                    hit,
                )?);
            }
            if n == 0 && step != Step::Reading {
                records.push(SourceRecord::offset_only(p.partition.clone(), offset));
            }
            if step == Step::Reading {
                if n >= batch {
                    full.push((at, slice));
                }
            } else {
                done_pits.push(pit);
            }
            match step {
                Step::Reading => {}
                Step::NextRange => tracing::info!(
                    index = %p.index,
                    range = state.range,
                    ranges = state.bounds.len(),
                    done = state.done,
                    "backfill: range read"
                ),
                Step::Complete(c) => {
                    let seconds = started.map_or(0.0, |s| now.duration_since(s).as_secs_f64());
                    tracing::info!(
                        index = %p.index,
                        documents = c.done,
                        snapshot = %snapshot_text(&c.snapshot),
                        seconds_this_run = seconds,
                        "backfill complete: reading incrementally from the snapshot bound on"
                    );
                    current = Backfill::Complete(c);
                }
            }
            next.push((at, current));
        }
        for (at, state) in next {
            let p = &mut self.partitions[at];
            if let Backfill::Complete(c) = &state {
                p.cursor = Cursor::From {
                    value: c.snapshot.clone(),
                    inclusive: true,
                };
            }
            p.answered();
            p.backfill = state;
        }
        for pit in done_pits {
            self.close_pit_later(pit);
        }
        self.prefetch_backfills(&full);
        Ok(records)
    }

    /// Starts the search for the next page of each of `slices` (index, slice) in the
    /// background, so Elasticsearch works on it while these records are sent.
    fn prefetch_backfills(&mut self, slices: &[(usize, usize)]) {
        let keep_alive = self.config.backfill.keep_alive_param();
        let now_ms = now_ms();
        for &(at, slice) in slices {
            let p = &self.partitions[at];
            let (Backfill::Reading { state, .. }, Some(kind)) = (&p.backfill, p.kind()) else {
                continue;
            };
            let Some(key) = PageKey::of(state, slice) else {
                continue;
            };
            let spec = query_spec(&self.config, kind, now_ms);
            let mut body = page_body(&spec, state, slice, &keep_alive);
            crate::message::request_extras(&mut body, &self.config);
            let client = self.client.clone();
            self.partitions[at].prefetch_page(&client, key, body);
        }
    }
}

/// Puts the hit's tracking value (from its doc values) where the records take it from,
/// its `sort` (which held its `_shard_doc` position, already used).
fn with_tracking(hit: &mut Hit, field: &str, kind: TrackingKind) {
    let value = hit
        .fields
        .get(field)
        .and_then(|values| tracking_value(kind, values));
    hit.sort = value.into_iter().collect();
    hit.fields.clear();
}

/// `hits.total.value` of a search answer, and the shards it searched (`_shards.total`:
/// the index's primary shards, for `es.backfill.slices=auto`; 1 when not said).
fn decode_total(answer: &[u8], what: &str) -> Result<(u64, u64), EsError> {
    #[derive(Deserialize)]
    struct Answer {
        hits: Hits,
        #[serde(rename = "_shards")]
        shards: Option<Shards>,
    }
    #[derive(Deserialize)]
    struct Shards {
        total: u64,
    }
    #[derive(Deserialize)]
    struct Hits {
        total: Total,
    }
    #[derive(Deserialize)]
    struct Total {
        value: u64,
    }
    serde_json::from_slice::<Answer>(answer)
        .map(|a| (a.hits.total.value, a.shards.map_or(1, |s| s.total)))
        .map_err(|e| EsError::Decode {
            what: what.to_owned(),
            detail: e.to_string(),
        })
}

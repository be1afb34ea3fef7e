//! [`EsSourceTask`]: reads pages of its indices after their cursors and turns hits into
//! records.
//!
//! Call order: `start` (parses the task config, reads each index's committed offset; no
//! network), then `poll` repeatedly. `poll` fetches one page from every index of the task
//! (at most [`MAX_CONCURRENT_SEARCHES`] at once) and returns all hits; when no index has
//! anything new it waits `es.poll.interval.ms` and returns an empty batch. It never stops
//! by itself: documents indexed later are read by later polls.
//!
//! Before searching, `poll` checks the mapping of indices not checked yet, applies
//! `es.start` to indices without a committed offset, and measures progress figures
//! (every `es.progress.interval.ms`); `progress()` only reads them. An index that is
//! missing (404 `index_not_found`), whose tracking field changed type, or whose page
//! comes back out of order is a problem of that index: it is shown in `progress()`,
//! retried with exponential back-off, and the other indices keep flowing; reading
//! resumes from its cursor once it answers cleanly.
//!
//! Prefetch: when an index's page comes back full, the search for its next page starts in
//! the background as `poll` returns, so Elasticsearch works on it while the runtime
//! converts and sends the records. The next `poll` uses that page only if the index's
//! cursor is still the one it was searched from; a problem on the index discards it. At
//! most one page per index is prefetched, so a task holds at most two pages per index.
//!
//! Cancel-safety: every await in `poll` comes before any cursor changes; the cursors move
//! in one synchronous step just before the records are returned. A dropped `poll` therefore
//! leaves the task as it was (a prefetched page it was awaiting is dropped and searched
//! again), and an error discards the whole batch (cursors unchanged).
//!
//! Files: this one holds the task and the poll's search and read steps; `prepare` the
//! steps before the search (mapping check, `es.start`, progress); `partition` the state
//! of one index, which alone decides the tracking kind it is read with.

use async_trait::async_trait;
use connect_api::{
    ConnectError, PartitionProgress, SourcePartition, SourceRecord, SourceTask, TaskContext,
    TaskProgress,
};
use std::time::Instant;

use futures::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::backfill::{Backfill, Stored};
use crate::client::{EsClient, Hit};
use crate::config::{self, EsSourceConfig};
use crate::cursor::{advance, Cursor, CursorMode, HitPos};
use crate::error::EsError;
use crate::progress::DOCS_MISSING_TRACKING_FIELD;
use crate::query::{search_body, QuerySpec, TrackingKind};

mod backfill;
mod partition;
mod prepare;
#[cfg(test)]
mod tests;

pub use partition::LARGE_TIE_GROUP;
use partition::{fetch_page, is_index_missing, PartitionState};

/// Searches one poll runs at the same time when a task reads several indices.
pub const MAX_CONCURRENT_SEARCHES: usize = 4;

/// The source partition of one index: `{"index": "<name>"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexPartition {
    /// The concrete index name.
    pub index: String,
}

impl IndexPartition {
    /// The canonical partition of `index`.
    pub fn of(index: &str) -> Result<SourcePartition, ConnectError> {
        SourcePartition::from_typed(&IndexPartition {
            index: index.to_owned(),
        })
    }
}

/// A source task reading a share of the connector's indices.
#[derive(Debug, Default)]
pub struct EsSourceTask {
    running: Option<Running>,
}

#[derive(Debug)]
struct Running {
    config: EsSourceConfig,
    mode: CursorMode,
    client: EsClient,
    partitions: Vec<PartitionState>,
    /// For the idle task of a connector whose `es.index` matches nothing yet: one entry
    /// saying so, shown in the status until the connector's next resolution finds an
    /// index and gives the task a share.
    waiting: Option<PartitionProgress>,
}

impl EsSourceTask {
    /// An unstarted task.
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl SourceTask for EsSourceTask {
    async fn start(&mut self, ctx: TaskContext) -> Result<(), ConnectError> {
        let config = EsSourceConfig::parse(&ctx.config)
            .map_err(|errors| ConnectError::config(connect_api::FieldError::join(&errors)))?;
        let indices = task_indices(&ctx.config, &config)?;
        let mode = CursorMode::new(config.tiebreaker_field.is_some());
        let mut partitions = Vec::with_capacity(indices.len());
        for index in indices {
            let partition = IndexPartition::of(&index)?;
            let committed = ctx.offsets.offset(&partition)?;
            let stored = committed
                .as_ref()
                .and_then(|o| Stored::from_offset(o, &index))
                .transpose()?;
            let cursor = match &stored {
                // The incremental phase starts at the snapshot bound, inclusive.
                Some(Stored::Complete(c)) => Cursor::From {
                    value: c.snapshot.clone(),
                    inclusive: true,
                },
                Some(Stored::Reading(_)) => Cursor::Start,
                None => Cursor::from_offset(committed.as_ref(), mode, &index)?,
            };
            let backfill = Backfill::at_start(stored, &cursor, config.backfill.mode, &config.start);
            tracing::info!(
                connector = %ctx.connector,
                task = ctx.task_id,
                index = %index,
                cursor = ?cursor_summary(&cursor),
                backfill = ?backfill_summary(&backfill),
                "es-source task resumes index"
            );
            partitions.push(PartitionState::new(index, partition, cursor, backfill));
        }
        let client = EsClient::new(&config)?;
        let waiting = if partitions.is_empty() {
            Some(waiting_entry(&config)?)
        } else {
            None
        };
        self.running = Some(Running {
            config,
            mode,
            client,
            partitions,
            waiting,
        });
        Ok(())
    }

    async fn poll(&mut self) -> Result<Vec<SourceRecord>, ConnectError> {
        let running = self
            .running
            .as_mut()
            .ok_or_else(|| ConnectError::fatal("es-source task polled before start"))?;
        running.poll().await
    }

    async fn stop(&mut self) -> Result<(), ConnectError> {
        self.running = None;
        Ok(())
    }

    fn progress(&self) -> TaskProgress {
        let Some(running) = &self.running else {
            return TaskProgress::default();
        };
        let mut missing = 0;
        let now = Instant::now();
        let mut partitions: Vec<PartitionProgress> = running
            .partitions
            .iter()
            .map(|p| {
                let mut out = PartitionProgress::new(p.partition.clone(), p.index.clone());
                if let Some(f) = &p.health.figures {
                    out.remaining = Some(f.remaining);
                    out.lag_seconds = f.lag_seconds;
                    missing += f.missing;
                }
                out.measured_at_ms = p.health.measured_at_ms;
                out.problem = p.health.problem.clone();
                out.backfill = p.backfill.progress(now);
                if let Backfill::Reading { state, .. } = &p.backfill {
                    // What is left of the snapshot; the runtime's ETA follows it.
                    out.remaining = Some(state.left());
                    out.measured_at_ms = Some(now_ms());
                }
                out
            })
            .collect();
        partitions.extend(running.waiting.clone());
        TaskProgress {
            partitions,
            counters: [(DOCS_MISSING_TRACKING_FIELD.to_owned(), missing)].into(),
        }
    }
}

/// The status entry of an idle task: `es.index` matches no index yet.
fn waiting_entry(config: &EsSourceConfig) -> Result<PartitionProgress, ConnectError> {
    #[derive(Serialize)]
    struct Waiting<'a> {
        es_index: &'a str,
    }
    let entries = config.indices.join(",");
    let partition = SourcePartition::from_typed(&Waiting { es_index: &entries })?;
    let mut entry = PartitionProgress::new(partition, entries.clone());
    entry.problem = Some(match config.index_refresh_interval {
        Some(every) => format!(
            "es.index {entries} matches no index yet; the connector looks again every {} s \
             ({}) and starts reading when one appears",
            every.as_secs(),
            config::INDEX_REFRESH_INTERVAL_MS
        ),
        None => format!(
            "es.index {entries} matches no index yet, and {} is 0 (never look again): \
             restart the connector once an index exists",
            config::INDEX_REFRESH_INTERVAL_MS
        ),
    });
    Ok(entry)
}

/// One index's answer in a poll, with the kind it was searched as.
struct Page {
    /// The index's position in `Running::partitions`.
    at: usize,
    kind: TrackingKind,
    hits: Vec<Hit>,
}

/// What the pages of one poll come to, before any cursor moves.
#[derive(Default)]
struct PollRead {
    records: Vec<SourceRecord>,
    /// Per index read: where its cursor goes.
    moves: Vec<Move>,
    /// Per index whose page broke the cursor's order: why.
    broken: Vec<(usize, String)>,
}

/// Where one index's cursor goes after its page.
struct Move {
    at: usize,
    kind: TrackingKind,
    next: Cursor,
    /// The page was full: more is likely waiting.
    full: bool,
}

impl Running {
    async fn poll(&mut self) -> Result<Vec<SourceRecord>, ConnectError> {
        let now = Instant::now();
        self.resolve_mappings(now).await?;
        self.resolve_starts(now).await?;
        self.plan_backfills(now).await?;
        self.measure(now).await;
        let backfill_pages = self.search_backfills(now).await?;
        let pages = self.search_pages(now).await?;
        for page in pages.iter().filter(|page| page.hits.is_empty()) {
            self.partitions[page.at].answered();
        }
        let backfilled = !backfill_pages.is_empty();
        if !backfilled && pages.iter().all(|page| page.hits.is_empty()) {
            tokio::time::sleep(self.config.poll_interval).await;
            return Ok(Vec::new());
        }
        let read = self.read_pages(pages)?;
        let mut records = self.read_backfills(backfill_pages, now)?;
        for (at, problem) in read.broken {
            self.partitions[at].broken(problem, now);
        }
        self.move_cursors(read.moves);
        if records.is_empty() {
            records = read.records;
        } else {
            records.extend(read.records);
        }
        Ok(records)
    }

    /// Searches the next page of every index that can be read now (the prefetched
    /// search, when it was made from the index's cursor), at most
    /// [`MAX_CONCURRENT_SEARCHES`] at once. Indices with a problem wait out their
    /// back-off; an index that disappeared becomes its problem; any other failure fails
    /// the poll.
    async fn search_pages(&mut self, now: Instant) -> Result<Vec<Page>, ConnectError> {
        let now_ms = now_ms();
        let active: Vec<(usize, TrackingKind)> = self
            .partitions
            .iter()
            .enumerate()
            .filter_map(|(at, p)| p.readable(now).map(|kind| (at, kind)))
            .collect();
        let prefetched: Vec<_> = active
            .iter()
            .map(|&(at, _)| self.partitions[at].take_prefetch())
            .collect();
        // The futures are built eagerly (no closure inside the stream), which keeps the
        // poll future `Send` for the runtime.
        let searches: Vec<_> = active
            .iter()
            .zip(prefetched)
            .map(|(&(at, kind), prefetched)| {
                let p = &self.partitions[at];
                let body = self.page_body(kind, &p.cursor, now_ms);
                fetch_page(&self.client, &p.index, body, prefetched)
            })
            .collect();
        let results: Vec<Result<Vec<Hit>, EsError>> = futures::stream::iter(searches)
            .buffered(MAX_CONCURRENT_SEARCHES)
            .collect()
            .await;
        let mut pages = Vec::with_capacity(results.len());
        for (&(at, kind), result) in active.iter().zip(results) {
            match result {
                Ok(hits) => pages.push(Page { at, kind, hits }),
                Err(e) if is_index_missing(&e) => self.partitions[at].index_missing(now),
                Err(e) => return Err(e.into()),
            }
        }
        Ok(pages)
    }

    /// Builds every record and next cursor, moving no cursor: a failure on any page
    /// leaves every cursor where it was. A page out of order or of another type (the
    /// index changed under the cursor) is set aside; the other indices flow.
    fn read_pages(&self, pages: Vec<Page>) -> Result<PollRead, ConnectError> {
        let mut read = PollRead {
            records: Vec::with_capacity(pages.iter().map(|page| page.hits.len()).sum()),
            ..PollRead::default()
        };
        for Page { at, kind, hits } in pages {
            if hits.is_empty() {
                continue;
            }
            let p = &self.partitions[at];
            let positions: Vec<HitPos<'_>> = hits
                .iter()
                .map(|h| HitPos {
                    id: &h.id,
                    sort: &h.sort,
                })
                .collect();
            let full = positions.len() >= self.config.batch_size as usize;
            let step = match advance(&p.cursor, self.mode, kind, &p.index, &positions) {
                Ok(step) => step,
                Err(e) => {
                    read.broken.push((at, e.to_string()));
                    continue;
                }
            };
            for (hit, offset) in hits.into_iter().zip(step.offsets) {
                let offset = match offset {
                    Some(cursor) => cursor.to_offset()?,
                    None => None,
                };
                read.records.push(crate::message::to_record(
                    &self.config,
                    &p.partition,
                    offset,
                    kind,
                    hit,
                )?);
            }
            tracing::debug!(index = %p.index, next = ?cursor_summary(&step.next), "page read");
            read.moves.push(Move {
                at,
                kind,
                next: step.next,
                full,
            });
        }
        Ok(read)
    }

    /// Moves the cursors of the indices read; after a full page, the search for the next
    /// one starts in the background while these records are sent.
    fn move_cursors(&mut self, moves: Vec<Move>) {
        let now_ms = now_ms();
        for Move {
            at,
            kind,
            next,
            full,
        } in moves
        {
            let body = full.then(|| self.page_body(kind, &next, now_ms));
            let p = &mut self.partitions[at];
            p.answered();
            p.warn_if_large_tie(&next);
            if let Some(body) = body {
                p.prefetch(&self.client, next.clone(), body);
            }
            p.cursor = next;
        }
    }

    /// The search for the page after `cursor` of an index read as `kind`.
    fn page_body(&self, kind: TrackingKind, cursor: &Cursor, now_ms: i64) -> Value {
        let mut body = search_body(&query_spec(&self.config, kind, now_ms), cursor);
        crate::message::request_extras(&mut body, &self.config);
        body
    }
}

/// Now, in epoch milliseconds, by this host's clock.
fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or_default()
}

/// The query settings of `config` for a tracking field of `kind`, at time `now_ms`.
fn query_spec(config: &EsSourceConfig, kind: TrackingKind, now_ms: i64) -> QuerySpec<'_> {
    QuerySpec {
        tracking_field: &config.tracking_field,
        tiebreaker_field: config.tiebreaker_field.as_deref(),
        batch_size: config.batch_size,
        tracking_kind: kind,
        filter: config.query.as_ref(),
        source_includes: &config.source_includes,
        source_excludes: &config.source_excludes,
        time_unit: config.time_unit,
        upper_bound_ms: config
            .lag
            .map(|lag| now_ms.saturating_sub(i64::try_from(lag.as_millis()).unwrap_or(i64::MAX))),
    }
}

/// The indices of this task: its share from `es.task.indices` (concrete indices resolved
/// by `task_configs`; empty for the idle task kept while nothing matches), or the
/// entries of `es.index` when the task runs on a config that was not split, which then
/// must all be plain names.
fn task_indices(
    raw: &connect_api::ConfigMap,
    config: &EsSourceConfig,
) -> Result<Vec<String>, ConnectError> {
    let Some(share) = raw.get(config::TASK_INDICES) else {
        if let Some(entry) = config
            .indices
            .iter()
            .find(|i| crate::resolve::is_pattern(i) || i.starts_with('-'))
        {
            return Err(ConnectError::config(format!(
                "es.index entry {entry} needs resolving, but this task config has no {}; \
                 task configs come from the connector's task_configs",
                config::TASK_INDICES
            )));
        }
        return Ok(config.indices.clone());
    };
    Ok(share
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect())
}

/// A short, log-friendly view of a backfill.
fn backfill_summary(backfill: &Backfill) -> String {
    match backfill {
        Backfill::Off => "none".to_owned(),
        Backfill::Pending => "pending".to_owned(),
        Backfill::Reading { state, .. } => format!(
            "reading range {} of {}, {} of {} documents",
            state.range + 1,
            state.bounds.len(),
            state.done,
            state.total
        ),
        Backfill::Complete(c) => format!("complete ({} documents)", c.done),
    }
}

/// A short, log-friendly view of a cursor (an id set is shown by its size).
fn cursor_summary(cursor: &Cursor) -> String {
    match cursor {
        Cursor::Start => "start".to_owned(),
        Cursor::From { value, inclusive } => {
            format!("from {value} ({})", if *inclusive { "gte" } else { "gt" })
        }
        Cursor::After(sort) => format!("after {}", serde_json::Value::Array(sort.clone())),
        Cursor::Boundary { value, ids } => format!("at {value} minus {} id(s)", ids.len()),
    }
}

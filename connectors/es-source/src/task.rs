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

use async_trait::async_trait;
use connect_api::{
    ConnectError, PartitionProgress, SourcePartition, SourceRecord, SourceTask, TaskContext,
    TaskProgress,
};
use std::time::Instant;

use futures::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio_util::task::AbortOnDropHandle;

use crate::client::{EsClient, Hit};
use crate::config::{self, EsSourceConfig, StartPosition};
use crate::cursor::{advance, Cursor, CursorMode, HitPos};
use crate::error::EsError;
use crate::mapping::{check_cursor_fits, check_index};
use crate::measure;
use crate::progress::{PartitionHealth, DOCS_MISSING_TRACKING_FIELD};
use crate::query::{latest_body, search_body, QuerySpec, TrackingKind};
use crate::tracking::{self, describe};

/// Searches one poll runs at the same time when a task reads several indices.
pub const MAX_CONCURRENT_SEARCHES: usize = 4;

/// Without a tiebreaker, an id set this large at one tracking value makes every search
/// and offset heavy; the task says so once per index.
pub const LARGE_TIE_GROUP: usize = 10_000;

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

#[derive(Debug)]
struct PartitionState {
    index: String,
    partition: SourcePartition,
    cursor: Cursor,
    /// The tracking field's kind, once the index's mapping was checked.
    kind: Option<TrackingKind>,
    /// Whether `es.start` was applied (or did not apply: an offset was committed).
    start_resolved: bool,
    /// The kind the index was read with in this run (kept while the index is missing,
    /// to notice a mapping that changed when it comes back).
    known_kind: Option<TrackingKind>,
    /// Problem, back-off and progress figures.
    health: PartitionHealth,
    /// Whether the large-tie-group warning was logged for this index.
    warned_large_tie: bool,
    /// The search for the next page, started when the last page came back full.
    prefetch: Option<Prefetch>,
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
            let cursor = Cursor::from_offset(committed.as_ref(), mode, &index)?;
            tracing::info!(
                connector = %ctx.connector,
                task = ctx.task_id,
                index = %index,
                cursor = ?cursor_summary(&cursor),
                "es-source task resumes index"
            );
            partitions.push(PartitionState {
                index,
                partition,
                start_resolved: cursor != Cursor::Start,
                known_kind: None,
                health: PartitionHealth::default(),
                cursor,
                kind: None,
                warned_large_tie: false,
                prefetch: None,
            });
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

impl Running {
    async fn poll(&mut self) -> Result<Vec<SourceRecord>, ConnectError> {
        let now = Instant::now();
        self.resolve_mappings(now).await?;
        self.resolve_starts(now).await?;
        self.measure(now).await;

        let client = &self.client;
        let config = &self.config;
        let now_ms = now_ms();
        // Indices with a problem wait out their back-off; the others keep flowing.
        let active: Vec<usize> = (0..self.partitions.len())
            .filter(|&i| self.partitions[i].readable(now))
            .collect();
        // The futures are built eagerly (no closure inside the stream), which keeps the
        // poll future `Send` for the runtime.
        let prefetched: Vec<_> = active
            .iter()
            .map(|&i| {
                let p = &mut self.partitions[i];
                p.prefetch
                    .take()
                    .filter(|f| f.cursor == p.cursor)
                    .map(|f| f.search)
            })
            .collect();
        let searches: Vec<_> = active
            .iter()
            .zip(prefetched)
            .map(|(&i, prefetched)| {
                let p = &self.partitions[i];
                let spec = query_spec(config, p.kind.unwrap_or(TrackingKind::Long), now_ms);
                let mut body = search_body(&spec, &p.cursor);
                crate::message::request_extras(&mut body, config);
                page(client, &p.index, body, prefetched)
            })
            .collect();
        let results: Vec<Result<Vec<Hit>, EsError>> = futures::stream::iter(searches)
            .buffered(MAX_CONCURRENT_SEARCHES)
            .collect()
            .await;
        let mut pages = Vec::with_capacity(results.len());
        for (&i, result) in active.iter().zip(results) {
            match result {
                Ok(hits) => pages.push((i, hits)),
                Err(e) if is_index_missing(&e) => self.partitions[i].index_missing(now),
                Err(e) => return Err(e.into()),
            }
        }

        // A clean answer ends an index's problem (not the mapping check alone: an index
        // whose pages keep failing keeps backing off).
        for (i, hits) in &pages {
            let p = &mut self.partitions[*i];
            if hits.is_empty() {
                if let Some(problem) = p.health.recover() {
                    tracing::info!(index = %p.index, %problem, "index readable again; reading resumes from its cursor");
                }
            }
        }

        if pages.iter().all(|(_, hits)| hits.is_empty()) {
            tokio::time::sleep(self.config.poll_interval).await;
            return Ok(Vec::new());
        }

        // Build every record and next cursor first, then move the cursors: a failure on
        // any page leaves every cursor where it was.
        let mut records = Vec::with_capacity(pages.iter().map(|(_, h)| h.len()).sum());
        let mut moves = Vec::new();
        let mut broken = Vec::new();
        for (i, hits) in pages {
            if hits.is_empty() {
                continue;
            }
            let p = &self.partitions[i];
            let positions: Vec<HitPos<'_>> = hits
                .iter()
                .map(|h| HitPos {
                    id: &h.id,
                    sort: &h.sort,
                })
                .collect();
            let kind = p.kind.unwrap_or(TrackingKind::Long);
            let positions_len = positions.len();
            let step = match advance(&p.cursor, self.mode, kind, &p.index, &positions) {
                Ok(step) => step,
                // Out of order or of another type: the index changed under the cursor.
                // Its page is dropped and its mapping checked again; other indices flow.
                Err(e) => {
                    broken.push((i, e.to_string()));
                    continue;
                }
            };
            for (hit, offset) in hits.into_iter().zip(step.offsets) {
                let offset = match offset {
                    Some(cursor) => cursor.to_offset()?,
                    None => None,
                };
                records.push(crate::message::to_record(
                    &self.config,
                    &p.partition,
                    offset,
                    kind,
                    hit,
                )?);
            }
            tracing::debug!(index = %p.index, next = ?cursor_summary(&step.next), "page read");
            let full = positions_len >= self.config.batch_size as usize;
            moves.push((i, step.next, full));
        }
        for (i, problem) in broken {
            let p = &mut self.partitions[i];
            p.kind = None;
            p.problem(problem, now);
        }
        let now_ms = self::now_ms();
        for (i, next, full) in moves {
            let p = &mut self.partitions[i];
            if let Some(problem) = p.health.recover() {
                tracing::info!(index = %p.index, %problem, "index readable again; reading resumes from its cursor");
            }
            if let Cursor::Boundary { value, ids } = &next {
                if ids.len() >= LARGE_TIE_GROUP && !p.warned_large_tie {
                    p.warned_large_tie = true;
                    tracing::warn!(
                        index = %p.index,
                        %value,
                        ids = ids.len(),
                        "many documents share one tracking value; offsets and searches \
                         carry all their ids: set es.tiebreaker.field to a unique field"
                    );
                }
            }
            if full {
                // More is likely waiting: search for it while these records are sent.
                let spec = query_spec(&self.config, p.kind.unwrap_or(TrackingKind::Long), now_ms);
                let mut body = search_body(&spec, &next);
                crate::message::request_extras(&mut body, &self.config);
                let client = self.client.clone();
                let index = p.index.clone();
                p.prefetch = Some(Prefetch {
                    cursor: next.clone(),
                    search: AbortOnDropHandle::new(tokio::spawn(async move {
                        client.search(&index, body).await
                    })),
                });
            }
            p.cursor = next;
        }
        Ok(records)
    }

    /// Checks the mapping of every index not checked yet (once per task run, and again
    /// when an index comes back after it was missing).
    ///
    /// A missing index, or a mapping that changed since the index was last read, is a
    /// problem of that index (reported in progress, retried with back-off); a mapping
    /// that does not allow tracking at the first check fails the task with a config
    /// error, as validation would have.
    async fn resolve_mappings(&mut self, now: Instant) -> Result<(), ConnectError> {
        for p in self
            .partitions
            .iter_mut()
            .filter(|p| p.kind.is_none() && p.health.ready(now))
        {
            let kind = match check_index(&self.client, &self.config, &p.index).await {
                Ok(kind) => kind,
                Err(problems) => {
                    let text: Vec<String> = problems.iter().map(|(_, e)| e.to_string()).collect();
                    let about_index = problems.iter().any(|(key, _)| *key == config::INDEX);
                    let about_field = problems.iter().all(|(key, _)| {
                        *key == config::TRACKING_FIELD || *key == config::TIEBREAKER_FIELD
                    });
                    if about_index || (about_field && p.known_kind.is_some()) {
                        p.problem(text.join("; "), now);
                        continue;
                    }
                    // Keep the first error's kind (a retriable one stays retriable) and
                    // report every problem.
                    let first = problems
                        .into_iter()
                        .next()
                        .map(|(_, e)| ConnectError::from(e))
                        .unwrap_or_else(|| ConnectError::fatal("index check failed"));
                    return Err(ConnectError::new(first.kind(), text.join("; ")));
                }
            };
            match p.known_kind {
                Some(known) if known != kind => {
                    p.problem(
                        format!(
                            "the mapping of field {} in index {} changed: it was read as {}, \
                             it is now mapped as {}; reading the index is paused (restore the \
                             mapping, or reset the connector's offsets to read it again)",
                            self.config.tracking_field,
                            p.index,
                            describe(known),
                            describe(kind)
                        ),
                        now,
                    );
                    continue;
                }
                Some(_) => {}
                None => check_cursor_fits(&self.config, &p.index, &p.cursor, kind)?,
            }
            p.kind = Some(kind);
            p.known_kind = Some(kind);
        }
        Ok(())
    }

    /// Applies `es.start` to every index that has no committed offset yet (once per task
    /// run). A failed lookup leaves the index unresolved, to be tried on the next poll.
    async fn resolve_starts(&mut self, now: Instant) -> Result<(), ConnectError> {
        for p in self
            .partitions
            .iter_mut()
            .filter(|p| !p.start_resolved && p.kind.is_some() && p.health.ready(now))
        {
            let kind = p.kind.unwrap_or(TrackingKind::Long);
            let cursor = match &self.config.start {
                StartPosition::Earliest => Cursor::Start,
                StartPosition::Value(raw) => Cursor::From {
                    value: tracking::parse_value(kind, raw).map_err(|msg| {
                        ConnectError::config(format!(
                            "{}: {msg} (field {} of index {} is {})",
                            config::START,
                            self.config.tracking_field,
                            p.index,
                            describe(kind)
                        ))
                    })?,
                    inclusive: true,
                },
                StartPosition::Latest => {
                    let spec = query_spec(&self.config, kind, now_ms());
                    let newest = match self.client.search(&p.index, latest_body(&spec)).await {
                        Ok(hits) => hits,
                        Err(e) if is_index_missing(&e) => {
                            p.index_missing(now);
                            continue;
                        }
                        Err(e) => return Err(e.into()),
                    };
                    match (newest.into_iter().next(), self.mode) {
                        // An empty index: everything that comes is new.
                        (None, _) => Cursor::Start,
                        (Some(hit), CursorMode::SearchAfter) => Cursor::After(hit.sort),
                        (Some(hit), CursorMode::BoundaryIds) => Cursor::From {
                            value: hit.sort.into_iter().next().ok_or_else(|| {
                                ConnectError::fatal(format!(
                                    "the newest document of index {} came without sort values",
                                    p.index
                                ))
                            })?,
                            inclusive: false,
                        },
                    }
                }
            };
            tracing::info!(
                index = %p.index,
                start = ?self.config.start,
                cursor = %cursor_summary(&cursor),
                "no committed offset: es.start applies"
            );
            p.cursor = cursor;
            p.start_resolved = true;
        }
        Ok(())
    }

    /// Measures the progress figures of every readable index whose measurement is due.
    /// A failed measurement keeps the old figures (a missing index becomes its problem);
    /// it never fails the poll.
    async fn measure(&mut self, now: Instant) {
        let now_ms = now_ms();
        for p in self
            .partitions
            .iter_mut()
            .filter(|p| p.readable(now) && p.health.measure_due(now))
        {
            let spec = query_spec(&self.config, p.kind.unwrap_or(TrackingKind::Long), now_ms);
            match measure::measure(&self.client, &spec, &p.index, &p.cursor).await {
                Ok(figures) => {
                    let before = p.health.figures.as_ref().map_or(0, |f| f.missing);
                    if figures.missing > 0 && figures.missing != before {
                        tracing::warn!(
                            index = %p.index,
                            missing = figures.missing,
                            field = %self.config.tracking_field,
                            "documents without the tracking field (or the tiebreaker) can \
                             never be read by es-source"
                        );
                    }
                    p.health
                        .measured(Some(figures), now, now_ms, self.config.progress_interval);
                }
                Err(e) if is_index_missing(&e) => p.index_missing(now),
                Err(e) => {
                    tracing::warn!(index = %p.index, error = %e, "progress measurement failed");
                    p.health
                        .measured(None, now, now_ms, self.config.progress_interval);
                }
            }
        }
    }
}

impl PartitionState {
    /// Whether the index can be searched now: mapping checked, start applied, no
    /// problem waiting out its back-off.
    fn readable(&self, now: Instant) -> bool {
        self.kind.is_some() && self.start_resolved && self.health.ready(now)
    }

    /// Records a problem and backs off; a prefetched page is discarded.
    fn problem(&mut self, problem: String, now: Instant) {
        self.prefetch = None;
        let wait = self.health.fail(problem.clone(), now);
        tracing::warn!(index = %self.index, %problem, retry_in_s = wait.as_secs(), "index problem; other indices keep flowing");
    }

    /// The index disappeared: keep the cursor, check the mapping again when it is back.
    fn index_missing(&mut self, now: Instant) {
        self.kind = None;
        self.problem(
            format!(
                "index {} does not exist (deleted?); retrying with back-off, and reading \
                 resumes from the cursor when it exists again",
                self.index
            ),
            now,
        );
    }
}

/// The next page of `index`: the prefetched search when there is one (and it ran to its
/// end), otherwise a search with `body`.
async fn page(
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
fn is_index_missing(e: &EsError) -> bool {
    matches!(
        e,
        EsError::Status { status: 404, error_type: Some(t), .. } if t == "index_not_found_exception"
    )
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_are_canonical() {
        let p = IndexPartition::of("orders").unwrap();
        assert_eq!(p.to_canonical_bytes(), br#"{"index":"orders"}"#);
        assert_eq!(p.to_typed::<IndexPartition>().unwrap().index, "orders");
    }

    #[test]
    fn task_share_is_the_resolved_list_and_unsplit_configs_need_plain_names() {
        let mut raw: connect_api::ConfigMap = [
            (config::HOSTS, "http://127.0.0.1:9200"),
            (config::INDEX, "a,b"),
            (config::TRACKING_FIELD, "ts"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let c = EsSourceConfig::parse(&raw).unwrap();
        assert_eq!(task_indices(&raw, &c).unwrap(), ["a", "b"]);
        raw.insert(config::TASK_INDICES.into(), "b,.ds-x-000001".into());
        assert_eq!(task_indices(&raw, &c).unwrap(), ["b", ".ds-x-000001"]);
        raw.insert(config::TASK_INDICES.into(), "".into());
        assert!(task_indices(&raw, &c).unwrap().is_empty());
        raw.remove(config::TASK_INDICES);
        raw.insert(config::INDEX.into(), "logs-*".into());
        let c = EsSourceConfig::parse(&raw).unwrap();
        assert!(task_indices(&raw, &c).is_err());
    }
}

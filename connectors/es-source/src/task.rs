//! [`EsSourceTask`]: reads pages of its indices after their cursors and turns hits into
//! records.
//!
//! Call order: `start` (parses the task config, reads each index's committed offset; no
//! network), then `poll` repeatedly. `poll` fetches one page from every index of the task
//! (at most [`MAX_CONCURRENT_SEARCHES`] at once) and returns all hits; when no index has
//! anything new it waits `es.poll.interval.ms` and returns an empty batch. It never stops
//! by itself: documents indexed later are read by later polls.
//!
//! Cancel-safety: every await in `poll` comes before any cursor changes; the cursors move
//! in one synchronous step just before the records are returned. A dropped `poll` therefore
//! leaves the task as it was, and an error discards the whole batch (cursors unchanged).

use async_trait::async_trait;
use connect_api::{ConnectError, SourcePartition, SourceRecord, SourceTask, TaskContext};
use futures::{StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};

use crate::client::{EsClient, Hit};
use crate::config::{self, EsSourceConfig};
use crate::connector::check_index;
use crate::cursor::{advance, Cursor, CursorMode, HitPos};
use crate::query::{search_body, QuerySpec, TrackingKind};

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
}

#[derive(Debug)]
struct PartitionState {
    index: String,
    partition: SourcePartition,
    cursor: Cursor,
    /// The tracking field's kind, once the index's mapping was checked.
    kind: Option<TrackingKind>,
    /// Whether the large-tie-group warning was logged for this index.
    warned_large_tie: bool,
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
                cursor,
                kind: None,
                warned_large_tie: false,
            });
        }
        let client = EsClient::new(&config)?;
        self.running = Some(Running {
            config,
            mode,
            client,
            partitions,
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
}

impl Running {
    async fn poll(&mut self) -> Result<Vec<SourceRecord>, ConnectError> {
        self.resolve_mappings().await?;

        let client = &self.client;
        let config = &self.config;
        // The futures are built eagerly (no closure inside the stream), which keeps the
        // poll future `Send` for the runtime.
        let searches: Vec<_> = self
            .partitions
            .iter()
            .map(|p| {
                let spec = QuerySpec {
                    tracking_field: &config.tracking_field,
                    tiebreaker_field: config.tiebreaker_field.as_deref(),
                    batch_size: config.batch_size,
                    tracking_kind: p.kind.unwrap_or(TrackingKind::Plain),
                };
                let mut body = search_body(&spec, &p.cursor);
                crate::message::request_extras(&mut body, config);
                client.search(&p.index, body)
            })
            .collect();
        let pages: Vec<Vec<Hit>> = futures::stream::iter(searches)
            .buffered(MAX_CONCURRENT_SEARCHES)
            .try_collect()
            .await?;

        if pages.iter().all(Vec::is_empty) {
            tokio::time::sleep(self.config.poll_interval).await;
            return Ok(Vec::new());
        }

        // Build every record and next cursor first, then move the cursors: a failure on
        // any page leaves every cursor where it was.
        let mut records = Vec::with_capacity(pages.iter().map(Vec::len).sum());
        let mut moves = Vec::new();
        for (i, hits) in pages.into_iter().enumerate() {
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
            let step = advance(&p.cursor, self.mode, &positions)?;
            let kind = p.kind.unwrap_or(TrackingKind::Plain);
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
            moves.push((i, step.next));
        }
        for (i, next) in moves {
            let p = &mut self.partitions[i];
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
            p.cursor = next;
        }
        Ok(records)
    }

    /// Checks the mapping of every index not checked yet (once per task run).
    async fn resolve_mappings(&mut self) -> Result<(), ConnectError> {
        for p in self.partitions.iter_mut().filter(|p| p.kind.is_none()) {
            let kind = check_index(&self.client, &self.config, &p.index)
                .await
                .map_err(|problems| {
                    // Keep the first error's kind (a retriable one stays retriable) and
                    // report every problem.
                    let text: Vec<String> = problems.iter().map(|(_, e)| e.to_string()).collect();
                    let first = problems
                        .into_iter()
                        .next()
                        .map(|(_, e)| ConnectError::from(e))
                        .unwrap_or_else(|| ConnectError::fatal("index check failed"));
                    ConnectError::new(first.kind(), text.join("; "))
                })?;
            p.kind = Some(kind);
        }
        Ok(())
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

//! What a poll does before it searches: the mapping check of indices not checked yet,
//! `es.start` for indices without a committed offset, and the progress measurement of
//! the indices whose measurement is due.
//!
//! Contract: each step only looks at the indices whose back-off is over. A problem of
//! one index (missing, or a mapping that changed after it was read) is recorded on it
//! and retried; a config that cannot work (a mapping that does not allow tracking at
//! the first check, an `es.start` value that does not fit the field) fails the poll.

use std::time::Instant;

use connect_api::ConnectError;

use super::partition::is_index_missing;
use super::{cursor_summary, now_ms, query_spec, Running};
use crate::config::{self, StartPosition};
use crate::cursor::{Cursor, CursorMode};
use crate::error::EsError;
use crate::mapping::{check_cursor_fits, check_index};
use crate::measure;
use crate::query::{latest_body, TrackingKind};
use crate::tracking::{self, describe};

impl Running {
    /// Checks the mapping of every index not checked yet (once per task run, and again
    /// when an index comes back after it was missing).
    ///
    /// A missing index, or a mapping that changed since the index was last read, is a
    /// problem of that index (reported in progress, retried with back-off); a mapping
    /// that does not allow tracking at the first check fails the task with a config
    /// error, as validation would have.
    pub(super) async fn resolve_mappings(&mut self, now: Instant) -> Result<(), ConnectError> {
        for p in self
            .partitions
            .iter_mut()
            .filter(|p| p.unchecked() && p.health.ready(now))
        {
            let kind = match check_index(&self.client, &self.config, &p.index).await {
                Ok(kind) => kind,
                Err(problems) => {
                    let problem = index_problem(problems, p.read_as().is_some())?;
                    p.problem(problem, now);
                    continue;
                }
            };
            match p.read_as() {
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
            p.checked(kind);
        }
        Ok(())
    }

    /// Applies `es.start` to every index that has no committed offset yet (once per task
    /// run). A failed lookup leaves the index unresolved, to be tried on the next poll.
    pub(super) async fn resolve_starts(&mut self, now: Instant) -> Result<(), ConnectError> {
        for at in 0..self.partitions.len() {
            let p = &self.partitions[at];
            let Some(kind) = p
                .kind()
                .filter(|_| !p.start_resolved && p.health.ready(now))
            else {
                continue;
            };
            let cursor = match self.start_cursor(&p.index, kind).await {
                Ok(cursor) => cursor,
                Err(StartError::IndexMissing) => {
                    self.partitions[at].index_missing(now);
                    continue;
                }
                Err(StartError::Fail(e)) => return Err(e),
            };
            let p = &mut self.partitions[at];
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

    /// The cursor `es.start` gives `index`, read as `kind`: `latest` asks Elasticsearch
    /// for the newest document.
    async fn start_cursor(&self, index: &str, kind: TrackingKind) -> Result<Cursor, StartError> {
        match &self.config.start {
            StartPosition::Earliest => Ok(Cursor::Start),
            StartPosition::Value(raw) => Ok(Cursor::From {
                value: tracking::parse_value(kind, raw).map_err(|msg| {
                    ConnectError::config(format!(
                        "{}: {msg} (field {} of index {index} is {})",
                        config::START,
                        self.config.tracking_field,
                        describe(kind)
                    ))
                })?,
                inclusive: true,
            }),
            StartPosition::Latest => {
                let spec = query_spec(&self.config, kind, now_ms());
                let newest = match self.client.search(index, latest_body(&spec)).await {
                    Ok(hits) => hits,
                    Err(e) if is_index_missing(&e) => return Err(StartError::IndexMissing),
                    Err(e) => return Err(ConnectError::from(e).into()),
                };
                Ok(match (newest.into_iter().next(), self.mode) {
                    // An empty index: everything that comes is new.
                    (None, _) => Cursor::Start,
                    (Some(hit), CursorMode::SearchAfter) => Cursor::After(hit.sort),
                    (Some(hit), CursorMode::BoundaryIds) => Cursor::From {
                        value: hit.sort.into_iter().next().ok_or_else(|| {
                            ConnectError::fatal(format!(
                                "the newest document of index {index} came without sort values"
                            ))
                        })?,
                        inclusive: false,
                    },
                })
            }
        }
    }

    /// Measures the progress figures of every readable index whose measurement is due.
    /// A failed measurement keeps the old figures (a missing index becomes its problem);
    /// it never fails the poll.
    pub(super) async fn measure(&mut self, now: Instant) {
        let now_ms = now_ms();
        for p in self.partitions.iter_mut() {
            let Some(kind) = p.readable(now).filter(|_| p.health.measure_due(now)) else {
                continue;
            };
            let spec = query_spec(&self.config, kind, now_ms);
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

/// Why `es.start` could not be applied to an index.
enum StartError {
    /// The index does not exist (any more): a problem of the index, retried.
    IndexMissing,
    /// Anything else fails the poll.
    Fail(ConnectError),
}

impl From<ConnectError> for StartError {
    fn from(e: ConnectError) -> Self {
        StartError::Fail(e)
    }
}

/// What a failed mapping check of an index means: `Ok(problem)` for a problem of that
/// index, to report and retry (one about the index itself: missing, not concrete, not
/// readable; or one about its fields once it was read in this run, `was_read`: the
/// mapping changed under it); otherwise the error that fails the task, as validation
/// would have, with the first problem's kind (a retriable one stays retriable) and
/// every problem's text.
fn index_problem(
    problems: Vec<(&'static str, EsError)>,
    was_read: bool,
) -> Result<String, ConnectError> {
    let text: Vec<String> = problems.iter().map(|(_, e)| e.to_string()).collect();
    let about_index = problems.iter().any(|(key, _)| *key == config::INDEX);
    let about_field = problems
        .iter()
        .all(|(key, _)| *key == config::TRACKING_FIELD || *key == config::TIEBREAKER_FIELD);
    if about_index || (about_field && was_read) {
        return Ok(text.join("; "));
    }
    let first = problems
        .into_iter()
        .next()
        .map(|(_, e)| ConnectError::from(e))
        .unwrap_or_else(|| ConnectError::fatal("index check failed"));
    Err(ConnectError::new(first.kind(), text.join("; ")))
}

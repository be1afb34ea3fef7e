//! Snapshots of the config and offsets logs, so that a worker starting without a local
//! copy neither depends on records the broker may already have removed (RocketMQ drops
//! commit-log files after `fileReservedTime`, 72 h by default) nor replays a log that
//! grows with every offset commit.
//!
//! A snapshot is the state built from every record of a log before its `as_of` offset,
//! written into the same log as one or more [`SnapshotPart`] records (big states are
//! cut into chunks that fit in a message). Every worker builds the same state from the
//! same records, so any worker's snapshot of a position is the same: the leader writes
//! them, on a timer ([`due`]).
//!
//! Readers that already have the state (a running worker, or one that starts from its
//! local copy) only note where the newest complete snapshot sits ([`SnapshotRef`], sent
//! with every heartbeat). A starting worker picks its starting point with [`start`]:
//! the newest snapshot named in a recent heartbeat, its local copy, the last snapshot
//! found by reading the log when its first records are gone, or the log's first record.
//! After a snapshot it reads the log on from the snapshot's `as_of`, skipping snapshot
//! records.

use std::ops::ControlFlow;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::log::{scan, LogPos, LogSource};
use super::ClusterError;

/// Largest chunk of snapshot text in one record (RocketMQ's default message limit is
/// 4 MiB; JSON escaping of the chunk can add a little).
pub const CHUNK_BYTES: usize = 512 * 1024;
/// A new snapshot is written at least this often even when nothing changed, so the
/// newest one is never older than this — well within the broker's default retention
/// of 72 hours.
pub const SNAPSHOT_REFRESH: Duration = Duration::from_secs(6 * 3600);

/// One record of a snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotPart {
    /// Every record of the log before this offset is in the snapshot.
    pub as_of: i64,
    /// The worker (and its incarnation) that wrote it; with `as_of`, tells snapshots
    /// apart.
    pub writer: String,
    /// This part's number, from 0.
    pub part: u32,
    /// How many parts the snapshot has.
    pub parts: u32,
    /// A piece of the snapshot's JSON text; the parts' chunks in order are the text.
    pub chunk: String,
}

/// Where a complete snapshot sits in its log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotRef {
    /// Offset of its first part.
    pub offset: i64,
    /// Every record before this offset is in it.
    pub as_of: i64,
    /// When the broker stored its first part (epoch milliseconds, broker clock).
    pub store_ms: i64,
}

impl SnapshotRef {
    /// Whether a log whose records run from `min` to `end` still holds the snapshot and
    /// everything after its `as_of`.
    fn usable(&self, min: i64, end: i64) -> bool {
        self.as_of >= min && self.as_of <= self.offset && self.offset < end
    }
}

/// The newest snapshots of the config and offsets logs a worker knows of.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotRefs {
    /// Of the config log.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<SnapshotRef>,
    /// Of the offsets log.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub positions: Option<SnapshotRef>,
}

impl SnapshotRefs {
    /// Whether it names no snapshot.
    pub fn is_empty(&self) -> bool {
        self.config.is_none() && self.positions.is_none()
    }

    /// Keeps, for each log, the newer of the two.
    pub fn merge(&mut self, other: &SnapshotRefs) {
        fn newer(a: Option<SnapshotRef>, b: Option<SnapshotRef>) -> Option<SnapshotRef> {
            match (a, b) {
                (Some(a), Some(b)) => Some(if b.as_of > a.as_of { b } else { a }),
                (a, b) => a.or(b),
            }
        }
        self.config = newer(self.config, other.config);
        self.positions = newer(self.positions, other.positions);
    }
}

/// A log record that may be a snapshot part.
pub trait SnapshotRecord {
    /// The part, if the record is one.
    fn snapshot_part(&self) -> Option<&SnapshotPart>;
}

/// Cuts a snapshot's text into parts of at most [`CHUNK_BYTES`] (at character
/// boundaries).
pub fn split(text: &str, as_of: i64, writer: &str) -> Vec<SnapshotPart> {
    split_in(text, as_of, writer, CHUNK_BYTES)
}

fn split_in(text: &str, as_of: i64, writer: &str, chunk_bytes: usize) -> Vec<SnapshotPart> {
    let mut chunks = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let mut cut = rest.len().min(chunk_bytes.max(4));
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        let (chunk, tail) = rest.split_at(cut);
        chunks.push(chunk.to_owned());
        rest = tail;
    }
    if chunks.is_empty() {
        chunks.push(String::new());
    }
    let parts = u32::try_from(chunks.len()).unwrap_or(u32::MAX);
    chunks
        .into_iter()
        .enumerate()
        .map(|(i, chunk)| SnapshotPart {
            as_of,
            writer: writer.to_owned(),
            part: u32::try_from(i).unwrap_or(u32::MAX),
            parts,
            chunk,
        })
        .collect()
}

/// Puts a snapshot's parts back together as they are read, in log order. Parts of
/// another snapshot, a missing part or a part out of order drop the snapshot being
/// assembled (its writer died half-way; a later snapshot replaces it).
#[derive(Debug, Default)]
pub struct Assembler {
    /// Keep the text (a starting worker) or only follow the parts (a running one).
    keep_text: bool,
    current: Option<Assembling>,
}

#[derive(Debug)]
struct Assembling {
    first: SnapshotRef,
    writer: String,
    parts: u32,
    next_part: u32,
    text: String,
}

impl Assembler {
    /// An assembler that keeps the text.
    pub fn with_text() -> Self {
        Self {
            keep_text: true,
            current: None,
        }
    }

    /// Takes the part read at `pos`; returns the snapshot once its last part is read
    /// (with its text if kept).
    pub fn feed(&mut self, pos: LogPos, part: &SnapshotPart) -> Option<(SnapshotRef, String)> {
        if part.parts == 0 || part.part >= part.parts {
            self.current = None;
            return None;
        }
        if part.part == 0 {
            self.current = Some(Assembling {
                first: SnapshotRef {
                    offset: pos.offset,
                    as_of: part.as_of,
                    store_ms: pos.store_ms,
                },
                writer: part.writer.clone(),
                parts: part.parts,
                next_part: 0,
                text: String::new(),
            });
        }
        let continues = self.current.as_ref().is_some_and(|c| {
            c.writer == part.writer
                && c.first.as_of == part.as_of
                && c.parts == part.parts
                && c.next_part == part.part
        });
        if !continues {
            self.current = None;
            return None;
        }
        let c = self.current.as_mut()?;
        if self.keep_text {
            c.text.push_str(&part.chunk);
        }
        c.next_part += 1;
        if c.next_part < c.parts {
            return None;
        }
        self.current.take().map(|c| (c.first, c.text))
    }
}

/// Whether the leader should write a new snapshot of a log now: when the log has
/// records after the newest snapshot and that one is older than `interval`, or when the
/// newest is older than [`SNAPSHOT_REFRESH`] (so one is always within retention), or
/// when there is none yet and the log has records.
pub fn due(
    newest: Option<SnapshotRef>,
    last_change: i64,
    applied: i64,
    now_ms: i64,
    interval: Duration,
) -> bool {
    let ms = |d: Duration| i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
    match newest {
        None => applied > 0,
        Some(r) => {
            let age = now_ms.saturating_sub(r.store_ms);
            (last_change >= r.as_of && age >= ms(interval)) || age >= ms(SNAPSHOT_REFRESH)
        }
    }
}

/// Where reading a log starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartedFrom {
    /// A snapshot.
    Snapshot(SnapshotRef),
    /// The worker's local copy.
    LocalCopy,
    /// The log's first record (the log is whole).
    FirstRecord,
    /// The log's first records are gone and no snapshot was found: state written
    /// before `min` is missing.
    Incomplete {
        /// The log's first offset.
        min: i64,
    },
}

/// A log's starting state and where to read on from.
#[derive(Debug)]
pub struct Start<S> {
    /// The state before `from`.
    pub state: S,
    /// The first offset to read.
    pub from: i64,
    /// Where the state came from.
    pub how: StartedFrom,
}

/// Chooses where a worker starts reading a log whose records run from `min` to `end`:
/// the snapshot at `pointer` if it is ahead of the local `copy` (state before the
/// copy's offset), else the copy, else — when the log's first records are gone — the
/// last snapshot found in the log, else its first record.
pub async fn start<S, R>(
    log: &dyn LogSource,
    cluster: &str,
    (min, end): (i64, i64),
    copy: Option<(i64, S)>,
    pointer: Option<SnapshotRef>,
) -> Result<Start<S>, ClusterError>
where
    S: DeserializeOwned + Default,
    R: DeserializeOwned + SnapshotRecord,
{
    // A copy at `min` holds everything the log no longer does.
    let copy = copy.filter(|(next, _)| *next >= min && *next <= end);
    let ahead = pointer
        .filter(|p| p.usable(min, end) && copy.as_ref().is_none_or(|(next, _)| p.as_of > *next));
    if let Some(p) = ahead {
        match read_at::<R>(log, cluster, p, end).await? {
            Some(text) => {
                if let Some(start) = parsed(log, p, &text) {
                    return Ok(start);
                }
            }
            None => tracing::warn!(
                topic = log.topic(),
                offset = p.offset,
                "the snapshot named by the cluster is not in the log; starting without it"
            ),
        }
    }
    if let Some((next, state)) = copy {
        return Ok(Start {
            state,
            from: next,
            how: StartedFrom::LocalCopy,
        });
    }
    if min > 0 {
        if let Some((p, text)) = last_in::<R>(log, cluster, min, end).await? {
            if let Some(start) = parsed(log, p, &text) {
                return Ok(start);
            }
        }
        return Ok(Start {
            state: S::default(),
            from: min,
            how: StartedFrom::Incomplete { min },
        });
    }
    Ok(Start {
        state: S::default(),
        from: min,
        how: StartedFrom::FirstRecord,
    })
}

/// The start from a snapshot's text, or `None` (logged) if it cannot be read.
fn parsed<S: DeserializeOwned>(
    log: &dyn LogSource,
    at: SnapshotRef,
    text: &str,
) -> Option<Start<S>> {
    match serde_json::from_str::<S>(text) {
        Ok(state) => Some(Start {
            state,
            from: at.as_of,
            how: StartedFrom::Snapshot(at),
        }),
        Err(e) => {
            tracing::warn!(
                topic = log.topic(),
                offset = at.offset,
                error = %e,
                "cannot read a snapshot of this internal topic; starting without it"
            );
            None
        }
    }
}

/// Reads the snapshot whose first part is at `at`.
async fn read_at<R>(
    log: &dyn LogSource,
    cluster: &str,
    at: SnapshotRef,
    end: i64,
) -> Result<Option<String>, ClusterError>
where
    R: DeserializeOwned + SnapshotRecord,
{
    let mut assembler = Assembler::with_text();
    let mut found = None;
    scan::<R, _>(log, cluster, at.offset, end, |pos, record| {
        if let Some(part) = record.snapshot_part() {
            if part.part == 0 && pos.offset != at.offset {
                // The snapshot asked for was incomplete; a newer one starts here.
                return ControlFlow::Break(());
            }
            if let Some((r, text)) = assembler.feed(pos, part) {
                if r.offset == at.offset && r.as_of == at.as_of {
                    found = Some(text);
                }
                return ControlFlow::Break(());
            }
        }
        ControlFlow::Continue(())
    })
    .await?;
    Ok(found)
}

/// Reads the log from `min` to `end` and returns its last complete snapshot whose
/// `as_of` is still in the log.
async fn last_in<R>(
    log: &dyn LogSource,
    cluster: &str,
    min: i64,
    end: i64,
) -> Result<Option<(SnapshotRef, String)>, ClusterError>
where
    R: DeserializeOwned + SnapshotRecord,
{
    let mut assembler = Assembler::with_text();
    let mut last = None;
    scan::<R, _>(log, cluster, min, end, |pos, record| {
        if let Some(part) = record.snapshot_part() {
            if let Some((r, text)) = assembler.feed(pos, part) {
                if r.usable(min, end) {
                    last = Some((r, text));
                }
            }
        }
        ControlFlow::Continue(())
    })
    .await?;
    Ok(last)
}

#[cfg(test)]
mod tests;

//! How an index without a committed position is read first: `es.backfill.*`.
//!
//! Contract: parsing only; what the modes do is in [`crate::backfill`].

use std::time::Duration;

use connect_api::ConfigReader;

use super::tracking::parse_duration;

/// `pit` (the default) or `sorted`.
pub const BACKFILL_MODE: &str = "es.backfill.mode";
/// PIT slices one task reads an index's snapshot with, in parallel: `auto` (one per
/// primary shard) or a number.
pub const BACKFILL_SLICES: &str = "es.backfill.slices";
/// About how many documents one range of the snapshot holds.
pub const BACKFILL_RANGE_DOCS: &str = "es.backfill.range.docs";
/// How long Elasticsearch keeps the point in time between two searches.
pub const BACKFILL_KEEP_ALIVE: &str = "es.backfill.keep.alive";
/// Default of [`BACKFILL_RANGE_DOCS`].
pub const DEFAULT_BACKFILL_RANGE_DOCS: u64 = 1_000_000;
/// Default of [`BACKFILL_KEEP_ALIVE`].
pub const DEFAULT_BACKFILL_KEEP_ALIVE: Duration = Duration::from_secs(300);
/// Largest [`BACKFILL_SLICES`].
pub const MAX_BACKFILL_SLICES: u32 = 32;
/// Most slices `auto` picks: each slice holds a page and the next one in memory.
pub const MAX_AUTO_BACKFILL_SLICES: u32 = 8;
/// Smallest [`BACKFILL_KEEP_ALIVE`].
pub const MIN_BACKFILL_KEEP_ALIVE: Duration = Duration::from_secs(10);
/// Largest [`BACKFILL_KEEP_ALIVE`]: Elasticsearch's default `search.max_keep_alive`.
pub const MAX_BACKFILL_KEEP_ALIVE: Duration = Duration::from_secs(86_400);

/// How an index without a committed position is read first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BackfillMode {
    /// Through a point in time in `_shard_doc` order up to a snapshot bound, then
    /// incrementally from that bound.
    #[default]
    Pit,
    /// Incrementally from the start, sorted on the tracking field (as before PIT
    /// backfills existed).
    Sorted,
}

/// `es.backfill.slices`, parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BackfillSlices {
    /// One slice per primary shard of the index (as the snapshot's count search
    /// reports them), at most [`MAX_AUTO_BACKFILL_SLICES`]. A slice per shard reads each
    /// shard on its own; one slice over several shards makes every shard collect a full
    /// page for each page (bench/README.md, stage S).
    #[default]
    Auto,
    /// This many slices (1 to [`MAX_BACKFILL_SLICES`]).
    Fixed(u32),
}

impl BackfillSlices {
    /// The slices for an index of `shards` primary shards.
    pub fn for_shards(self, shards: u64) -> u32 {
        match self {
            BackfillSlices::Fixed(n) => n,
            BackfillSlices::Auto => u32::try_from(shards)
                .unwrap_or(u32::MAX)
                .clamp(1, MAX_AUTO_BACKFILL_SLICES),
        }
    }
}

/// `es.backfill.*`, parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackfillSettings {
    /// `es.backfill.mode`.
    pub mode: BackfillMode,
    /// `es.backfill.slices`: `auto` (the default) reads one slice per primary shard;
    /// 1 reads the snapshot in one `_shard_doc` sequence.
    pub slices: BackfillSlices,
    /// `es.backfill.range.docs`: the snapshot is cut into ranges of the tracking field
    /// of about this many documents, read one after the other; an expired point in time
    /// repeats at most the range being read.
    pub range_docs: u64,
    /// `es.backfill.keep.alive`: renewed by every search of the snapshot.
    pub keep_alive: Duration,
}

impl Default for BackfillSettings {
    fn default() -> Self {
        Self {
            mode: BackfillMode::Pit,
            slices: BackfillSlices::Auto,
            range_docs: DEFAULT_BACKFILL_RANGE_DOCS,
            keep_alive: DEFAULT_BACKFILL_KEEP_ALIVE,
        }
    }
}

impl BackfillSettings {
    /// The keep-alive as Elasticsearch writes durations (`300s`).
    pub fn keep_alive_param(&self) -> String {
        format!("{}s", self.keep_alive.as_secs())
    }
}

/// Reads `es.backfill.mode`, `es.backfill.slices`, `es.backfill.range.docs` and
/// `es.backfill.keep.alive`.
pub(super) fn read_backfill(r: &mut ConfigReader<'_>) -> BackfillSettings {
    let mode = match r.optional_str(BACKFILL_MODE).as_deref() {
        None | Some("pit") => BackfillMode::Pit,
        Some("sorted") => BackfillMode::Sorted,
        Some(other) => {
            r.error(
                BACKFILL_MODE,
                format!("{other:?} is not a mode; use pit or sorted"),
            );
            BackfillMode::Pit
        }
    };
    let slices = match r.optional_str(BACKFILL_SLICES).as_deref() {
        None | Some("auto") => BackfillSlices::Auto,
        Some(raw) => match raw.parse::<u32>() {
            Ok(n) if (1..=MAX_BACKFILL_SLICES).contains(&n) => BackfillSlices::Fixed(n),
            _ => {
                r.error(
                    BACKFILL_SLICES,
                    format!("{raw:?} is not auto or a number from 1 to {MAX_BACKFILL_SLICES}"),
                );
                BackfillSlices::Auto
            }
        },
    };
    let range_docs = r.number_or(
        BACKFILL_RANGE_DOCS,
        DEFAULT_BACKFILL_RANGE_DOCS,
        1000..=1_000_000_000,
    );
    let keep_alive = match r.optional_str(BACKFILL_KEEP_ALIVE) {
        None => DEFAULT_BACKFILL_KEEP_ALIVE,
        Some(raw) => match parse_duration(&raw) {
            Ok(d) if (MIN_BACKFILL_KEEP_ALIVE..=MAX_BACKFILL_KEEP_ALIVE).contains(&d) => {
                Duration::from_secs(d.as_secs())
            }
            Ok(_) => {
                r.error(
                    BACKFILL_KEEP_ALIVE,
                    format!("{raw:?} must be between 10s and 24h"),
                );
                DEFAULT_BACKFILL_KEEP_ALIVE
            }
            Err(msg) => {
                r.error(BACKFILL_KEEP_ALIVE, msg);
                DEFAULT_BACKFILL_KEEP_ALIVE
            }
        },
    };
    BackfillSettings {
        mode,
        slices,
        range_docs,
        keep_alive,
    }
}

//! The read position in one index, how it advances over a page of hits, and its
//! stored offset form.
//!
//! Contract: [`advance`] is pure. Given the cursor a page was searched with and the page's
//! hits (in the order Elasticsearch sorted them), it returns the cursor for the next
//! search and, per hit, the cursor to commit once that hit is delivered (`None` = not a
//! resume point). Resuming from any returned cursor re-reads nothing before it and skips
//! nothing after it, also when many documents share one tracking value:
//!
//! - with a tiebreaker ([`CursorMode::SearchAfter`]) the cursor is the `sort` values
//!   `[tracking, tiebreaker]` of the last hit, used as `search_after`; every hit is a
//!   resume point. Offset: `{"sort": [<tracking>, <tiebreaker>]}`.
//! - without one ([`CursorMode::BoundaryIds`]) the cursor is the last tracking value and
//!   the ids already read at that value; the next search asks for `gte value` minus those
//!   ids. Only the last hit of each run of equal tracking values is a resume point, since
//!   each such offset carries a whole id set. Offset: `{"value": <tracking>, "ids": [..]}`.
//!
//! Sort values are kept exactly as Elasticsearch returned them (a JSON number or string),
//! so they round-trip into `search_after` and `range` unchanged.

use std::cmp::Ordering;

use connect_api::{ConnectError, SourceOffset};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::error::EsError;
use crate::tracking::{compare, TrackingKind};

/// Which kind of cursor a task keeps; decided by whether `es.tiebreaker.field` is set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CursorMode {
    /// `es.tiebreaker.field` is set: `search_after` the last `[tracking, tiebreaker]`.
    SearchAfter,
    /// No tiebreaker: `gte` the last tracking value, minus the ids read at it.
    BoundaryIds,
}

impl CursorMode {
    /// The mode for a config with or without a tiebreaker field.
    pub fn new(has_tiebreaker: bool) -> Self {
        if has_tiebreaker {
            CursorMode::SearchAfter
        } else {
            CursorMode::BoundaryIds
        }
    }

    /// How many values each hit's `sort` array holds in this mode.
    pub fn sort_len(self) -> usize {
        match self {
            CursorMode::SearchAfter => 2,
            CursorMode::BoundaryIds => 1,
        }
    }
}

/// The read position in one index.
#[derive(Debug, Clone, PartialEq)]
pub enum Cursor {
    /// Nothing committed yet: read from the first document.
    Start,
    /// Nothing committed yet: read from a tracking value (`es.start`), including it or
    /// not. Never stored: the first page replaces it.
    From {
        /// The tracking sort value to start at.
        value: Value,
        /// `true`: documents at `value` are read (`gte`); `false`: only above it (`gt`).
        inclusive: bool,
    },
    /// The `sort` values `[tracking, tiebreaker]` of the last document read.
    After(Vec<Value>),
    /// The last tracking value read and the `_id`s already read at exactly that value.
    Boundary {
        /// The tracking sort value, as Elasticsearch returned it.
        value: Value,
        /// The ids read at `value`, in the order they were read.
        ids: Vec<String>,
    },
}

/// Stored form of [`Cursor::After`].
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct AfterOffset {
    sort: Vec<Value>,
}

/// Stored form of [`Cursor::Boundary`].
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct BoundaryOffset {
    value: Value,
    ids: Vec<String>,
}

impl Cursor {
    /// The cursor of a partition from its committed offset (`None`: start at the beginning).
    ///
    /// Fails with a config error when the offset was written in the other mode, because
    /// `es.tiebreaker.field` was added or removed since: resuming would skip or repeat
    /// documents.
    pub fn from_offset(
        offset: Option<&SourceOffset>,
        mode: CursorMode,
        index: &str,
    ) -> Result<Self, EsError> {
        let Some(offset) = offset else {
            return Ok(Cursor::Start);
        };
        let mismatch = |written: &str| {
            EsError::Offset(format!(
                "the committed offset of index {index} was written {written}; restore \
                 es.tiebreaker.field as it was, or reset the connector's offsets to read \
                 the index again"
            ))
        };
        let invalid = |e: connect_api::ConnectError| {
            EsError::Offset(format!(
                "the committed offset of index {index} is not an es-source offset ({}); \
                 reset the connector's offsets",
                e.chain()
            ))
        };
        match (offset.get("sort").is_some(), mode) {
            (true, CursorMode::SearchAfter) => {
                let o: AfterOffset = offset.to_typed().map_err(invalid)?;
                if o.sort.len() != 2 {
                    return Err(EsError::Offset(format!(
                        "the committed offset of index {index} holds {} sort values instead \
                         of 2; reset the connector's offsets",
                        o.sort.len()
                    )));
                }
                Ok(Cursor::After(o.sort))
            }
            (false, CursorMode::BoundaryIds) => {
                let o: BoundaryOffset = offset.to_typed().map_err(invalid)?;
                Ok(Cursor::Boundary {
                    value: o.value,
                    ids: o.ids,
                })
            }
            (true, CursorMode::BoundaryIds) => Err(mismatch("with es.tiebreaker.field set")),
            (false, CursorMode::SearchAfter) => Err(mismatch("without es.tiebreaker.field")),
        }
    }

    /// The offset to store for this cursor; `None` for [`Cursor::Start`].
    pub fn to_offset(&self) -> Result<Option<SourceOffset>, EsError> {
        let encoded = match self {
            Cursor::Start | Cursor::From { .. } => return Ok(None),
            // Built as the JSON `AfterOffset` serializes to, without serializing it (this
            // runs for every record read).
            Cursor::After(sort) => {
                SourceOffset::try_from(json!({ "sort": sort })).map_err(ConnectError::fatal)
            }
            Cursor::Boundary { value, ids } => SourceOffset::from_typed(&BoundaryOffset {
                value: value.clone(),
                ids: ids.clone(),
            }),
        };
        encoded.map(Some).map_err(|e| EsError::Offset(e.chain()))
    }
}

/// What one page does to a cursor.
#[derive(Debug, Clone, PartialEq)]
pub struct Advance {
    /// Per hit, in page order: the cursor to commit once this hit is delivered, or
    /// `None` when resuming right after this hit is not possible without an id set.
    pub offsets: Vec<Option<Cursor>>,
    /// The cursor for the next search.
    pub next: Cursor,
}

/// The position of one hit: its `_id` and its `sort` values.
#[derive(Debug, Clone, Copy)]
pub struct HitPos<'a> {
    /// The hit's `_id`.
    pub id: &'a str,
    /// The hit's `sort` array.
    pub sort: &'a [Value],
}

/// The tracking value a cursor stands at, and whether hits may equal it.
fn floor(cursor: &Cursor) -> Option<(&Value, bool)> {
    match cursor {
        Cursor::Start => None,
        Cursor::From { value, inclusive } => Some((value, *inclusive)),
        // search_after [v, tb]: later hits may share v with a larger tiebreaker.
        Cursor::After(sort) => sort.first().map(|v| (v, true)),
        Cursor::Boundary { value, .. } => Some((value, true)),
    }
}

/// Advances `cursor` of `index` over one page of hits, sorted as the search asked.
///
/// Fails (with the cursor left to the caller, unchanged) when a hit lacks the sort values
/// the mode needs, or when a hit's tracking value lies below the cursor or below the hit
/// before it: the cursor never moves backwards, and such a page means the index no
/// longer sorts the way the cursor was built (for example a changed mapping).
pub fn advance(
    cursor: &Cursor,
    mode: CursorMode,
    kind: TrackingKind,
    index: &str,
    hits: &[HitPos<'_>],
) -> Result<Advance, EsError> {
    let out_of_order = |id: &str, detail: String| EsError::Decode {
        what: format!("search on index {index}"),
        detail: format!("document {index}/{id} {detail}; the cursor never moves backwards"),
    };
    let mut previous = floor(cursor).map(|(v, inclusive)| (v.clone(), inclusive));
    for hit in hits {
        if hit.sort.len() != mode.sort_len() {
            return Err(EsError::Decode {
                what: format!("search on index {index}"),
                detail: format!(
                    "hit {} has {} sort values, expected {}",
                    hit.id,
                    hit.sort.len(),
                    mode.sort_len()
                ),
            });
        }
        let value = &hit.sort[0];
        if let Some((floor, inclusive)) = &previous {
            match compare(kind, value, floor) {
                None => {
                    return Err(out_of_order(
                        hit.id,
                        format!("has tracking value {value}, which cannot be compared with the cursor value {floor} (was the field's mapping changed?)"),
                    ))
                }
                Some(Ordering::Less) => {
                    return Err(out_of_order(
                        hit.id,
                        format!("has tracking value {value}, below the cursor value {floor}"),
                    ))
                }
                Some(Ordering::Equal) if !inclusive => {
                    return Err(out_of_order(
                        hit.id,
                        format!("has tracking value {value}, which the cursor is already past"),
                    ))
                }
                _ => {}
            }
        }
        previous = Some((value.clone(), true));
    }
    let Some(last) = hits.last() else {
        return Ok(Advance {
            offsets: Vec::new(),
            next: cursor.clone(),
        });
    };
    match mode {
        CursorMode::SearchAfter => Ok(Advance {
            offsets: hits
                .iter()
                .map(|h| Some(Cursor::After(h.sort.to_vec())))
                .collect(),
            next: Cursor::After(last.sort.to_vec()),
        }),
        CursorMode::BoundaryIds => Ok(advance_boundary(cursor, hits)),
    }
}

fn advance_boundary(cursor: &Cursor, hits: &[HitPos<'_>]) -> Advance {
    // The ids already read at the cursor's value carry over only while the page stays at
    // that value; the first different value starts a fresh set.
    let (mut value, mut ids) = match cursor {
        Cursor::Boundary { value, ids } => (Some(value), ids.clone()),
        Cursor::Start | Cursor::From { .. } | Cursor::After(_) => (None, Vec::new()),
    };
    let mut offsets = Vec::with_capacity(hits.len());
    for (i, hit) in hits.iter().enumerate() {
        let v = &hit.sort[0];
        if value != Some(v) {
            value = Some(v);
            ids.clear();
        }
        ids.push(hit.id.to_owned());
        // A resume point only where the run of equal values ends inside this page: the
        // next hit has another value, or this is the page's last hit.
        let run_ends = hits.get(i + 1).is_none_or(|next| next.sort[0] != *v);
        offsets.push(run_ends.then(|| Cursor::Boundary {
            value: v.clone(),
            ids: ids.clone(),
        }));
    }
    let next = offsets
        .last()
        .cloned()
        .flatten()
        .unwrap_or_else(|| cursor.clone());
    Advance { offsets, next }
}

#[cfg(test)]
mod tests;

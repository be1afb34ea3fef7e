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
mod tests {
    use super::*;
    use serde_json::json;
    use std::collections::{BTreeMap, BTreeSet};

    fn pos<'a>(docs: &'a [(String, Vec<Value>)]) -> Vec<HitPos<'a>> {
        docs.iter().map(|(id, sort)| HitPos { id, sort }).collect()
    }

    #[test]
    fn search_after_mode_gives_every_hit_an_offset() {
        let docs = vec![
            ("a".to_string(), vec![json!(1), json!("a")]),
            ("b".to_string(), vec![json!(1), json!("b")]),
        ];
        let adv = advance(
            &Cursor::Start,
            CursorMode::SearchAfter,
            TrackingKind::Long,
            "i",
            &pos(&docs),
        )
        .unwrap();
        assert_eq!(
            adv.offsets,
            [
                Some(Cursor::After(vec![json!(1), json!("a")])),
                Some(Cursor::After(vec![json!(1), json!("b")]))
            ]
        );
        assert_eq!(adv.next, Cursor::After(vec![json!(1), json!("b")]));
    }

    #[test]
    fn boundary_mode_puts_offsets_on_run_ends_only() {
        let docs: Vec<_> = [("a", 1), ("b", 1), ("c", 2), ("d", 3), ("e", 3)]
            .iter()
            .map(|(id, v)| (id.to_string(), vec![json!(v)]))
            .collect();
        let start = Cursor::Boundary {
            value: json!(1),
            ids: vec!["z".into()],
        };
        let adv = advance(
            &start,
            CursorMode::BoundaryIds,
            TrackingKind::Long,
            "i",
            &pos(&docs),
        )
        .unwrap();
        let b = |v: i64, ids: &[&str]| {
            Some(Cursor::Boundary {
                value: json!(v),
                ids: ids.iter().map(|s| s.to_string()).collect(),
            })
        };
        assert_eq!(
            adv.offsets,
            [
                None,
                b(1, &["z", "a", "b"]),
                b(2, &["c"]),
                None,
                b(3, &["d", "e"])
            ]
        );
        assert_eq!(adv.next, b(3, &["d", "e"]).unwrap());
    }

    #[test]
    fn empty_page_keeps_the_cursor() {
        let c = Cursor::Boundary {
            value: json!("k"),
            ids: vec!["x".into()],
        };
        let adv = advance(&c, CursorMode::BoundaryIds, TrackingKind::Keyword, "i", &[]).unwrap();
        assert_eq!(adv.next, c);
        assert!(adv.offsets.is_empty());
    }

    #[test]
    fn hits_without_the_expected_sort_values_are_an_error() {
        let docs = vec![("a".to_string(), vec![json!(1)])];
        let err = advance(
            &Cursor::Start,
            CursorMode::SearchAfter,
            TrackingKind::Long,
            "i",
            &pos(&docs),
        )
        .unwrap_err();
        assert!(err.to_string().contains("expected 2"), "{err}");
    }

    #[test]
    fn offsets_round_trip_and_reject_the_other_mode() {
        let after = Cursor::After(vec![json!(1_700_000_000_000_i64), json!("id-9")]);
        let off = after.to_offset().unwrap().unwrap();
        assert_eq!(
            off.to_canonical_bytes(),
            br#"{"sort":[1700000000000,"id-9"]}"#
        );
        assert_eq!(
            Cursor::from_offset(Some(&off), CursorMode::SearchAfter, "i").unwrap(),
            after
        );
        let err = Cursor::from_offset(Some(&off), CursorMode::BoundaryIds, "i").unwrap_err();
        assert!(err.to_string().contains("with es.tiebreaker.field set"));

        let boundary = Cursor::Boundary {
            value: json!(2.5),
            ids: vec!["b".into(), "a".into()],
        };
        let off = boundary.to_offset().unwrap().unwrap();
        assert_eq!(
            off.to_canonical_bytes(),
            br#"{"ids":["b","a"],"value":2.5}"#
        );
        assert_eq!(
            Cursor::from_offset(Some(&off), CursorMode::BoundaryIds, "i").unwrap(),
            boundary
        );
        assert!(Cursor::from_offset(Some(&off), CursorMode::SearchAfter, "i").is_err());
        assert_eq!(Cursor::Start.to_offset().unwrap(), None);
        assert_eq!(
            Cursor::from_offset(None, CursorMode::BoundaryIds, "i").unwrap(),
            Cursor::Start
        );
        let junk = SourceOffset::try_from(json!({"value": 1})).unwrap();
        assert!(Cursor::from_offset(Some(&junk), CursorMode::BoundaryIds, "i").is_err());
    }

    /// An in-memory index that answers searches the way the query module asks
    /// Elasticsearch to: ascending by value, ties in an order that changes per search
    /// (Elasticsearch does not promise a stable order for ties without a tiebreaker).
    struct FakeIndex {
        docs: Vec<(String, i64)>,
        searches: u64,
    }

    impl FakeIndex {
        fn search(&mut self, cursor: &Cursor, size: usize) -> Vec<(String, Vec<Value>)> {
            self.searches += 1;
            let salt = self.searches;
            let mut hits: Vec<_> = self
                .docs
                .iter()
                .filter(|(id, v)| match cursor {
                    Cursor::Start => true,
                    Cursor::Boundary { value, ids } => {
                        *v >= value.as_i64().unwrap() && !ids.contains(id)
                    }
                    Cursor::From { .. } | Cursor::After(_) => unreachable!(),
                })
                .cloned()
                .collect();
            let scramble = |id: &str| {
                id.bytes().fold(salt.wrapping_mul(0x9E37_79B9), |h, b| {
                    (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01B3)
                })
            };
            hits.sort_by_key(|(id, v)| (*v, scramble(id)));
            hits.truncate(size);
            hits.into_iter()
                .map(|(id, v)| (id, vec![json!(v)]))
                .collect()
        }
    }

    /// Reads the index to the end from `cursor`; returns (id, offset) per emitted hit.
    fn drain(
        index: &mut FakeIndex,
        mut cursor: Cursor,
        size: usize,
    ) -> Vec<(String, Option<Cursor>)> {
        let mut out = Vec::new();
        loop {
            let page = index.search(&cursor, size);
            if page.is_empty() {
                return out;
            }
            let adv = advance(
                &cursor,
                CursorMode::BoundaryIds,
                TrackingKind::Long,
                "i",
                &pos(&page),
            )
            .unwrap();
            assert!(
                adv.offsets.last().unwrap().is_some(),
                "a page must end on an offset"
            );
            for ((id, _), off) in page.into_iter().zip(adv.offsets) {
                out.push((id, off));
            }
            cursor = adv.next;
        }
    }

    fn tie_heavy_index() -> FakeIndex {
        // 10 docs at value 1, a tie group of 500 at value 2, then 37 docs at value 3
        // and a few singletons: the 500 span several pages of 200.
        let mut docs = Vec::new();
        for i in 0..10 {
            docs.push((format!("one-{i}"), 1));
        }
        for i in 0..500 {
            docs.push((format!("two-{i:03}"), 2));
        }
        for i in 0..37 {
            docs.push((format!("three-{i}"), 3));
        }
        for v in 4..20 {
            docs.push((format!("single-{v}"), v));
        }
        FakeIndex { docs, searches: 0 }
    }

    #[test]
    fn tie_group_spanning_pages_is_read_exactly_once() {
        let mut index = tie_heavy_index();
        let total = index.docs.len();
        let out = drain(&mut index, Cursor::Start, 200);
        let mut counts = BTreeMap::new();
        for (id, _) in &out {
            *counts.entry(id.clone()).or_insert(0) += 1;
        }
        assert_eq!(counts.len(), total, "every id is read");
        assert!(counts.values().all(|&n| n == 1), "no id is read twice");
        // Inside the tie group, only page ends carry offsets.
        let tie_offsets = out
            .iter()
            .filter(|(id, off)| id.starts_with("two-") && off.is_some())
            .count();
        assert!(tie_offsets <= 4, "{tie_offsets} offsets in the tie group");
    }

    #[test]
    fn restart_from_any_committed_offset_loses_nothing() {
        let mut index = tie_heavy_index();
        let all: BTreeSet<String> = index.docs.iter().map(|(id, _)| id.clone()).collect();
        let first = drain(&mut index, Cursor::Start, 200);
        // Every record that carries an offset is a possible last commit before a crash.
        for (k, (_, committed)) in first.iter().enumerate() {
            let Some(committed) = committed else { continue };
            let delivered: BTreeSet<String> =
                first[..=k].iter().map(|(id, _)| id.clone()).collect();
            // The restart goes through the stored form, as the runtime would hand it back.
            let stored = committed.to_offset().unwrap();
            let resumed_from =
                Cursor::from_offset(stored.as_ref(), CursorMode::BoundaryIds, "i").unwrap();
            let again = drain(&mut index, resumed_from, 200);
            let again_ids: Vec<String> = again.into_iter().map(|(id, _)| id).collect();
            let again_set: BTreeSet<String> = again_ids.iter().cloned().collect();
            assert_eq!(
                again_set.len(),
                again_ids.len(),
                "duplicates after restart at {k}"
            );
            assert!(
                delivered.is_disjoint(&again_set),
                "re-read after restart at {k}"
            );
            let union: BTreeSet<String> = delivered.union(&again_set).cloned().collect();
            assert_eq!(union, all, "lost documents after restart at {k}");
        }
    }

    #[test]
    fn new_documents_at_the_boundary_value_are_read_later() {
        let mut index = tie_heavy_index();
        let out = drain(&mut index, Cursor::Start, 200);
        let Some((_, Some(last))) = out.last().cloned() else {
            panic!("no offset at the end")
        };
        // Late documents at the last value and above it.
        index.docs.push(("late-19".into(), 19));
        index.docs.push(("late-25".into(), 25));
        let more: Vec<_> = drain(&mut index, last, 200)
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        assert_eq!(more, ["late-19", "late-25"]);
    }

    #[test]
    fn a_hit_below_the_cursor_is_an_error_naming_index_and_id() {
        let at_five = Cursor::Boundary {
            value: json!(5),
            ids: vec!["a".into()],
        };
        let docs = vec![
            ("b".to_string(), vec![json!(5)]),
            ("c".to_string(), vec![json!(4)]),
        ];
        let err = advance(
            &at_five,
            CursorMode::BoundaryIds,
            TrackingKind::Long,
            "orders",
            &pos(&docs),
        )
        .unwrap_err();
        assert!(err.to_string().contains("orders/c"), "{err}");
        assert!(
            err.to_string().contains("below the cursor value 5"),
            "{err}"
        );

        // Out of order inside a page, and across a search_after cursor.
        let docs = vec![
            ("x".to_string(), vec![json!("b"), json!(1)]),
            ("y".to_string(), vec![json!("a"), json!(2)]),
        ];
        let err = advance(
            &Cursor::Start,
            CursorMode::SearchAfter,
            TrackingKind::Keyword,
            "i",
            &pos(&docs),
        )
        .unwrap_err();
        assert!(err.to_string().contains("i/y"), "{err}");
        let after = Cursor::After(vec![json!("m"), json!(1)]);
        let docs = vec![("z".to_string(), vec![json!("l"), json!(9)])];
        assert!(advance(
            &after,
            CursorMode::SearchAfter,
            TrackingKind::Keyword,
            "i",
            &pos(&docs)
        )
        .is_err());

        // A value of another type (the mapping changed under a committed cursor).
        let docs = vec![("k".to_string(), vec![json!("5")])];
        let err = advance(
            &at_five,
            CursorMode::BoundaryIds,
            TrackingKind::Long,
            "i",
            &pos(&docs),
        )
        .unwrap_err();
        assert!(err.to_string().contains("mapping"), "{err}");
    }

    #[test]
    fn a_start_value_cursor_is_replaced_by_the_first_page() {
        let above = Cursor::From {
            value: json!(3),
            inclusive: false,
        };
        let same = vec![("a".to_string(), vec![json!(3)])];
        assert!(advance(
            &above,
            CursorMode::BoundaryIds,
            TrackingKind::Long,
            "i",
            &pos(&same)
        )
        .is_err());
        let from = Cursor::From {
            value: json!(3),
            inclusive: true,
        };
        let adv = advance(
            &from,
            CursorMode::BoundaryIds,
            TrackingKind::Long,
            "i",
            &pos(&same),
        )
        .unwrap();
        assert_eq!(
            adv.next,
            Cursor::Boundary {
                value: json!(3),
                ids: vec!["a".into()]
            }
        );
        let docs = vec![("a".to_string(), vec![json!(3), json!("t")])];
        let adv = advance(
            &from,
            CursorMode::SearchAfter,
            TrackingKind::Long,
            "i",
            &pos(&docs),
        )
        .unwrap();
        assert_eq!(adv.next, Cursor::After(vec![json!(3), json!("t")]));
        // Never stored: an empty page keeps it, and it has no offset of its own.
        assert_eq!(from.to_offset().unwrap(), None);
    }
}

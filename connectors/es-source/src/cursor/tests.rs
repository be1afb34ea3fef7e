//! Unit tests of the cursor: how pages advance it in both modes, the resume points, and
//! its offset form.

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
fn drain(index: &mut FakeIndex, mut cursor: Cursor, size: usize) -> Vec<(String, Option<Cursor>)> {
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
        let delivered: BTreeSet<String> = first[..=k].iter().map(|(id, _)| id.clone()).collect();
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

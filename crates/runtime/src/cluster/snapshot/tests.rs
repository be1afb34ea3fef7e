//! Unit tests of snapshots: cutting and assembling parts, when one is due, and where a
//! starting worker reads a log from, on a fake log.

use connect_api::{SourceOffset, SourcePartition};

use super::*;
use crate::cluster::log::{encode, tests::FakeLog};
use crate::cluster::positions::{Owner, PositionRecord, PositionsSnapshot};

fn pos(offset: i64) -> LogPos {
    LogPos {
        offset,
        store_ms: 1000 + offset,
    }
}

#[test]
fn a_snapshot_cut_into_parts_is_put_back_together_even_across_other_records() {
    let text = "é".repeat(50) + "{\"x\":[1,2,3]}";
    let parts = split_in(&text, 7, "w1-1", 9);
    assert!(parts.len() > 5);
    assert!(parts.iter().all(|p| p.chunk.len() <= 9));
    let mut a = Assembler::with_text();
    let mut done = None;
    for (i, p) in parts.iter().enumerate() {
        // Other records between parts are not fed; offsets leave gaps for them.
        let got = a.feed(pos(10 + 2 * i as i64), p);
        if i + 1 < parts.len() {
            assert!(got.is_none());
        } else {
            done = got;
        }
    }
    let (r, back) = done.unwrap();
    assert_eq!(back, text);
    assert_eq!(
        r,
        SnapshotRef {
            offset: 10,
            as_of: 7,
            store_ms: 1010
        }
    );
}

#[test]
fn a_snapshot_with_a_missing_or_foreign_part_is_dropped_and_the_next_one_counts() {
    let one = split_in("abcdefghij", 5, "w1-1", 4);
    let two = split_in("klmnopqrst", 6, "w2-1", 4);
    let mut a = Assembler::with_text();
    assert!(a.feed(pos(0), &one[0]).is_none());
    // The writer died; another snapshot begins.
    assert!(a.feed(pos(1), &two[0]).is_none());
    assert!(a.feed(pos(2), &one[1]).is_none(), "a foreign part");
    // `two` was dropped by the foreign part; a whole new run of it completes.
    let mut last = None;
    for (i, p) in two.iter().enumerate() {
        last = a.feed(pos(10 + i as i64), p);
    }
    assert_eq!(last.map(|(_, t)| t).as_deref(), Some("klmnopqrst"));
    // A part out of order.
    assert!(a.feed(pos(20), &one[0]).is_none());
    assert!(a.feed(pos(21), &one[2]).is_none());
    assert!(a.feed(pos(22), &one[1]).is_none());
}

#[test]
fn a_running_worker_follows_parts_without_keeping_their_text() {
    let parts = split_in("abcdefgh", 3, "w", 3);
    let mut a = Assembler::default();
    let mut last = None;
    for (i, p) in parts.iter().enumerate() {
        last = a.feed(pos(i as i64), p);
    }
    let (r, text) = last.unwrap();
    assert_eq!(r.offset, 0);
    assert!(text.is_empty());
}

#[test]
fn a_snapshot_is_due_on_change_after_the_interval_or_after_the_refresh_anyway() {
    let interval = Duration::from_secs(600);
    let r = SnapshotRef {
        offset: 100,
        as_of: 99,
        store_ms: 0,
    };
    let min = 60_000;
    assert!(due(None, 5, 6, 0, interval), "none yet");
    assert!(!due(None, -1, 0, 0, interval), "an empty log");
    assert!(!due(Some(r), 120, 121, 5 * min, interval), "too soon");
    assert!(due(Some(r), 120, 121, 10 * min, interval), "changed");
    assert!(!due(Some(r), 98, 121, 10 * min, interval), "unchanged");
    assert!(due(Some(r), 98, 121, 6 * 60 * min, interval), "refresh");
}

// --- Choosing where to start, on a fake log -------------------------------------

fn owner(worker: &str, generation: u64) -> Owner {
    Owner {
        worker: worker.into(),
        generation,
        config_version: 1,
    }
}

fn commit(n: u32, generation: u64) -> PositionRecord {
    PositionRecord::Commit {
        connector: "c".into(),
        task: 0,
        owner: owner("w1", generation),
        offsets: vec![(
            SourcePartition::try_from(serde_json::json!({"index": "i"})).unwrap(),
            SourceOffset::try_from(serde_json::json!({ "n": n })).unwrap(),
        )],
    }
}

/// Applies records to the positions state the way a worker does.
#[derive(Default)]
struct State {
    snapshot: PositionsSnapshot,
}

impl State {
    fn apply(&mut self, r: &PositionRecord) {
        use crate::cluster::positions::Effect;
        if let Effect::Change(changes) = self.snapshot.fences.apply(r) {
            for (p, o) in changes {
                self.snapshot.offsets.retain(|(_, q, _)| *q != p);
                if let Some(o) = o {
                    self.snapshot.offsets.push(("c".into(), p, o));
                }
            }
        }
    }
    fn offsets(&self) -> String {
        serde_json::to_string(&self.snapshot.offsets).unwrap()
    }
}

/// A log: a fence, commits 1..=30 with a snapshot (in 3 parts, written while more
/// commits came in) after commit 20.
fn log_with_snapshot() -> (FakeLog, SnapshotRef, State) {
    let mut log = FakeLog::default();
    let mut state = State::default();
    let fence = PositionRecord::Fence {
        connector: "c".into(),
        task: 0,
        owner: owner("w1", 1),
    };
    state.apply(&fence);
    log.push(encode("K", &fence).unwrap());
    for n in 1..=20 {
        let c = commit(n, 1);
        state.apply(&c);
        log.push(encode("K", &c).unwrap());
    }
    let as_of = log.end();
    let text = serde_json::to_string(&state.snapshot).unwrap();
    let parts = split_in(&text, as_of, "w1-1", text.len() / 3 + 1);
    assert_eq!(parts.len(), 3);
    let mut first = None;
    for (i, p) in parts.into_iter().enumerate() {
        let at = log.push(encode("K", &PositionRecord::Snapshot(p)).unwrap());
        first.get_or_insert(at);
        let c = commit(21 + i as u32, 1);
        state.apply(&c);
        log.push(encode("K", &c).unwrap());
    }
    for n in 24..=30 {
        let c = commit(n, 1);
        state.apply(&c);
        log.push(encode("K", &c).unwrap());
    }
    let r = SnapshotRef {
        offset: first.unwrap(),
        as_of,
        store_ms: 0,
    };
    (log, r, state)
}

async fn replay(log: &FakeLog, s: Start<PositionsSnapshot>) -> State {
    let mut state = State { snapshot: s.state };
    scan::<PositionRecord, _>(log, "K", s.from, log.end(), |_, r| {
        state.apply(&r);
        ControlFlow::Continue(())
    })
    .await
    .unwrap();
    state
}

/// Where a worker starts reading the offsets log `log` (records `range`).
async fn start_positions(
    log: &FakeLog,
    range: (i64, i64),
    copy: Option<(i64, PositionsSnapshot)>,
    pointer: Option<SnapshotRef>,
) -> Start<PositionsSnapshot> {
    start::<PositionsSnapshot, PositionRecord>(log, "K", range, copy, pointer)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_worker_without_a_copy_starts_from_the_snapshot_a_heartbeat_names() {
    let (log, r, whole) = log_with_snapshot();
    let s = start_positions(&log, (0, log.end()), None, Some(r)).await;
    assert_eq!(s.how, StartedFrom::Snapshot(r));
    assert_eq!(s.from, r.as_of);
    assert_eq!(replay(&log, s).await.offsets(), whole.offsets());
}

#[tokio::test]
async fn when_retention_removed_the_first_records_the_last_snapshot_in_the_log_is_found() {
    let (mut log, r, whole) = log_with_snapshot();
    // Everything before the snapshot's as_of is gone.
    log.min = r.as_of;
    let s = start_positions(&log, (log.min, log.end()), None, None).await;
    assert_eq!(s.how, StartedFrom::Snapshot(r));
    assert_eq!(replay(&log, s).await.offsets(), whole.offsets());
}

#[tokio::test]
async fn a_log_that_lost_records_without_a_snapshot_is_reported_incomplete() {
    let (mut log, r, _) = log_with_snapshot();
    // Even the snapshot's first part is gone.
    log.min = r.offset + 1;
    let s = start_positions(&log, (log.min, log.end()), None, None).await;
    assert_eq!(s.how, StartedFrom::Incomplete { min: r.offset + 1 });
}

#[tokio::test]
async fn a_local_copy_ahead_of_the_snapshot_wins_and_one_behind_it_loses() {
    let (log, r, whole) = log_with_snapshot();
    let end = log.end();
    // A copy taken at the end of the log: nothing to read.
    let ahead = (end, whole.snapshot.clone());
    let s = start_positions(&log, (0, end), Some(ahead), Some(r)).await;
    assert_eq!((s.how, s.from), (StartedFrom::LocalCopy, end));
    // A copy from before the snapshot: the snapshot is read instead.
    let behind = (3, PositionsSnapshot::default());
    let s = start_positions(&log, (0, end), Some(behind), Some(r)).await;
    assert_eq!(s.how, StartedFrom::Snapshot(r));
    assert_eq!(replay(&log, s).await.offsets(), whole.offsets());
}

#[tokio::test]
async fn a_local_copy_is_used_only_while_the_log_still_holds_its_position() {
    let (mut log, _, _) = log_with_snapshot();
    let end = log.end();
    log.min = 10;
    for (next, used) in [
        (10, true),
        (11, true),
        (end, true),
        (9, false),
        (end + 1, false),
    ] {
        let copy = (next, PositionsSnapshot::default());
        let s = start_positions(&log, (10, end), Some(copy), None).await;
        assert_eq!(s.how == StartedFrom::LocalCopy, used, "copy at {next}");
    }
}

#[tokio::test]
async fn a_pointer_whose_as_of_differs_from_the_snapshot_it_points_at_is_not_trusted() {
    let (log, r, whole) = log_with_snapshot();
    let stale = SnapshotRef {
        as_of: r.as_of - 1,
        ..r
    };
    let s = start_positions(&log, (0, log.end()), None, Some(stale)).await;
    assert_eq!((s.how, s.from), (StartedFrom::FirstRecord, 0));
    assert_eq!(replay(&log, s).await.offsets(), whole.offsets());
}

#[tokio::test]
async fn a_whole_log_without_a_snapshot_is_read_from_its_first_record() {
    let (log, r, whole) = log_with_snapshot();
    // A pointer to a snapshot's second part, not its first.
    let wrong = SnapshotRef {
        offset: r.offset + 1,
        ..r
    };
    let s = start_positions(&log, (0, log.end()), None, Some(wrong)).await;
    assert_eq!((s.how, s.from), (StartedFrom::FirstRecord, 0));
    assert_eq!(replay(&log, s).await.offsets(), whole.offsets());
}

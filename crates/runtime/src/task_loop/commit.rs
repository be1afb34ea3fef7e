//! The commit loop: awaits the batches in the order they were sent and commits the
//! offsets of the acknowledged prefix.
//!
//! A partition's committed offset only ever moves to an offset whose batch, and every
//! batch sent before it, was acknowledged: the first batch that fails (or is abandoned at
//! a stop) ends the loop, and nothing after it is committed. With a commit interval,
//! acknowledged offsets wait at most that long (a tick commits them while the source is
//! idle); a `send.mode=sync` batch is committed at once. Each commit sets a flag the poll
//! loop reads to call the task's `commit` hook before its next poll.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use connect_api::{SourceOffset, SourcePartition};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::send::{Pending, ABANDONED};
use crate::sink::SendError;
use crate::status::StatusCell;
use crate::store::OffsetStore;

/// Awaits batches in the order they were sent and commits the acknowledged prefix.
pub(super) async fn commit_loop(
    connector: String,
    mut pending_rx: mpsc::Receiver<Pending>,
    store: Arc<dyn OffsetStore>,
    status: StatusCell,
    interval: Duration,
    poll_cancel: CancellationToken,
    committed: Arc<AtomicBool>,
) -> Result<(), String> {
    let mut dirty: HashMap<SourcePartition, SourceOffset> = HashMap::new();
    let mut last_commit = Instant::now();
    let mut failure = None;
    // With a commit interval, acknowledged offsets must not wait for the next batch: a
    // tick commits them while the source is idle.
    let mut tick = tokio::time::interval(interval.max(Duration::from_millis(10)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let p = tokio::select! {
            p = pending_rx.recv() => match p {
                Some(p) => p,
                None => break,
            },
            _ = tick.tick(), if !interval.is_zero() => {
                if !dirty.is_empty() && last_commit.elapsed() >= interval {
                    commit(&connector, &store, &status, &mut dirty).await?;
                    committed.store(true, Ordering::Release);
                    last_commit = Instant::now();
                }
                continue;
            }
        };
        let records = p.records;
        // A sync batch is committed at once, whatever the interval (see `Pending`).
        let commit_now = p.commit_permit.is_some();
        let res = match p.send.await {
            Ok(r) => r,
            Err(e) => Err(SendError {
                retriable: false,
                message: format!("send task crashed: {e}"),
            }),
        };
        status.update(|s| s.records_in_flight = s.records_in_flight.saturating_sub(records));
        match res {
            Ok(latency) => {
                status.update(|s| {
                    s.records_sent += records;
                    s.batches_acked += 1;
                    s.batch_latency_ms_total += latency.as_millis() as u64;
                });
                dirty.extend(p.offsets);
            }
            Err(e) if e.message == ABANDONED => {
                // A stop outlasted its deadline: nothing after this batch may be committed,
                // but the task did not fail.
                poll_cancel.cancel();
                break;
            }
            Err(e) => {
                // Nothing after this batch may be committed: stop polling, drain the rest
                // without committing it.
                failure = Some(format!("sending to RocketMQ failed: {}", e.message));
                poll_cancel.cancel();
                break;
            }
        }
        if !dirty.is_empty() && (commit_now || last_commit.elapsed() >= interval) {
            commit(&connector, &store, &status, &mut dirty).await?;
            committed.store(true, Ordering::Release);
            last_commit = Instant::now();
        }
        // Only now may a sync task send its next batch.
        drop(p.commit_permit);
    }
    // After a failure or an abandoned batch: release what is left; its offsets are not
    // committed and its records no longer count as in flight.
    pending_rx.close();
    while let Some(p) = pending_rx.recv().await {
        p.send.abort();
        status.update(|s| s.records_in_flight = s.records_in_flight.saturating_sub(p.records));
    }
    commit(&connector, &store, &status, &mut dirty).await?;
    match failure {
        Some(f) => Err(f),
        None => Ok(()),
    }
}

/// Writes the offsets of `dirty` (emptying it) and shows them in the status.
async fn commit(
    connector: &str,
    store: &Arc<dyn OffsetStore>,
    status: &StatusCell,
    dirty: &mut HashMap<SourcePartition, SourceOffset>,
) -> Result<(), String> {
    if dirty.is_empty() {
        return Ok(());
    }
    let offsets: Vec<_> = dirty.drain().collect();
    let started = Instant::now();
    store
        .put_all(connector, &offsets)
        .await
        .map_err(|e| format!("cannot commit offsets: {e}"))?;
    let took = started.elapsed();
    status.update(|s| {
        s.commits += 1;
        s.commit_latency_ms_total += took.as_millis() as u64;
        for (p, o) in offsets {
            let key = String::from_utf8_lossy(&p.to_canonical_bytes()).into_owned();
            s.position.insert(key, serde_json::Value::from(o));
        }
    });
    Ok(())
}

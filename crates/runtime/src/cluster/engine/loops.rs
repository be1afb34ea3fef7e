//! The engine's periodic work, each loop headed by a [`Ticker`]: heartbeats (each
//! acknowledged one renews the lease), checkpoints of the local copy, and the leader's
//! snapshots of the config and offsets logs.

use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::clock::now_ms;
use super::view::DueSnapshot;
use super::{Engine, READ_BACK_TIMEOUT};
use crate::cluster::configs::ConfigRecord;
use crate::cluster::log::{wait_applied, LogWriter};
use crate::cluster::positions::PositionRecord;
use crate::cluster::snapshot::{self, SnapshotPart};
use crate::cluster::ClusterError;

/// How often the local copy of configs and offsets is written (when it changed).
const CHECKPOINT_INTERVAL: Duration = Duration::from_secs(5);
/// How often the leader looks whether a snapshot is due.
const SNAPSHOT_CHECK: Duration = Duration::from_secs(5);
/// Longest wait after failed snapshot writes before the next try.
const SNAPSHOT_RETRY_MAX: Duration = Duration::from_secs(300);

/// Starts the periodic loops of `engine`; they end when `cancel` is cancelled or the
/// engine is dropped.
pub(super) fn spawn(
    engine: &Arc<Engine>,
    cancel: &CancellationToken,
) -> Vec<tokio::task::JoinHandle<()>> {
    vec![
        tokio::spawn(heartbeats(Arc::downgrade(engine), cancel.clone())),
        tokio::spawn(checkpoints(Arc::downgrade(engine), cancel.clone())),
        tokio::spawn(snapshots(Arc::downgrade(engine), cancel.clone())),
    ]
}

/// Ticks every period until cancelled, handing out the engine while it lives.
struct Ticker {
    engine: Weak<Engine>,
    tick: tokio::time::Interval,
    cancel: CancellationToken,
}

impl Ticker {
    fn new(engine: Weak<Engine>, period: Duration, cancel: CancellationToken) -> Self {
        let mut tick = tokio::time::interval(period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        Self {
            engine,
            tick,
            cancel,
        }
    }

    /// The engine at the next tick; `None` once cancelled or gone.
    async fn next(&mut self) -> Option<Arc<Engine>> {
        tokio::select! {
            _ = self.cancel.cancelled() => return None,
            _ = self.tick.tick() => {}
        }
        self.engine.upgrade()
    }
}

/// Sends a heartbeat every interval; each acknowledged one renews the lease.
async fn heartbeats(engine: Weak<Engine>, cancel: CancellationToken) {
    let interval = match engine.upgrade() {
        Some(e) => e.conf.heartbeat_interval,
        None => return,
    };
    let mut ticks = Ticker::new(engine, interval, cancel);
    let mut failing = false;
    while let Some(engine) = ticks.next().await {
        let sent = Instant::now();
        // Settle the lease first: a worker waking from a freeze ends its old epoch
        // before this heartbeat can renew anything.
        engine.lease.current(sent);
        match engine.cluster_log.append(&engine.heartbeat(false)).await {
            Ok(_) => {
                engine.lease.renew(sent, Instant::now());
                if failing {
                    tracing::info!("heartbeats acknowledged again");
                    failing = false;
                }
            }
            Err(e) => {
                if !failing {
                    tracing::warn!(error = %e, "heartbeat failed; this worker's tasks stop when its lease runs out");
                    failing = true;
                }
            }
        }
    }
}

/// Writes the local copy of configs and offsets every interval, when they changed.
async fn checkpoints(engine: Weak<Engine>, cancel: CancellationToken) {
    let mut ticks = Ticker::new(engine, CHECKPOINT_INTERVAL, cancel);
    let mut saved = (i64::MIN, i64::MIN);
    while let Some(engine) = ticks.next().await {
        let now = {
            let v = engine.view();
            (v.configs.next_offset(), v.positions_next)
        };
        if now == saved {
            continue;
        }
        match engine.save_copy().await {
            Ok(()) => saved = now,
            Err(e) => {
                tracing::warn!(error = %e, "could not write the local copy of the cluster state")
            }
        }
    }
}

/// The leader's snapshots of the config and offsets logs, when due.
async fn snapshots(engine: Weak<Engine>, cancel: CancellationToken) {
    let mut ticks = Ticker::new(engine, SNAPSHOT_CHECK, cancel.clone());
    // After a failure, wait this long before writing again.
    let mut backoff = SNAPSHOT_CHECK;
    let mut not_before = Instant::now();
    while let Some(engine) = ticks.next().await {
        if !engine.leads() || Instant::now() < not_before {
            continue;
        }
        let written = tokio::select! {
            _ = cancel.cancelled() => return,
            w = engine.snapshot_if_due() => w,
        };
        match written {
            Ok(()) => backoff = SNAPSHOT_CHECK,
            Err(e) => {
                backoff = (backoff * 2).min(SNAPSHOT_RETRY_MAX);
                not_before = Instant::now() + backoff;
                tracing::warn!(error = %e, retry_in = ?backoff, "could not write a snapshot of an internal topic");
            }
        }
    }
}

impl Engine {
    /// Writes a snapshot of the config log and one of the offsets log when due (the
    /// leader calls it), each independently, and waits until they are read back. A state
    /// that misses records the broker removed is never written.
    async fn snapshot_if_due(&self) -> Result<(), ClusterError> {
        let writer = format!("{}-{}", self.me, self.incarnation);
        let due = self
            .view()
            .due_snapshots(now_ms(), self.conf.snapshot_interval);
        let config = (&self.config_log, &self.config_applied);
        let config = write_snapshot(config, due.0, &writer, ConfigRecord::Snapshot).await;
        let positions = (&self.position_log, &self.positions_applied);
        let positions = write_snapshot(positions, due.1, &writer, PositionRecord::Snapshot).await;
        config.and(positions)
    }
}

/// Appends a snapshot's parts to a log, if one is due, and waits until they are read
/// back.
async fn write_snapshot<R: serde::Serialize>(
    (log, applied): (&LogWriter, &watch::Receiver<i64>),
    due: DueSnapshot,
    writer: &str,
    record: fn(SnapshotPart) -> R,
) -> Result<(), ClusterError> {
    let Some(due) = due else {
        return Ok(());
    };
    let (as_of, text) = due?;
    let mut last = 0;
    for part in snapshot::split(&text, as_of, writer) {
        last = log.append(&record(part)).await?;
    }
    let mut applied = applied.clone();
    wait_applied(&mut applied, last + 1, READ_BACK_TIMEOUT).await?;
    tracing::info!(
        topic = %log.topic(),
        as_of,
        bytes = text.len(),
        parts = text.len().div_ceil(snapshot::CHUNK_BYTES).max(1),
        "wrote a snapshot of an internal topic"
    );
    Ok(())
}

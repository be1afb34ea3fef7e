//! What the clustered herder keeps between rounds, in its leader and member parts: the
//! leader's splits, failures, assignment and timers, and each task run of this worker.
//! Plain state: the code that changes it lives in `leader.rs` and `member.rs`.

use std::collections::BTreeMap;
use std::time::Instant;

use tokio::sync::mpsc;
use tokio_util::task::AbortOnDropHandle;

use crate::herder::reconfigure::ReconfigureTimer;
use crate::task_loop::TaskHandle;

/// What the leader remembers between rounds.
pub(super) struct LeaderState {
    /// Connector → the config offset whose split (or failure) was written.
    pub(super) splits: BTreeMap<String, i64>,
    /// Connector → when its split last failed.
    pub(super) failed: BTreeMap<String, Instant>,
    /// The generation written last.
    pub(super) assignment: Option<u64>,
    /// Reconfiguration timers of the connectors led, with the config offset they run for.
    pub(super) timers: BTreeMap<String, (i64, ReconfigureTimer)>,
    /// Splits running in the background, by connector.
    pub(super) splitting: BTreeMap<String, Splitting>,
    /// Where background splits report when they end.
    pub(super) done_tx: mpsc::UnboundedSender<SplitDone>,
    /// Their reports, read by the leader's next round.
    pub(super) done_rx: mpsc::UnboundedReceiver<SplitDone>,
}

impl LeaderState {
    /// Aborts the background splits (the worker stops).
    pub(super) fn stop_splits(&mut self) {
        self.splitting.clear();
    }
}

impl Default for LeaderState {
    fn default() -> Self {
        let (done_tx, done_rx) = mpsc::unbounded_channel();
        Self {
            splits: BTreeMap::new(),
            failed: BTreeMap::new(),
            assignment: None,
            timers: BTreeMap::new(),
            splitting: BTreeMap::new(),
            done_tx,
            done_rx,
        }
    }
}

/// A split running in the background: asking the connector for its task configs may
/// take as long as its source system does to answer (es-source asks Elasticsearch), and
/// must not hold up assignments, so failover does not wait on a slow or unreachable
/// source. Dropping it aborts it.
pub(super) struct Splitting {
    /// The config offset it splits.
    pub(super) based_on: i64,
    /// The split itself; aborted when this is dropped.
    pub(super) _task: AbortOnDropHandle<()>,
}

/// What a background split did.
pub(super) struct SplitDone {
    /// The connector.
    pub(super) name: String,
    /// The config offset it split.
    pub(super) based_on: i64,
    /// Whether it failed (and is tried again after a while).
    pub(super) failed: bool,
    /// Whether its outcome was written to the config log.
    pub(super) written: bool,
}

/// One task run of this worker.
pub(super) struct Run {
    /// The running loop; `None` when the task could not be started.
    pub(super) handle: Option<TaskHandle>,
    /// The assignment generation it runs under.
    pub(super) generation: u64,
    /// The config offset of the connector it runs with.
    pub(super) version: i64,
    /// The fence epoch it writes offsets with.
    pub(super) epoch: u64,
    /// The offset of the last restart request it acted on.
    pub(super) restart_seen: i64,
    /// Whether it runs paused.
    pub(super) paused: bool,
}

//! Periodic task reconfiguration: while a connector runs (STARTED or PAUSED) and its
//! plugin asks for it ([`ErasedSourceConnector::reconfigure_interval`]), a timer
//! recomputes the task configs every interval and hands the result to the herder.
//!
//! The timer never touches the herder's locks while it computes (`task_configs` may call
//! the source system); the herder takes its lock only in [`Reconfigurable::apply`], to
//! compare and swap. Each timer carries a generation number: the herder ignores results
//! of a timer it has replaced (after a config update or a restart). Dropping the
//! [`ReconfigureTimer`] ends it, so a timer lives exactly as long as the herder keeps it.
//! Herder-agnostic so the clustered herder can arm the same timer for the connectors it
//! leads.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use async_trait::async_trait;
use connect_api::{ConfigMap, ErasedSourceConnector, ParsedConfig};
use tokio_util::sync::CancellationToken;

/// The outcome of one recomputation: the new task configs (resolved, as the plugin
/// returned them) or why they could not be computed.
pub type Recomputed = Result<Vec<ConfigMap>, String>;

/// What a timer reports to.
#[async_trait]
pub trait Reconfigurable: Send + Sync + 'static {
    /// Applies one recomputation of `connector`'s task configs made by the timer of
    /// `generation`; the implementation compares them with the running ones and
    /// restarts the tasks only when they differ.
    async fn apply(&self, connector: &str, generation: u64, result: Recomputed);
}

/// Everything a timer needs to recompute task configs on its own.
pub struct TimerSpec {
    /// Connector name.
    pub connector: String,
    /// The plugin.
    pub plugin: Arc<dyn ErasedSourceConnector>,
    /// The connector config as the plugin parsed it (placeholders resolved).
    pub parsed: ParsedConfig,
    /// `max.tasks`.
    pub max_tasks: usize,
}

/// A running timer; dropping it (or cancelling its parent token) ends it.
#[derive(Debug)]
pub struct ReconfigureTimer {
    cancel: CancellationToken,
    generation: u64,
}

impl ReconfigureTimer {
    /// The generation this timer reports with.
    pub fn generation(&self) -> u64 {
        self.generation
    }
}

impl Drop for ReconfigureTimer {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

static GENERATIONS: AtomicU64 = AtomicU64::new(1);

/// Arms a timer for `spec` when its plugin asks for periodic reconfiguration; `None`
/// when it does not. The timer holds `target` weakly, so
/// it also ends when the herder goes away.
pub fn arm<R: Reconfigurable>(
    spec: TimerSpec,
    target: Weak<R>,
    parent: &CancellationToken,
) -> Option<ReconfigureTimer> {
    let interval = spec
        .plugin
        .reconfigure_interval(&spec.parsed)
        .filter(|d| !d.is_zero())?;
    let cancel = parent.child_token();
    let generation = GENERATIONS.fetch_add(1, Ordering::Relaxed);
    let token = cancel.clone();
    tracing::debug!(connector = %spec.connector, ?interval, "task reconfiguration timer armed");
    tokio::spawn(run(spec, interval, target, token, generation));
    Some(ReconfigureTimer { cancel, generation })
}

async fn run<R: Reconfigurable>(
    spec: TimerSpec,
    interval: Duration,
    target: Weak<R>,
    cancel: CancellationToken,
    generation: u64,
) {
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tick.tick() => {}
        }
        let result = tokio::select! {
            _ = cancel.cancelled() => return,
            r = spec.plugin.task_configs(&spec.parsed, spec.max_tasks) => r.map_err(|e| e.chain()),
        };
        let Some(target) = target.upgrade() else {
            return;
        };
        if cancel.is_cancelled() {
            return;
        }
        target.apply(&spec.connector, generation, result).await;
    }
}

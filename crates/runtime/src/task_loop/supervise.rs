//! Supervision of one task: [`spawn`] starts its loop and returns the [`TaskHandle`] that
//! pauses, resumes and stops it.
//!
//! Each run resolves the config's placeholders, takes a fresh task instance from the
//! [`TaskFactory`](super::TaskFactory) (the only place the factory is called; creating
//! an instance may fail, for a plugin whose process cannot be spawned, and then the run
//! fails with that reason), starts the instance (retrying retriable errors), hands it to
//! the poll loop and calls `stop` on it once, whatever happened. A failed run is restarted with a fresh instance after an
//! exponential back-off ([`RestartPolicy`](super::RestartPolicy)); the status shows
//! FAILED with the reason while it waits and counts the restarts.

use std::sync::Arc;
use std::time::Instant;

use connect_api::{
    ConnectError, OffsetReader, SourceOffset, SourcePartition, SourceTask, TaskContext,
};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::backoff::{doubled, sleep_or_cancel};
use super::poll::{ensure_topic_or_warn, poll_loop};
use super::run::TaskRun;
use crate::status::{State, StatusCell};
use crate::store::OffsetStore;

/// A running task: pause, resume, or stop it.
pub struct TaskHandle {
    cancel: CancellationToken,
    join: JoinHandle<()>,
    paused: watch::Sender<bool>,
    /// The task's status.
    pub status: StatusCell,
}

impl TaskHandle {
    /// Stops polling (in-flight batches still complete and are committed); the status
    /// becomes PAUSED once the loop has parked.
    pub fn pause(&self) {
        self.paused.send_replace(true);
    }

    /// Resumes polling after [`TaskHandle::pause`].
    pub fn resume(&self) {
        self.paused.send_replace(false);
    }

    /// Stops the task gracefully: no more polls, in-flight batches are awaited (bounded
    /// by the shutdown timeout), acknowledged offsets are committed, `stop` is called.
    pub async fn stop(self) {
        self.cancel.cancel();
        if let Err(e) = self.join.await {
            tracing::error!(error = %e, "task loop ended abnormally");
        }
    }
}

/// Spawns the loop of one task, parked from the start when `paused`. A task that fails
/// is restarted with a fresh instance after an exponential back-off (see
/// [`RestartPolicy`](super::RestartPolicy)); its status shows FAILED with the reason
/// while it waits.
pub fn spawn(run: TaskRun, parent: &CancellationToken, paused: bool) -> TaskHandle {
    let cancel = parent.child_token();
    let status = run.status.clone();
    let token = cancel.clone();
    let (paused_tx, paused_rx) = watch::channel(paused);
    let join = tokio::spawn(async move { supervise(run, token, paused_rx).await });
    TaskHandle {
        cancel,
        join,
        paused: paused_tx,
        status,
    }
}

/// Runs fresh instances of the task until one stops without failing, the task is
/// stopped, or restarts are disabled.
async fn supervise(run: TaskRun, cancel: CancellationToken, paused: watch::Receiver<bool>) {
    let policy = run.settings.restart.clone();
    let mut backoff = policy.initial;
    loop {
        let started = Instant::now();
        let failed = run_task(&run, &cancel, paused.clone()).await;
        if !failed || cancel.is_cancelled() || !policy.enabled {
            break;
        }
        // A task that ran well for longer than the longest back-off starts over.
        if started.elapsed() > policy.max {
            backoff = policy.initial;
        }
        tracing::warn!(connector = %run.connector, task = run.task_id, ?backoff, "restarting the failed task after back-off");
        if !sleep_or_cancel(backoff, &cancel).await {
            break;
        }
        run.status.update(|s| {
            s.restarts += 1;
            s.state = State::Restarting;
        });
        backoff = doubled(backoff, policy.max);
    }
}

/// Runs one task instance until it stops or fails; `true` when it failed.
async fn run_task(
    run: &TaskRun,
    cancel: &CancellationToken,
    paused: watch::Receiver<bool>,
) -> bool {
    let label = format!("{}-{}", run.connector, run.task_id);
    run.status.update(|s| {
        s.state = State::Running;
        s.trace = None;
    });
    let config = match crate::placeholders::resolve(&run.config, &run.settings.placeholders) {
        Ok(c) => c,
        Err(errors) => {
            let trace = format!(
                "cannot resolve the config's placeholders: {}",
                connect_api::FieldError::join(&errors)
            );
            tracing::error!(task = %label, error = %trace, "task failed");
            run.status.update(|s| {
                s.state = State::Failed;
                s.trace = Some(trace);
            });
            return true;
        }
    };
    let Some(mut task) = create(run, &label, &config, cancel).await else {
        return !cancel.is_cancelled();
    };
    let task = &mut task;
    let ctx = TaskContext {
        connector: run.connector.clone(),
        task_id: run.task_id,
        config,
        offsets: Arc::new(StoreReader {
            connector: run.connector.clone(),
            store: run.offsets.clone(),
        }),
        config_updater: run.config_updater.clone(),
    };
    // A topic template (`${stream}`) is created per record's topic by the poll loop.
    let fixed = run.default_topic.iter().filter(|t| !t.contains("${"));
    for topic in fixed.chain(&run.delivery.dlq_topic) {
        ensure_topic_or_warn(run, topic).await;
    }
    let failure = match start_with_retry(run, task, ctx, cancel).await {
        Ok(true) => poll_loop(run, task, cancel, paused).await.err(),
        Ok(false) => None,
        Err(e) => Some(e.chain()),
    };
    if let Err(e) = task.stop().await {
        tracing::warn!(task = %label, error = %e.chain(), "task stop failed");
    }
    match failure {
        Some(trace) => {
            tracing::error!(task = %label, error = %trace, "task failed");
            run.status.update(|s| {
                s.state = State::Failed;
                s.trace = Some(trace);
            });
            true
        }
        None => {
            tracing::info!(task = %label, "task stopped");
            run.status.update(|s| s.state = State::Stopped);
            false
        }
    }
}

/// A fresh task instance; `None` when cancelled meanwhile or when it could not be created
/// (the status then shows FAILED with the reason).
async fn create(
    run: &TaskRun,
    label: &str,
    config: &connect_api::ConfigMap,
    cancel: &CancellationToken,
) -> Option<Box<dyn SourceTask>> {
    let created = tokio::select! {
        _ = cancel.cancelled() => {
            run.status.update(|s| s.state = State::Stopped);
            return None;
        }
        r = (run.factory)(config.clone()) => r,
    };
    match created {
        Ok(task) => Some(task),
        Err(e) => {
            let trace = (run.redact)(&format!("cannot create the task: {}", e.chain()));
            tracing::error!(task = %label, error = %trace, "task failed");
            run.status.update(|s| {
                s.state = State::Failed;
                s.trace = Some(trace);
            });
            None
        }
    }
}

/// Starts the task, retrying retriable errors; `Ok(false)` when cancelled meanwhile.
async fn start_with_retry(
    run: &TaskRun,
    task: &mut Box<dyn SourceTask>,
    ctx: TaskContext,
    cancel: &CancellationToken,
) -> Result<bool, ConnectError> {
    let mut backoff = run.settings.backoff_initial;
    loop {
        let res = tokio::select! {
            _ = cancel.cancelled() => return Ok(false),
            r = task.start(ctx.clone()) => r,
        };
        match res {
            Ok(()) => return Ok(true),
            Err(e) if e.is_retriable() => {
                run.status
                    .update(|s| s.trace = Some(format!("retrying start: {}", e.chain())));
                if !sleep_or_cancel(backoff, cancel).await {
                    return Ok(false);
                }
                backoff = doubled(backoff, run.settings.backoff_max);
            }
            Err(e) => return Err(e),
        }
    }
}

/// The task's view of the committed offsets of its connector.
struct StoreReader {
    connector: String,
    store: Arc<dyn OffsetStore>,
}

impl OffsetReader for StoreReader {
    fn offset(&self, partition: &SourcePartition) -> Result<Option<SourceOffset>, ConnectError> {
        self.store
            .get(&self.connector, partition)
            .map_err(|e| ConnectError::fatal("cannot read committed offsets").with_source(e))
    }
}

//! The poll loop of one started task instance: poll, report progress, cut the records
//! into batches and hand them to the sending side, until the task is stopped or fails;
//! then drain what is in flight.
//!
//! Pause and stop take effect at once: a pending `poll` future is dropped (polls are
//! cancel-safe by contract). The records a poll returned are cut into batches and
//! dispatched before the loop looks at a pause again; a stop that comes while a batch
//! waits for an in-flight slot leaves that batch and the rest of its poll unsent and
//! uncommitted (read again from the committed offset after a restart). A paused task
//! stays alive: its batches in flight are still acknowledged and committed, and `poll` is
//! called again on resume. At the end, the batches in flight are awaited up to the
//! shutdown timeout, then abandoned. The task's `commit` hook runs before a poll once the
//! committer stored offsets.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use connect_api::{ConnectError, SourcePartition, SourceRecord, SourceTask};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::backoff::{doubled, sleep_or_cancel};
use super::batch::build_batches;
use super::commit::commit_loop;
use super::run::TaskRun;
use super::send::InFlight;
use super::settings::LoopSettings;
use crate::connector_config::SendMode;
use crate::progress::ProgressTracker;
use crate::status::State;

/// Polls until cancelled or failed, then drains the batches in flight; returns the
/// failure's description.
pub(super) async fn poll_loop(
    run: &TaskRun,
    task: &mut Box<dyn SourceTask>,
    cancel: &CancellationToken,
    mut paused: watch::Receiver<bool>,
) -> Result<(), String> {
    let mut settings = run.settings.clone();
    settings.backoff_max = run.delivery.retry_delay_max;
    let sync = run.delivery.send_mode == SendMode::Sync;
    if sync {
        // Each batch is acknowledged and committed before the next one is sent.
        settings.max_in_flight_batches = 1;
    }
    let (in_flight, pending_rx) = InFlight::new(settings.max_in_flight_batches, sync);
    // Failures of the committer stop the polling side through this token.
    let poll_cancel = cancel.child_token();
    // Set by the committer after each commit; the task's `commit` hook runs before the
    // next poll (the task itself is owned by this loop, not by the committer).
    let committed = Arc::new(AtomicBool::new(false));
    let committer = tokio::spawn(commit_loop(
        run.connector.clone(),
        pending_rx,
        run.offsets.clone(),
        run.status.clone(),
        settings.commit_interval,
        poll_cancel.clone(),
        committed.clone(),
    ));

    let mut failure: Option<String> = None;
    let mut tracker = ProgressTracker::new();
    let mut retry = PollRetry::new(&settings);
    // The topics named by records themselves (a plugin's topic per stream), created once.
    let mut ensured: HashSet<String> = HashSet::new();
    'poll: loop {
        if committed.swap(false, Ordering::AcqRel) {
            if let Err(e) = task.commit().await {
                tracing::warn!(connector = %run.connector, task = run.task_id, error = %e.chain(), "task commit hook failed");
            }
        }
        if *paused.borrow_and_update() {
            if let Err(e) = task.pause().await {
                let trace = (run.redact)(&e.chain());
                tracing::warn!(connector = %run.connector, task = run.task_id, error = %trace, "task pause hook failed");
            }
            if !park(run, &mut paused, &poll_cancel).await {
                break;
            }
        }
        // A pause drops a pending poll (polls are cancel-safe) so it takes effect at once.
        let polled = tokio::select! {
            _ = poll_cancel.cancelled() => break,
            _ = paused.wait_for(|p| *p) => continue,
            r = task.poll() => r,
        };
        let read = report_progress(run, task.as_ref(), &mut tracker, &polled);
        let records = match polled {
            Ok(r) => {
                retry.succeeded(&settings);
                r
            }
            Err(e) if retry.retries(&e, run.delivery.retry_timeout) => {
                let trace = (run.redact)(&e.chain());
                tracing::warn!(connector = %run.connector, task = run.task_id, error = %trace, "poll failed, backing off");
                run.status
                    .update(|s| s.trace = Some(format!("retrying poll: {trace}")));
                if !sleep_or_cancel(retry.backoff, &poll_cancel).await {
                    break;
                }
                retry.backoff = doubled(retry.backoff, settings.backoff_max);
                continue;
            }
            Err(e) => {
                failure = Some(retry.give_up(&e));
                break;
            }
        };
        if records.is_empty() {
            continue;
        }
        ensure_record_topics(run, &records, &mut ensured).await;
        run.status.update(|s| {
            s.records_polled += read;
            s.trace = None;
        });
        let batches = match build_batches(records, run, &settings) {
            Ok(b) => b,
            Err(e) => {
                failure = Some(e);
                break;
            }
        };
        for batch in batches {
            if !in_flight
                .dispatch(batch, run, &settings, &poll_cancel)
                .await
            {
                break 'poll;
            }
        }
    }
    let hard_stop = in_flight.close();
    let commit_result = drain(run, committer, hard_stop, settings.shutdown_timeout).await;
    match commit_result {
        Ok(Ok(())) => {}
        Ok(Err(e)) => failure = failure.or(Some(e)),
        Err(e) => failure = failure.or(Some(format!("offset committer crashed: {e}"))),
    }
    match failure {
        Some(f) => Err(f),
        None => Ok(()),
    }
}

/// Creates the topics records name themselves the first time each is seen.
async fn ensure_record_topics(
    run: &TaskRun,
    records: &[SourceRecord],
    ensured: &mut HashSet<String>,
) {
    for topic in records.iter().filter_map(|r| r.topic.as_deref()) {
        if !ensured.contains(topic) {
            ensure_topic_or_warn(run, topic).await;
            ensured.insert(topic.to_owned());
        }
    }
}

/// Creates `topic` where the broker allows it; else the broker's auto-creation (or a
/// topic that exists) is relied on, with a warning.
pub(super) async fn ensure_topic_or_warn(run: &TaskRun, topic: &str) {
    if let Err(e) = run.sink.ensure_topic(topic).await {
        tracing::warn!(connector = %run.connector, task = run.task_id, topic, error = %e, "could not create the topic; relying on broker auto-creation");
    }
}

/// Parks a paused task until it is resumed (`true`) or stopped (`false`).
async fn park(
    run: &TaskRun,
    paused: &mut watch::Receiver<bool>,
    poll_cancel: &CancellationToken,
) -> bool {
    run.status.update(|s| s.state = State::Paused);
    tracing::info!(connector = %run.connector, task = run.task_id, "task paused");
    loop {
        tokio::select! {
            _ = poll_cancel.cancelled() => return false,
            changed = paused.changed() => if changed.is_err() { return false },
        }
        if !*paused.borrow_and_update() {
            break;
        }
    }
    run.status.update(|s| s.state = State::Running);
    tracing::info!(connector = %run.connector, task = run.task_id, "task resumed");
    true
}

/// Counts the records read per partition and shows the task's progress in its status;
/// returns the number of records read. Offset-only records carry no data and are not
/// counted.
fn report_progress(
    run: &TaskRun,
    task: &dyn SourceTask,
    tracker: &mut ProgressTracker,
    polled: &Result<Vec<SourceRecord>, ConnectError>,
) -> u64 {
    let mut read = 0;
    if let Ok(records) = polled {
        // Counted per run of records of one partition (a poll's records rarely change
        // partition): hashing a partition costs more than comparing it.
        let mut run: Option<(&SourcePartition, u64)> = None;
        for r in records.iter().filter(|r| !r.is_offset_only()) {
            read += 1;
            match &mut run {
                Some((p, n)) if *p == &r.partition => *n += 1,
                _ => {
                    if let Some((p, n)) = run.replace((&r.partition, 1)) {
                        tracker.count_read(p, n);
                    }
                }
            }
        }
        if let Some((p, n)) = run {
            tracker.count_read(p, n);
        }
    }
    // Cheap by contract: the task returns figures it measured inside `poll`.
    let progress = task.progress();
    let partitions = tracker.observe(&progress);
    run.status.update(|s| {
        s.partitions = partitions;
        s.counters = progress.counters;
    });
    read
}

/// The back-off between failed polls, and since when polls fail in a row (for
/// `errors.retry.timeout`).
struct PollRetry {
    backoff: Duration,
    failing_since: Option<Instant>,
}

impl PollRetry {
    fn new(settings: &LoopSettings) -> Self {
        Self {
            backoff: settings.backoff_initial,
            failing_since: None,
        }
    }

    fn succeeded(&mut self, settings: &LoopSettings) {
        self.backoff = settings.backoff_initial;
        self.failing_since = None;
    }

    /// Whether a failed poll is retried: its error is retriable and `retry_timeout`, if
    /// set, has not run out since the first failure in a row.
    fn retries(&mut self, e: &ConnectError, retry_timeout: Option<Duration>) -> bool {
        e.is_retriable()
            && !retry_timeout.is_some_and(|t| {
                self.failing_since
                    .get_or_insert_with(Instant::now)
                    .elapsed()
                    > t
            })
    }

    /// The failure of a poll that is not retried.
    fn give_up(&self, e: &ConnectError) -> String {
        match self.failing_since {
            Some(since) if e.is_retriable() => format!(
                "gave up after retrying for {:?} (errors.retry.timeout): {}",
                since.elapsed(),
                e.chain()
            ),
            _ => e.chain(),
        }
    }
}

/// Graceful drain: waits for the batches in flight and the final commit, then gives up
/// on what is left (those records stay uncommitted and will be read again).
async fn drain(
    run: &TaskRun,
    mut committer: JoinHandle<Result<(), String>>,
    hard_stop: CancellationToken,
    timeout: Duration,
) -> Result<Result<(), String>, tokio::task::JoinError> {
    tokio::select! {
        r = &mut committer => r,
        _ = tokio::time::sleep(timeout) => {
            tracing::warn!(connector = %run.connector, task = run.task_id, "in-flight batches not acknowledged before the shutdown timeout; they will be re-sent after restart");
            hard_stop.cancel();
            committer.await
        }
    }
}

//! The source task loop: poll → convert → produce (batched, bounded in flight) → track
//! acknowledgements → commit offsets.
//!
//! Guarantee (at-least-once): a partition's committed offset only ever moves to the
//! offset of a record that RocketMQ acknowledged together with every earlier record of
//! that partition. Batches are acknowledged in the order they were sent (the committer
//! awaits them in order), so an acknowledged batch behind a failing one is never
//! committed past it. After a crash, duplicates are bounded by what was in flight plus
//! what was acknowledged but not yet committed (one commit interval; by default every
//! acknowledged batch is committed at once).
//!
//! Memory is bounded: at most `max_in_flight_batches` batches of at most
//! `max_batch_bytes` are held besides the records of the current poll.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use connect_api::{
    ConnectError, OffsetReader, SourceOffset, SourcePartition, SourceRecord, SourceTask,
    TaskContext,
};
use connect_converters::Converter;
use connect_rocketmq::OutMessage;
use tokio::sync::{mpsc, watch, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::connector_config::{DeliveryConfig, SendMode, Tolerance};
use crate::progress::ProgressTracker;
use crate::sink::{MessageSink, SendError};
use crate::status::{State, StatusCell};
use crate::store::OffsetStore;

mod settings;

pub use settings::{
    LoopSettings, RestartPolicy, DEFAULT_MAX_BATCH_BYTES, DEFAULT_MAX_BATCH_MESSAGES,
    DEFAULT_MAX_IN_FLIGHT_BATCHES,
};

/// Everything one task run needs.
pub struct TaskRun {
    /// Connector name.
    pub connector: String,
    /// Task number.
    pub task_id: u32,
    /// The task's config.
    pub config: connect_api::ConfigMap,
    /// Creates a fresh task instance for each (re)start.
    pub factory: TaskFactory,
    /// Value converter.
    pub converter: Arc<dyn Converter>,
    /// Topic for records without their own.
    pub default_topic: Option<String>,
    /// Send mode, error tolerance, retry limits, default tags and properties.
    pub delivery: DeliveryConfig,
    /// Hides secret values (also resolved placeholders) in anything the loop logs or
    /// reports.
    pub redact: Redactor,
    /// Where messages go.
    pub sink: Arc<dyn MessageSink>,
    /// Where offsets go.
    pub offsets: Arc<dyn OffsetStore>,
    /// Status shown over REST.
    pub status: StatusCell,
    /// Loop tunables.
    pub settings: LoopSettings,
}

/// Hides secrets in a text.
pub type Redactor = Arc<dyn Fn(&str) -> String + Send + Sync>;

/// A redactor that changes nothing (for tests and connectors without secrets).
pub fn no_redaction() -> Redactor {
    Arc::new(str::to_owned)
}

/// Creates unstarted task instances.
pub type TaskFactory = Arc<dyn Fn() -> Box<dyn SourceTask> + Send + Sync>;

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
/// [`RestartPolicy`]); its status shows FAILED with the reason while it waits.
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

async fn supervise(run: TaskRun, cancel: CancellationToken, paused: watch::Receiver<bool>) {
    let policy = run.settings.restart.clone();
    let mut backoff = policy.initial;
    loop {
        let started = Instant::now();
        let mut task = (run.factory)();
        let failed = run_task(&run, &mut task, &cancel, paused.clone()).await;
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
        backoff = (backoff * 2).min(policy.max);
    }
}

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

/// A batch handed to the committer: the send under way and the offsets it would commit.
struct Pending {
    send: JoinHandle<Result<Duration, SendError>>,
    offsets: Vec<(SourcePartition, SourceOffset)>,
    records: u64,
    /// With `send.mode=sync` the in-flight permit travels with the batch to the
    /// committer, which releases it only after the batch's offsets are committed: the
    /// next batch is not sent before, so a crash re-sends at most one batch.
    commit_permit: Option<OwnedSemaphorePermit>,
}

async fn sleep_or_cancel(d: Duration, cancel: &CancellationToken) -> bool {
    tokio::select! {
        _ = cancel.cancelled() => false,
        _ = tokio::time::sleep(d) => true,
    }
}

fn next_backoff(cur: Duration, s: &LoopSettings) -> Duration {
    (cur * 2).min(s.backoff_max)
}

/// Runs one task instance until it stops or fails; `true` when it failed.
async fn run_task(
    run: &TaskRun,
    task: &mut Box<dyn SourceTask>,
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
    let ctx = TaskContext {
        connector: run.connector.clone(),
        task_id: run.task_id,
        config,
        offsets: Arc::new(StoreReader {
            connector: run.connector.clone(),
            store: run.offsets.clone(),
        }),
    };
    for topic in run.default_topic.iter().chain(&run.delivery.dlq_topic) {
        if let Err(e) = run.sink.ensure_topic(topic).await {
            tracing::warn!(task = %label, topic, error = %e, "could not create the topic; relying on broker auto-creation");
        }
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
                backoff = next_backoff(backoff, &run.settings);
            }
            Err(e) => return Err(e),
        }
    }
}

/// Polls until cancelled or failed; returns the failure's description.
async fn poll_loop(
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
    let permits = Arc::new(Semaphore::new(settings.max_in_flight_batches));
    let (pending_tx, pending_rx) = mpsc::channel::<Pending>(settings.max_in_flight_batches);
    // Sends in flight are aborted only if a graceful stop outlasts its deadline.
    let hard_stop = CancellationToken::new();
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
    let mut backoff = settings.backoff_initial;
    let mut poll_failing_since: Option<Instant> = None;
    'poll: loop {
        if committed.swap(false, Ordering::AcqRel) {
            if let Err(e) = task.commit().await {
                tracing::warn!(connector = %run.connector, task = run.task_id, error = %e.chain(), "task commit hook failed");
            }
        }
        if *paused.borrow_and_update() {
            run.status.update(|s| s.state = State::Paused);
            tracing::info!(connector = %run.connector, task = run.task_id, "task paused");
            loop {
                tokio::select! {
                    _ = poll_cancel.cancelled() => break 'poll,
                    changed = paused.changed() => if changed.is_err() { break 'poll },
                }
                if !*paused.borrow_and_update() {
                    break;
                }
            }
            run.status.update(|s| s.state = State::Running);
            tracing::info!(connector = %run.connector, task = run.task_id, "task resumed");
        }
        // A pause drops a pending poll (polls are cancel-safe) so it takes effect at once.
        let polled = tokio::select! {
            _ = poll_cancel.cancelled() => break,
            _ = paused.wait_for(|p| *p) => continue,
            r = task.poll() => r,
        };
        if let Ok(records) = &polled {
            for r in records {
                tracker.count_read(&r.partition, 1);
            }
        }
        // Cheap by contract: the task returns figures it measured inside `poll`.
        let progress = task.progress();
        let partitions = tracker.observe(&progress);
        run.status.update(|s| {
            s.partitions = partitions;
            s.counters = progress.counters;
        });
        let records = match polled {
            Ok(r) => {
                backoff = settings.backoff_initial;
                poll_failing_since = None;
                r
            }
            Err(e)
                if e.is_retriable()
                    && !run.delivery.retry_timeout.is_some_and(|t| {
                        poll_failing_since
                            .get_or_insert_with(Instant::now)
                            .elapsed()
                            > t
                    }) =>
            {
                let trace = (run.redact)(&e.chain());
                tracing::warn!(connector = %run.connector, task = run.task_id, error = %trace, "poll failed, backing off");
                run.status
                    .update(|s| s.trace = Some(format!("retrying poll: {trace}")));
                if !sleep_or_cancel(backoff, &poll_cancel).await {
                    break;
                }
                backoff = next_backoff(backoff, &settings);
                continue;
            }
            Err(e) => {
                failure = Some(match poll_failing_since {
                    Some(since) if e.is_retriable() => format!(
                        "gave up after retrying for {:?} (errors.retry.timeout): {}",
                        since.elapsed(),
                        e.chain()
                    ),
                    _ => e.chain(),
                });
                break;
            }
        };
        if records.is_empty() {
            continue;
        }
        let n = records.len() as u64;
        run.status.update(|s| {
            s.records_polled += n;
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
            let permit = tokio::select! {
                _ = poll_cancel.cancelled() => break 'poll,
                p = permits.clone().acquire_owned() => match p {
                    Ok(p) => p,
                    Err(_) => break 'poll,
                },
            };
            let records = batch.messages.len() as u64;
            run.status.update(|s| s.records_in_flight += records);
            let (send_permit, commit_permit) = if sync {
                (None, Some(permit))
            } else {
                (Some(permit), None)
            };
            let send = tokio::spawn(send_with_retry(
                SendJob {
                    sink: run.sink.clone(),
                    messages: batch.messages,
                    oneway: run.delivery.send_mode == SendMode::Oneway,
                    retry_timeout: run.delivery.retry_timeout,
                    redact: run.redact.clone(),
                },
                send_permit,
                settings.clone(),
                hard_stop.clone(),
                run.status.clone(),
            ));
            let pending = Pending {
                send,
                offsets: batch.offsets,
                records,
                commit_permit,
            };
            if let Err(mpsc::error::SendError(p)) = pending_tx.send(pending).await {
                // The committer stopped (after a failure): this batch is not tracked.
                p.send.abort();
                run.status.update(|s| {
                    s.records_in_flight = s.records_in_flight.saturating_sub(p.records)
                });
                break 'poll;
            }
        }
    }
    drop(pending_tx);

    // Graceful drain: wait for in-flight batches and the final commit, then give up on
    // what is left (those records stay uncommitted and will be read again).
    let mut committer = committer;
    let commit_result = tokio::select! {
        r = &mut committer => r,
        _ = tokio::time::sleep(settings.shutdown_timeout) => {
            tracing::warn!(connector = %run.connector, task = run.task_id, "in-flight batches not acknowledged before the shutdown timeout; they will be re-sent after restart");
            hard_stop.cancel();
            committer.await
        }
    };
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

struct Batch {
    messages: Vec<OutMessage>,
    offsets: Vec<(SourcePartition, SourceOffset)>,
}

/// Converts records and cuts them into batches of one topic and bounded bytes. Each
/// batch carries the last offset of each partition it contains.
fn build_batches(
    records: Vec<SourceRecord>,
    run: &TaskRun,
    settings: &LoopSettings,
) -> Result<Vec<Batch>, String> {
    let mut out: Vec<Batch> = Vec::new();
    let mut cur = Batch {
        messages: Vec::new(),
        offsets: Vec::new(),
    };
    let mut cur_bytes = 0usize;
    // The last offset per partition of the batch being cut. A batch holds few partitions
    // (usually one), so a list searched from its end beats hashing every record's
    // partition.
    let mut cur_offsets: Vec<(SourcePartition, SourceOffset)> = Vec::new();
    // The topic checked last: records of a poll almost always share one, and checking a
    // topic name (a system-topic lookup) costs more than checking the rest of a message.
    let mut checked_topic: Option<String> = None;
    let finish = |cur: &mut Batch, offs: &mut Vec<(SourcePartition, SourceOffset)>| Batch {
        messages: std::mem::take(&mut cur.messages),
        offsets: std::mem::take(offs),
    };
    for rec in records {
        let topic = match rec.topic.as_ref().or(run.default_topic.as_ref()) {
            Some(t) => t.clone(),
            None => {
                return Err(
                    "a record has no topic: set connect.topicname in the connector config".into(),
                )
            }
        };
        let key_text = || rec.key.as_deref().unwrap_or("(no key)");
        let converted = match run.converter.convert(&rec.value) {
            Err(e) => Err(BadRecord {
                reason: format!("cannot convert record {}: {e}", key_text()),
                body: None,
            }),
            Ok(body) => {
                let mut properties = rec.properties;
                properties.extend(run.delivery.properties.iter().cloned());
                let msg = OutMessage {
                    topic: topic.clone(),
                    key: rec.key.clone(),
                    tags: rec.tags.or_else(|| run.delivery.tags.clone()),
                    properties,
                    body,
                };
                let checked = if checked_topic.as_deref() == Some(topic.as_str()) {
                    connect_rocketmq::check_message_content(
                        &msg,
                        connect_rocketmq::DEFAULT_MAX_MESSAGE_SIZE,
                    )
                } else {
                    connect_rocketmq::check_message(
                        &msg,
                        connect_rocketmq::DEFAULT_MAX_MESSAGE_SIZE,
                    )
                    .inspect(|_| {
                        checked_topic = Some(topic.clone());
                    })
                };
                match checked {
                    Ok(size) => Ok((msg, size)),
                    Err(e) => Err(BadRecord {
                        reason: format!("record {} cannot be sent to RocketMQ: {e}", key_text()),
                        body: Some(msg.body),
                    }),
                }
            }
        };
        let (msg, size) = match converted {
            Ok(ok) => ok,
            Err(bad) if run.delivery.tolerance == Tolerance::All => {
                // Skipped, counted and logged; its offset still moves with the batch (or
                // with its dead-letter message) so the record is not read again and the
                // committed prefix does not stall behind it.
                let reason = (run.redact)(&bad.reason);
                tracing::warn!(connector = %run.connector, task = run.task_id, reason = %reason, "skipping a bad record (errors.tolerance=all)");
                run.status.update(|s| s.records_failed += 1);
                let dead = run.delivery.dlq_topic.as_deref().and_then(|dlq| {
                    crate::dead_letter::message(
                        dlq,
                        &crate::dead_letter::Origin {
                            connector: &run.connector,
                            task: run.task_id,
                            topic: &topic,
                            key: rec.key.as_deref(),
                        },
                        &reason,
                        bad.body,
                    )
                });
                match dead {
                    // Its offset moves with the dead-letter message (below).
                    Some((msg, size)) => (msg, size),
                    None => {
                        if let Some(offset) = rec.offset {
                            set_offset(&mut cur_offsets, rec.partition, offset);
                        }
                        continue;
                    }
                }
            }
            Err(bad) => return Err(bad.reason),
        };
        let topic_changed = cur.messages.first().is_some_and(|m| m.topic != msg.topic);
        if !cur.messages.is_empty()
            && (topic_changed
                || cur_bytes + size > settings.max_batch_bytes
                || cur.messages.len() >= settings.max_batch_messages)
        {
            out.push(finish(&mut cur, &mut cur_offsets));
            cur_bytes = 0;
        }
        cur_bytes += size;
        if let Some(offset) = rec.offset {
            set_offset(&mut cur_offsets, rec.partition, offset);
        }
        cur.messages.push(msg);
    }
    // A batch with offsets but no message (every record skipped) still carries them.
    if !cur.messages.is_empty() || !cur_offsets.is_empty() {
        out.push(finish(&mut cur, &mut cur_offsets));
    }
    Ok(out)
}

/// Records `offset` as the latest of `partition` in `offsets`.
fn set_offset(
    offsets: &mut Vec<(SourcePartition, SourceOffset)>,
    partition: SourcePartition,
    offset: SourceOffset,
) {
    match offsets.iter_mut().rev().find(|(p, _)| *p == partition) {
        Some((_, o)) => *o = offset,
        None => offsets.push((partition, offset)),
    }
}

/// A record that cannot become a RocketMQ message: why, and its converted body if it has
/// one (for the dead-letter topic).
struct BadRecord {
    reason: String,
    body: Option<bytes::Bytes>,
}

/// The error of a send given up because a stop outlasted its deadline: its records are
/// not committed and will be read again, but the task did not fail.
const ABANDONED: &str = "abandoned at shutdown";

/// One batch to send.
struct SendJob {
    sink: Arc<dyn MessageSink>,
    messages: Vec<OutMessage>,
    oneway: bool,
    retry_timeout: Option<Duration>,
    redact: Redactor,
}

/// Sends a batch, retrying retriable failures with back-off (for ever, or until
/// `errors.retry.timeout`); returns the time from the first send to the acknowledgement.
async fn send_with_retry(
    job: SendJob,
    _permit: Option<OwnedSemaphorePermit>,
    settings: LoopSettings,
    hard_stop: CancellationToken,
    status: StatusCell,
) -> Result<Duration, SendError> {
    let SendJob {
        sink,
        messages,
        oneway,
        retry_timeout,
        redact,
    } = job;
    let started = Instant::now();
    if messages.is_empty() {
        return Ok(Duration::ZERO);
    }
    let mut backoff = settings.backoff_initial;
    loop {
        let res = tokio::select! {
            _ = hard_stop.cancelled() => return Err(SendError { retriable: true, message: ABANDONED.into() }),
            r = async {
                if oneway { sink.send_oneway(&messages).await } else { sink.send_batch(&messages).await }
            } => r,
        };
        match res {
            Ok(()) => return Ok(started.elapsed()),
            Err(e) if e.retriable && retry_timeout.is_some_and(|t| started.elapsed() > t) => {
                return Err(SendError {
                    retriable: false,
                    message: format!(
                        "gave up after retrying for {:?} (errors.retry.timeout): {}",
                        started.elapsed(),
                        redact(&e.message)
                    ),
                });
            }
            Err(e) if e.retriable => {
                let text = redact(&e.message);
                tracing::warn!(error = %text, records = messages.len(), "send failed, retrying the batch");
                status.update(|s| s.trace = Some(format!("retrying send: {text}")));
                if !sleep_or_cancel(backoff, &hard_stop).await {
                    return Err(SendError {
                        retriable: true,
                        message: ABANDONED.into(),
                    });
                }
                backoff = next_backoff(backoff, &settings);
            }
            Err(e) => return Err(e),
        }
    }
}

/// Awaits batches in the order they were sent and commits the acknowledged prefix.
async fn commit_loop(
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

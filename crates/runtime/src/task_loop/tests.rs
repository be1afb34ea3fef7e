//! Unit tests of the task loop with fakes of our own traits (no services).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use connect_api::{
    ConnectError, RecordValue, SourceOffset, SourcePartition, SourceRecord, SourceTask, TaskContext,
};
use connect_converters::JsonConverter;
use connect_rocketmq::OutMessage;
use serde_json::json;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::{no_redaction, spawn, LoopSettings, RestartPolicy, TaskRun};
use crate::connector_config::{DeliveryConfig, Tolerance};
use crate::sink::{MessageSink, SendError};
use crate::status::{State, StatusCell};
use crate::store::{OffsetStore, SledStore};

/// Emits `total` records numbered from the committed offset, `per_poll` at a time.
struct CountingTask {
    next: u64,
    total: u64,
    per_poll: u64,
}

fn partition() -> SourcePartition {
    SourcePartition::try_from(json!({"p": 0})).unwrap()
}

#[async_trait]
impl SourceTask for CountingTask {
    async fn start(&mut self, ctx: TaskContext) -> Result<(), ConnectError> {
        if let Some(off) = ctx.offsets.offset(&partition())? {
            self.next = off.get("next").and_then(|v| v.as_u64()).unwrap_or(0);
        }
        Ok(())
    }

    async fn poll(&mut self) -> Result<Vec<SourceRecord>, ConnectError> {
        if self.next >= self.total {
            tokio::time::sleep(Duration::from_millis(10)).await;
            return Ok(Vec::new());
        }
        let end = (self.next + self.per_poll).min(self.total);
        let recs = (self.next..end)
            .map(|i| {
                let off = SourceOffset::try_from(json!({"next": i + 1})).unwrap();
                SourceRecord::new(partition(), Some(off), RecordValue::Json(json!({"n": i})))
                    .with_key(format!("k{i}"))
            })
            .collect();
        self.next = end;
        Ok(recs)
    }
}

/// Records every acknowledged message key; fails sends according to a script.
#[derive(Default)]
struct FakeSink {
    acked: Mutex<Vec<String>>,
    /// Batches RocketMQ itself would refuse (more than 4 MiB encoded, mixed topics).
    refused: Mutex<Vec<String>>,
    /// For each call, in order: `Some(retriable)` fails the call, `None` succeeds.
    script: Mutex<VecDeque<Option<bool>>>,
    calls: AtomicUsize,
    /// Every acknowledged message, in order.
    sent: Mutex<Vec<OutMessage>>,
    /// When set, each call first notes the offset committed in this store at that moment.
    observe: Mutex<Option<Arc<SledStore>>>,
    committed_at_send: Mutex<Vec<Option<u64>>>,
    /// When set, each call waits until the gate is open before it is acknowledged.
    gate: Mutex<Option<watch::Receiver<bool>>>,
}

#[async_trait]
impl MessageSink for FakeSink {
    async fn send_batch(&self, batch: &[OutMessage]) -> Result<(), SendError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let gate = self.gate.lock().unwrap().clone();
        if let Some(mut gate) = gate {
            let _ = gate.wait_for(|open| *open).await;
        }
        let observed = self.observe.lock().unwrap().clone();
        if let Some(store) = observed {
            self.committed_at_send
                .lock()
                .unwrap()
                .push(committed(&store));
        }
        let step = self.script.lock().unwrap().pop_front().flatten();
        if let Some(retriable) = step {
            return Err(SendError {
                retriable,
                message: "scripted failure".into(),
            });
        }
        if let Err(e) =
            connect_rocketmq::check_batch(batch, connect_rocketmq::DEFAULT_MAX_MESSAGE_SIZE)
        {
            self.refused.lock().unwrap().push(e.to_string());
        }
        self.sent.lock().unwrap().extend(batch.iter().cloned());
        let mut acked = self.acked.lock().unwrap();
        acked.extend(batch.iter().map(|m| m.key.clone().unwrap_or_default()));
        Ok(())
    }
}

/// A store in a fresh directory (kept alive by the returned guard) and a fake sink.
fn setup() -> (tempfile::TempDir, Arc<SledStore>, Arc<FakeSink>) {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SledStore::open(dir.path()).unwrap());
    (dir, store, Arc::new(FakeSink::default()))
}

fn settings() -> LoopSettings {
    LoopSettings {
        backoff_initial: Duration::from_millis(1),
        backoff_max: Duration::from_millis(5),
        restart: RestartPolicy {
            enabled: false,
            ..RestartPolicy::default()
        },
        ..LoopSettings::default()
    }
}

/// A factory that always succeeds with the task `make` builds.
fn factory_of<F>(make: F) -> crate::task_loop::TaskFactory
where
    F: Fn() -> Box<dyn SourceTask> + Send + Sync + 'static,
{
    Arc::new(move |_config| {
        let task = make();
        Box::pin(async move { Ok(task) })
    })
}

fn run_with(sink: Arc<FakeSink>, store: Arc<SledStore>, total: u64) -> TaskRun {
    run_with_poll(sink, store, total, 50)
}

fn run_with_poll(sink: Arc<FakeSink>, store: Arc<SledStore>, total: u64, per_poll: u64) -> TaskRun {
    TaskRun {
        connector: "c".into(),
        task_id: 0,
        config: Default::default(),
        factory: factory_of(move || {
            Box::new(CountingTask {
                next: 0,
                total,
                per_poll,
            })
        }),
        converter: Arc::new(JsonConverter),
        default_topic: Some("t".into()),
        delivery: Default::default(),
        redact: no_redaction(),
        sink,
        offsets: store,
        status: StatusCell::new(0, "w"),
        settings: settings(),
        config_updater: Arc::new(connect_api::NoConfigUpdates),
    }
}

async fn wait_until(mut f: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !f() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "condition not met in time"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn committed(store: &SledStore) -> Option<u64> {
    store
        .get("c", &partition())
        .unwrap()
        .and_then(|o| o.get("next").and_then(|v| v.as_u64()))
}

#[tokio::test]
async fn every_record_is_sent_and_the_offset_reaches_the_end() {
    let (_dir, store, sink) = setup();
    let handle = spawn(
        run_with(sink.clone(), store.clone(), 500),
        &CancellationToken::new(),
        false,
    );
    wait_until(|| committed(&store) == Some(500)).await;
    handle.stop().await;
    let acked = sink.acked.lock().unwrap().clone();
    let expected: Vec<String> = (0..500).map(|i| format!("k{i}")).collect();
    assert_eq!(acked, expected);
}

#[tokio::test]
async fn sync_mode_sends_a_batch_only_after_the_previous_one_is_committed() {
    let (_dir, store, sink) = setup();
    *sink.observe.lock().unwrap() = Some(store.clone());
    let mut run = run_with(sink.clone(), store.clone(), 300);
    run.delivery.send_mode = crate::connector_config::SendMode::Sync;
    // A commit interval does not delay a sync batch's commit.
    run.settings.commit_interval = Duration::from_secs(3600);
    let handle = spawn(run, &CancellationToken::new(), false);
    wait_until(|| committed(&store) == Some(300)).await;
    handle.stop().await;
    // Six batches of 50: each sent when every earlier one was committed, so a crash
    // can re-send at most the one batch in flight.
    let seen = sink.committed_at_send.lock().unwrap().clone();
    let expected: Vec<Option<u64>> = (0..6u64).map(|i| (i > 0).then_some(i * 50)).collect();
    assert_eq!(seen, expected);
}

#[tokio::test]
async fn retriable_send_failures_are_retried_without_loss() {
    let (_dir, store, sink) = setup();
    sink.script
        .lock()
        .unwrap()
        .extend([Some(true), Some(true), None, Some(true)]);
    let handle = spawn(
        run_with(sink.clone(), store.clone(), 300),
        &CancellationToken::new(),
        false,
    );
    wait_until(|| committed(&store) == Some(300)).await;
    let status = handle.status.snapshot();
    handle.stop().await;
    let mut acked = sink.acked.lock().unwrap().clone();
    acked.sort();
    acked.dedup();
    assert_eq!(acked.len(), 300);
    assert_eq!(status.records_sent, 300);
}

#[tokio::test]
async fn a_fatal_send_failure_fails_the_task_and_never_commits_past_it() {
    let (_dir, store, sink) = setup();
    // First batch (records 0..50) succeeds, the second fails for good.
    sink.script.lock().unwrap().extend([None, Some(false)]);
    let handle = spawn(
        run_with(sink.clone(), store.clone(), 1000),
        &CancellationToken::new(),
        false,
    );
    let status = handle.status.clone();
    wait_until(|| status.snapshot().state == State::Failed).await;
    handle.stop().await;
    assert_eq!(committed(&store), Some(50));
    let trace = status.snapshot().trace.unwrap_or_default();
    assert!(trace.contains("scripted failure"), "{trace}");
}

#[tokio::test]
async fn a_restarted_task_resumes_from_the_committed_offset() {
    let (_dir, store, sink) = setup();
    let handle = spawn(
        run_with(sink.clone(), store.clone(), 200),
        &CancellationToken::new(),
        false,
    );
    wait_until(|| committed(&store) == Some(200)).await;
    handle.stop().await;
    // Same store, more data available: only the new records are sent.
    let sink2 = Arc::new(FakeSink::default());
    let handle = spawn(
        run_with(sink2.clone(), store.clone(), 260),
        &CancellationToken::new(),
        false,
    );
    wait_until(|| committed(&store) == Some(260)).await;
    handle.stop().await;
    let acked = sink2.acked.lock().unwrap().clone();
    let expected: Vec<String> = (200..260).map(|i| format!("k{i}")).collect();
    assert_eq!(acked, expected);
}

#[tokio::test]
async fn a_page_of_ten_thousand_small_records_is_cut_into_batches_rocketmq_accepts() {
    let (_dir, store, sink) = setup();
    let handle = spawn(
        run_with_poll(sink.clone(), store.clone(), 10_000, 10_000),
        &CancellationToken::new(),
        false,
    );
    wait_until(|| committed(&store) == Some(10_000)).await;
    handle.stop().await;
    assert!(
        sink.refused.lock().unwrap().is_empty(),
        "{:?}",
        sink.refused.lock().unwrap()
    );
    assert_eq!(sink.acked.lock().unwrap().len(), 10_000);
    assert!(
        sink.calls.load(Ordering::SeqCst) >= 10,
        "cut into batches of at most 1000"
    );
}

#[tokio::test]
async fn a_failed_task_is_restarted_after_back_off_and_counts_its_restarts() {
    let (_dir, store, sink) = setup();
    sink.script.lock().unwrap().extend([None, Some(false)]);
    let mut run = run_with(sink.clone(), store.clone(), 300);
    run.settings.restart = RestartPolicy {
        enabled: true,
        initial: Duration::from_millis(20),
        max: Duration::from_millis(100),
    };
    let handle = spawn(run, &CancellationToken::new(), false);
    wait_until(|| committed(&store) == Some(300)).await;
    let status = handle.status.snapshot();
    handle.stop().await;
    assert_eq!(status.restarts, 1);
    assert_eq!(status.state, State::Running);
    let mut acked = sink.acked.lock().unwrap().clone();
    acked.sort();
    acked.dedup();
    assert_eq!(acked.len(), 300, "nothing lost across the restart");
}

#[tokio::test]
async fn a_task_that_cannot_be_created_shows_why_in_its_trace_and_is_created_again_after_back_off()
{
    let (_dir, store, sink) = setup();
    let mut run = run_with(sink.clone(), store.clone(), 100);
    let attempts = Arc::new(AtomicUsize::new(0));
    let seen = attempts.clone();
    run.factory = Arc::new(move |config| {
        let attempt = seen.fetch_add(1, Ordering::SeqCst);
        Box::pin(async move {
            if attempt == 0 {
                return Err(ConnectError::fatal("cannot spawn the plugin's process"));
            }
            assert!(
                config.is_empty(),
                "the task config is handed to the factory"
            );
            Ok(Box::new(CountingTask {
                next: 0,
                total: 100,
                per_poll: 50,
            }) as Box<dyn SourceTask>)
        })
    });
    // Long enough to see the failure before the second attempt.
    run.settings.restart = RestartPolicy {
        enabled: true,
        initial: Duration::from_millis(300),
        max: Duration::from_millis(300),
    };
    let handle = spawn(run, &CancellationToken::new(), false);
    wait_until(|| handle.status.snapshot().state == State::Failed).await;
    let trace = handle.status.snapshot().trace.unwrap_or_default();
    assert!(
        trace.contains("cannot create the task: cannot spawn the plugin's process"),
        "{trace}"
    );
    wait_until(|| committed(&store) == Some(100)).await;
    let status = handle.status.snapshot();
    handle.stop().await;
    assert_eq!(attempts.load(Ordering::SeqCst), 2);
    assert_eq!(status.restarts, 1);
    assert_eq!(status.state, State::Running);
}

#[tokio::test]
async fn a_paused_task_sends_nothing_until_resumed() {
    let (_dir, store, sink) = setup();
    let handle = spawn(
        run_with(sink.clone(), store.clone(), 200),
        &CancellationToken::new(),
        true,
    );
    let status = handle.status.clone();
    wait_until(|| status.snapshot().state == State::Paused).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        sink.acked.lock().unwrap().is_empty(),
        "a paused task produced"
    );
    handle.resume();
    wait_until(|| committed(&store) == Some(200)).await;
    handle.pause();
    wait_until(|| status.snapshot().state == State::Paused).await;
    handle.stop().await;
    assert_eq!(sink.acked.lock().unwrap().len(), 200);
}

/// Emits one record of more than 4 MiB between two small ones.
struct OversizedTask {
    done: bool,
}

#[async_trait]
impl SourceTask for OversizedTask {
    async fn start(&mut self, _ctx: TaskContext) -> Result<(), ConnectError> {
        Ok(())
    }

    async fn poll(&mut self) -> Result<Vec<SourceRecord>, ConnectError> {
        if self.done {
            tokio::time::sleep(Duration::from_millis(10)).await;
            return Ok(Vec::new());
        }
        self.done = true;
        let big = "x".repeat(5 * 1024 * 1024);
        Ok([
            ("k0", json!({"n": 0})),
            ("big", json!({"b": big})),
            ("k2", json!({"n": 2})),
        ]
        .into_iter()
        .enumerate()
        .map(|(i, (k, v))| {
            let off = SourceOffset::try_from(json!({"next": i + 1})).unwrap();
            SourceRecord::new(partition(), Some(off), RecordValue::Json(v)).with_key(k)
        })
        .collect())
    }
}

fn oversized_run(sink: Arc<FakeSink>, store: Arc<SledStore>, tolerance: Tolerance) -> TaskRun {
    let mut run = run_with(sink, store, 0);
    run.factory = factory_of(|| Box::new(OversizedTask { done: false }));
    run.delivery = DeliveryConfig {
        tolerance,
        tags: Some("from-es".into()),
        properties: vec![("source".into(), "test".into())],
        ..DeliveryConfig::default()
    };
    run
}

#[tokio::test]
async fn tolerance_all_skips_and_counts_an_oversized_record_and_moves_past_it() {
    let (_dir, store, sink) = setup();
    let handle = spawn(
        oversized_run(sink.clone(), store.clone(), Tolerance::All),
        &CancellationToken::new(),
        false,
    );
    wait_until(|| committed(&store) == Some(3)).await;
    let status = handle.status.snapshot();
    handle.stop().await;
    assert_eq!(status.records_failed, 1);
    assert_eq!(status.state, State::Running);
    assert_eq!(*sink.acked.lock().unwrap(), ["k0", "k2"]);
}

#[tokio::test]
async fn tolerance_all_with_a_dead_letter_topic_sends_the_bad_record_there_in_order() {
    let (_dir, store, sink) = setup();
    let mut run = oversized_run(sink.clone(), store.clone(), Tolerance::All);
    run.delivery.dlq_topic = Some("dlq".into());
    let handle = spawn(run, &CancellationToken::new(), false);
    wait_until(|| committed(&store) == Some(3)).await;
    let status = handle.status.snapshot();
    handle.stop().await;
    assert_eq!(status.records_failed, 1);
    assert_eq!(status.state, State::Running);
    let sent = sink.sent.lock().unwrap().clone();
    let topics: Vec<_> = sent.iter().map(|m| m.topic.as_str()).collect();
    assert_eq!(topics, ["t", "dlq", "t"]);
    let dead = &sent[1];
    assert_eq!(dead.key.as_deref(), Some("big"));
    let prop = |name: &str| {
        dead.properties
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let reason = prop(crate::dead_letter::PROP_REASON);
    assert!(
        reason.contains("record big") && reason.contains("limit 4194304"),
        "{reason}"
    );
    assert_eq!(prop(crate::dead_letter::PROP_CONNECTOR), "c");
    assert_eq!(prop(crate::dead_letter::PROP_TASK), "0");
    assert_eq!(prop(crate::dead_letter::PROP_TOPIC), "t");
    assert_eq!(prop(crate::dead_letter::PROP_KEY), "big");
    assert!(sink.refused.lock().unwrap().is_empty());
}

#[tokio::test]
async fn tolerance_none_fails_the_task_naming_the_oversized_record() {
    let (_dir, store, sink) = setup();
    let handle = spawn(
        oversized_run(sink.clone(), store.clone(), Tolerance::None),
        &CancellationToken::new(),
        false,
    );
    let status = handle.status.clone();
    wait_until(|| status.snapshot().state == State::Failed).await;
    handle.stop().await;
    let trace = status.snapshot().trace.unwrap_or_default();
    assert!(trace.contains("record big"), "{trace}");
    assert!(
        trace.contains("limit 4194304"),
        "names the size against the limit: {trace}"
    );
    assert_eq!(
        committed(&store),
        None,
        "nothing after the bad record was committed"
    );
}

#[tokio::test]
async fn a_send_retry_timeout_turns_endless_retriable_failures_into_a_task_failure() {
    let (_dir, store, sink) = setup();
    sink.script
        .lock()
        .unwrap()
        .extend(std::iter::repeat_n(Some(true), 10_000));
    let mut run = run_with(sink.clone(), store.clone(), 100);
    run.delivery.retry_timeout = Some(Duration::from_millis(50));
    run.delivery.retry_delay_max = Duration::from_millis(5);
    let handle = spawn(run, &CancellationToken::new(), false);
    let status = handle.status.clone();
    wait_until(|| status.snapshot().state == State::Failed).await;
    handle.stop().await;
    let trace = status.snapshot().trace.unwrap_or_default();
    assert!(trace.contains("errors.retry.timeout"), "{trace}");
}

/// Returns the scripted polls in order, then nothing; counts the polls that returned.
struct ScriptedTask {
    polls: VecDeque<Vec<SourceRecord>>,
    returned: Arc<AtomicUsize>,
}

#[async_trait]
impl SourceTask for ScriptedTask {
    async fn start(&mut self, _ctx: TaskContext) -> Result<(), ConnectError> {
        Ok(())
    }

    async fn poll(&mut self) -> Result<Vec<SourceRecord>, ConnectError> {
        let records = match self.polls.pop_front() {
            Some(records) => records,
            None => {
                tokio::time::sleep(Duration::from_millis(10)).await;
                Vec::new()
            }
        };
        self.returned.fetch_add(1, Ordering::SeqCst);
        Ok(records)
    }
}

fn offset_at(next: u64) -> SourceOffset {
    SourceOffset::try_from(json!({ "next": next })).unwrap()
}

fn data_record(n: u64) -> SourceRecord {
    SourceRecord::new(
        partition(),
        Some(offset_at(n + 1)),
        RecordValue::Json(json!({ "n": n })),
    )
    .with_key(format!("k{n}"))
}

/// A run of a [`ScriptedTask`]; the counter tells how many polls returned.
fn scripted_run(
    sink: Arc<FakeSink>,
    store: Arc<SledStore>,
    polls: Vec<Vec<SourceRecord>>,
) -> (TaskRun, Arc<AtomicUsize>) {
    let returned = Arc::new(AtomicUsize::new(0));
    let mut run = run_with(sink, store, 0);
    let script = Mutex::new(Some(polls));
    let counter = returned.clone();
    run.factory = factory_of(move || {
        Box::new(ScriptedTask {
            polls: script.lock().unwrap().take().unwrap_or_default().into(),
            returned: counter.clone(),
        })
    });
    (run, returned)
}

#[tokio::test]
async fn an_offset_only_record_is_committed_only_after_the_records_before_it_are_acknowledged() {
    let (_dir, store, sink) = setup();
    let (open, gate) = watch::channel(false);
    *sink.gate.lock().unwrap() = Some(gate);
    let (run, returned) = scripted_run(
        sink.clone(),
        store.clone(),
        vec![
            (0..3).map(data_record).collect(),
            vec![SourceRecord::offset_only(partition(), offset_at(10))],
        ],
    );
    let handle = spawn(run, &CancellationToken::new(), false);
    // A third poll has returned: the offset-only record was handed on behind the
    // unacknowledged batch of the first poll.
    wait_until(|| returned.load(Ordering::SeqCst) >= 3).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        committed(&store),
        None,
        "committed before the records before it"
    );
    open.send_replace(true);
    wait_until(|| committed(&store) == Some(10)).await;
    let status = handle.status.snapshot();
    handle.stop().await;
    assert_eq!(*sink.acked.lock().unwrap(), ["k0", "k1", "k2"]);
    assert_eq!(sink.calls.load(Ordering::SeqCst), 1, "nothing sent for it");
    assert_eq!((status.records_polled, status.records_sent), (3, 3));
}

#[tokio::test]
async fn a_poll_of_only_offset_only_records_commits_them_and_sends_nothing() {
    let (_dir, store, sink) = setup();
    let (run, _) = scripted_run(
        sink.clone(),
        store.clone(),
        vec![vec![
            SourceRecord::offset_only(partition(), offset_at(5)),
            SourceRecord::offset_only(partition(), offset_at(7)),
        ]],
    );
    let handle = spawn(run, &CancellationToken::new(), false);
    wait_until(|| committed(&store) == Some(7)).await;
    let status = handle.status.snapshot();
    handle.stop().await;
    assert_eq!(sink.calls.load(Ordering::SeqCst), 0);
    assert!(sink.sent.lock().unwrap().is_empty());
    assert_eq!((status.records_polled, status.records_sent), (0, 0));
    assert_eq!(status.state, State::Running);
}

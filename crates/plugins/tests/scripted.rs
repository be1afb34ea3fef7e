//! The plugin host against a real child process: `tests/plugins/scripted`, a small
//! Airbyte source in Python whose config chooses how it misbehaves. No RocketMQ here:
//! the task is driven directly, with an in-memory offset store standing in for the
//! runtime's (the runtime's own path is covered by the end-to-end tests).

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use connect_api::{
    ConfigMap, ConfigUpdater, ConnectError, ErasedSourceConnector, OffsetReader, SourceOffset,
    SourcePartition, SourceRecord, SourceTask, TaskContext,
};
use connect_plugins::airbyte::config::HostSettings;
use connect_plugins::host::{load, Plugins};
use connect_plugins::process::rss_bytes;

fn plugin_paths() -> Vec<PathBuf> {
    vec![PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/plugins")]
}

async fn scripted(work: &tempfile::TempDir) -> Arc<dyn ErasedSourceConnector> {
    let host = Arc::new(HostSettings {
        work_dir: work.path().join("plugins"),
        spec_timeout: Duration::from_secs(60),
        call_timeout: Duration::from_secs(60),
        guard: None,
    });
    let Plugins { loaded, broken } = load(&plugin_paths(), &["es-source".into()], host)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(broken.is_empty(), "{broken:?}");
    loaded
        .into_iter()
        .find(|l| l.connector.info().name == "scripted")
        .map(|l| l.connector)
        .unwrap_or_else(|| panic!("the scripted plugin is found"))
}

fn config(pairs: &[(&str, &str)]) -> ConfigMap {
    let mut c: ConfigMap = [
        ("connector.class", "scripted"),
        ("connect.topicname", "t-${stream}"),
        ("plugin.shutdown.grace.ms", "1000"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    for (k, v) in pairs {
        c.insert((*k).to_owned(), (*v).to_owned());
    }
    c
}

/// Committed offsets, as the runtime's store would hold them.
#[derive(Default)]
struct Offsets(Mutex<HashMap<SourcePartition, SourceOffset>>);

impl OffsetReader for Offsets {
    fn offset(&self, p: &SourcePartition) -> Result<Option<SourceOffset>, ConnectError> {
        Ok(self
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(p)
            .cloned())
    }
}

impl Offsets {
    /// Commits every record's offset, as the runtime does once they are acknowledged.
    fn commit(&self, records: &[SourceRecord]) {
        let mut m = self.0.lock().unwrap_or_else(|e| e.into_inner());
        for r in records {
            if let Some(o) = &r.offset {
                m.insert(r.partition.clone(), o.clone());
            }
        }
    }
}

/// The config changes a task asked the runtime to store.
#[derive(Default)]
struct Updates(Mutex<Vec<BTreeMap<String, String>>>);

impl ConfigUpdater for Updates {
    fn update(&self, changes: BTreeMap<String, String>) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(changes);
    }
}

struct Task {
    task: Box<dyn SourceTask>,
    updates: Arc<Updates>,
}

async fn task(
    plugin: &Arc<dyn ErasedSourceConnector>,
    config: &ConfigMap,
    offsets: Arc<Offsets>,
) -> Task {
    let parsed = plugin.parse(config).unwrap_or_else(|e| panic!("{e:?}"));
    let mut configs = plugin
        .task_configs(&parsed, 1)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(configs.len(), 1);
    let tc = configs.remove(0);
    let mut task = plugin
        .create_task(&tc)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let updates = Arc::new(Updates::default());
    let mut ctx = TaskContext::new("c1", 0, tc, offsets);
    ctx.config_updater = updates.clone();
    task.start(ctx).await.unwrap_or_else(|e| panic!("{e}"));
    Task { task, updates }
}

/// A task of the scripted plugin with `pairs`, no offsets committed yet; the directory
/// holds its files until dropped.
async fn started(pairs: &[(&str, &str)]) -> (tempfile::TempDir, Task) {
    let work = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let plugin = scripted(&work).await;
    let t = task(&plugin, &config(pairs), Arc::default()).await;
    (work, t)
}

/// Polls until `done` says so or the task fails; returns the records and the failure.
async fn poll_until(
    t: &mut Task,
    done: impl Fn(&[SourceRecord]) -> bool,
) -> (Vec<SourceRecord>, Option<String>) {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut all = Vec::new();
    while Instant::now() < deadline {
        match t.task.poll().await {
            Ok(r) => all.extend(r),
            Err(e) => return (all, Some(e.to_string())),
        }
        if done(&all) {
            return (all, None);
        }
    }
    panic!("no end within 60 s; {} records", all.len());
}

fn ids(records: &[SourceRecord], stream: &str) -> Vec<u64> {
    records
        .iter()
        .filter(|r| !r.is_offset_only() && r.tags.as_deref() == Some(stream))
        .filter_map(|r| match &r.value {
            connect_api::RecordValue::RawJson(b) => serde_json::from_slice::<serde_json::Value>(b)
                .ok()
                .and_then(|v| v["id"].as_u64()),
            _ => None,
        })
        .collect()
}

/// The cursor of a state (an offset-only record).
fn cursor_of(r: &SourceRecord) -> Option<u64> {
    if !r.is_offset_only() {
        return None;
    }
    r.offset
        .as_ref()?
        .get("state")?
        .pointer("/stream/stream_state/cursor")?
        .as_u64()
}

fn last_cursor(records: &[SourceRecord], stream: &str) -> Option<u64> {
    records
        .iter()
        .filter(|r| r.partition.get("stream").and_then(|s| s.as_str()) == Some(stream))
        .filter_map(cursor_of)
        .last()
}

/// Whether a state of `stream` at `cursor` was handed on.
fn saw_cursor(records: &[SourceRecord], stream: &str, cursor: u64) -> bool {
    records
        .iter()
        .filter(|r| r.partition.get("stream").and_then(|s| s.as_str()) == Some(stream))
        .any(|r| cursor_of(r) == Some(cursor))
}

#[tokio::test]
async fn a_sync_emits_every_record_with_its_topic_key_and_tag_and_states_as_offset_only_records() {
    let work = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let plugin = scripted(&work).await;
    let offsets = Arc::new(Offsets::default());
    let mut t = task(
        &plugin,
        &config(&[("count", "25"), ("state_every", "10")]),
        offsets,
    )
    .await;
    let (records, failure) = poll_until(&mut t, |r| last_cursor(r, "beta") == Some(25)).await;
    assert_eq!(failure, None);
    assert_eq!(ids(&records, "alpha"), (1..=25).collect::<Vec<_>>());
    assert_eq!(ids(&records, "beta"), (1..=25).collect::<Vec<_>>());
    let first = records.iter().find(|r| !r.is_offset_only());
    let first = first.unwrap_or_else(|| panic!("a record"));
    assert_eq!(first.topic.as_deref(), Some("t-alpha"));
    assert_eq!(first.key.as_deref(), Some("alpha/1"));
    assert!(first.offset.is_none(), "records carry no offset; states do");
    let states: Vec<_> = records.iter().filter(|r| r.is_offset_only()).collect();
    assert_eq!(states.len(), 6, "10, 20, 25 for each stream");
    t.task.stop().await.unwrap_or_else(|e| panic!("{e}"));
}

#[tokio::test]
async fn a_new_task_reads_on_from_the_committed_state() {
    let work = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let plugin = scripted(&work).await;
    let offsets = Arc::new(Offsets::default());
    let cfg = config(&[
        ("count", "30"),
        ("state_every", "10"),
        ("stream_names", "alpha"),
    ]);
    let mut t = task(&plugin, &cfg, offsets.clone()).await;
    let (records, _) = poll_until(&mut t, |r| saw_cursor(r, "alpha", 20)).await;
    // As if everything up to the state at 20 was acknowledged and committed.
    let upto: Vec<SourceRecord> = records
        .iter()
        .filter(|r| cursor_of(r).is_some_and(|c| c <= 20))
        .cloned()
        .collect();
    offsets.commit(&upto);
    t.task.stop().await.unwrap_or_else(|e| panic!("{e}"));
    let mut t = task(&plugin, &cfg, offsets).await;
    let (records, failure) = poll_until(&mut t, |r| last_cursor(r, "alpha") == Some(30)).await;
    assert_eq!(failure, None);
    assert_eq!(ids(&records, "alpha"), (21..=30).collect::<Vec<_>>());
    t.task.stop().await.unwrap_or_else(|e| panic!("{e}"));
}

#[tokio::test]
async fn a_crash_mid_sync_fails_the_task_with_the_exit_code_and_the_last_stderr_lines() {
    let (_work, mut t) = started(&[("count", "50"), ("crash_after", "15")]).await;
    let (records, failure) = poll_until(&mut t, |_| false).await;
    let failure = failure.unwrap_or_default();
    assert!(
        failure.contains("plugin scripted: `read` exited with code 3"),
        "{failure}"
    );
    assert!(failure.contains("crashing on purpose"), "{failure}");
    assert_eq!(ids(&records, "alpha").len(), 15);
    t.task.stop().await.unwrap_or_else(|e| panic!("{e}"));
}

#[tokio::test]
async fn lines_that_are_not_messages_and_unknown_message_types_are_counted_not_fatal() {
    let (_work, mut t) =
        started(&[("count", "9"), ("noise", "true"), ("stream_names", "alpha")]).await;
    let (records, failure) = poll_until(&mut t, |r| last_cursor(r, "alpha") == Some(9)).await;
    assert_eq!(failure, None);
    assert_eq!(ids(&records, "alpha").len(), 9);
    let progress = t.task.progress();
    assert_eq!(progress.counters.get("plugin_other_lines"), Some(&6));
    t.task.stop().await.unwrap_or_else(|e| panic!("{e}"));
}

#[tokio::test]
async fn a_line_longer_than_the_limit_fails_the_task_naming_the_plugin_and_the_line() {
    let (_work, mut t) = started(&[
        ("count", "20"),
        ("long_line_at", "5"),
        ("stream_names", "alpha"),
    ])
    .await;
    let (records, failure) = poll_until(&mut t, |_| false).await;
    let failure = failure.unwrap_or_default();
    assert!(
        failure.contains("plugin scripted: line 7 of its output is longer than 4194304 bytes"),
        "{failure}"
    );
    assert!(ids(&records, "alpha").len() <= 5);
    t.task.stop().await.unwrap_or_else(|e| panic!("{e}"));
}

#[tokio::test]
async fn a_plugin_that_ignores_sigterm_is_killed_once_the_grace_has_passed() {
    let (_work, mut t) = started(&[
        ("count", "5"),
        ("ignore_sigterm", "true"),
        ("stream_names", "alpha"),
    ])
    .await;
    let _ = poll_until(&mut t, |r| last_cursor(r, "alpha") == Some(5)).await;
    // While its process runs, the task shows its memory.
    let rss = t.task.progress().counters.get("plugin_rss_bytes").copied();
    assert!(rss.is_some_and(|b| b > 1024 * 1024), "{rss:?}");
    let started = Instant::now();
    t.task.stop().await.unwrap_or_else(|e| panic!("{e}"));
    let took = started.elapsed();
    // The grace is 1 s; stop returns once the process is gone.
    assert!(took >= Duration::from_millis(900), "{took:?}");
    assert!(took < Duration::from_secs(8), "{took:?}");
}

#[tokio::test]
async fn states_without_records_are_handed_on_as_offset_only_records() {
    let (_work, mut t) = started(&[
        ("count", "5"),
        ("states_only", "3"),
        ("stream_names", "alpha"),
    ])
    .await;
    let (records, failure) = poll_until(&mut t, |r| r.len() == 3).await;
    assert_eq!(failure, None);
    assert!(records.iter().all(|r| r.is_offset_only()));
    t.task.stop().await.unwrap_or_else(|e| panic!("{e}"));
}

#[tokio::test]
async fn a_traced_error_fails_the_task_with_its_message_and_failure_type() {
    let (_work, mut t) =
        started(&[("count", "5"), ("trace_error", "the API key was revoked")]).await;
    let (_, failure) = poll_until(&mut t, |_| false).await;
    let failure = failure.unwrap_or_default();
    assert!(
        failure.contains("the API key was revoked (config_error)"),
        "{failure}"
    );
    t.task.stop().await.unwrap_or_else(|e| panic!("{e}"));
}

#[tokio::test]
async fn validation_names_the_key_of_a_bad_value_a_failed_check_and_an_unknown_stream() {
    let work = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let plugin = scripted(&work).await;
    let errors = |e: Vec<connect_api::FieldError>| -> BTreeMap<String, String> {
        e.into_iter().map(|e| (e.field, e.message)).collect()
    };
    let e = errors(
        plugin
            .parse_and_validate(&config(&[("count", "abc")]))
            .await,
    );
    assert!(e["count"].contains("whole number"), "{e:?}");
    let e = errors(plugin.parse_and_validate(&config(&[("count", "0")])).await);
    assert!(e["count"].contains("minimum"), "{e:?}");
    let e = errors(plugin.parse_and_validate(&config(&[])).await);
    assert!(e.contains_key("count"), "{e:?}");
    let e = errors(
        plugin
            .parse_and_validate(&config(&[("count", "1"), ("check_fails", "true")]))
            .await,
    );
    assert!(
        e["connection"].contains("the scripted source refuses this config"),
        "{e:?}"
    );
    let e = errors(
        plugin
            .parse_and_validate(&config(&[("count", "1"), ("streams", "alpha,gamma")]))
            .await,
    );
    assert_eq!(
        e["streams"],
        "unknown stream \"gamma\"; the plugin's streams are: alpha, beta"
    );
    assert!(errors(plugin.parse_and_validate(&config(&[("count", "1")])).await).is_empty());
}

#[tokio::test]
async fn the_split_after_a_validation_reuses_its_catalog_and_a_changed_config_discovers_again() {
    let work = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let plugin = scripted(&work).await;
    let calls = work.path().join("calls");
    let calls_arg = calls.display().to_string();
    let commands = || -> Vec<String> {
        let mut c: Vec<String> = std::fs::read_to_string(&calls)
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect();
        c.sort();
        c
    };
    let first = config(&[("count", "1"), ("calls_file", &calls_arg)]);
    assert!(plugin.parse_and_validate(&first).await.is_empty());
    assert_eq!(commands(), ["check", "discover"]);
    let parsed = plugin.parse(&first).unwrap_or_else(|e| panic!("{e:?}"));
    let tasks = plugin
        .task_configs(&parsed, 2)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(tasks.len(), 2, "one task per stream");
    assert_eq!(commands(), ["check", "discover"], "no second discover");
    let other = config(&[("count", "2"), ("calls_file", &calls_arg)]);
    let parsed = plugin.parse(&other).unwrap_or_else(|e| panic!("{e:?}"));
    plugin
        .task_configs(&parsed, 2)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(commands(), ["check", "discover", "discover"]);
}

/// This process's resident memory, in bytes.
fn own_rss() -> u64 {
    rss_bytes(std::process::id()).unwrap_or(0)
}

#[tokio::test]
async fn a_plugin_faster_than_the_sink_blocks_on_its_pipe_and_memory_stays_bounded() {
    // Up to 1 GB of records (a million of ~1 KB), far faster than they are taken.
    let (_work, mut t) = started(&[
        ("count", "1000000"),
        ("pad_bytes", "1000"),
        ("state_every", "1000"),
        ("stream_names", "alpha"),
    ])
    .await;
    let before = own_rss();
    // One poll starts the sync; then nobody polls, as when RocketMQ is slow.
    let first = t.task.poll().await.unwrap_or_else(|e| panic!("{e}"));
    tokio::time::sleep(Duration::from_secs(3)).await;
    let read = t.task.progress().counters.get("records_alpha").copied();
    let grown = own_rss().saturating_sub(before);
    println!(
        "after 3 s unpolled: {read:?} records read of 1,000,000; memory grew by {} KiB",
        grown / 1024
    );
    assert!(
        read.is_some_and(|r| r < 20_000),
        "the reader stops at its bound: {read:?} records read, {} polled",
        first.len()
    );
    assert!(grown < 100 * 1024 * 1024, "memory grew by {grown} bytes");
    // Polling again goes on where it stopped.
    let mut more = 0;
    while more < 10_000 {
        more += t.task.poll().await.unwrap_or_else(|e| panic!("{e}")).len();
    }
    let later = t.task.progress().counters.get("records_alpha").copied();
    assert!(later > read, "{later:?} after {read:?}");
    t.task.stop().await.unwrap_or_else(|e| panic!("{e}"));
}

#[tokio::test]
async fn a_connector_config_message_is_handed_on_and_the_next_sync_uses_its_values() {
    let work = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let tokens = work.path().join("tokens");
    let tokens_arg = tokens.display().to_string();
    let plugin = scripted(&work).await;
    let mut t = task(
        &plugin,
        &config(&[
            ("count", "3"),
            ("stream_names", "alpha"),
            ("token", "t0"),
            ("rotate_token", "true"),
            ("token_file", &tokens_arg),
            ("sync.interval.ms", "0"),
        ]),
        Arc::default(),
    )
    .await;
    let read_tokens = || std::fs::read_to_string(&tokens).unwrap_or_default();
    let (_, failure) = poll_until(&mut t, |_| read_tokens().lines().count() >= 2).await;
    assert_eq!(failure, None);
    t.task.stop().await.unwrap_or_else(|e| panic!("{e}"));
    // The second sync of the same task ran with the refreshed token ...
    assert_eq!(
        read_tokens().lines().take(2).collect::<Vec<_>>(),
        ["t0", "t0-rotated"]
    );
    // ... and only the changed key was handed to the runtime, once.
    let updates = t
        .updates
        .0
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    assert_eq!(
        updates,
        [BTreeMap::from([(
            "token".to_owned(),
            "t0-rotated".to_owned()
        )])]
    );
    assert_eq!(t.task.progress().counters.get("config_updates"), Some(&1));
}

#[tokio::test]
async fn a_poll_dropped_while_it_waits_for_more_records_loses_none_of_them() {
    // The runtime drops a pending poll when the connector is paused; a poll that took
    // records and then waits (up to its linger) for more must not lose them.
    let (_work, mut t) = started(&[("count", "2000"), ("state_every", "100")]).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut all = Vec::new();
    let mut dropped = 0u32;
    while last_cursor(&all, "beta") != Some(2000) {
        assert!(
            Instant::now() < deadline,
            "no end within 60 s; {} records",
            all.len()
        );
        match tokio::time::timeout(Duration::from_micros(300), t.task.poll()).await {
            Ok(Ok(records)) => all.extend(records),
            Ok(Err(e)) => panic!("{e}"),
            Err(_) => dropped += 1,
        }
    }
    assert!(dropped > 0, "no poll was dropped: the test proves nothing");
    assert_eq!(ids(&all, "alpha"), (1..=2000).collect::<Vec<_>>());
    assert_eq!(ids(&all, "beta"), (1..=2000).collect::<Vec<_>>());
    t.task.stop().await.unwrap_or_else(|e| panic!("{e}"));
}

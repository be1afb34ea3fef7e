//! A task of a plugin connector: runs `read` for its streams from the committed state,
//! hands on records and states, waits `sync.interval.ms` after each complete sync and
//! reads again.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use connect_api::{
    ConfigMap, ConfigUpdater, ConnectError, FieldError, OffsetReader, PartitionProgress,
    SourcePartition, SourceRecord, SourceTask, TaskContext, TaskProgress,
};
use serde_json::Value;
use tokio::sync::{mpsc, Semaphore};
use tokio::task::JoinHandle;

use super::config::{keys, ConfigFile, HostSettings, PluginConfig};
use super::messages::ConfiguredCatalog;
use super::read::{global_partition, read, stream_partition, Item, ReadSettings};
use super::schema::ConfigSchema;
use super::stats::SyncStats;
use crate::process::{rss_bytes, LogFields, PluginCommand};

/// The most records one poll returns.
const POLL_MAX: usize = 1000;
/// One poll returns no more records once their lines add up to this many bytes (the
/// runtime holds a poll's records besides its batches in flight).
const POLL_MAX_BYTES: usize = 4 * 1024 * 1024;
/// How long a poll waits for the first record before it returns none.
const POLL_WAIT: Duration = Duration::from_secs(1);
/// After its first record, how long a poll waits for more before it returns what it has
/// (a producer's `linger.ms`; Kafka's producer defaults to 5 ms since 4.0). A plugin
/// writes one record at a time: without it a poll takes the few records that arrived
/// since the last one, and every small batch costs the broker a request.
const POLL_LINGER: Duration = Duration::from_millis(5);
/// Items between the reader and the task.
const CHANNEL: usize = 4096;
/// Bytes of records read but not yet polled, at least (or one line, if longer).
const BUDGET_BYTES: usize = 16 * 1024 * 1024;
/// The connector key naming the topic.
const TOPIC_KEY: &str = "connect.topicname";

enum Phase {
    /// Between syncs: the next starts at `next`.
    Idle { next: Instant },
    /// A sync is running.
    Reading {
        rx: mpsc::Receiver<Item>,
        reader: JoinHandle<()>,
        /// The files handed to the process, removed when the sync ends.
        _files: Vec<ConfigFile>,
    },
}

/// One task of a plugin connector.
pub struct AirbyteTask {
    cmd: PluginCommand,
    host: Arc<HostSettings>,
    schema: Arc<ConfigSchema>,
    config: PluginConfig,
    catalog: ConfiguredCatalog,
    /// The task's flat config (placeholders resolved), updated by the plugin's
    /// `CONNECTOR_CONFIG` messages.
    flat: ConfigMap,
    updater: Option<Arc<dyn ConfigUpdater>>,
    connector: String,
    task_id: u32,
    topic: Option<String>,
    offsets: Option<Arc<dyn OffsetReader>>,
    phase: Phase,
    stats: Arc<Mutex<SyncStats>>,
    /// The process id of the running `read` (0: none).
    child_pid: Arc<AtomicU32>,
    failed: Option<String>,
    syncs: u64,
    /// `CONNECTOR_CONFIG` messages that changed a value.
    config_updates: u64,
    last_start_ms: Option<u64>,
    last_end_ms: Option<u64>,
    next_ms: Option<u64>,
    /// What a poll took from the reader so far. Kept here, not in the poll, so that a
    /// poll dropped while it lingers (a pause drops a pending poll) loses nothing: the
    /// next poll returns it.
    taken: Taken,
}

/// Records and control messages a poll took from the reader and has not returned yet.
#[derive(Default)]
struct Taken {
    records: Vec<SourceRecord>,
    controls: Vec<Value>,
    /// The bytes of the records' lines.
    bytes: usize,
}

impl AirbyteTask {
    /// A task reading `catalog` with `config`.
    pub fn new(
        cmd: PluginCommand,
        host: Arc<HostSettings>,
        schema: Arc<ConfigSchema>,
        config: PluginConfig,
        catalog: ConfiguredCatalog,
    ) -> Self {
        Self {
            cmd,
            host,
            schema,
            config,
            catalog,
            flat: ConfigMap::new(),
            updater: None,
            connector: String::new(),
            task_id: 0,
            topic: None,
            offsets: None,
            phase: Phase::Idle {
                next: Instant::now(),
            },
            stats: Arc::default(),
            child_pid: Arc::default(),
            failed: None,
            syncs: 0,
            config_updates: 0,
            last_start_ms: None,
            last_end_ms: None,
            next_ms: None,
            taken: Taken::default(),
        }
    }

    /// The `--state` argument: the committed global state, else every stream's.
    fn committed_state(&self) -> Result<Option<Value>, ConnectError> {
        let Some(offsets) = &self.offsets else {
            return Ok(None);
        };
        let state_of = |p: &SourcePartition| -> Result<Option<Value>, ConnectError> {
            Ok(offsets.offset(p)?.and_then(|o| o.get("state").cloned()))
        };
        if let Some(global) = state_of(&global_partition(&self.connector))? {
            let legacy = matches!(
                global.get("type").and_then(Value::as_str),
                None | Some("LEGACY")
            );
            return Ok(Some(if legacy {
                global.get("data").cloned().unwrap_or(Value::Null)
            } else {
                Value::Array(vec![global])
            }));
        }
        let mut states = Vec::new();
        for s in &self.catalog.streams {
            let p = stream_partition(&s.stream.name, s.stream.namespace.as_deref());
            if let Some(state) = state_of(&p)? {
                states.push(state);
            }
        }
        Ok((!states.is_empty()).then_some(Value::Array(states)))
    }

    fn start_sync(&mut self) -> Result<(), ConnectError> {
        let fail = |e: String| ConnectError::fatal(format!("plugin {}: {e}", self.cmd.plugin));
        let config =
            ConfigFile::write(&self.host.work_dir, "config", &self.config.json).map_err(fail)?;
        let catalog_json = serde_json::to_value(&self.catalog)
            .map_err(|e| fail(format!("cannot write the catalog: {e}")))?;
        let catalog =
            ConfigFile::write(&self.host.work_dir, "catalog", &catalog_json).map_err(fail)?;
        let mut args = vec![
            "read".to_owned(),
            "--config".to_owned(),
            config.path_arg(),
            "--catalog".to_owned(),
            catalog.path_arg(),
        ];
        let mut files = vec![config, catalog];
        if let Some(state) = self.committed_state()? {
            let file = ConfigFile::write(&self.host.work_dir, "state", &state).map_err(fail)?;
            args.extend(["--state".to_owned(), file.path_arg()]);
            files.push(file);
        }
        let settings = Arc::new(ReadSettings {
            plugin: self.cmd.plugin.clone(),
            connector: self.connector.clone(),
            topic: self.topic.clone(),
            primary_keys: self
                .catalog
                .streams
                .iter()
                .map(|s| (s.stream.name.clone(), s.primary_key.clone()))
                .collect(),
            grace: self.config.grace,
        });
        let budget_max = BUDGET_BYTES.max(self.config.max_line + 1);
        let budget_max = u32::try_from(budget_max).unwrap_or(u32::MAX);
        let budget = Arc::new(Semaphore::new(budget_max as usize));
        let (tx, rx) = mpsc::channel(CHANNEL);
        let cmd = self.cmd.clone();
        let guard = self.host.guard.clone();
        let max_line = self.config.max_line;
        let stats = self.stats.clone();
        let fields = LogFields {
            plugin: self.cmd.plugin.clone(),
            connector: self.connector.clone(),
            task: Some(self.task_id),
        };
        stats.lock().unwrap_or_else(|p| p.into_inner()).new_sync();
        let child_pid = self.child_pid.clone();
        let reader = tokio::spawn(async move {
            match cmd.spawn(&args, max_line, guard, fields).await {
                Ok(running) => {
                    child_pid.store(running.pid().unwrap_or(0), Ordering::Relaxed);
                    read(running, settings, tx, budget, budget_max, stats).await;
                    child_pid.store(0, Ordering::Relaxed);
                }
                Err(e) => {
                    let _ = tx.send(Item::Failed(e.to_string())).await;
                }
            }
        });
        self.syncs += 1;
        self.last_start_ms = Some(now_ms());
        self.next_ms = None;
        tracing::info!(
            plugin = %self.cmd.plugin,
            connector = %self.connector,
            task = self.task_id,
            streams = self.catalog.streams.len(),
            "sync started"
        );
        self.phase = Phase::Reading {
            rx,
            reader,
            _files: files,
        };
        Ok(())
    }

    /// A new config from the plugin (a refreshed token, say): the next sync of this
    /// instance uses it, and the keys whose values changed are stored in the
    /// connector's config so that every later start uses them too. Values are never
    /// logged: they are secrets more often than not.
    fn control(&mut self, json: Value) {
        let plugin = &self.cmd.plugin;
        let flat = match self.schema.to_flat(&json, keys::is_host_key) {
            Ok(f) => f,
            Err(errors) => {
                tracing::warn!(plugin = %plugin, connector = %self.connector, task = self.task_id, "the plugin sent a new config that its own schema refuses; it is ignored: {}", FieldError::join(&errors));
                return;
            }
        };
        let changes: std::collections::BTreeMap<String, String> = flat
            .into_iter()
            .filter(|(k, v)| self.flat.get(k) != Some(v))
            .collect();
        self.config.json = json;
        if changes.is_empty() {
            tracing::debug!(plugin = %plugin, connector = %self.connector, "the plugin sent its config unchanged");
            return;
        }
        self.flat
            .extend(changes.iter().map(|(k, v)| (k.clone(), v.clone())));
        self.config_updates += 1;
        tracing::info!(plugin = %plugin, connector = %self.connector, task = self.task_id, keys = ?changes.keys().collect::<Vec<_>>(), "the plugin sent new values for its config; storing them");
        if let Some(u) = &self.updater {
            u.update(changes);
        }
    }

    fn sync_done(&mut self) {
        self.last_end_ms = Some(now_ms());
        self.next_ms = Some(now_ms() + self.config.sync_interval.as_millis() as u64);
        tracing::info!(
            plugin = %self.cmd.plugin,
            connector = %self.connector,
            task = self.task_id,
            next_in_ms = self.config.sync_interval.as_millis() as u64,
            "sync complete"
        );
        self.phase = Phase::Idle {
            next: Instant::now() + self.config.sync_interval,
        };
    }

    /// Ends the running sync: the process group is terminated (SIGTERM, SIGKILL after
    /// the grace) and waited for. Records read and not yet polled are dropped: the next
    /// sync starts from the committed state and reads them again.
    async fn end_sync(&mut self) {
        let phase = std::mem::replace(
            &mut self.phase,
            Phase::Idle {
                next: Instant::now(),
            },
        );
        if let Phase::Reading { rx, reader, .. } = phase {
            drop(rx);
            let wait = self.config.grace + Duration::from_secs(5);
            if tokio::time::timeout(wait, reader).await.is_err() {
                tracing::warn!(plugin = %self.cmd.plugin, "the plugin's reader did not end in time");
            }
        }
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default()
}

#[async_trait]
impl SourceTask for AirbyteTask {
    async fn start(&mut self, ctx: TaskContext) -> Result<(), ConnectError> {
        self.connector = ctx.connector.clone();
        self.task_id = ctx.task_id;
        self.topic = ctx
            .config
            .get(TOPIC_KEY)
            .filter(|t| t.contains("${stream}") || t.contains("${namespace}"))
            .cloned();
        self.offsets = Some(ctx.offsets.clone());
        self.flat = ctx.config.clone();
        self.updater = Some(ctx.config_updater.clone());
        // Fails early when the stored state cannot be read.
        self.committed_state()?;
        Ok(())
    }

    async fn poll(&mut self) -> Result<Vec<SourceRecord>, ConnectError> {
        if let Some(failure) = self.failed.take() {
            return Err(ConnectError::fatal(failure));
        }
        if let Phase::Idle { next } = &self.phase {
            let next = *next;
            let now = Instant::now();
            if now < next {
                tokio::time::sleep((next - now).min(POLL_WAIT)).await;
                return Ok(vec![]);
            }
            self.start_sync()?;
        }
        let Phase::Reading { rx, .. } = &mut self.phase else {
            return Ok(vec![]);
        };
        let taken = &mut self.taken;
        let mut next = if taken.records.is_empty() && taken.controls.is_empty() {
            match tokio::time::timeout(POLL_WAIT, rx.recv()).await {
                Err(_) => return Ok(Vec::new()),
                Ok(item) => item,
            }
        } else {
            // A dropped poll's records are returned at once.
            rx.try_recv().ok()
        };
        let mut ended = None;
        let linger_until = tokio::time::Instant::now() + POLL_LINGER;
        while let Some(item) = next.take() {
            match item {
                Item::Record(r, permit) => {
                    taken.bytes += permit.num_permits();
                    taken.records.push(r);
                }
                Item::Control(json) => taken.controls.push(json),
                Item::Done => {
                    ended = Some(None);
                    break;
                }
                Item::Failed(why) => {
                    ended = Some(Some(why));
                    break;
                }
            }
            if taken.records.len() >= POLL_MAX || taken.bytes >= POLL_MAX_BYTES {
                break;
            }
            next = match rx.try_recv() {
                Ok(item) => Some(item),
                Err(mpsc::error::TryRecvError::Empty) => {
                    tokio::time::timeout_at(linger_until, rx.recv())
                        .await
                        .ok()
                        .flatten()
                }
                Err(mpsc::error::TryRecvError::Disconnected) => None,
            };
        }
        if next.is_none() && ended.is_none() && rx.is_closed() && rx.is_empty() {
            ended = Some(Some(format!(
                "plugin {}: the sync ended without a word",
                self.cmd.plugin
            )));
        }
        for json in std::mem::take(&mut self.taken.controls) {
            self.control(json);
        }
        match ended {
            Some(None) => self.sync_done(),
            Some(Some(why)) => {
                self.end_sync().await;
                self.failed = Some(why);
            }
            None => {}
        }
        Ok(std::mem::take(&mut self.taken).records)
    }

    /// Counts the records whose states the runtime committed.
    async fn commit(&mut self) -> Result<(), ConnectError> {
        if let Some(offsets) = &self.offsets {
            self.stats
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .committed(offsets.as_ref());
        }
        Ok(())
    }

    async fn stop(&mut self) -> Result<(), ConnectError> {
        self.end_sync().await;
        Ok(())
    }

    /// The plugin's process does not wait in a pause: it is terminated, and the sync
    /// starts again from the committed state when the task resumes.
    async fn pause(&mut self) -> Result<(), ConnectError> {
        if matches!(self.phase, Phase::Reading { .. }) {
            self.end_sync().await;
            tracing::info!(plugin = %self.cmd.plugin, connector = %self.connector, task = self.task_id, "paused: the plugin's process was stopped; the sync restarts from the committed state on resume");
        }
        Ok(())
    }

    fn progress(&self) -> TaskProgress {
        let stats = self.stats.lock().unwrap_or_else(|p| p.into_inner());
        let mut progress = TaskProgress::default();
        for s in &self.catalog.streams {
            let name = &s.stream.name;
            let mut p = PartitionProgress::new(
                stream_partition(name, s.stream.namespace.as_deref()),
                format!("{name} ({})", s.sync_mode.as_str()),
            );
            if let Some(st) = stats.streams.get(name) {
                p.remaining = st.estimate.map(|e| e.saturating_sub(st.records));
                p.problem = st
                    .status
                    .as_deref()
                    .filter(|s| *s == "INCOMPLETE")
                    .map(|_| "the plugin reports the stream INCOMPLETE".to_owned());
                let metric = metric_name(name);
                progress
                    .counters
                    .insert(format!("records_{metric}"), st.records);
                progress
                    .counters
                    .insert(format!("committed_{metric}"), st.committed);
                if let Some(state) = st.status.as_deref().and_then(stream_state_code) {
                    progress
                        .counters
                        .insert(format!("stream_state_{metric}"), state);
                }
            }
            progress.partitions.push(p);
        }
        let c = &mut progress.counters;
        c.insert("syncs".into(), self.syncs);
        c.insert("config_updates".into(), self.config_updates);
        if let Some(rss) = rss_bytes(self.child_pid.load(Ordering::Relaxed)) {
            c.insert("plugin_rss_bytes".into(), rss);
        }
        c.insert("plugin_other_lines".into(), stats.other_lines);
        c.insert("state_count_mismatches".into(), stats.count_mismatches);
        for (k, v) in [
            ("last_sync_start_ms", self.last_start_ms),
            ("last_sync_end_ms", self.last_end_ms),
            ("next_sync_ms", self.next_ms),
        ] {
            if let Some(v) = v {
                c.insert(k.into(), v);
            }
        }
        progress
    }
}

/// A `STREAM_STATUS` as a number for status and `/metrics`: 1 started, 2 running,
/// 3 complete, 4 incomplete.
fn stream_state_code(status: &str) -> Option<u64> {
    match status {
        "STARTED" => Some(1),
        "RUNNING" => Some(2),
        "COMPLETE" => Some(3),
        "INCOMPLETE" => Some(4),
        _ => None,
    }
}

/// A stream name as part of a metric name: `snake_case` letters and digits.
fn metric_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect()
}

//! The cluster engine of one worker: creates and tails the four internal logs into one
//! shared [`View`], sends heartbeats (which hold the [`Lease`]), and offers the herder
//! the calls it needs to write records and wait until they are read back.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use connect_api::{SourceOffset, SourcePartition};
use connect_rocketmq::{LogReader, MqConfig, Producer};
use serde::de::DeserializeOwned;
use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::assign::TaskKey;
use super::cache::{Checkpoint, ClusterCache};
use super::configs::{ConfigRecord, ConfigState, Outcome};
use super::lease::Lease;
use super::log::{scan, tail, wait_applied, LogPos, LogWriter};
use super::members::{Claim, ClusterRecord, Heartbeat, Members};
use super::positions::{Effect, Fences, PositionRecord};
use super::snapshot::{
    self, Assembler, PositionsSnapshot, SnapshotPart, SnapshotRefs, StartedFrom,
};
use super::statuses::{StatusRecord, Statuses};
use super::ClusterError;
use crate::worker_config::ClusterConf;

/// How long a worker waits to read an internal record back after writing it.
pub const READ_BACK_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a starting worker may take to replay the config and offsets logs.
const REPLAY_TIMEOUT: Duration = Duration::from_secs(600);
/// How often the local copy of configs and offsets is written (when it changed).
const CHECKPOINT_INTERVAL: Duration = Duration::from_secs(5);
/// How often the leader looks whether a snapshot is due.
const SNAPSHOT_CHECK: Duration = Duration::from_secs(5);
/// Longest wait after failed snapshot writes before the next try.
const SNAPSHOT_RETRY_MAX: Duration = Duration::from_secs(300);

/// What every worker knows of the cluster, built from the internal logs.
#[derive(Debug)]
pub struct View {
    /// Connectors, task configs, restarts.
    pub configs: ConfigState,
    /// Outcome of each connector record, by request id (for the REST call that wrote it).
    pub outcomes: BTreeMap<String, (i64, Outcome)>,
    /// Members, leader, assignment.
    pub members: Members,
    /// Who may commit for each task.
    pub fences: Fences,
    /// Committed offsets: connector → partition → offset.
    pub offsets: BTreeMap<String, BTreeMap<SourcePartition, SourceOffset>>,
    /// Everything of the offsets log before this offset is applied.
    pub positions_next: i64,
    /// Commits refused because their writer had lost the task (for logs and tests).
    pub fenced_commits: u64,
    /// Latest status report of each worker.
    pub statuses: Statuses,
    /// The newest complete snapshots of the config and offsets logs.
    pub snapshots: SnapshotRefs,
    /// Offset of the last config record that was not a snapshot part.
    config_last_change: i64,
    /// Offset of the last offsets record that was not a snapshot part.
    positions_last_change: i64,
    config_parts: Assembler,
    position_parts: Assembler,
    /// The config state misses records the broker removed (no snapshot was found): it
    /// must not be written as a snapshot.
    config_incomplete: bool,
    /// The same for the offsets state.
    positions_incomplete: bool,
}

/// The engine; shared by the herder and its loops.
pub struct Engine {
    me: String,
    incarnation: u64,
    rest_url: Mutex<String>,
    conf: ClusterConf,
    view: Mutex<View>,
    lease: Lease,
    /// Tasks this worker runs now, with their generation (what heartbeats say).
    claimed: Mutex<BTreeMap<TaskKey, u64>>,
    changed: Notify,
    config_log: LogWriter,
    position_log: LogWriter,
    status_log: LogWriter,
    cluster_log: LogWriter,
    config_applied: watch::Receiver<i64>,
    positions_applied: watch::Receiver<i64>,
    cache: ClusterCache,
    cancel: CancellationToken,
    loops: Mutex<Vec<JoinHandle<()>>>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("me", &self.me)
            .field("incarnation", &self.incarnation)
            .finish_non_exhaustive()
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or_default()
}

impl Engine {
    /// Creates the internal topics if needed, reads the config and offsets logs (from
    /// the local copy in `cache` on, when the logs still hold its position), starts
    /// tailing all four logs and heartbeating. Returns once the worker knows the
    /// cluster's connectors and offsets.
    pub async fn start(
        me: &str,
        conf: ClusterConf,
        mq: &MqConfig,
        producer: Producer,
        cache: ClusterCache,
    ) -> Result<Arc<Self>, ClusterError> {
        for topic in [
            &conf.config_topic,
            &conf.position_topic,
            &conf.status_topic,
            &conf.cluster_topic,
        ] {
            producer
                .ensure_topic(topic, 1)
                .await
                .map_err(ClusterError::Mq)?;
        }
        let group = |what: &str| {
            let id: String = conf
                .cluster_id
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                        c
                    } else {
                        '_'
                    }
                })
                .collect();
            format!("rmq-connect-{id}-{what}")
        };
        let config_reader = LogReader::open(mq, &group("config"), &conf.config_topic)
            .await
            .map_err(ClusterError::Mq)?;
        let position_reader = LogReader::open(mq, &group("position"), &conf.position_topic)
            .await
            .map_err(ClusterError::Mq)?;
        let status_reader = LogReader::open(mq, &group("status"), &conf.status_topic)
            .await
            .map_err(ClusterError::Mq)?;
        let cluster_reader = LogReader::open(mq, &group("cluster"), &conf.cluster_topic)
            .await
            .map_err(ClusterError::Mq)?;

        // Membership and status: the recent past.
        let recent =
            now_ms() - 3 * i64::try_from(conf.session_timeout.as_millis()).unwrap_or(30_000);
        let cluster_from = cluster_reader
            .offset_at(recent)
            .await
            .map_err(ClusterError::Mq)?;
        let status_from = status_reader
            .offset_at(recent)
            .await
            .map_err(ClusterError::Mq)?;
        // The newest snapshots, as the live workers' heartbeats name them.
        let cluster_end = cluster_reader
            .end_offset()
            .await
            .map_err(ClusterError::Mq)?;
        let mut pointers = SnapshotRefs::default();
        scan::<ClusterRecord, _>(
            &cluster_reader,
            &conf.cluster_id,
            cluster_from,
            cluster_end,
            |_, record| {
                if let ClusterRecord::Heartbeat(h) = record {
                    pointers.merge(&h.snapshots);
                }
                std::ops::ControlFlow::Continue(())
            },
        )
        .await?;

        // Configs and offsets: where they start (read after the pointers, so that a
        // snapshot they name is within these ends).
        let config_min = config_reader.min_offset().await.map_err(ClusterError::Mq)?;
        let config_end = config_reader.end_offset().await.map_err(ClusterError::Mq)?;
        let position_min = position_reader
            .min_offset()
            .await
            .map_err(ClusterError::Mq)?;
        let position_end = position_reader
            .end_offset()
            .await
            .map_err(ClusterError::Mq)?;

        let copy = cache.load();
        let (config_copy, position_copy) = match copy {
            Some(c) => {
                let positions = PositionsSnapshot {
                    fences: c.fences,
                    offsets: c.offsets,
                };
                (
                    Some((c.config_next, c.configs)),
                    Some((c.positions_next, positions)),
                )
            }
            None => (None, None),
        };
        let configs = snapshot::start::<ConfigState, ConfigRecord>(
            &config_reader,
            &conf.cluster_id,
            (config_min, config_end),
            config_copy,
            pointers.config,
        )
        .await?;
        let positions = snapshot::start::<PositionsSnapshot, PositionRecord>(
            &position_reader,
            &conf.cluster_id,
            (position_min, position_end),
            position_copy,
            pointers.positions,
        )
        .await?;
        for (topic, how) in [
            (&conf.config_topic, configs.how),
            (&conf.position_topic, positions.how),
        ] {
            if let StartedFrom::Incomplete { min } = how {
                tracing::error!(
                    topic = %topic,
                    first_offset = min,
                    "the broker removed this internal topic's oldest records (retention) and \
                     no snapshot of them was found: connectors or offsets written before \
                     them are missing from this worker's view"
                );
            }
        }
        let config_from = configs.from;
        let position_from = positions.from;
        let mut offsets: BTreeMap<String, BTreeMap<SourcePartition, SourceOffset>> =
            BTreeMap::new();
        for (c, p, o) in positions.state.offsets {
            offsets.entry(c).or_default().insert(p, o);
        }
        let fences = positions.state.fences;
        let mut snapshots = pointers;
        for (known, how) in [
            (&mut snapshots.config, configs.how),
            (&mut snapshots.positions, positions.how),
        ] {
            if let StartedFrom::Snapshot(r) = how {
                known.get_or_insert(r);
            }
        }
        let started = (configs.how, positions.how);
        let configs = configs.state;

        let incarnation = u64::try_from(now_ms()).unwrap_or_default() * 1000
            + u64::from(std::process::id() % 1000);
        let session_ms = i64::try_from(conf.session_timeout.as_millis()).unwrap_or(10_000);
        let (config_tx, config_applied) = watch::channel(config_from);
        let (position_tx, positions_applied) = watch::channel(position_from);
        let (status_tx, _) = watch::channel(status_from);
        let (cluster_tx, _) = watch::channel(cluster_from);
        let cancel = CancellationToken::new();
        let cluster_id = conf.cluster_id.clone();
        let engine = Arc::new(Self {
            me: me.to_owned(),
            incarnation,
            rest_url: Mutex::new(String::new()),
            lease: Lease::for_session(conf.session_timeout, conf.heartbeat_interval),
            view: Mutex::new(View {
                configs,
                outcomes: BTreeMap::new(),
                members: Members::new(session_ms),
                fences,
                offsets,
                positions_next: position_from,
                fenced_commits: 0,
                statuses: Statuses::default(),
                snapshots,
                config_last_change: config_from - 1,
                positions_last_change: position_from - 1,
                config_parts: Assembler::default(),
                position_parts: Assembler::default(),
                config_incomplete: matches!(started.0, StartedFrom::Incomplete { .. }),
                positions_incomplete: matches!(started.1, StartedFrom::Incomplete { .. }),
            }),
            claimed: Mutex::new(BTreeMap::new()),
            changed: Notify::new(),
            config_log: LogWriter::new(producer.clone(), &conf.config_topic, &cluster_id),
            position_log: LogWriter::new(producer.clone(), &conf.position_topic, &cluster_id),
            status_log: LogWriter::new(producer.clone(), &conf.status_topic, &cluster_id),
            cluster_log: LogWriter::new(producer, &conf.cluster_topic, &cluster_id),
            conf,
            config_applied,
            positions_applied,
            cache,
            cancel: cancel.clone(),
            loops: Mutex::new(Vec::new()),
        });

        let loops = vec![
            engine.spawn_tail(config_reader, config_from, config_tx, Self::on_config),
            engine.spawn_tail(
                position_reader,
                position_from,
                position_tx,
                Self::on_position,
            ),
            engine.spawn_tail(status_reader, status_from, status_tx, Self::on_status),
            engine.spawn_tail(cluster_reader, cluster_from, cluster_tx, Self::on_cluster),
            tokio::spawn(heartbeats(Arc::downgrade(&engine), cancel.clone())),
            tokio::spawn(checkpoints(Arc::downgrade(&engine), cancel.clone())),
            tokio::spawn(snapshots_loop(Arc::downgrade(&engine), cancel)),
        ];
        engine.lock_loops().extend(loops);

        tracing::info!(
            cluster = %engine.conf.cluster_id,
            worker = me,
            config_records = config_end - config_from,
            offset_records = position_end - position_from,
            configs_from = ?started.0,
            offsets_from = ?started.1,
            "reading the cluster's configs and offsets"
        );
        let mut c = engine.config_applied.clone();
        wait_applied(&mut c, config_end, REPLAY_TIMEOUT).await?;
        let mut p = engine.positions_applied.clone();
        wait_applied(&mut p, position_end, REPLAY_TIMEOUT).await?;
        Ok(engine)
    }

    fn spawn_tail<R>(
        self: &Arc<Self>,
        reader: LogReader,
        from: i64,
        applied: watch::Sender<i64>,
        on: fn(&Self, LogPos, R),
    ) -> JoinHandle<()>
    where
        R: DeserializeOwned + Send + 'static,
    {
        let weak = Arc::downgrade(self);
        let cluster = self.conf.cluster_id.clone();
        let cancel = self.cancel.clone();
        tokio::spawn(async move {
            tail(
                reader,
                cluster,
                from,
                move |pos, record| {
                    if let Some(engine) = weak.upgrade() {
                        on(&engine, pos, record);
                        engine.changed.notify_waiters();
                    }
                },
                applied,
                cancel,
            )
            .await;
        })
    }

    fn on_config(&self, pos: LogPos, record: ConfigRecord) {
        let mut v = self.view();
        if let ConfigRecord::Snapshot(part) = &record {
            if let Some((r, _)) = v.config_parts.feed(pos, part) {
                // Read from the log: it replaces whatever a heartbeat said.
                v.snapshots.config = Some(r);
            }
        } else {
            v.config_last_change = pos.offset;
        }
        let outcome = v.configs.apply(pos.offset, &record);
        if let ConfigRecord::Connector { request, .. } = &record {
            v.outcomes.insert(request.clone(), (pos.offset, outcome));
            // Keep the outcomes of recent requests only.
            while v.outcomes.len() > 1024 {
                let oldest = v
                    .outcomes
                    .iter()
                    .min_by_key(|(_, (o, _))| *o)
                    .map(|(k, _)| k.clone());
                match oldest {
                    Some(k) => v.outcomes.remove(&k),
                    None => break,
                };
            }
        }
    }

    fn on_position(&self, pos: LogPos, record: PositionRecord) {
        let mut v = self.view();
        v.positions_next = v.positions_next.max(pos.offset + 1);
        let connector = match &record {
            PositionRecord::Fence { connector, .. }
            | PositionRecord::Commit { connector, .. }
            | PositionRecord::Alter { connector, .. }
            | PositionRecord::Reset { connector } => connector.clone(),
            PositionRecord::Snapshot(part) => {
                if let Some((r, _)) = v.position_parts.feed(pos, part) {
                    v.snapshots.positions = Some(r);
                }
                return;
            }
        };
        v.positions_last_change = pos.offset;
        match v.fences.apply(&record) {
            Effect::None => {}
            Effect::Change(changes) => {
                let offsets = v.offsets.entry(connector).or_default();
                for (p, o) in changes {
                    match o {
                        Some(o) => offsets.insert(p, o),
                        None => offsets.remove(&p),
                    };
                }
            }
            Effect::Reset => {
                v.offsets.remove(&connector);
            }
            Effect::Fenced { writer, current } => {
                v.fenced_commits += 1;
                tracing::info!(
                    connector = %connector,
                    writer = %writer.worker,
                    generation = writer.generation,
                    owner = ?current.map(|o| o.worker),
                    "ignored an offset commit from a worker that no longer owns the task"
                );
            }
        }
    }

    fn on_status(&self, _pos: LogPos, record: StatusRecord) {
        self.view().statuses.apply(record);
    }

    fn on_cluster(&self, pos: LogPos, record: ClusterRecord) {
        self.view().members.apply(&record, pos.store_ms);
    }

    fn lock_loops(&self) -> MutexGuard<'_, Vec<JoinHandle<()>>> {
        self.loops
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The shared view; hold it briefly, never across an `.await`.
    pub fn view(&self) -> MutexGuard<'_, View> {
        self.view
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// This worker's id.
    pub fn me(&self) -> &str {
        &self.me
    }

    /// Records where this worker's REST API listens (sent with its heartbeats).
    pub fn set_rest_url(&self, url: String) {
        *self
            .rest_url
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = url;
    }

    /// This process's incarnation.
    pub fn incarnation(&self) -> u64 {
        self.incarnation
    }

    /// The cluster settings.
    pub fn conf(&self) -> &ClusterConf {
        &self.conf
    }

    /// The lease on this worker's tasks.
    pub fn lease(&self) -> &Lease {
        &self.lease
    }

    /// Wakes up on every record read from any log.
    pub fn changed(&self) -> &Notify {
        &self.changed
    }

    /// Says which tasks this worker runs (sent with the next heartbeat).
    pub fn set_claimed(&self, claimed: BTreeMap<TaskKey, u64>) {
        *self
            .claimed
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = claimed;
    }

    /// Appends a config record and waits until this worker has read it back; returns
    /// its offset.
    pub async fn write_config(&self, record: &ConfigRecord) -> Result<i64, ClusterError> {
        let offset = self.config_log.append(record).await?;
        let mut applied = self.config_applied.clone();
        wait_applied(&mut applied, offset + 1, READ_BACK_TIMEOUT).await?;
        Ok(offset)
    }

    /// Appends an offsets record and waits until this worker has read it back.
    pub async fn write_position(&self, record: &PositionRecord) -> Result<i64, ClusterError> {
        let offset = self.position_log.append(record).await?;
        let mut applied = self.positions_applied.clone();
        wait_applied(&mut applied, offset + 1, READ_BACK_TIMEOUT).await?;
        Ok(offset)
    }

    /// Appends an offsets record without waiting to read it back (offset commits).
    pub async fn append_position(&self, record: &PositionRecord) -> Result<i64, ClusterError> {
        self.position_log.append(record).await
    }

    /// Waits until every offsets record written so far is read (for REST reads).
    pub async fn catch_up_positions(&self) -> Result<(), ClusterError> {
        let end = self.position_log.end_offset().await?;
        let mut applied = self.positions_applied.clone();
        wait_applied(&mut applied, end, READ_BACK_TIMEOUT).await
    }

    /// Publishes this worker's task statuses.
    pub async fn write_status(&self, record: &StatusRecord) -> Result<i64, ClusterError> {
        self.status_log.append(record).await
    }

    /// Appends a cluster record (an assignment, by the leader).
    pub async fn write_cluster(&self, record: &ClusterRecord) -> Result<i64, ClusterError> {
        self.cluster_log.append(record).await
    }

    /// Whether this worker leads now: it holds its lease and is the leader of the view.
    pub fn leads(&self) -> bool {
        self.lease.current(Instant::now()).is_some()
            && self.view().members.leader() == Some(self.me.as_str())
    }

    fn heartbeat(&self, leaving: bool) -> ClusterRecord {
        ClusterRecord::Heartbeat(Heartbeat {
            worker: self.me.clone(),
            incarnation: self.incarnation,
            rest_url: self
                .rest_url
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .clone(),
            running: if leaving {
                Vec::new()
            } else {
                self.claimed
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .iter()
                    .map(|(task, generation)| Claim {
                        task: task.clone(),
                        generation: *generation,
                    })
                    .collect()
            },
            leaving,
            snapshots: self.view().snapshots,
        })
    }

    /// Writes a snapshot of the config log and one of the offsets log when due (the
    /// leader calls it), each independently, and waits until they are read back. A state
    /// that misses records the broker removed is never written.
    async fn snapshot_if_due(&self) -> Result<(), ClusterError> {
        let writer = format!("{}-{}", self.me, self.incarnation);
        let interval = self.conf.snapshot_interval;
        let now = now_ms();
        let (config, positions) = {
            let v = self.view();
            let config = (!v.config_incomplete
                && snapshot::due(
                    v.snapshots.config,
                    v.config_last_change,
                    v.configs.next_offset(),
                    now,
                    interval,
                ))
            .then(|| {
                serde_json::to_string(&v.configs)
                    .map(|text| (v.configs.next_offset(), text))
                    .map_err(ClusterError::Encode)
            });
            let positions = (!v.positions_incomplete
                && snapshot::due(
                    v.snapshots.positions,
                    v.positions_last_change,
                    v.positions_next,
                    now,
                    interval,
                ))
            .then(|| {
                let offsets = v
                    .offsets
                    .iter()
                    .flat_map(|(c, m)| m.iter().map(move |(p, o)| (c.as_str(), p, o)));
                snapshot::positions_text(&v.fences, offsets).map(|text| (v.positions_next, text))
            });
            (config, positions)
        };
        let config = match config {
            Some(Ok((as_of, text))) => {
                let log = (&self.config_log, &self.config_applied);
                write_snapshot(log, as_of, &text, &writer, ConfigRecord::Snapshot).await
            }
            Some(Err(e)) => Err(e),
            None => Ok(()),
        };
        let positions = match positions {
            Some(Ok((as_of, text))) => {
                let log = (&self.position_log, &self.positions_applied);
                write_snapshot(log, as_of, &text, &writer, PositionRecord::Snapshot).await
            }
            Some(Err(e)) => Err(e),
            None => Ok(()),
        };
        config.and(positions)
    }

    /// Leaves the cluster: says so (after the herder stopped every task), gives up the
    /// lease, stops the loops and writes the local copy a last time.
    pub async fn leave(&self) {
        self.lease.release();
        if let Err(e) = self.cluster_log.append(&self.heartbeat(true)).await {
            tracing::warn!(error = %e, "could not tell the cluster this worker leaves; it times out instead");
        }
        self.cancel.cancel();
        let loops: Vec<_> = self.lock_loops().drain(..).collect();
        for l in loops {
            let _ = tokio::time::timeout(Duration::from_secs(5), l).await;
        }
        if let Err(e) = self.cache.save(&self.checkpoint()).await {
            tracing::warn!(error = %e, "could not write the local copy of the cluster state");
        }
    }

    /// The configs and offsets read so far, as one consistent copy.
    fn checkpoint(&self) -> Checkpoint {
        let v = self.view();
        Checkpoint {
            config_next: v.configs.next_offset(),
            configs: v.configs.clone(),
            positions_next: v.positions_next,
            fences: v.fences.clone(),
            offsets: v
                .offsets
                .iter()
                .flat_map(|(c, m)| {
                    m.iter()
                        .map(move |(p, o)| (c.clone(), p.clone(), o.clone()))
                })
                .collect(),
        }
    }
}

/// Appends a snapshot's parts to a log and waits until they are read back.
async fn write_snapshot<R: serde::Serialize>(
    (log, applied): (&LogWriter, &watch::Receiver<i64>),
    as_of: i64,
    text: &str,
    writer: &str,
    record: fn(SnapshotPart) -> R,
) -> Result<(), ClusterError> {
    let mut last = 0;
    for part in snapshot::split(text, as_of, writer) {
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

/// Ticks every period until cancelled, handing out the engine while it lives: the head
/// of the engine's periodic loops.
struct Ticker {
    engine: std::sync::Weak<Engine>,
    tick: tokio::time::Interval,
    cancel: CancellationToken,
}

impl Ticker {
    fn new(engine: std::sync::Weak<Engine>, period: Duration, cancel: CancellationToken) -> Self {
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

/// The leader's snapshots of the config and offsets logs, when due.
async fn snapshots_loop(engine: std::sync::Weak<Engine>, cancel: CancellationToken) {
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

/// Writes the local copy of configs and offsets every interval, when they changed.
async fn checkpoints(engine: std::sync::Weak<Engine>, cancel: CancellationToken) {
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
        match engine.cache.save(&engine.checkpoint()).await {
            Ok(()) => saved = now,
            Err(e) => {
                tracing::warn!(error = %e, "could not write the local copy of the cluster state")
            }
        }
    }
}

/// Sends a heartbeat every interval; each acknowledged one renews the lease.
async fn heartbeats(engine: std::sync::Weak<Engine>, cancel: CancellationToken) {
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

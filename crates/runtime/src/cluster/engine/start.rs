//! How an [`Engine`] starts, one function per step: open the logs, read the recent past
//! of the membership and status logs (with the snapshots the heartbeats name), choose
//! where the config and offsets logs start (snapshot, local copy or first record), build
//! the view, start the tail loops and the periodic loops of `loops.rs`, and wait
//! until the replay caught up.

use std::collections::BTreeMap;
use std::ops::ControlFlow;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use connect_rocketmq::{LogReader, MqConfig, Producer};
use serde::de::DeserializeOwned;
use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::clock::{millis, now_ms};
use super::loops;
use super::view::View;
use super::Engine;
use crate::cluster::cache::{Checkpoint, ClusterCache};
use crate::cluster::configs::{ConfigRecord, ConfigState};
use crate::cluster::lease::Lease;
use crate::cluster::log::{scan, tail, wait_applied, LogPos, LogWriter};
use crate::cluster::members::ClusterRecord;
use crate::cluster::positions::{PositionRecord, PositionsSnapshot};
use crate::cluster::snapshot::{
    self, SnapshotRecord, SnapshotRef, SnapshotRefs, Start, StartedFrom,
};
use crate::cluster::ClusterError;
use crate::worker_config::ClusterConf;

/// How long a starting worker may take to replay the config and offsets logs.
const REPLAY_TIMEOUT: Duration = Duration::from_secs(600);

/// A reader of each internal log.
struct Readers {
    config: LogReader,
    position: LogReader,
    status: LogReader,
    cluster: LogReader,
}

impl Readers {
    /// Creates the internal topics if needed and opens a reader of each, in a consumer
    /// group named after the cluster.
    async fn open(
        conf: &ClusterConf,
        mq: &MqConfig,
        producer: &Producer,
    ) -> Result<Self, ClusterError> {
        for topic in [
            &conf.config_topic,
            &conf.position_topic,
            &conf.status_topic,
            &conf.cluster_topic,
        ] {
            producer.ensure_topic(topic, 1).await?;
        }
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
        let open = |what: &'static str, topic: &str| {
            let group = format!("rmq-connect-{id}-{what}");
            let topic = topic.to_owned();
            async move { LogReader::open(mq, &group, &topic).await }
        };
        Ok(Self {
            config: open("config", &conf.config_topic).await?,
            position: open("position", &conf.position_topic).await?,
            status: open("status", &conf.status_topic).await?,
            cluster: open("cluster", &conf.cluster_topic).await?,
        })
    }
}

/// Where a starting worker reads each log from.
struct Starts {
    config: i64,
    position: i64,
    status: i64,
    cluster: i64,
}

/// The recent past of the membership and status logs (three session timeouts), and the
/// newest snapshots the live workers' heartbeats in it name.
async fn read_recent(
    readers: &Readers,
    conf: &ClusterConf,
) -> Result<(i64, i64, SnapshotRefs), ClusterError> {
    let recent = now_ms() - 3 * millis(conf.session_timeout, 30_000);
    let cluster_from = readers.cluster.offset_at(recent).await?;
    let status_from = readers.status.offset_at(recent).await?;
    let cluster_end = readers.cluster.end_offset().await?;
    let mut pointers = SnapshotRefs::default();
    scan::<ClusterRecord, _>(
        &readers.cluster,
        &conf.cluster_id,
        cluster_from,
        cluster_end,
        |_, record| {
            if let ClusterRecord::Heartbeat(h) = record {
                pointers.merge(&h.snapshots);
            }
            ControlFlow::Continue(())
        },
    )
    .await?;
    Ok((cluster_from, status_from, pointers))
}

/// Where reading the config or offsets log starts (see [`snapshot::start`]), and the
/// log's end at start; its ends are read now, after the heartbeats, so that a snapshot
/// they name is within them.
async fn start_log<S, R>(
    reader: &LogReader,
    cluster: &str,
    copy: Option<(i64, S)>,
    pointer: Option<SnapshotRef>,
) -> Result<(Start<S>, i64), ClusterError>
where
    S: DeserializeOwned + Default,
    R: DeserializeOwned + SnapshotRecord,
{
    let min = reader.min_offset().await?;
    let end = reader.end_offset().await?;
    let start = snapshot::start::<S, R>(reader, cluster, (min, end), copy, pointer).await?;
    if let StartedFrom::Incomplete { min } = start.how {
        tracing::error!(
            topic = %reader.topic(),
            first_offset = min,
            "the broker removed this internal topic's oldest records (retention) and \
             no snapshot of them was found: connectors or offsets written before \
             them are missing from this worker's view"
        );
    }
    Ok((start, end))
}

/// The local copy, as the starting states of the config and of the offsets log.
type Copies = (Option<(i64, ConfigState)>, Option<(i64, PositionsSnapshot)>);

fn copies(copy: Option<Checkpoint>) -> Copies {
    match copy {
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
    }
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
        let readers = Readers::open(&conf, mq, &producer).await?;
        let (cluster_from, status_from, pointers) = read_recent(&readers, &conf).await?;
        let (config_copy, position_copy) = copies(cache.load());
        let cluster = conf.cluster_id.as_str();
        let (configs, config_end) =
            start_log::<_, ConfigRecord>(&readers.config, cluster, config_copy, pointers.config)
                .await?;
        let (positions, position_end) = start_log::<_, PositionRecord>(
            &readers.position,
            cluster,
            position_copy,
            pointers.positions,
        )
        .await?;
        let starts = Starts {
            config: configs.from,
            position: positions.from,
            status: status_from,
            cluster: cluster_from,
        };
        let started = (configs.how, positions.how);
        let view = View::starting(
            configs,
            positions,
            pointers,
            millis(conf.session_timeout, 10_000),
        );
        let (engine, applied) = Self::new(me, conf, producer, cache, view, &starts);
        engine.start_loops(readers, &starts, applied);
        tracing::info!(
            cluster = %engine.conf.cluster_id,
            worker = me,
            config_records = config_end - starts.config,
            offset_records = position_end - starts.position,
            configs_from = ?started.0,
            offsets_from = ?started.1,
            "reading the cluster's configs and offsets"
        );
        engine.replayed(config_end, position_end).await?;
        Ok(engine)
    }

    /// The engine over `view`, with a new incarnation; returns it with the senders of
    /// how far its config and offsets logs are applied.
    fn new(
        me: &str,
        conf: ClusterConf,
        producer: Producer,
        cache: ClusterCache,
        view: View,
        starts: &Starts,
    ) -> (Arc<Self>, (watch::Sender<i64>, watch::Sender<i64>)) {
        let incarnation = u64::try_from(now_ms()).unwrap_or_default() * 1000
            + u64::from(std::process::id() % 1000);
        let (config_tx, config_applied) = watch::channel(starts.config);
        let (position_tx, positions_applied) = watch::channel(starts.position);
        let cluster_id = conf.cluster_id.clone();
        let writer = |topic: &str| LogWriter::new(producer.clone(), topic, &cluster_id);
        let engine = Arc::new(Self {
            me: me.to_owned(),
            incarnation,
            rest_url: Mutex::new(String::new()),
            lease: Lease::for_session(conf.session_timeout, conf.heartbeat_interval),
            view: Mutex::new(view),
            claimed: Mutex::new(BTreeMap::new()),
            changed: Notify::new(),
            config_log: writer(&conf.config_topic),
            position_log: writer(&conf.position_topic),
            status_log: writer(&conf.status_topic),
            cluster_log: writer(&conf.cluster_topic),
            conf,
            config_applied,
            positions_applied,
            cache,
            cancel: CancellationToken::new(),
            loops: Mutex::new(Vec::new()),
        });
        (engine, (config_tx, position_tx))
    }

    /// Starts tailing the four logs from where they start, and the periodic loops.
    fn start_loops(
        self: &Arc<Self>,
        readers: Readers,
        starts: &Starts,
        (config_tx, position_tx): (watch::Sender<i64>, watch::Sender<i64>),
    ) {
        let (status_tx, _) = watch::channel(starts.status);
        let (cluster_tx, _) = watch::channel(starts.cluster);
        let mut handles = vec![
            self.spawn_tail(readers.config, starts.config, config_tx, View::apply_config),
            self.spawn_tail(
                readers.position,
                starts.position,
                position_tx,
                View::apply_position,
            ),
            self.spawn_tail(readers.status, starts.status, status_tx, View::apply_status),
            self.spawn_tail(
                readers.cluster,
                starts.cluster,
                cluster_tx,
                View::apply_cluster,
            ),
        ];
        handles.extend(loops::spawn(self, &self.cancel));
        self.lock_loops().extend(handles);
    }

    /// Waits until the config and offsets logs are applied up to their ends at start.
    async fn replayed(&self, config_end: i64, position_end: i64) -> Result<(), ClusterError> {
        let mut c = self.config_applied.clone();
        wait_applied(&mut c, config_end, REPLAY_TIMEOUT).await?;
        let mut p = self.positions_applied.clone();
        wait_applied(&mut p, position_end, REPLAY_TIMEOUT).await
    }

    fn spawn_tail<R>(
        self: &Arc<Self>,
        reader: LogReader,
        from: i64,
        applied: watch::Sender<i64>,
        apply: fn(&mut View, LogPos, R),
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
                        apply(&mut engine.view(), pos, record);
                        engine.changed.notify_waiters();
                    }
                },
                applied,
                cancel,
            )
            .await;
        })
    }
}

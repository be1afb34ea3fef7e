//! The clustered-mode part of the worker conf: [`ClusterConf`], its defaults (those of
//! RocketMQ Connect), and the checks of its keys taken together.

use std::time::Duration;

/// Default cluster id (RocketMQ Connect's).
pub const DEFAULT_CLUSTER_ID: &str = "DefaultConnectCluster";
/// Default session timeout: a worker silent this long is considered gone.
pub const DEFAULT_SESSION_TIMEOUT_MS: u64 = 10_000;
/// Default heartbeat interval.
pub const DEFAULT_HEARTBEAT_INTERVAL_MS: u64 = 1_000;
/// Default time between snapshots of the config and offsets topics.
pub const DEFAULT_SNAPSHOT_INTERVAL_MS: u64 = 600_000;

/// The clustered-mode settings of a worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterConf {
    /// Workers with the same id (and name server) form one cluster (`connectClusterId`,
    /// default `DefaultConnectCluster`).
    pub cluster_id: String,
    /// Connector configs, target states and task configs (`configStoreTopic`, default
    /// `connector-config-topic`).
    pub config_topic: String,
    /// Offset commits and task fences (`positionStoreTopic`, alias `offsetStoreTopic`,
    /// default `connector-position-topic`).
    pub position_topic: String,
    /// Task statuses (`connectStatusTopic`, default `connector-status-topic`).
    pub status_topic: String,
    /// Heartbeats and assignments (`clusterStoreTopic`, default
    /// `connector-cluster-topic`).
    pub cluster_topic: String,
    /// A worker silent this long is gone and its tasks move (`sessionTimeoutMs`,
    /// default 10000).
    pub session_timeout: Duration,
    /// How often a worker says it is alive (`heartbeatIntervalMs`, default 1000; at
    /// most a quarter of the session timeout, so the lease of session − 2 × heartbeat
    /// spans at least two heartbeats and one late heartbeat does not stop the tasks).
    pub heartbeat_interval: Duration,
    /// The leader writes a snapshot of the config and offsets topics this long after
    /// the last one when they changed since (`snapshotIntervalMs`, default 600000,
    /// 1000 to 21600000), and every 6 hours anyway. A worker starting without a local
    /// copy reads the newest snapshot and the records after it only.
    pub snapshot_interval: Duration,
}

impl Default for ClusterConf {
    fn default() -> Self {
        Self {
            cluster_id: DEFAULT_CLUSTER_ID.to_owned(),
            config_topic: "connector-config-topic".to_owned(),
            position_topic: "connector-position-topic".to_owned(),
            status_topic: "connector-status-topic".to_owned(),
            cluster_topic: "connector-cluster-topic".to_owned(),
            session_timeout: Duration::from_millis(DEFAULT_SESSION_TIMEOUT_MS),
            heartbeat_interval: Duration::from_millis(DEFAULT_HEARTBEAT_INTERVAL_MS),
            snapshot_interval: Duration::from_millis(DEFAULT_SNAPSHOT_INTERVAL_MS),
        }
    }
}

impl ClusterConf {
    /// Checks the settings together; the error names the key to fix.
    pub(super) fn check(&self) -> Result<(), String> {
        if self.cluster_id.is_empty() {
            return Err("connectClusterId must not be empty".into());
        }
        for (key, topic) in [
            ("configStoreTopic", &self.config_topic),
            ("positionStoreTopic", &self.position_topic),
            ("connectStatusTopic", &self.status_topic),
            ("clusterStoreTopic", &self.cluster_topic),
        ] {
            connect_rocketmq::check_topic(topic).map_err(|e| format!("{key}: {e}"))?;
        }
        let topics: std::collections::BTreeSet<&String> = [
            &self.config_topic,
            &self.position_topic,
            &self.status_topic,
            &self.cluster_topic,
        ]
        .into();
        if topics.len() < 4 {
            return Err(
                "configStoreTopic, positionStoreTopic, connectStatusTopic and \
                        clusterStoreTopic must be four different topics"
                    .into(),
            );
        }
        if self.heartbeat_interval * 4 > self.session_timeout {
            return Err(format!(
                "heartbeatIntervalMs ({} ms) must be at most a quarter of sessionTimeoutMs ({} ms)",
                self.heartbeat_interval.as_millis(),
                self.session_timeout.as_millis()
            ));
        }
        Ok(())
    }
}

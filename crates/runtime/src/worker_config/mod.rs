//! The worker's properties-style conf file (`key=value`, `#` comments).
//!
//! Key names follow Apache RocketMQ Connect where they exist. Unknown keys are warned
//! about instead of being silently ignored.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::RuntimeError;
use crate::placeholders::PlaceholderPolicy;
use crate::properties::parse_properties;
use crate::secrets::{Secret, HIDDEN};
use crate::task_loop::{RestartPolicy, DEFAULT_MAX_IN_FLIGHT_BATCHES};

mod cluster;
mod rest_token;
#[cfg(test)]
mod tests;

pub use cluster::{
    ClusterConf, DEFAULT_CLUSTER_ID, DEFAULT_HEARTBEAT_INTERVAL_MS, DEFAULT_SESSION_TIMEOUT_MS,
    DEFAULT_SNAPSHOT_INTERVAL_MS,
};
use rest_token::rest_auth_token;
pub use rest_token::{MIN_RECOMMENDED_TOKEN_LEN, REST_AUTH_TOKEN, REST_AUTH_TOKEN_FILE};

/// Default REST port (the older RocketMQ Connect runtime's and its CLI's).
pub const DEFAULT_HTTP_PORT: u16 = 8081;
/// Default REST bind address: loopback only.
pub const DEFAULT_HTTP_HOST: &str = "127.0.0.1";
/// Default worker id (RocketMQ Connect's).
pub const DEFAULT_WORKER_ID: &str = "DefaultWorker";
/// Default RocketMQ name server.
pub const DEFAULT_NAMESRV_ADDR: &str = "127.0.0.1:9876";
/// Default offset commit interval: 0 commits after every acknowledged batch.
pub const DEFAULT_OFFSET_COMMIT_INTERVAL_MS: u64 = 0;
/// Default RocketMQ send timeout.
pub const DEFAULT_SEND_TIMEOUT_MS: u64 = 3000;

/// Keys of RocketMQ Connect's conf that this runtime reads nowhere yet; accepted quietly.
const ACCEPTED_UNUSED: &[&str] = &[
    "allocTaskStrategy",
    "offsetCommitTimeoutMsConfig",
    "keyConverter",
    "valueConverter",
    "aclEnable",
    "autoCreateTopicEnable",
];

/// The worker's settings.
///
/// `Debug` prints `secret_key` and the REST token as `[hidden]`.
#[derive(Clone)]
pub struct WorkerConfig {
    /// This worker's id, shown in status (`workerId`).
    pub worker_id: String,
    /// REST bind address (`httpHost`, default 127.0.0.1).
    pub http_host: IpAddr,
    /// REST port (`httpPort`, default 8081; 0 picks a free port).
    pub http_port: u16,
    /// Where sled keeps configs and offsets (`storePathRootDir`).
    pub store_path: PathBuf,
    /// RocketMQ name server addresses, `;`-separated (`namesrvAddr`).
    pub namesrv_addr: String,
    /// How often acknowledged offsets are written and flushed (`offsetCommitIntervalMs`);
    /// 0 commits after every acknowledged batch.
    pub offset_commit_interval: Duration,
    /// Producer group of this worker (`rmqProducerGroup`).
    pub producer_group: String,
    /// RocketMQ ACL access key (`accessKey`).
    pub access_key: Option<String>,
    /// RocketMQ ACL secret key (`secretKey`); never logged.
    pub secret_key: Option<String>,
    /// Send timeout for RocketMQ (`operationTimeout`, ms).
    pub send_timeout: Duration,
    /// Batches a task may have sent and not yet acknowledged (`maxInFlightBatches`).
    pub max_in_flight_batches: usize,
    /// Bearer token every REST route but `/health` requires (`rest.auth.token`, or the
    /// trimmed content of the file named by `rest.auth.token.file`); `None` leaves the
    /// API open, which is only sensible on a loopback bind.
    pub rest_auth_token: Option<Secret>,
    /// Where `${file:...}` placeholders may read and which `${env:...}` variables they
    /// may name (`config.providers.file.allowed.dirs`, `config.providers.env.allowed`).
    pub placeholders: PlaceholderPolicy,
    /// Automatic restarts of failed tasks (`taskAutoRestart`, default true;
    /// `taskRestartBackoffInitialMs`, default 1000; `taskRestartBackoffMaxMs`, default 60000).
    pub restart: RestartPolicy,
    /// Clustered mode: the cluster, its internal topics and its timeouts (read by
    /// `rmq-connect distributed` only).
    pub cluster: ClusterConf,
    /// Directories whose subdirectories holding a `plugin.json` are connector plugins
    /// (`pluginPaths`, comma-separated; default none). Relative paths are taken
    /// relative to the current directory.
    pub plugin_paths: Vec<PathBuf>,
}

impl std::fmt::Debug for WorkerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkerConfig")
            .field("worker_id", &self.worker_id)
            .field("http_host", &self.http_host)
            .field("http_port", &self.http_port)
            .field("store_path", &self.store_path)
            .field("namesrv_addr", &self.namesrv_addr)
            .field("offset_commit_interval", &self.offset_commit_interval)
            .field("producer_group", &self.producer_group)
            .field("access_key", &self.access_key)
            .field("secret_key", &self.secret_key.as_ref().map(|_| HIDDEN))
            .field("send_timeout", &self.send_timeout)
            .field("max_in_flight_batches", &self.max_in_flight_batches)
            .field("rest_auth_token", &self.rest_auth_token)
            .field("placeholders", &self.placeholders)
            .field("restart", &self.restart)
            .field("cluster", &self.cluster)
            .field("plugin_paths", &self.plugin_paths)
            .finish()
    }
}

impl WorkerConfig {
    /// Defaults with the store under `store_path`.
    pub fn with_store(store_path: impl Into<PathBuf>) -> Self {
        Self {
            worker_id: DEFAULT_WORKER_ID.to_owned(),
            http_host: IpAddr::from([127, 0, 0, 1]),
            http_port: DEFAULT_HTTP_PORT,
            store_path: store_path.into(),
            namesrv_addr: DEFAULT_NAMESRV_ADDR.to_owned(),
            offset_commit_interval: Duration::from_millis(DEFAULT_OFFSET_COMMIT_INTERVAL_MS),
            producer_group: format!("rmq-connect-{DEFAULT_WORKER_ID}"),
            access_key: None,
            secret_key: None,
            send_timeout: Duration::from_millis(DEFAULT_SEND_TIMEOUT_MS),
            max_in_flight_batches: DEFAULT_MAX_IN_FLIGHT_BATCHES,
            rest_auth_token: None,
            placeholders: PlaceholderPolicy::default(),
            restart: RestartPolicy::default(),
            cluster: ClusterConf::default(),
            plugin_paths: Vec::new(),
        }
    }

    /// Reads a conf file; relative store paths are taken relative to the current directory.
    pub fn load(path: &Path) -> Result<Self, RuntimeError> {
        let text = std::fs::read_to_string(path).map_err(|e| RuntimeError::Conf {
            path: path.to_path_buf(),
            message: format!("cannot read it: {e}"),
        })?;
        Self::parse(&text).map_err(|message| RuntimeError::Conf {
            path: path.to_path_buf(),
            message,
        })
    }

    /// Parses conf text; the error says which line or key to fix.
    pub fn parse(text: &str) -> Result<Self, String> {
        let props = parse_properties(text)?;
        let store = props
            .get("storePathRootDir")
            .cloned()
            .ok_or("storePathRootDir is required (a directory for configs and offsets)")?;
        let mut cfg = Self::with_store(store);
        let mut group_set = false;
        let mut token: Option<&str> = None;
        let mut token_file: Option<&str> = None;
        for (key, value) in &props {
            match key.as_str() {
                "workerId" => cfg.worker_id = value.clone(),
                "httpHost" => {
                    cfg.http_host = value
                        .parse()
                        .map_err(|_| format!("httpHost must be an IP address, got {value:?}"))?
                }
                "httpPort" => {
                    cfg.http_port = value
                        .parse()
                        .map_err(|_| format!("httpPort must be a port number, got {value:?}"))?
                }
                "storePathRootDir" => {}
                "namesrvAddr" => cfg.namesrv_addr = value.clone(),
                "offsetCommitIntervalMs" | "offsetCommitIntervalMsConfig" => {
                    cfg.offset_commit_interval = Duration::from_millis(parse_num(key, value)?)
                }
                "rmqProducerGroup" => {
                    cfg.producer_group = value.clone();
                    group_set = true;
                }
                "accessKey" => cfg.access_key = Some(value.clone()),
                "secretKey" => cfg.secret_key = Some(value.clone()),
                "operationTimeout" => {
                    cfg.send_timeout = Duration::from_millis(parse_num(key, value)?)
                }
                "taskAutoRestart" => {
                    cfg.restart.enabled = match value.as_str() {
                        "true" => true,
                        "false" => false,
                        other => {
                            return Err(format!(
                                "taskAutoRestart must be true or false, got {other:?}"
                            ))
                        }
                    }
                }
                "taskRestartBackoffInitialMs" => {
                    cfg.restart.initial = Duration::from_millis(parse_num(key, value)?.max(1))
                }
                "taskRestartBackoffMaxMs" => {
                    cfg.restart.max = Duration::from_millis(parse_num(key, value)?.max(1))
                }
                "maxInFlightBatches" => {
                    let n = parse_num(key, value)?;
                    if !(1..=64).contains(&n) {
                        return Err(format!("maxInFlightBatches must be 1..=64, got {n}"));
                    }
                    cfg.max_in_flight_batches = n as usize;
                }
                "connectClusterId" => cfg.cluster.cluster_id = value.clone(),
                "configStoreTopic" => cfg.cluster.config_topic = value.clone(),
                "positionStoreTopic" | "offsetStoreTopic" => {
                    cfg.cluster.position_topic = value.clone()
                }
                "connectStatusTopic" => cfg.cluster.status_topic = value.clone(),
                "clusterStoreTopic" => cfg.cluster.cluster_topic = value.clone(),
                "sessionTimeoutMs" => {
                    cfg.cluster.session_timeout =
                        Duration::from_millis(ms_in(key, value, 1_000..=600_000)?)
                }
                "heartbeatIntervalMs" => {
                    cfg.cluster.heartbeat_interval =
                        Duration::from_millis(ms_in(key, value, 100..=60_000)?)
                }
                "snapshotIntervalMs" => {
                    cfg.cluster.snapshot_interval =
                        Duration::from_millis(ms_in(key, value, 1_000..=21_600_000)?)
                }
                "pluginPaths" => {
                    cfg.plugin_paths = value
                        .split(',')
                        .map(str::trim)
                        .filter(|p| !p.is_empty())
                        .map(PathBuf::from)
                        .collect()
                }
                REST_AUTH_TOKEN => token = Some(value.as_str()),
                REST_AUTH_TOKEN_FILE => token_file = Some(value.as_str()),
                crate::placeholders::FILE_ALLOWED_DIRS_KEY => {
                    cfg.placeholders.file_allowed_dirs =
                        PlaceholderPolicy::parse_allowed_dirs(value)?
                }
                crate::placeholders::ENV_ALLOWED_KEY => {
                    cfg.placeholders.env_allowed = Some(PlaceholderPolicy::parse_env_allowed(value))
                }
                k if ACCEPTED_UNUSED.contains(&k) => {
                    tracing::info!(key = k, "worker conf key is not used in standalone mode")
                }
                other => tracing::warn!(key = other, "unknown worker conf key, ignored"),
            }
        }
        if cfg.worker_id.is_empty() {
            return Err("workerId must not be empty".into());
        }
        if !group_set {
            cfg.producer_group = format!("rmq-connect-{}", sanitize_group(&cfg.worker_id));
        }
        cfg.rest_auth_token = rest_auth_token(token, token_file)?;
        cfg.cluster.check()?;
        Ok(cfg)
    }
}

fn parse_num(key: &str, value: &str) -> Result<u64, String> {
    value
        .parse()
        .map_err(|_| format!("{key} must be a whole number, got {value:?}"))
}

/// A whole number of milliseconds within `range`; the error names the key.
fn ms_in(key: &str, value: &str, range: std::ops::RangeInclusive<u64>) -> Result<u64, String> {
    let n = parse_num(key, value)?;
    if !range.contains(&n) {
        return Err(format!(
            "{key} must be within {}..={} ms, got {n}",
            range.start(),
            range.end()
        ));
    }
    Ok(n)
}

fn sanitize_group(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

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

/// Conf key of the REST bearer token itself.
pub const REST_AUTH_TOKEN: &str = "rest.auth.token";
/// Conf key of a file holding the REST bearer token (trimmed); exclusive with
/// [`REST_AUTH_TOKEN`].
pub const REST_AUTH_TOKEN_FILE: &str = "rest.auth.token.file";
/// Tokens shorter than this are accepted with a warning.
pub const MIN_RECOMMENDED_TOKEN_LEN: usize = 16;
/// Largest token file read, so a wrong path (a log, a device) fails fast.
const MAX_TOKEN_FILE_BYTES: u64 = 64 * 1024;

/// Keys of RocketMQ Connect's conf that this runtime reads nowhere yet; accepted quietly.
const ACCEPTED_UNUSED: &[&str] = &[
    "pluginPaths",
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
}

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
    fn check(&self) -> Result<(), String> {
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

/// The REST token from `rest.auth.token` or `rest.auth.token.file`; the error names the
/// key (and the path) to fix and never contains the token.
fn rest_auth_token(token: Option<&str>, file: Option<&str>) -> Result<Option<Secret>, String> {
    let (token, source) = match (token, file) {
        (None, None) => return Ok(None),
        (Some(_), Some(_)) => {
            return Err(format!(
                "set either {REST_AUTH_TOKEN} or {REST_AUTH_TOKEN_FILE}, not both"
            ))
        }
        (Some(t), None) => (t.to_owned(), REST_AUTH_TOKEN.to_owned()),
        (None, Some(path)) => {
            let token = read_token_file(Path::new(path))
                .map_err(|why| format!("{REST_AUTH_TOKEN_FILE}={path}: {why}"))?;
            (token, format!("{REST_AUTH_TOKEN_FILE}={path}"))
        }
    };
    if token.is_empty() {
        return Err(format!(
            "{source}: the token is empty; set a token or remove the key"
        ));
    }
    // A client must be able to send it as `Authorization: Bearer <token>`.
    if !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(format!(
            "{source}: the token must be printable ASCII without spaces or line breaks"
        ));
    }
    if token.len() < MIN_RECOMMENDED_TOKEN_LEN {
        tracing::warn!(
            key = %source,
            "the REST token is shorter than {MIN_RECOMMENDED_TOKEN_LEN} characters; use a long random one"
        );
    }
    Ok(Some(Secret::new(token)))
}

/// The trimmed content of a token file.
fn read_token_file(path: &Path) -> Result<String, String> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(|e| format!("cannot read the token file: {e}"))?;
    warn_if_readable_by_others(path, &file);
    let mut text = String::new();
    file.take(MAX_TOKEN_FILE_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(|e| format!("cannot read the token file: {e}"))?;
    if text.len() as u64 > MAX_TOKEN_FILE_BYTES {
        return Err(format!(
            "the token file is larger than {MAX_TOKEN_FILE_BYTES} bytes; is it the right file?"
        ));
    }
    let token = text.trim();
    if token.is_empty() {
        return Err("the token file is empty".into());
    }
    Ok(token.to_owned())
}

#[cfg(unix)]
fn warn_if_readable_by_others(path: &Path, file: &std::fs::File) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = file.metadata() {
        if meta.permissions().mode() & 0o077 != 0 {
            tracing::warn!(
                path = %path.display(),
                "the REST token file is readable by group or others; chmod 600 it"
            );
        }
    }
}

#[cfg(not(unix))]
fn warn_if_readable_by_others(_path: &Path, _file: &std::fs::File) {}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conf_reads_rocketmq_connect_keys_and_defaults() {
        let cfg = WorkerConfig::parse(
            "# comment\nworkerId=w1\nstorePathRootDir=/tmp/x\nnamesrvAddr = 10.0.0.1:9876\n",
        )
        .unwrap();
        assert_eq!(cfg.worker_id, "w1");
        assert_eq!(cfg.http_port, DEFAULT_HTTP_PORT);
        assert_eq!(cfg.http_host.to_string(), "127.0.0.1");
        assert_eq!(cfg.namesrv_addr, "10.0.0.1:9876");
        assert_eq!(cfg.producer_group, "rmq-connect-w1");
    }

    #[test]
    fn conf_errors_name_the_key_or_line() {
        let err = WorkerConfig::parse("storePathRootDir=/x\nhttpPort=eighty").unwrap_err();
        assert!(err.contains("httpPort"), "{err}");
        let err = WorkerConfig::parse("workerId=w").unwrap_err();
        assert!(err.contains("storePathRootDir"), "{err}");
        let err = WorkerConfig::parse("storePathRootDir=/x\njunk line").unwrap_err();
        assert!(err.contains("line 2"), "{err}");
    }

    #[test]
    fn cluster_keys_are_read_with_rocketmq_connect_defaults_and_checked_together() {
        let cfg = WorkerConfig::parse("storePathRootDir=/x\n").unwrap();
        assert_eq!(cfg.cluster, ClusterConf::default());
        assert_eq!(cfg.cluster.config_topic, "connector-config-topic");
        assert_eq!(cfg.cluster.snapshot_interval, Duration::from_secs(600));
        let cfg = WorkerConfig::parse(
            "storePathRootDir=/x\nconnectClusterId=c1\noffsetStoreTopic=pos\n\
             sessionTimeoutMs=3000\nheartbeatIntervalMs=750\nsnapshotIntervalMs=5000\n",
        )
        .unwrap();
        assert_eq!(cfg.cluster.cluster_id, "c1");
        assert_eq!(cfg.cluster.position_topic, "pos");
        assert_eq!(cfg.cluster.session_timeout, Duration::from_secs(3));
        assert_eq!(cfg.cluster.snapshot_interval, Duration::from_secs(5));
        for (conf, key) in [
            ("snapshotIntervalMs=500", "snapshotIntervalMs"),
            ("snapshotIntervalMs=86400000", "snapshotIntervalMs"),
            ("sessionTimeoutMs=999", "sessionTimeoutMs"),
            ("heartbeatIntervalMs=5000", "heartbeatIntervalMs"),
            ("heartbeatIntervalMs=2501", "a quarter of sessionTimeoutMs"),
            (
                "configStoreTopic=connector-status-topic",
                "four different topics",
            ),
        ] {
            let err = WorkerConfig::parse(&format!("storePathRootDir=/x\n{conf}\n")).unwrap_err();
            assert!(err.contains(key), "{conf}: {err}");
        }
    }

    #[test]
    fn rest_token_from_the_conf_is_hidden_in_debug() {
        let cfg = WorkerConfig::parse(
            "storePathRootDir=/x\nrest.auth.token=tok-abcdefghijklmnop\nsecretKey=sk-very-secret\n",
        )
        .unwrap();
        assert_eq!(
            cfg.rest_auth_token.as_ref().map(Secret::expose),
            Some("tok-abcdefghijklmnop")
        );
        let shown = format!("{cfg:?}");
        assert!(!shown.contains("tok-abcdefghijklmnop"), "{shown}");
        assert!(!shown.contains("sk-very-secret"), "{shown}");
        assert!(shown.contains("[hidden]"), "{shown}");
        assert!(WorkerConfig::parse("storePathRootDir=/x")
            .unwrap()
            .rest_auth_token
            .is_none());
    }

    #[test]
    fn rest_token_file_is_read_and_trimmed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "  tok-from-a-file-0123\n\n").unwrap();
        let cfg = WorkerConfig::parse(&format!(
            "storePathRootDir=/x\nrest.auth.token.file={}",
            path.display()
        ))
        .unwrap();
        assert_eq!(
            cfg.rest_auth_token.as_ref().map(Secret::expose),
            Some("tok-from-a-file-0123")
        );
    }

    #[test]
    fn rest_token_errors_name_the_key_and_path_but_not_the_token() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing");
        let err = WorkerConfig::parse(&format!(
            "storePathRootDir=/x\nrest.auth.token.file={}",
            missing.display()
        ))
        .unwrap_err();
        assert!(err.contains(REST_AUTH_TOKEN_FILE), "{err}");
        assert!(err.contains(&missing.display().to_string()), "{err}");

        let empty = dir.path().join("empty");
        std::fs::write(&empty, " \n").unwrap();
        let err = WorkerConfig::parse(&format!(
            "storePathRootDir=/x\nrest.auth.token.file={}",
            empty.display()
        ))
        .unwrap_err();
        assert!(
            err.contains("empty") && err.contains(&empty.display().to_string()),
            "{err}"
        );

        let err = WorkerConfig::parse(&format!(
            "storePathRootDir=/x\nrest.auth.token=tok-abcdefghijklmnop\nrest.auth.token.file={}",
            empty.display()
        ))
        .unwrap_err();
        assert!(err.contains("not both"), "{err}");
        assert!(!err.contains("tok-abcdefghijklmnop"), "{err}");

        let err = WorkerConfig::parse("storePathRootDir=/x\nrest.auth.token=").unwrap_err();
        assert!(
            err.contains(REST_AUTH_TOKEN) && err.contains("empty"),
            "{err}"
        );
        let err =
            WorkerConfig::parse("storePathRootDir=/x\nrest.auth.token=two words").unwrap_err();
        assert!(
            err.contains("printable ASCII") && !err.contains("words"),
            "{err}"
        );
    }

    #[test]
    fn placeholder_policy_keys_are_read() {
        let cfg = WorkerConfig::parse(
            "storePathRootDir=/x\nconfig.providers.file.allowed.dirs=/etc/connect/secrets\nconfig.providers.env.allowed=ES_*\n",
        )
        .unwrap();
        assert_eq!(
            cfg.placeholders.file_allowed_dirs,
            vec![PathBuf::from("/etc/connect/secrets")]
        );
        assert!(cfg.placeholders.env_is_allowed("ES_PASSWORD"));
        assert!(!cfg.placeholders.env_is_allowed("HOME"));
        let default = WorkerConfig::parse("storePathRootDir=/x").unwrap();
        assert!(default.placeholders.file_allowed_dirs.is_empty());
        assert!(default.placeholders.env_is_allowed("HOME"));
        let err = WorkerConfig::parse(
            "storePathRootDir=/x\nconfig.providers.file.allowed.dirs=relative/dir",
        )
        .unwrap_err();
        assert!(err.contains("config.providers.file.allowed.dirs"), "{err}");
    }
}

//! The worker's properties-style conf file (`key=value`, `#` comments).
//!
//! Key names follow Apache RocketMQ Connect where they exist. Unknown keys are warned
//! about instead of being silently ignored.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::RuntimeError;

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
/// Default bound on batches sent but not yet acknowledged, per task.
pub const DEFAULT_MAX_IN_FLIGHT_BATCHES: usize = 4;
/// Default RocketMQ send timeout.
pub const DEFAULT_SEND_TIMEOUT_MS: u64 = 3000;

/// Keys of RocketMQ Connect's conf that this runtime reads nowhere yet; accepted quietly.
const ACCEPTED_UNUSED: &[&str] = &[
    "pluginPaths",
    "connectClusterId",
    "configStoreTopic",
    "positionStoreTopic",
    "offsetStoreTopic",
    "connectStatusTopic",
    "allocTaskStrategy",
    "offsetCommitTimeoutMsConfig",
    "keyConverter",
    "valueConverter",
    "aclEnable",
    "autoCreateTopicEnable",
];

/// The worker's settings.
#[derive(Debug, Clone)]
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
                "maxInFlightBatches" => {
                    let n = parse_num(key, value)?;
                    if !(1..=64).contains(&n) {
                        return Err(format!("maxInFlightBatches must be 1..=64, got {n}"));
                    }
                    cfg.max_in_flight_batches = n as usize;
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
        Ok(cfg)
    }
}

fn parse_num(key: &str, value: &str) -> Result<u64, String> {
    value
        .parse()
        .map_err(|_| format!("{key} must be a whole number, got {value:?}"))
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

/// Parses `key=value` (or `key: value`) lines; `#` and `!` start comments.
pub fn parse_properties(text: &str) -> Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with('!') {
            continue;
        }
        let Some(idx) = line.find(['=', ':']) else {
            return Err(format!("line {}: expected key=value, got {line:?}", n + 1));
        };
        let (k, v) = (line[..idx].trim(), line[idx + 1..].trim());
        if k.is_empty() {
            return Err(format!("line {}: empty key", n + 1));
        }
        out.insert(k.to_owned(), v.to_owned());
    }
    Ok(out)
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
}

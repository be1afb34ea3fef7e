//! A plugin connector's settings: the runtime's own keys beside the plugin's, what
//! every plugin of a worker shares, and the files handed to a plugin's process.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use connect_api::{ConfigKey, ConfigType};
use serde_json::Value;

use crate::guard::Guard;

/// The runtime's own keys of a plugin connector.
pub mod keys {
    /// Which streams to read (comma-separated; default all).
    pub const STREAMS: &str = "streams";
    /// The pause between the end of one sync and the start of the next.
    pub const SYNC_INTERVAL_MS: &str = "sync.interval.ms";
    /// How long the plugin may take to exit after SIGTERM before it is killed.
    pub const SHUTDOWN_GRACE_MS: &str = "plugin.shutdown.grace.ms";
    /// The longest line the plugin may print (bytes).
    pub const MAX_LINE_BYTES: &str = "plugin.max.line.bytes";
    /// A task's configured catalog (set by the split, not by users).
    pub const TASK_CATALOG: &str = "plugin.task.catalog";

    /// Whether `key` is one of the plugin host's keys (never handed to the plugin).
    pub fn is_host_key(key: &str) -> bool {
        key == STREAMS
            || key == SYNC_INTERVAL_MS
            || key.starts_with("plugin.")
            || key.starts_with("stream.")
    }
}

/// RocketMQ's default largest message body, and so the default longest line.
pub(super) const DEFAULT_MAX_LINE: usize = 4 * 1024 * 1024;

/// What every plugin of a worker shares.
#[derive(Debug)]
pub struct HostSettings {
    /// Where config, catalog and state files for plugin processes are written (mode
    /// 0600, removed when the process ends): under the worker's store directory.
    pub work_dir: PathBuf,
    /// How long `spec` may take at start-up.
    pub spec_timeout: Duration,
    /// How long `check` and `discover` may take.
    pub call_timeout: Duration,
    /// Terminates the plugins' processes if the worker dies.
    pub guard: Option<Arc<Guard>>,
}

/// A plugin connector's config, parsed.
#[derive(Debug, Clone)]
pub struct PluginConfig {
    /// The JSON config handed to the plugin, validated against its schema.
    pub json: Value,
    /// The streams chosen (`None`: all).
    pub streams: Option<Vec<String>>,
    /// The pause between syncs.
    pub sync_interval: Duration,
    /// The grace between SIGTERM and SIGKILL.
    pub grace: Duration,
    /// The longest line accepted.
    pub max_line: usize,
}

/// The runtime's own keys of every plugin connector.
pub(super) fn own_keys() -> Vec<ConfigKey> {
    vec![
        ConfigKey::new(
            keys::STREAMS,
            ConfigType::List,
            "The streams to read, comma-separated (default: every stream the plugin discovers).",
        ),
        ConfigKey::new(
            keys::SYNC_INTERVAL_MS,
            ConfigType::Int,
            "After a sync ends, how long to wait before the next one (which reads on from the committed state).",
        )
        .with_default("60000"),
        ConfigKey::new(
            keys::SHUTDOWN_GRACE_MS,
            ConfigType::Int,
            "On stop, pause or rebalance: how long the plugin's process may take to exit after SIGTERM before it is killed.",
        )
        .with_default("10000"),
        ConfigKey::new(
            keys::MAX_LINE_BYTES,
            ConfigType::Int,
            "The longest line the plugin may print; a longer one fails the task.",
        )
        .with_default(DEFAULT_MAX_LINE.to_string()),
    ]
}

/// A JSON file handed to a plugin process: mode 0600 in the work directory, removed
/// when dropped.
pub struct ConfigFile {
    file: tempfile::NamedTempFile,
}

impl ConfigFile {
    /// Writes `value` to a new file named after `what`.
    pub fn write(dir: &Path, what: &str, value: &Value) -> Result<Self, String> {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let file = tempfile::Builder::new()
            .prefix(&format!("{what}-"))
            .suffix(".json")
            .tempfile_in(dir)
            .map_err(|e| format!("cannot create a {what} file in {}: {e}", dir.display()))?;
        serde_json::to_writer(file.as_file(), value)
            .map_err(|e| format!("cannot write the {what} file: {e}"))?;
        Ok(Self { file })
    }

    /// The path, as a process argument.
    pub fn path_arg(&self) -> String {
        self.file.path().display().to_string()
    }
}

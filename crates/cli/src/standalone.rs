//! `rmq-connect standalone`: run a worker until SIGTERM or Ctrl-C, then stop gracefully.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use connect_api::ConfigMap;
use connect_plugins::airbyte::config::HostSettings;
use connect_plugins::guard::Guard;
use connect_runtime::standalone::StandaloneWorker;
use connect_runtime::{BrokenPlugin, PluginOrigin, PluginRegistry, WorkerConfig};

/// The connectors built into this binary.
pub fn registry() -> PluginRegistry {
    let mut r = PluginRegistry::new();
    r.register(Arc::new(connect_es_source::EsSourceConnector::new()));
    r
}

/// How long a plugin's `spec` may take at start-up.
const SPEC_TIMEOUT: Duration = Duration::from_secs(120);
/// How long a plugin's `check` or `discover` may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(300);
/// After a worker died: how long its plugins' processes get between SIGTERM and SIGKILL.
const ORPHAN_GRACE: Duration = Duration::from_secs(5);

/// The compiled-in connectors and the plugins found under the worker's `pluginPaths`.
/// A `pluginPaths` entry that is not a directory, a `plugin.json` with unknown keys or
/// two plugins of one name stop the worker; a plugin that fails to load is listed with
/// its error.
pub async fn registry_with_plugins(cfg: &WorkerConfig) -> anyhow::Result<PluginRegistry> {
    let mut r = registry();
    if cfg.plugin_paths.is_empty() {
        return Ok(r);
    }
    let guard = match Guard::start(ORPHAN_GRACE) {
        Ok(g) => Some(Arc::new(g)),
        Err(e) => {
            tracing::error!(error = %e, "cannot start the plugin guard (sh): plugin processes may outlive this worker if it is killed");
            None
        }
    };
    let host = Arc::new(HostSettings {
        work_dir: cfg.store_path.join("plugins"),
        spec_timeout: SPEC_TIMEOUT,
        call_timeout: CALL_TIMEOUT,
        guard,
    });
    let plugins = connect_plugins::host::load(&cfg.plugin_paths, &r.names(), host).await?;
    for l in plugins.loaded {
        r.register_found(
            l.connector,
            PluginOrigin {
                protocol: l.protocol.as_str().to_owned(),
                location: Some(l.dir.display().to_string()),
            },
        );
    }
    for b in plugins.broken {
        r.add_broken(BrokenPlugin {
            name: b.name,
            location: b.dir.display().to_string(),
            error: b.error,
        });
    }
    Ok(r)
}

/// Reads a connector file: a flat JSON object whose values are strings (numbers and
/// booleans are accepted as their text). The file name without `.json` is the name.
pub fn read_connector_file(path: &Path) -> anyhow::Result<(String, ConfigMap)> {
    let name = path
        .file_stem()
        .and_then(|s| s.to_str())
        .with_context(|| {
            format!(
                "{}: cannot take a connector name from this file name",
                path.display()
            )
        })?
        .to_owned();
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read connector file {}", path.display()))?;
    let value: serde_json::Value = serde_json::from_str(&text)
        .with_context(|| format!("{} is not valid JSON", path.display()))?;
    let serde_json::Value::Object(obj) = value else {
        bail!(
            "{}: a connector file must hold one JSON object",
            path.display()
        );
    };
    let mut config = ConfigMap::new();
    for (k, v) in obj {
        let text = match v {
            serde_json::Value::String(s) => s,
            serde_json::Value::Number(n) => n.to_string(),
            serde_json::Value::Bool(b) => b.to_string(),
            _ => bail!(
                "{}: key {k:?} must be a string, number or boolean",
                path.display()
            ),
        };
        config.insert(k, text);
    }
    Ok((name, config))
}

/// Runs the worker until a shutdown signal.
pub async fn run(conf: &Path, connector_files: &[PathBuf]) -> anyhow::Result<()> {
    let cfg = WorkerConfig::load(conf)?;
    let connectors = connector_files
        .iter()
        .map(|p| read_connector_file(p))
        .collect::<anyhow::Result<Vec<_>>>()?;
    tracing::info!(worker_id = %cfg.worker_id, store = %cfg.store_path.display(), namesrv = %cfg.namesrv_addr, "starting standalone worker");
    let registry = registry_with_plugins(&cfg).await?;
    let worker = StandaloneWorker::start(cfg, registry, connectors).await?;
    tracing::info!(rest = %worker.rest_addr(), "worker ready");
    wait_for_signal().await?;
    tracing::info!("shutting down: stopping tasks and committing offsets");
    worker.shutdown().await;
    tracing::info!("stopped");
    Ok(())
}

pub async fn wait_for_signal() -> anyhow::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?;
    let mut int = signal(SignalKind::interrupt()).context("cannot listen for SIGINT")?;
    tokio::select! {
        _ = term.recv() => {},
        _ = int.recv() => {},
    }
    Ok(())
}

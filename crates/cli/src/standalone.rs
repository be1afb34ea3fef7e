//! `rmq-connect standalone`: run a worker until SIGTERM or Ctrl-C, then stop gracefully.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context};
use connect_api::ConfigMap;
use connect_runtime::standalone::StandaloneWorker;
use connect_runtime::{PluginRegistry, WorkerConfig};

/// The connectors built into this binary.
pub fn registry() -> PluginRegistry {
    let mut r = PluginRegistry::new();
    r.register(Arc::new(connect_es_source::EsSourceConnector::new()));
    r
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
    let worker = StandaloneWorker::start(cfg, registry(), connectors).await?;
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

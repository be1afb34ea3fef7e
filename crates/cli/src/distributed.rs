//! `rmq-connect distributed`: run a worker of a cluster until SIGTERM or Ctrl-C, then
//! hand its tasks over and leave.

use std::path::Path;

use connect_runtime::distributed::DistributedWorker;
use connect_runtime::WorkerConfig;

use crate::standalone::{registry_with_plugins, wait_for_signal};

/// Runs the worker until a shutdown signal.
pub async fn run(conf: &Path) -> anyhow::Result<()> {
    let cfg = WorkerConfig::load(conf)?;
    tracing::info!(
        worker_id = %cfg.worker_id,
        cluster = %cfg.cluster.cluster_id,
        namesrv = %cfg.namesrv_addr,
        "starting distributed worker"
    );
    let registry = registry_with_plugins(&cfg).await?;
    let worker = DistributedWorker::start(cfg, registry).await?;
    tracing::info!(rest = %worker.rest_addr(), "worker joined the cluster");
    wait_for_signal().await?;
    tracing::info!("shutting down: stopping tasks, committing offsets, leaving the cluster");
    worker.shutdown().await;
    tracing::info!("stopped");
    Ok(())
}

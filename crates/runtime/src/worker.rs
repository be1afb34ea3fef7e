//! What the standalone and the clustered worker build the same way from the worker
//! config (the producer and the task loop's settings) and how both stop: tasks first,
//! so they commit what RocketMQ acknowledged, then the REST API, then the producer.

use std::sync::Arc;

use connect_rocketmq::MqConfig;

use crate::error::RuntimeError;
use crate::herder::Herder;
use crate::rest::RestServer;
use crate::sink::RocketMqSink;
use crate::task_loop::LoopSettings;
use crate::worker_config::WorkerConfig;

/// The producer's settings of a worker.
pub(crate) fn mq_config(cfg: &WorkerConfig) -> MqConfig {
    MqConfig {
        namesrv_addr: cfg.namesrv_addr.clone(),
        producer_group: cfg.producer_group.clone(),
        access_key: cfg.access_key.clone(),
        secret_key: cfg.secret_key.clone(),
        send_timeout: cfg.send_timeout,
        ..MqConfig::default()
    }
}

/// Starts the producer every task of the worker sends through.
pub(crate) async fn start_sink(mq: MqConfig) -> Result<Arc<RocketMqSink>, RuntimeError> {
    RocketMqSink::start(mq)
        .await
        .map(Arc::new)
        .map_err(|e| RuntimeError::Producer(e.to_string()))
}

/// The task loop's settings of a worker.
pub(crate) fn loop_settings(cfg: &WorkerConfig) -> LoopSettings {
    LoopSettings {
        max_in_flight_batches: cfg.max_in_flight_batches,
        commit_interval: cfg.offset_commit_interval,
        restart: cfg.restart.clone(),
        placeholders: cfg.placeholders.clone(),
        ..LoopSettings::default()
    }
}

/// Stops a worker: its herder (tasks commit what was acknowledged), its REST API, and
/// last its producer, once nothing else holds it.
pub(crate) async fn stop<H: Herder>(herder: Arc<H>, rest: RestServer, sink: Arc<RocketMqSink>) {
    herder.shutdown().await;
    rest.stop().await;
    drop(herder);
    match Arc::try_unwrap(sink) {
        Ok(sink) => sink.shutdown().await,
        Err(_) => tracing::warn!("producer still in use at shutdown; not shut down cleanly"),
    }
}

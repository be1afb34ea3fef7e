//! Wiring of a clustered worker: RocketMQ producer, cluster engine, herder and REST API.

use std::net::SocketAddr;
use std::sync::Arc;

use connect_rocketmq::MqConfig;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::cluster::engine::Engine;
use crate::error::RuntimeError;
use crate::herder::{DistributedHerder, Herder};
use crate::registry::PluginRegistry;
use crate::sink::{MessageSink, RocketMqSink};
use crate::task_loop::LoopSettings;
use crate::worker_config::WorkerConfig;

/// A running worker of a cluster.
pub struct DistributedWorker {
    herder: Arc<DistributedHerder>,
    sink: Arc<RocketMqSink>,
    rest_addr: SocketAddr,
    rest_shutdown: CancellationToken,
    rest: JoinHandle<Result<(), RuntimeError>>,
}

impl DistributedWorker {
    /// Joins the cluster of `cfg.cluster`: creates its internal topics if needed,
    /// replays its configs and offsets, then serves the REST API.
    pub async fn start(cfg: WorkerConfig, registry: PluginRegistry) -> Result<Self, RuntimeError> {
        let mq = MqConfig {
            namesrv_addr: cfg.namesrv_addr.clone(),
            producer_group: cfg.producer_group.clone(),
            access_key: cfg.access_key.clone(),
            secret_key: cfg.secret_key.clone(),
            send_timeout: cfg.send_timeout,
            ..MqConfig::default()
        };
        let sink = Arc::new(
            RocketMqSink::start(mq.clone())
                .await
                .map_err(|e| RuntimeError::Producer(e.to_string()))?,
        );
        let engine = Engine::start(
            &cfg.worker_id,
            cfg.cluster.clone(),
            &mq,
            sink.producer().clone(),
        )
        .await
        .map_err(|e| RuntimeError::Cluster(e.to_string()))?;
        let settings = LoopSettings {
            max_in_flight_batches: cfg.max_in_flight_batches,
            commit_interval: cfg.offset_commit_interval,
            restart: cfg.restart.clone(),
            placeholders: cfg.placeholders.clone(),
            ..LoopSettings::default()
        };
        let herder = DistributedHerder::start(
            engine.clone(),
            registry,
            sink.clone() as Arc<dyn MessageSink>,
            settings,
        );

        let rest_shutdown = CancellationToken::new();
        let (tx, rx) = tokio::sync::oneshot::channel();
        let addr = SocketAddr::new(cfg.http_host, cfg.http_port);
        crate::rest::auth::warn_if_exposed(&cfg);
        let rest = tokio::spawn(crate::rest::serve(
            herder.clone() as Arc<dyn Herder>,
            cfg.rest_auth_token.clone().map(Arc::new),
            addr,
            rest_shutdown.clone(),
            tx,
        ));
        let rest_addr = match rx.await {
            Ok(a) => a,
            Err(_) => {
                herder.shutdown().await;
                return Err(match rest.await {
                    Ok(Err(e)) => e,
                    _ => RuntimeError::Bind {
                        addr,
                        source: std::io::Error::other("REST server ended at start-up"),
                    },
                });
            }
        };
        engine.set_rest_url(format!("http://{rest_addr}"));
        Ok(Self {
            herder,
            sink,
            rest_addr,
            rest_shutdown,
            rest,
        })
    }

    /// Where the REST API listens.
    pub fn rest_addr(&self) -> SocketAddr {
        self.rest_addr
    }

    /// The herder.
    pub fn herder(&self) -> Arc<dyn Herder> {
        self.herder.clone()
    }

    /// Stops its tasks gracefully (committing acknowledged offsets), tells the cluster
    /// it leaves (its tasks move at once), then stops the REST API and the producer.
    pub async fn shutdown(self) {
        self.herder.shutdown().await;
        self.rest_shutdown.cancel();
        match self.rest.await {
            Ok(Err(e)) => tracing::warn!(error = %e, "REST server ended with an error"),
            Err(e) => tracing::warn!(error = %e, "REST server task failed"),
            Ok(Ok(())) => {}
        }
        drop(self.herder);
        match Arc::try_unwrap(self.sink) {
            Ok(sink) => sink.shutdown().await,
            Err(_) => tracing::warn!("producer still in use at shutdown; not shut down cleanly"),
        }
    }
}

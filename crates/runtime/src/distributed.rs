//! Wiring of a clustered worker: RocketMQ producer, cluster engine, herder and REST API.

use std::net::SocketAddr;
use std::sync::Arc;

use crate::cluster::cache::ClusterCache;
use crate::cluster::engine::Engine;
use crate::error::RuntimeError;
use crate::herder::{DistributedHerder, Herder};
use crate::registry::PluginRegistry;
use crate::rest::RestServer;
use crate::sink::{MessageSink, RocketMqSink};
use crate::worker;
use crate::worker_config::WorkerConfig;

/// A running worker of a cluster.
pub struct DistributedWorker {
    herder: Arc<DistributedHerder>,
    sink: Arc<RocketMqSink>,
    rest: RestServer,
}

impl DistributedWorker {
    /// Joins the cluster of `cfg.cluster`: creates its internal topics if needed,
    /// replays its configs and offsets, then serves the REST API.
    pub async fn start(cfg: WorkerConfig, registry: PluginRegistry) -> Result<Self, RuntimeError> {
        let mq = worker::mq_config(&cfg);
        let sink = worker::start_sink(mq.clone()).await?;
        let cache = ClusterCache::open(&cfg.store_path, &cfg.cluster)
            .map_err(|e| RuntimeError::Cluster(e.to_string()))?;
        let engine = Engine::start(
            &cfg.worker_id,
            cfg.cluster.clone(),
            &mq,
            sink.producer().clone(),
            cache,
        )
        .await
        .map_err(|e| RuntimeError::Cluster(e.to_string()))?;
        let herder = DistributedHerder::start(
            engine.clone(),
            registry,
            sink.clone() as Arc<dyn MessageSink>,
            worker::loop_settings(&cfg),
        );

        let rest = match RestServer::start(herder.clone() as Arc<dyn Herder>, &cfg).await {
            Ok(r) => r,
            Err(e) => {
                herder.shutdown().await;
                return Err(e);
            }
        };
        let rest_addr = rest.addr();
        engine.set_rest_url(format!("http://{rest_addr}"));
        Ok(Self { herder, sink, rest })
    }

    /// Where the REST API listens.
    pub fn rest_addr(&self) -> SocketAddr {
        self.rest.addr()
    }

    /// The herder.
    pub fn herder(&self) -> Arc<dyn Herder> {
        self.herder.clone()
    }

    /// Stops its tasks gracefully (committing acknowledged offsets), tells the cluster
    /// it leaves (its tasks move at once), then stops the REST API and the producer.
    pub async fn shutdown(self) {
        worker::stop(self.herder, self.rest, self.sink).await;
    }
}

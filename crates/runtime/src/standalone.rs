//! Wiring of a standalone worker: store, RocketMQ producer, herder and REST API.

use std::net::SocketAddr;
use std::sync::Arc;

use connect_api::ConfigMap;

use crate::error::RuntimeError;
use crate::herder::{Herder, PutMode, StandaloneHerder};
use crate::registry::PluginRegistry;
use crate::rest::RestServer;
use crate::sink::{MessageSink, RocketMqSink};
use crate::store::SledStore;
use crate::worker;
use crate::worker_config::WorkerConfig;

/// A running standalone worker.
pub struct StandaloneWorker {
    herder: Arc<StandaloneHerder>,
    sink: Arc<RocketMqSink>,
    rest: RestServer,
}

/// Why the worker could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A runtime part failed.
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
    /// A connector given on the command line was rejected.
    #[error("connector {name}: {message}")]
    Connector {
        /// Connector name (the file name).
        name: String,
        /// What is wrong.
        message: String,
    },
}

impl StandaloneWorker {
    /// Starts the worker, resumes stored connectors and creates (or updates) the
    /// connectors given on the command line.
    pub async fn start(
        cfg: WorkerConfig,
        registry: PluginRegistry,
        connectors: Vec<(String, ConfigMap)>,
    ) -> Result<Self, StartError> {
        let store = Arc::new(SledStore::open(&cfg.store_path)?);
        let sink = worker::start_sink(worker::mq_config(&cfg)).await?;
        let herder = StandaloneHerder::new(
            cfg.worker_id.clone(),
            registry,
            store,
            sink.clone() as Arc<dyn MessageSink>,
            worker::loop_settings(&cfg),
        );

        let rest = RestServer::start(herder.clone() as Arc<dyn Herder>, &cfg).await?;
        let rest_addr = rest.addr();
        herder.set_rest_url(format!("http://{rest_addr}"));
        let resumed = herder
            .resume_stored()
            .await
            .map_err(|e| RuntimeError::Corrupt(e.to_string()))?;
        tracing::info!(resumed, "stored connectors resumed");
        for (name, config) in connectors {
            herder
                .put_connector(&name, config, PutMode::Upsert, None)
                .await
                .map_err(|e| StartError::Connector {
                    name: name.clone(),
                    message: e.to_string(),
                })?;
        }
        herder.set_ready();
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

    /// Stops tasks gracefully (committing acknowledged offsets), then the REST API and
    /// the producer.
    pub async fn shutdown(self) {
        worker::stop(self.herder, self.rest, self.sink).await;
    }
}

//! Wiring of a standalone worker: store, RocketMQ producer, herder and REST API.

use std::net::SocketAddr;
use std::sync::Arc;

use connect_api::ConfigMap;
use connect_rocketmq::MqConfig;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::error::RuntimeError;
use crate::herder::{Herder, PutMode, StandaloneHerder};
use crate::registry::PluginRegistry;
use crate::sink::{MessageSink, RocketMqSink};
use crate::store::SledStore;
use crate::task_loop::LoopSettings;
use crate::worker_config::WorkerConfig;

/// A running standalone worker.
pub struct StandaloneWorker {
    herder: Arc<StandaloneHerder>,
    sink: Arc<RocketMqSink>,
    rest_addr: SocketAddr,
    rest_shutdown: CancellationToken,
    rest: JoinHandle<Result<(), RuntimeError>>,
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
        let sink = Arc::new(
            RocketMqSink::start(MqConfig {
                namesrv_addr: cfg.namesrv_addr.clone(),
                producer_group: cfg.producer_group.clone(),
                access_key: cfg.access_key.clone(),
                secret_key: cfg.secret_key.clone(),
                send_timeout: cfg.send_timeout,
                ..MqConfig::default()
            })
            .await
            .map_err(|e| RuntimeError::Producer(e.to_string()))?,
        );
        let settings = LoopSettings {
            max_in_flight_batches: cfg.max_in_flight_batches,
            commit_interval: cfg.offset_commit_interval,
            restart: cfg.restart.clone(),
            placeholders: cfg.placeholders.clone(),
            ..LoopSettings::default()
        };
        let herder = StandaloneHerder::new(
            cfg.worker_id.clone(),
            registry,
            store,
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
                return Err(match rest.await {
                    Ok(Err(e)) => e.into(),
                    _ => RuntimeError::Bind {
                        addr,
                        source: std::io::Error::other("REST server ended at start-up"),
                    }
                    .into(),
                })
            }
        };

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

    /// Stops tasks gracefully (committing acknowledged offsets), then the REST API and
    /// the producer.
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

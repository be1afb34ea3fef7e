//! The REST server of a worker as one value: started on the worker's address, stopped
//! at shutdown (used by the standalone and the clustered wiring alike).

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::error::RuntimeError;
use crate::herder::Herder;
use crate::worker_config::WorkerConfig;

/// A running REST server.
pub struct RestServer {
    addr: SocketAddr,
    shutdown: CancellationToken,
    task: JoinHandle<Result<(), RuntimeError>>,
}

impl RestServer {
    /// Binds `httpHost:httpPort` of `cfg` (with its token) and serves `herder`; returns
    /// once it listens, or why it cannot.
    pub async fn start(herder: Arc<dyn Herder>, cfg: &WorkerConfig) -> Result<Self, RuntimeError> {
        let shutdown = CancellationToken::new();
        let (tx, rx) = tokio::sync::oneshot::channel();
        let addr = SocketAddr::new(cfg.http_host, cfg.http_port);
        super::auth::warn_if_exposed(cfg);
        let task = tokio::spawn(super::serve(
            herder,
            cfg.rest_auth_token.clone().map(Arc::new),
            addr,
            shutdown.clone(),
            tx,
        ));
        match rx.await {
            Ok(addr) => Ok(Self {
                addr,
                shutdown,
                task,
            }),
            Err(_) => Err(match task.await {
                Ok(Err(e)) => e,
                _ => RuntimeError::Bind {
                    addr,
                    source: std::io::Error::other("REST server ended at start-up"),
                },
            }),
        }
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops it and waits for it to end.
    pub async fn stop(self) {
        self.shutdown.cancel();
        match self.task.await {
            Ok(Err(e)) => tracing::warn!(error = %e, "REST server ended with an error"),
            Err(e) => tracing::warn!(error = %e, "REST server task failed"),
            Ok(Ok(())) => {}
        }
    }
}

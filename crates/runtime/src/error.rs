//! Errors of the runtime crate.

use std::path::PathBuf;

use connect_api::FieldError;

/// Errors raised while starting or running the worker.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// The worker conf file is wrong.
    #[error("worker conf {path}: {message}")]
    Conf {
        /// The conf file.
        path: PathBuf,
        /// What to fix.
        message: String,
    },
    /// The sled store failed.
    #[error("store at {path}: {source}")]
    Store {
        /// The store directory.
        path: PathBuf,
        /// The cause.
        source: sled::Error,
    },
    /// A stored value could not be read back.
    #[error("store: {0}")]
    Corrupt(String),
    /// The RocketMQ producer could not start.
    #[error("RocketMQ producer: {0}")]
    Producer(String),
    /// The worker could not join its cluster.
    #[error("cannot join the cluster: {0}")]
    Cluster(String),
    /// The REST listener could not bind.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: std::net::SocketAddr,
        /// The cause.
        source: std::io::Error,
    },
}

/// Errors of connector management, mapped to HTTP statuses by the REST layer.
#[derive(Debug, thiserror::Error)]
pub enum HerderError {
    /// No connector of that name.
    #[error("connector {0} not found")]
    NotFound(String),
    /// A connector of that name exists already.
    #[error("connector {0} already exists")]
    AlreadyExists(String),
    /// The config has errors; each names its field.
    #[error("invalid connector config: {}", FieldError::join(.0))]
    InvalidConfig(Vec<FieldError>),
    /// The store failed.
    #[error("store failure: {0}")]
    Store(String),
    /// The worker is shutting down.
    #[error("the worker is shutting down")]
    ShuttingDown,
    /// The request conflicts with the connector's state.
    #[error("{0}")]
    Conflict(String),
    /// No such task.
    #[error("connector {0} has no task {1}")]
    TaskNotFound(String, u32),
    /// The cluster cannot be reached (clustered mode): the call may be tried again.
    #[error("the cluster is unavailable: {0}")]
    Unavailable(String),
}

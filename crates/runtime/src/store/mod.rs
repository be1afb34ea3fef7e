//! Where connector configs and offsets live, behind traits so the clustered mode (or
//! another engine) can replace sled.
//!
//! Contract: `OffsetStore::put_all` returns only after the offsets are flushed to disk,
//! so an offset reported as committed survives `kill -9`.

mod sled_store;

use async_trait::async_trait;
use connect_api::{ConfigMap, SourceOffset, SourcePartition};

pub use sled_store::SledStore;

/// A store failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The underlying engine failed.
    #[error("store engine: {0}")]
    Engine(#[from] sled::Error),
    /// A clustered worker may not commit for this task run (it lost the task or its
    /// lease).
    #[error("{0}")]
    Fenced(String),
    /// The cluster's offsets log could not be written.
    #[error("cannot write to the cluster's offsets log: {0}")]
    Cluster(String),
    /// A stored value could not be decoded.
    #[error("stored value under {key} is unreadable: {message}")]
    Corrupt {
        /// The key.
        key: String,
        /// Why.
        message: String,
    },
}

/// Committed source offsets, per connector and partition.
#[async_trait]
pub trait OffsetStore: Send + Sync {
    /// The committed offset of one partition.
    fn get(
        &self,
        connector: &str,
        partition: &SourcePartition,
    ) -> Result<Option<SourceOffset>, StoreError>;

    /// Every committed offset of a connector.
    fn list(&self, connector: &str) -> Result<Vec<(SourcePartition, SourceOffset)>, StoreError>;

    /// Writes offsets atomically and flushes them to disk before returning.
    async fn put_all(
        &self,
        connector: &str,
        offsets: &[(SourcePartition, SourceOffset)],
    ) -> Result<(), StoreError>;

    /// Sets (`Some`) or removes (`None`) offsets atomically, flushed before returning.
    async fn alter(
        &self,
        connector: &str,
        changes: &[(SourcePartition, Option<SourceOffset>)],
    ) -> Result<(), StoreError>;

    /// Removes every offset of a connector, flushed before returning.
    async fn reset(&self, connector: &str) -> Result<(), StoreError>;
}

/// Whether a connector should run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TargetState {
    /// Running.
    Started,
    /// Tasks paused.
    Paused,
    /// Tasks stopped.
    Stopped,
}

/// A connector as stored: its config and whether it should run.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StoredConnector {
    /// The config as written (placeholders unresolved).
    pub config: ConfigMap,
    /// Running, paused or stopped.
    pub target_state: TargetState,
}

/// Connector configs and target states, so standalone keeps REST-created connectors,
/// paused or stopped ones included, across restarts.
#[async_trait]
pub trait ConfigStore: Send + Sync {
    /// Stores (or replaces) a connector.
    async fn put_connector(
        &self,
        name: &str,
        connector: &StoredConnector,
    ) -> Result<(), StoreError>;
    /// Removes a connector.
    async fn remove_connector(&self, name: &str) -> Result<(), StoreError>;
    /// All stored connectors, by name.
    fn connectors(&self) -> Result<Vec<(String, StoredConnector)>, StoreError>;
}

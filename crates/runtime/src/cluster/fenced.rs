//! What a task run of a clustered worker writes through: offsets committed to the
//! offsets log under the run's fence, and messages sent only while the worker's lease
//! holds for the run's epoch.

use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use connect_api::{SourceOffset, SourcePartition};
use connect_rocketmq::OutMessage;

use super::assign::TaskKey;
use super::engine::Engine;
use super::positions::{Owner, PositionRecord};
use crate::sink::{MessageSink, SendError};
use crate::store::{OffsetStore, StoreError};

/// The offsets of one task run: read from the worker's view of the offsets log,
/// committed to it as the run's owner.
pub struct FencedOffsets {
    engine: Arc<Engine>,
    task: TaskKey,
    owner: Owner,
    epoch: u64,
}

impl FencedOffsets {
    /// The offsets of the run of `task` fenced as `owner` in lease `epoch`.
    pub fn new(engine: Arc<Engine>, task: TaskKey, owner: Owner, epoch: u64) -> Self {
        Self {
            engine,
            task,
            owner,
            epoch,
        }
    }

    fn refuse(&self, why: &str) -> StoreError {
        StoreError::Fenced(format!("task {} may not commit offsets: {why}", self.task))
    }
}

#[async_trait]
impl OffsetStore for FencedOffsets {
    fn get(
        &self,
        connector: &str,
        partition: &SourcePartition,
    ) -> Result<Option<SourceOffset>, StoreError> {
        Ok(self
            .engine
            .view()
            .offsets
            .get(connector)
            .and_then(|m| m.get(partition))
            .cloned())
    }

    fn list(&self, connector: &str) -> Result<Vec<(SourcePartition, SourceOffset)>, StoreError> {
        Ok(self
            .engine
            .view()
            .offsets
            .get(connector)
            .map(|m| m.iter().map(|(p, o)| (p.clone(), o.clone())).collect())
            .unwrap_or_default())
    }

    async fn put_all(
        &self,
        connector: &str,
        offsets: &[(SourcePartition, SourceOffset)],
    ) -> Result<(), StoreError> {
        if !self.engine.lease().valid(self.epoch, Instant::now()) {
            return Err(self.refuse("this worker's lease ran out (frozen or cut off?)"));
        }
        let fenced = self.engine.view().fences.owner(connector, self.task.task);
        if fenced.as_ref() != Some(&self.owner) {
            return Err(self.refuse("another run of it took over"));
        }
        self.engine
            .append_position(&PositionRecord::Commit {
                connector: connector.to_owned(),
                task: self.task.task,
                owner: self.owner.clone(),
                offsets: offsets.to_vec(),
            })
            .await
            .map_err(|e| StoreError::Cluster(e.to_string()))?;
        Ok(())
    }

    async fn alter(
        &self,
        _connector: &str,
        _changes: &[(SourcePartition, Option<SourceOffset>)],
    ) -> Result<(), StoreError> {
        Err(self.refuse("offsets are changed through the REST API only"))
    }

    async fn reset(&self, _connector: &str) -> Result<(), StoreError> {
        Err(self.refuse("offsets are reset through the REST API only"))
    }
}

/// A sink that sends only while the worker's lease holds for one epoch.
pub struct LeasedSink {
    inner: Arc<dyn MessageSink>,
    engine: Arc<Engine>,
    epoch: u64,
}

impl LeasedSink {
    /// Sends through `inner` while the lease of `engine` holds for `epoch`.
    pub fn new(inner: Arc<dyn MessageSink>, engine: Arc<Engine>, epoch: u64) -> Self {
        Self {
            inner,
            engine,
            epoch,
        }
    }

    fn check(&self) -> Result<(), SendError> {
        if self.engine.lease().valid(self.epoch, Instant::now()) {
            Ok(())
        } else {
            Err(SendError {
                retriable: true,
                message: "this worker's lease ran out (frozen or cut off?): it does not send \
                          for tasks that may have moved to another worker"
                    .into(),
            })
        }
    }
}

#[async_trait]
impl MessageSink for LeasedSink {
    async fn send_batch(&self, batch: &[OutMessage]) -> Result<(), SendError> {
        self.check()?;
        self.inner.send_batch(batch).await
    }

    async fn send_oneway(&self, batch: &[OutMessage]) -> Result<(), SendError> {
        self.check()?;
        self.inner.send_oneway(batch).await
    }

    async fn ensure_topic(&self, topic: &str) -> Result<(), SendError> {
        self.inner.ensure_topic(topic).await
    }
}

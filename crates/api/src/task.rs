//! The source task contract.
//!
//! Call order: [`SourceTask::start`] once, then [`SourceTask::poll`] repeatedly, with
//! [`SourceTask::commit`] after the runtime stored offsets, and [`SourceTask::stop`] once.
//! `poll` must be cancel-safe: the runtime drops a pending `poll` future on stop or pause,
//! and the next call (or a restart from the committed offset) must not lose records.

use std::sync::Arc;

use async_trait::async_trait;

use crate::config::ConfigMap;
use crate::error::ConnectError;
use crate::position::{SourceOffset, SourcePartition};
use crate::progress::TaskProgress;
use crate::record::SourceRecord;

/// Reads offsets the runtime committed for this task's connector.
pub trait OffsetReader: Send + Sync {
    /// The committed offset of `partition`, if any.
    fn offset(&self, partition: &SourcePartition) -> Result<Option<SourceOffset>, ConnectError>;
}

/// What a task gets when it starts.
#[derive(Clone)]
pub struct TaskContext {
    /// The connector's name.
    pub connector: String,
    /// The task's number within its connector, from 0.
    pub task_id: u32,
    /// The task's own config, as returned by the connector's `task_configs`.
    pub config: ConfigMap,
    /// Committed offsets of the connector.
    pub offsets: Arc<dyn OffsetReader>,
}

/// A task that pulls records from a source system.
#[async_trait]
pub trait SourceTask: Send {
    /// Prepares the task; reads the committed offsets through `ctx.offsets`.
    async fn start(&mut self, ctx: TaskContext) -> Result<(), ConnectError>;

    /// Returns the next records, possibly none. Cancel-safe. A task with nothing new may
    /// wait (for example its poll interval) before returning an empty batch.
    async fn poll(&mut self) -> Result<Vec<SourceRecord>, ConnectError>;

    /// Called before the next `poll` once the runtime stored offsets up to some of the
    /// polled records (for example to release resources held for them).
    async fn commit(&mut self) -> Result<(), ConnectError> {
        Ok(())
    }

    /// Releases resources. Called once, also after a failure.
    async fn stop(&mut self) -> Result<(), ConnectError> {
        Ok(())
    }

    /// How far the task has come (work left, lag, problem partitions, counters). Called
    /// by the runtime between polls, so it must be cheap: return figures the task
    /// already holds, and measure them inside `poll`.
    fn progress(&self) -> TaskProgress {
        TaskProgress::default()
    }
}

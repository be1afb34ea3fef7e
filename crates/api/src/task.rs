//! The source task contract.
//!
//! # Call order
//!
//! The runtime creates a fresh task instance for every run: at the first start, after a
//! failure (once the restart back-off has passed), after a config change or a restart
//! request, and on the worker that takes a task over. On one instance it calls:
//!
//! 1. [`SourceTask::start`], again on the same instance after a retriable error (with
//!    back-off), until it succeeds;
//! 2. [`SourceTask::poll`] repeatedly, [`SourceTask::progress`] after each poll, and
//!    [`SourceTask::commit`] between polls once the runtime stored offsets;
//! 3. [`SourceTask::stop`] once, whatever happened (also when `start` failed or was cut
//!    short by a stop); then the instance is dropped.
//!
//! A task created paused is started and then parks before its first poll. An instance
//! whose config placeholders cannot be resolved is dropped without `start` or `stop`.
//!
//! # When a `poll` future is dropped
//!
//! The runtime races every `poll` against pause and stop, and drops the pending future
//! as soon as one of them comes: the future stops at the `.await` where it was
//! suspended and its local variables are dropped with it; the task object and its fields
//! are untouched. So `poll` must be cancel-safe: anything taken from the source and not
//! yet returned must live in the task's fields, never only in locals held across an
//! `.await`.
//!
//! - **Pause.** The pending future is dropped; the instance stays alive (no `stop`, no
//!   new instance) and keeps its fields; [`SourceTask::pause`] is called once. Batches already handed to the runtime are still
//!   sent, acknowledged and committed while it is paused. On resume the runtime calls
//!   `poll` again on the same instance (a new future); `commit` is not called while the
//!   task is parked.
//! - **Stop** (the connector is deleted, reconfigured or restarted, or the worker shuts
//!   down). The pending future is dropped and `poll` is not called again. The runtime
//!   waits for the batches in flight (up to its shutdown timeout), commits the offsets
//!   of those acknowledged, then calls `stop` and drops the instance. The offsets stored
//!   last are not announced by a `commit` call.
//! - **Rebalance** (clustered mode: the task moves to another worker, or this worker's
//!   lease runs out). The same as a stop on the worker that loses the task (once its
//!   lease ran out, that worker's commits are refused); the worker that takes it over
//!   creates a fresh instance, whose `start` reads the offsets committed up to the move.
//!
//! Records a `poll` returned are never dropped with their offsets committed (unless
//! `errors.tolerance=all` skips a bad one): the runtime cuts them into batches and sends
//! them before it looks at a pause again, and commits an offset only after the record
//! (and every earlier record of its partition) was acknowledged. A record whose send was
//! cut short (a stop while its batch waited for an in-flight slot, a send abandoned at
//! the shutdown timeout, a failed send) stays uncommitted. The runtime keeps no copy of
//! it across instances: the next instance produces it again only if its `start` resumes
//! reading from the committed offset.
//!
//! # A task whose data sits in a pipe it does not own
//!
//! A pipe, socket or child process's output cannot be read twice. Such a task:
//!
//! - keeps data it has read but not yet returned in its own fields (a buffer filled by a
//!   cancel-safe read such as tokio's `AsyncReadExt::read`, or a bounded
//!   `tokio::sync::mpsc` channel fed by a reader it spawned, since `Receiver::recv` is
//!   cancel-safe), so that a dropped `poll` loses nothing and the next `poll` returns it;
//! - reads no more than it can buffer: while paused nobody polls, so a bounded buffer
//!   makes the writer wait on a full pipe instead of growing memory;
//! - stops reading in `stop` (ends its reader, or stops the child process it started),
//!   because whatever it still holds then, and whatever it returned that was not
//!   committed, is lost with the instance unless the source can replay it: re-read from
//!   the committed offset after a restart where it can (a file, a child process it
//!   restarts at a position), and otherwise accept that a stop may lose what was read and
//!   not yet committed.

use std::collections::BTreeMap;
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

/// Stores new values of its connector's config keys on behalf of a task: a source that
/// refreshed its own credentials (an Airbyte plugin's `CONTROL` message of type
/// `CONNECTOR_CONFIG`) keeps them for every later start.
pub trait ConfigUpdater: Send + Sync {
    /// Stores `changes` (key to new value) over the connector's stored config, as a
    /// `PATCH` of its config would: the runtime then restarts the connector's tasks with
    /// it. Returns at once; the change is written in the background and a failure is
    /// logged. A key whose stored value is a placeholder (`${file:…}`) is not
    /// overwritten (the secret stays where the user put it); the runtime logs which.
    fn update(&self, changes: BTreeMap<String, String>);
}

/// A [`ConfigUpdater`] that stores nothing and says so in the log (for tests and tools
/// that run a task outside a worker).
#[derive(Debug, Default, Clone, Copy)]
pub struct NoConfigUpdates;

impl ConfigUpdater for NoConfigUpdates {
    fn update(&self, changes: BTreeMap<String, String>) {
        tracing::warn!(
            keys = ?changes.keys().collect::<Vec<_>>(),
            "the task asked to store new config values, but nothing stores them here"
        );
    }
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
    /// Stores new values of the connector's config keys.
    pub config_updater: Arc<dyn ConfigUpdater>,
}

impl TaskContext {
    /// A context whose config updates are only logged ([`NoConfigUpdates`]).
    pub fn new(
        connector: impl Into<String>,
        task_id: u32,
        config: ConfigMap,
        offsets: Arc<dyn OffsetReader>,
    ) -> Self {
        Self {
            connector: connector.into(),
            task_id,
            config,
            offsets,
            config_updater: Arc::new(NoConfigUpdates),
        }
    }
}

/// A task that pulls records from a source system.
#[async_trait]
pub trait SourceTask: Send {
    /// Prepares the task; reads the committed offsets through `ctx.offsets`.
    async fn start(&mut self, ctx: TaskContext) -> Result<(), ConnectError>;

    /// Returns the next records, possibly none. Cancel-safe (see the module docs): the
    /// runtime drops the pending future on pause and stop. A task with nothing new may
    /// wait (for example its poll interval) before returning an empty batch, or return
    /// [`SourceRecord::offset_only`] records to commit a position it reached without
    /// anything to send.
    async fn poll(&mut self) -> Result<Vec<SourceRecord>, ConnectError>;

    /// Called before the next `poll` once the runtime stored offsets up to some of the
    /// polled records (for example to release resources held for them). Not called
    /// while the task is paused, nor for the last offsets stored before `stop`.
    async fn commit(&mut self) -> Result<(), ConnectError> {
        Ok(())
    }

    /// Releases resources. Called once per instance, after the runtime committed what was
    /// acknowledged, also after a failure; the instance is dropped afterwards.
    async fn stop(&mut self) -> Result<(), ConnectError> {
        Ok(())
    }

    /// Called once each time the task is paused, after its pending `poll` was dropped
    /// and before the runtime parks it until resume (or stop). A task whose source keeps
    /// working while nobody polls (a child process writing into a pipe) releases it
    /// here and starts again from the committed offsets at its next `poll`. An error is
    /// logged; the task is paused anyway. The default does nothing.
    async fn pause(&mut self) -> Result<(), ConnectError> {
        Ok(())
    }

    /// How far the task has come (work left, lag, problem partitions, counters). Called
    /// by the runtime between polls, so it must be cheap: return figures the task
    /// already holds, and measure them inside `poll`.
    fn progress(&self) -> TaskProgress {
        TaskProgress::default()
    }
}

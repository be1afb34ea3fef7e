//! What one task run is given: the [`TaskRun`] a herder builds for each task it starts,
//! the [`TaskFactory`] that makes a fresh task instance for each (re)start, and the
//! [`Redactor`] that hides secrets in whatever the loop logs or reports.
//!
//! Plain data, read by every other part of the loop and changed by none.

use std::sync::Arc;

use connect_api::{ConfigMap, ConnectError, SourceTask};
use connect_converters::Converter;
use futures::future::BoxFuture;

use super::settings::LoopSettings;
use crate::connector_config::DeliveryConfig;
use crate::sink::MessageSink;
use crate::status::StatusCell;
use crate::store::OffsetStore;

/// Everything one task run needs.
pub struct TaskRun {
    /// Connector name.
    pub connector: String,
    /// Task number.
    pub task_id: u32,
    /// The task's config.
    pub config: ConfigMap,
    /// Creates a fresh task instance for each (re)start.
    pub factory: TaskFactory,
    /// Value converter.
    pub converter: Arc<dyn Converter>,
    /// Topic for records without their own.
    pub default_topic: Option<String>,
    /// Send mode, error tolerance, retry limits, default tags and properties.
    pub delivery: DeliveryConfig,
    /// Hides secret values (also resolved placeholders) in anything the loop logs or
    /// reports.
    pub redact: Redactor,
    /// Where messages go.
    pub sink: Arc<dyn MessageSink>,
    /// Where offsets go.
    pub offsets: Arc<dyn OffsetStore>,
    /// Status shown over REST.
    pub status: StatusCell,
    /// Loop tunables.
    pub settings: LoopSettings,
    /// Stores new config values the task asks to keep.
    pub config_updater: Arc<dyn connect_api::ConfigUpdater>,
}

/// Hides secrets in a text.
pub type Redactor = Arc<dyn Fn(&str) -> String + Send + Sync>;

/// A redactor that changes nothing (for tests and connectors without secrets).
pub fn no_redaction() -> Redactor {
    Arc::new(str::to_owned)
}

/// Creates an unstarted task instance for a task config (placeholders resolved); may
/// fail, for example when a plugin's process cannot be spawned.
pub type TaskFactory = Arc<
    dyn Fn(ConfigMap) -> BoxFuture<'static, Result<Box<dyn SourceTask>, ConnectError>>
        + Send
        + Sync,
>;

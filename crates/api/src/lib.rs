//! connect-api: the contract between the rmq-connect runtime and its connectors.
//!
//! A [`SourceConnector`] turns a flat string config into a typed config, validates it,
//! splits the work into task configs and creates [`SourceTask`]s. The runtime owns the
//! task loop: it calls [`SourceTask::poll`], converts and produces the returned
//! [`SourceRecord`]s, and commits their [`SourceOffset`]s only after RocketMQ
//! acknowledged them; an offset-only record ([`SourceRecord::offset_only`]) commits a
//! position with nothing to send. What happens to a pending `poll` on pause, stop and
//! rebalance is documented in [`task`]. Connectors never depend on the runtime.

pub mod config;
pub mod connector;
pub mod error;
pub mod position;
pub mod progress;
pub mod record;
pub mod task;

pub use config::{
    config_from_pairs, is_framework_key, render_markdown, ConfigDef, ConfigKey, ConfigMap,
    ConfigReader, ConfigType, FieldError,
};
pub use connector::{ErasedSourceConnector, ParsedConfig, PluginInfo, SourceConnector};
pub use error::{ConnectError, ErrorKind};
pub use position::{SourceOffset, SourcePartition};
pub use progress::{BackfillPhase, BackfillProgress, PartitionProgress, TaskProgress};
pub use record::{RecordValue, SourceRecord};
pub use task::{ConfigUpdater, NoConfigUpdates, OffsetReader, SourceTask, TaskContext};

//! How both herders show a connector over REST: its info and task configs with secrets
//! masked, its connector-level state, and the refusal to change offsets of a connector
//! that is not STOPPED. Each herder supplies its own facts; the shapes are built here.

use connect_api::{ConfigDef, ConfigMap};

use super::{ConnectorInfo, ConnectorState, ConnectorStatus, TaskId, TaskInfo};
use crate::error::HerderError;
use crate::secrets;
use crate::status::{State, TaskStatus};
use crate::store::TargetState;

/// The kind of every connector (only source connectors exist).
const SOURCE: &str = "source";

/// The ids of a connector's first `n` tasks.
pub(crate) fn task_ids(connector: &str, n: usize) -> impl Iterator<Item = TaskId> + '_ {
    (0..n as u32).map(move |task| TaskId {
        connector: connector.to_owned(),
        task,
    })
}

/// A connector's config (secrets masked by `def`) and its `tasks` task ids.
pub(crate) fn connector_info(
    name: &str,
    config: &ConfigMap,
    def: Option<&ConfigDef>,
    tasks: usize,
) -> ConnectorInfo {
    ConnectorInfo {
        name: name.to_owned(),
        config: secrets::mask(config, def),
        tasks: task_ids(name, tasks).collect(),
        kind: SOURCE,
    }
}

/// A connector's task configs, secrets masked by `def`.
pub(crate) fn task_infos(
    name: &str,
    configs: &[ConfigMap],
    def: Option<&ConfigDef>,
) -> Vec<TaskInfo> {
    task_ids(name, configs.len())
        .zip(configs)
        .map(|(id, c)| TaskInfo {
            id,
            config: secrets::mask(c, def),
        })
        .collect()
}

/// The connector-level state: what the user asked for, unless the connector failed (or,
/// while it should run, its tasks are not known yet).
pub(crate) fn connector_state(target: TargetState, failed: bool, has_tasks: bool) -> State {
    match (target, failed) {
        (TargetState::Stopped, _) => State::Stopped,
        (_, true) => State::Failed,
        (TargetState::Paused, _) => State::Paused,
        (TargetState::Started, _) if !has_tasks => State::Unassigned,
        (TargetState::Started, _) => State::Running,
    }
}

/// A connector's status as the REST API shows it.
pub(crate) fn connector_status(
    name: &str,
    connector: ConnectorState,
    tasks: Vec<TaskStatus>,
) -> ConnectorStatus {
    ConnectorStatus {
        name: name.to_owned(),
        connector,
        tasks,
        kind: SOURCE,
    }
}

/// Refuses a change of offsets unless the connector is STOPPED; `shown` is the state
/// named in the message.
pub(crate) fn require_stopped(
    name: &str,
    target: TargetState,
    shown: impl std::fmt::Debug,
) -> Result<(), HerderError> {
    if target == TargetState::Stopped {
        return Ok(());
    }
    Err(HerderError::Conflict(format!(
        "offsets of {name} can only be changed while it is STOPPED (it is {shown:?}); \
         stop it first with PUT /connectors/{name}/stop"
    )))
}

//! One connector as the standalone herder holds it: its config, what checking it gave,
//! its task configs and running tasks, and how it is shown over REST.

use connect_api::{ConfigDef, ConfigMap, FieldError};

use crate::herder::common::Checked;
use crate::herder::reconfigure::ReconfigureTimer;
use crate::herder::{view, ConnectorInfo, ConnectorState, ConnectorStatus};
use crate::secrets;
use crate::status::State;
use crate::store::TargetState;
use crate::task_loop::TaskHandle;

/// One connector of the standalone herder.
pub(super) struct Entry {
    /// The config as written (normalized keys, placeholders unresolved).
    pub(super) config: ConfigMap,
    /// The checked config with its plugin; `None` when a stored config no longer checks
    /// (`trace` says why).
    pub(super) checked: Option<Checked>,
    pub(super) target: TargetState,
    pub(super) task_configs: Vec<ConfigMap>,
    pub(super) tasks: Vec<TaskHandle>,
    /// Why the connector itself failed (its config or its split into tasks).
    pub(super) trace: Option<String>,
    /// Why the last periodic recomputation of the task configs failed; the tasks keep
    /// running with their configs, so the connector does not count as failed.
    pub(super) warning: Option<String>,
    /// The periodic reconfiguration timer, while the connector is STARTED or PAUSED and
    /// its plugin asks for one; dropping it ends the timer.
    pub(super) timer: Option<ReconfigureTimer>,
}

impl Entry {
    /// A connector of a checked config, not split yet.
    pub(super) fn new(checked: Checked, target: TargetState) -> Self {
        Self {
            config: checked.config.clone(),
            checked: Some(checked),
            ..Self::empty(ConfigMap::new(), target)
        }
    }

    /// A stored connector whose config no longer checks: FAILED, with the errors.
    pub(super) fn invalid(config: ConfigMap, target: TargetState, errors: &[FieldError]) -> Self {
        Self {
            trace: Some(FieldError::join(errors)),
            ..Self::empty(config, target)
        }
    }

    fn empty(config: ConfigMap, target: TargetState) -> Self {
        Self {
            config,
            checked: None,
            target,
            task_configs: Vec::new(),
            tasks: Vec::new(),
            trace: None,
            warning: None,
            timer: None,
        }
    }

    /// The plugin's config keys (to mask and scrub secrets).
    pub(super) fn def(&self) -> Option<ConfigDef> {
        self.checked.as_ref().map(|c| c.plugin.config_def())
    }

    /// The config with placeholders resolved: used for the plugin and to scrub resolved
    /// secrets from traces; never stored or returned.
    pub(super) fn resolved(&self) -> &ConfigMap {
        self.checked
            .as_ref()
            .map_or(&self.config, Checked::resolved)
    }

    /// `text` with resolved secrets of this connector scrubbed.
    pub(super) fn scrub(&self, text: &str) -> String {
        secrets::scrub_resolved(text, &self.config, self.resolved(), self.def().as_ref())
    }

    pub(super) fn state(&self) -> State {
        view::connector_state(self.target, self.trace.is_some(), true)
    }

    pub(super) fn any_task_failed(&self) -> bool {
        self.tasks
            .iter()
            .any(|t| t.status.snapshot().state == State::Failed)
    }

    pub(super) fn info(&self, name: &str) -> ConnectorInfo {
        view::connector_info(
            name,
            &self.config,
            self.def().as_ref(),
            self.task_configs.len(),
        )
    }

    /// Its status, with resolved secrets scrubbed from the tasks' traces.
    pub(super) fn status(&self, name: &str, worker_id: &str) -> ConnectorStatus {
        let tasks = self
            .tasks
            .iter()
            .map(|t| {
                let mut s = t.status.snapshot();
                s.trace = s.trace.map(|tr| self.scrub(&tr));
                s
            })
            .collect();
        let connector = ConnectorState {
            state: self.state(),
            worker_id: worker_id.to_owned(),
            // A failed recomputation is shown as a warning while the connector keeps
            // running with its current tasks.
            trace: self.trace.clone().or_else(|| self.warning.clone()),
        };
        view::connector_status(name, connector, tasks)
    }
}

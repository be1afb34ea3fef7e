//! What the standalone and the clustered herder share: checking a connector config,
//! splitting it into task configs, and building the run of one task.

use std::sync::Arc;

use connect_api::{ConfigDef, ConfigMap, ErasedSourceConnector, FieldError, ParsedConfig};

use crate::connector_config::{normalize, FrameworkConfig, CONNECTOR_CLASS};
use crate::error::HerderError;
use crate::placeholders::PlaceholderPolicy;
use crate::registry::PluginRegistry;
use crate::secrets;
use crate::sink::MessageSink;
use crate::status::StatusCell;
use crate::store::OffsetStore;
use crate::task_loop::{LoopSettings, TaskRun};

/// A config checked and ready to run: parsed once by its plugin, then passed on.
#[derive(Clone)]
pub(crate) struct Checked {
    /// The config as written (normalized keys, placeholders unresolved).
    pub config: ConfigMap,
    /// The config with placeholders resolved (never stored or returned), parsed by the
    /// plugin; its `raw()` is the resolved map.
    pub parsed: ParsedConfig,
    /// The framework keys.
    pub framework: FrameworkConfig,
    /// The plugin.
    pub plugin: Arc<dyn ErasedSourceConnector>,
}

impl Checked {
    /// The config with placeholders resolved (never stored or returned).
    pub fn resolved(&self) -> &ConfigMap {
        self.parsed.raw()
    }
}

/// Checks the connector name of a PUT or POST and takes a `name` key out of the config;
/// it must be the same name.
pub(crate) fn check_put_name(name: &str, config: &mut ConfigMap) -> Result<(), HerderError> {
    super::check_connector_name(name).map_err(|e| HerderError::InvalidConfig(vec![e]))?;
    if let Some(inner) = config.remove("name") {
        if inner != name {
            return Err(HerderError::InvalidConfig(vec![FieldError::new(
                "name",
                format!("the config names {inner:?} but the request is for {name:?}"),
            )]));
        }
    }
    Ok(())
}

/// Parses framework keys and the connector's own keys, without contacting anything.
pub(crate) fn check_offline(
    registry: &PluginRegistry,
    placeholders: &PlaceholderPolicy,
    config: &ConfigMap,
) -> Result<Checked, Vec<FieldError>> {
    let config = normalize(config.clone())?;
    let resolved = crate::placeholders::resolve(&config, placeholders)?;
    let framework = FrameworkConfig::parse(&resolved);
    let mut errors = framework.as_ref().err().cloned().unwrap_or_default();
    let plugin = match config.get(CONNECTOR_CLASS) {
        Some(class) => match registry.find(class) {
            Some(p) => match p.parse(&resolved) {
                Ok(parsed) => Some((p, parsed)),
                Err(parse_errors) => {
                    let def = p.config_def();
                    errors.extend(scrub_errors(parse_errors, &config, &resolved, &def));
                    None
                }
            },
            None => {
                errors.push(FieldError::new(
                    CONNECTOR_CLASS,
                    format!(
                        "unknown connector class {class:?}; installed: {}",
                        registry.names().join(", ")
                    ),
                ));
                None
            }
        },
        None => None,
    };
    match (framework, plugin) {
        (Ok(framework), Some((plugin, parsed))) if errors.is_empty() => Ok(Checked {
            config,
            parsed,
            framework,
            plugin,
        }),
        _ => Err(errors),
    }
}

/// Offline checks, then the plugin's live validation.
pub(crate) async fn check_live(
    registry: &PluginRegistry,
    placeholders: &PlaceholderPolicy,
    config: &ConfigMap,
) -> Result<Checked, Vec<FieldError>> {
    let checked = check_offline(registry, placeholders, config)?;
    let errors = checked.plugin.validate(&checked.parsed).await;
    if errors.is_empty() {
        Ok(checked)
    } else {
        let def = checked.plugin.config_def();
        Err(scrub_errors(
            errors,
            &checked.config,
            checked.resolved(),
            &def,
        ))
    }
}

/// Field errors with resolved secrets scrubbed from their messages.
pub(crate) fn scrub_errors(
    errors: Vec<FieldError>,
    config: &ConfigMap,
    resolved: &ConfigMap,
    def: &ConfigDef,
) -> Vec<FieldError> {
    errors
        .into_iter()
        .map(|e| {
            let message = secrets::scrub_resolved(&e.message, config, resolved, Some(def));
            FieldError::new(e.field, message)
        })
        .collect()
}

/// Puts placeholders back into a task config built from the resolved config, so task
/// configs (shown over REST, written to the cluster's config log) hold placeholders as
/// written, never resolved values; the task resolves them again right before it starts.
pub(crate) fn unresolve(mut task: ConfigMap, raw: &ConfigMap, resolved: &ConfigMap) -> ConfigMap {
    for (k, v) in task.iter_mut() {
        if let (Some(r), Some(res)) = (raw.get(k), resolved.get(k)) {
            if r != res && v == res {
                v.clone_from(r);
            }
        }
    }
    task
}

/// Splits a checked connector into task configs (placeholders put back); the error is
/// scrubbed of secrets.
pub(crate) async fn split(checked: &Checked) -> Result<Vec<ConfigMap>, String> {
    match checked
        .plugin
        .task_configs(&checked.parsed, checked.framework.max_tasks)
        .await
    {
        Ok(tasks) => Ok(tasks
            .into_iter()
            .map(|c| unresolve(c, &checked.config, checked.resolved()))
            .collect()),
        Err(e) => {
            let def = checked.plugin.config_def();
            Err(secrets::scrub_resolved(
                &e.chain(),
                &checked.config,
                checked.resolved(),
                Some(&def),
            ))
        }
    }
}

/// Everything but the task's own config that one task run needs.
pub(crate) struct RunParts<'a> {
    /// Connector name.
    pub connector: &'a str,
    /// Task number.
    pub task_id: u32,
    /// The task's config (placeholders unresolved).
    pub config: ConfigMap,
    /// The connector's config as written and resolved, to scrub secrets.
    pub raw: &'a ConfigMap,
    /// The resolved connector config.
    pub resolved: &'a ConfigMap,
    /// The plugin.
    pub plugin: Arc<dyn ErasedSourceConnector>,
    /// Framework keys.
    pub framework: &'a FrameworkConfig,
    /// Where messages go.
    pub sink: Arc<dyn MessageSink>,
    /// Where offsets go.
    pub offsets: Arc<dyn OffsetStore>,
    /// The task's status.
    pub status: StatusCell,
    /// Loop tunables.
    pub settings: LoopSettings,
    /// Stores config values the task asks to keep.
    pub config_updater: Arc<dyn connect_api::ConfigUpdater>,
}

/// Builds the run of one task; `None` (logged) when its converter does not exist.
pub(crate) fn task_run(parts: RunParts<'_>) -> Option<TaskRun> {
    let RunParts {
        connector,
        task_id,
        config,
        raw,
        resolved,
        plugin,
        framework,
        sink,
        offsets,
        status,
        settings,
        config_updater,
    } = parts;
    let plugin_def = plugin.config_def();
    let converter = match connect_converters::converter_by_name(&framework.value_converter) {
        Ok(c) => Arc::from(c),
        Err(e) => {
            tracing::error!(connector, error = %e, "no converter");
            return None;
        }
    };
    let (raw, resolved) = (raw.clone(), resolved.clone());
    Some(TaskRun {
        connector: connector.to_owned(),
        task_id,
        config,
        factory: Arc::new(move |task_config| {
            let plugin = plugin.clone();
            Box::pin(async move { plugin.create_task(&task_config).await })
        }),
        converter,
        default_topic: framework.topic.clone(),
        delivery: framework.delivery.clone(),
        redact: Arc::new(move |text: &str| {
            secrets::scrub_resolved(text, &raw, &resolved, Some(&plugin_def))
        }),
        sink,
        offsets,
        status,
        settings,
        config_updater,
    })
}

/// Task configs recomputed from the resolved config, with placeholders put back.
pub(crate) fn unresolve_all(
    tasks: Vec<ConfigMap>,
    raw: &ConfigMap,
    resolved: &ConfigMap,
) -> Vec<ConfigMap> {
    tasks
        .into_iter()
        .map(|c| unresolve(c, raw, resolved))
        .collect()
}

/// Arms the periodic reconfiguration timer of a checked connector, reporting to
/// `target`; `None` when its plugin asks for none.
pub(crate) fn arm_timer<R: super::reconfigure::Reconfigurable>(
    connector: &str,
    checked: &Checked,
    target: std::sync::Weak<R>,
    parent: &tokio_util::sync::CancellationToken,
) -> Option<super::reconfigure::ReconfigureTimer> {
    super::reconfigure::arm(
        super::reconfigure::TimerSpec {
            connector: connector.to_owned(),
            plugin: checked.plugin.clone(),
            parsed: checked.parsed.clone(),
            max_tasks: checked.framework.max_tasks,
        },
        target,
        parent,
    )
}

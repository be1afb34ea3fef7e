//! The catalog of a herder: the installed connector plugins and the placeholder policy,
//! which together decide whether a connector config is valid. Both herders hold one; the
//! [`Herder`](super::Herder) trait answers plugin listings and validations from it.

use std::collections::BTreeMap;

use connect_api::{ConfigDef, ConfigMap, FieldError, PluginInfo};

use super::common::{self, Checked};
use super::PutMode;
use crate::connector_config::{normalize, CONNECTOR_CLASS};
use crate::error::HerderError;
use crate::placeholders::PlaceholderPolicy;
use crate::registry::PluginRegistry;

/// The installed plugins and the placeholder policy a connector config is checked with.
#[derive(Clone)]
pub struct Catalog {
    registry: PluginRegistry,
    placeholders: PlaceholderPolicy,
}

impl Catalog {
    /// A catalog of `registry`'s plugins; configs resolve placeholders under `placeholders`.
    pub fn new(registry: PluginRegistry, placeholders: PlaceholderPolicy) -> Self {
        Self {
            registry,
            placeholders,
        }
    }

    /// Every installed plugin.
    pub fn infos(&self) -> Vec<PluginInfo> {
        self.registry.infos()
    }

    /// The installed plugins, with where each comes from, and those that failed to load.
    pub fn registry(&self) -> &PluginRegistry {
        &self.registry
    }

    /// The config keys of a plugin, by name or alias.
    pub fn config_def(&self, class: &str) -> Option<ConfigDef> {
        self.registry.find(class).map(|p| p.config_def())
    }

    /// The config keys of the plugin a connector config names (to mask its secrets).
    pub fn def_of(&self, config: &ConfigMap) -> Option<ConfigDef> {
        self.config_def(config.get(CONNECTOR_CLASS)?)
    }

    /// Every error of a config, the plugin's live validation included; empty when valid.
    pub async fn validate(&self, config: &ConfigMap) -> Vec<FieldError> {
        self.check_live(config).await.err().unwrap_or_default()
    }

    /// Parses framework keys and the connector's own keys, without contacting anything.
    pub(crate) fn check_offline(&self, config: &ConfigMap) -> Result<Checked, Vec<FieldError>> {
        common::check_offline(&self.registry, &self.placeholders, config)
    }

    /// Offline checks, then the plugin's live validation.
    pub(crate) async fn check_live(&self, config: &ConfigMap) -> Result<Checked, Vec<FieldError>> {
        common::check_live(&self.registry, &self.placeholders, config).await
    }
}

/// Checks the name and mode of a put (taking a `name` key out of the config) against the
/// connector's config as it exists now; returns whether the put's config is that same
/// config (after normalizing its keys).
pub(crate) fn check_put(
    name: &str,
    config: &mut ConfigMap,
    mode: PutMode,
    existing: Option<&ConfigMap>,
) -> Result<bool, HerderError> {
    common::check_put_name(name, config)?;
    if mode == PutMode::CreateOnly && existing.is_some() {
        return Err(HerderError::AlreadyExists(name.to_owned()));
    }
    let normalized = normalize(config.clone()).ok();
    Ok(existing.is_some_and(|e| Some(e) == normalized.as_ref()))
}

/// How a changed connector config is checked before it is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// Its keys, and the plugin's live validation against the source (a user's change).
    Live,
    /// Its keys only: values a running task just used against the source.
    Offline,
}

/// A connector config with some keys changed (`None` removes a key).
pub(crate) fn patched(
    mut config: ConfigMap,
    changes: BTreeMap<String, Option<String>>,
) -> ConfigMap {
    for (k, v) in changes {
        match v {
            Some(v) => config.insert(k, v),
            None => config.remove(&k),
        };
    }
    config
}

//! The explicit registry of connector plugins the binary wires in.

use std::sync::Arc;

use connect_api::{ErasedSourceConnector, PluginInfo};

/// Where a plugin comes from, for `GET /connector-plugins`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginOrigin {
    /// `compiled-in`, or the protocol of a plugin found under `pluginPaths` (`airbyte`).
    pub protocol: String,
    /// The plugin's directory; `None` for a compiled-in connector.
    pub location: Option<String>,
}

/// A plugin found under `pluginPaths` that could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokenPlugin {
    /// The name it declares (or its directory's name).
    pub name: String,
    /// Its directory.
    pub location: String,
    /// What to fix.
    pub error: String,
}

/// Connector plugins by name and alias.
#[derive(Default, Clone)]
pub struct PluginRegistry {
    plugins: Vec<(Arc<dyn ErasedSourceConnector>, PluginOrigin)>,
    broken: Vec<BrokenPlugin>,
}

impl PluginRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a connector compiled into the binary.
    pub fn register(&mut self, plugin: Arc<dyn ErasedSourceConnector>) -> &mut Self {
        let origin = PluginOrigin {
            protocol: "compiled-in".into(),
            location: None,
        };
        self.plugins.push((plugin, origin));
        self
    }

    /// Adds a plugin found at run time.
    pub fn register_found(
        &mut self,
        plugin: Arc<dyn ErasedSourceConnector>,
        origin: PluginOrigin,
    ) -> &mut Self {
        self.plugins.push((plugin, origin));
        self
    }

    /// Lists a plugin that could not be loaded.
    pub fn add_broken(&mut self, broken: BrokenPlugin) -> &mut Self {
        self.broken.push(broken);
        self
    }

    /// The plugins that could not be loaded.
    pub fn broken(&self) -> &[BrokenPlugin] {
        &self.broken
    }

    /// Every plugin with where it comes from.
    pub fn listing(&self) -> Vec<(PluginInfo, PluginOrigin)> {
        self.plugins
            .iter()
            .map(|(p, o)| (p.info(), o.clone()))
            .collect()
    }

    /// The plugin whose name or alias is `class`.
    pub fn find(&self, class: &str) -> Option<Arc<dyn ErasedSourceConnector>> {
        self.plugins
            .iter()
            .find(|(p, _)| p.info().answers_to(class))
            .map(|(p, _)| p.clone())
    }

    /// All plugins.
    pub fn infos(&self) -> Vec<PluginInfo> {
        self.plugins.iter().map(|(p, _)| p.info()).collect()
    }

    /// The names accepted in `connector.class`, for error messages.
    pub fn names(&self) -> Vec<String> {
        self.plugins
            .iter()
            .flat_map(|(p, _)| {
                let info = p.info();
                std::iter::once(info.name)
                    .chain(info.aliases)
                    .map(|n| n.into_owned())
            })
            .collect()
    }
}

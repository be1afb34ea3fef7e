//! The explicit registry of connector plugins the binary wires in.

use std::sync::Arc;

use connect_api::{ErasedSourceConnector, PluginInfo};

/// Connector plugins by name and alias.
#[derive(Default, Clone)]
pub struct PluginRegistry {
    plugins: Vec<Arc<dyn ErasedSourceConnector>>,
}

impl PluginRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a plugin.
    pub fn register(&mut self, plugin: Arc<dyn ErasedSourceConnector>) -> &mut Self {
        self.plugins.push(plugin);
        self
    }

    /// The plugin whose name or alias is `class`.
    pub fn find(&self, class: &str) -> Option<Arc<dyn ErasedSourceConnector>> {
        self.plugins
            .iter()
            .find(|p| p.info().answers_to(class))
            .cloned()
    }

    /// All plugins.
    pub fn infos(&self) -> Vec<PluginInfo> {
        self.plugins.iter().map(|p| p.info()).collect()
    }

    /// The names accepted in `connector.class`, for error messages.
    pub fn names(&self) -> Vec<String> {
        self.plugins
            .iter()
            .flat_map(|p| {
                let info = p.info();
                std::iter::once(info.name)
                    .chain(info.aliases)
                    .map(|n| n.into_owned())
            })
            .collect()
    }
}

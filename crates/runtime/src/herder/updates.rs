//! New config values a task asks to keep (an Airbyte plugin that refreshed its own
//! token): stored through the herder like a PATCH of the connector's config.

use std::collections::BTreeMap;
use std::sync::{Arc, Weak};

use connect_api::{ConfigMap, ConfigUpdater};

use super::Herder;
use crate::placeholders::has_placeholders;

/// Stores one connector's task updates through its herder.
pub(crate) struct HerderUpdates {
    herder: Weak<dyn Herder>,
    connector: String,
    /// The connector's config as stored when the task started (placeholders unresolved).
    raw: ConfigMap,
}

impl HerderUpdates {
    /// The updater of `connector`'s tasks, whose stored config is `raw`.
    pub(crate) fn new(herder: Weak<dyn Herder>, connector: &str, raw: &ConfigMap) -> Arc<Self> {
        Arc::new(Self {
            herder,
            connector: connector.to_owned(),
            raw: raw.clone(),
        })
    }
}

impl ConfigUpdater for HerderUpdates {
    fn update(&self, changes: BTreeMap<String, String>) {
        let (from_placeholders, kept): (BTreeMap<_, _>, BTreeMap<_, _>) = changes
            .into_iter()
            .partition(|(k, _)| self.raw.get(k).is_some_and(|v| has_placeholders(v)));
        let connector = self.connector.clone();
        if !from_placeholders.is_empty() {
            tracing::warn!(
                connector = %connector,
                keys = ?from_placeholders.keys().collect::<Vec<_>>(),
                "the task has new values for keys whose stored values are placeholders; they are not stored: update the file or variable the placeholder names"
            );
        }
        if kept.is_empty() {
            return;
        }
        let Some(herder) = self.herder.upgrade() else {
            return;
        };
        // Storing the values restarts this connector's tasks, the calling one too: the
        // update runs on its own so that it outlives the task.
        tokio::spawn(async move {
            let keys: Vec<String> = kept.keys().cloned().collect();
            match herder.update_from_task(&connector, kept).await {
                Ok(_) => {
                    tracing::info!(connector = %connector, ?keys, "stored the new config values the task sent; its tasks restart with them")
                }
                Err(e) => {
                    tracing::error!(connector = %connector, ?keys, error = %e, "could not store the new config values the task sent; a restart will use the old ones")
                }
            }
        });
    }
}

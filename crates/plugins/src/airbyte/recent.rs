//! The catalog the last validation discovered, kept briefly so that building the tasks
//! right after it (a `POST /connectors` validates, then splits) does not start the plugin
//! once more for the same answer.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::messages::Catalog;

/// How long a discovered catalog is reused for the same plugin config.
pub const REUSE_FOR: Duration = Duration::from_secs(60);

/// The last catalog discovered, with the plugin config it was discovered with.
#[derive(Default)]
pub struct RecentCatalog {
    last: Mutex<Option<Entry>>,
}

struct Entry {
    config: Value,
    at: Instant,
    catalog: Catalog,
}

impl RecentCatalog {
    /// Keeps `catalog` as the answer for `config`, replacing any earlier one.
    pub fn keep(&self, config: &Value, catalog: &Catalog) {
        *self.lock() = Some(Entry {
            config: config.clone(),
            at: Instant::now(),
            catalog: catalog.clone(),
        });
    }

    /// The catalog discovered for exactly `config` less than `max_age` ago, if any.
    pub fn get(&self, config: &Value, max_age: Duration) -> Option<Catalog> {
        let mut last = self.lock();
        let fresh = last
            .as_ref()
            .is_some_and(|e| e.at.elapsed() < max_age && e.config == *config);
        if fresh {
            last.as_ref().map(|e| e.catalog.clone())
        } else {
            // An old or other config's catalog is dropped: the config may hold secrets.
            *last = None;
            None
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Entry>> {
        self.last.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn catalog(name: &str) -> Catalog {
        serde_json::from_value(json!({"streams": [
            {"name": name, "json_schema": {}, "supported_sync_modes": ["full_refresh"]}
        ]}))
        .unwrap_or_else(|e| panic!("{e}"))
    }

    fn names(c: Option<Catalog>) -> Vec<String> {
        c.map(|c| c.streams.into_iter().map(|s| s.name).collect())
            .unwrap_or_default()
    }

    #[test]
    fn the_catalog_is_reused_for_the_same_config_only() {
        let recent = RecentCatalog::default();
        recent.keep(&json!({"count": 1}), &catalog("users"));
        assert_eq!(
            names(recent.get(&json!({"count": 1}), REUSE_FOR)),
            ["users"]
        );
        assert_eq!(
            names(recent.get(&json!({"count": 1}), REUSE_FOR)),
            ["users"]
        );
        assert!(recent.get(&json!({"count": 2}), REUSE_FOR).is_none());
        // A miss forgets it.
        assert!(recent.get(&json!({"count": 1}), REUSE_FOR).is_none());
    }

    #[test]
    fn an_old_catalog_is_not_reused() {
        let recent = RecentCatalog::default();
        recent.keep(&json!({"count": 1}), &catalog("users"));
        assert!(recent.get(&json!({"count": 1}), Duration::ZERO).is_none());
    }
}

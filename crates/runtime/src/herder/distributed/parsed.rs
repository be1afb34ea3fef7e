//! The connector configs this worker has parsed, kept by connector and config offset.
//!
//! A config in the cluster's config log does not change until a new connector record
//! replaces it, and the record's offset names it. So this worker's plugin parses a
//! connector's config once per offset, however many roles need it: the REST call that
//! wrote it, the leader's split and reconfiguration timer, and every task this worker
//! starts for it. A config that fails to parse is not kept: the file or variable a
//! placeholder names may appear later, and the next use tries again.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use connect_api::FieldError;

use crate::cluster::configs::ClusterConnector;
use crate::herder::catalog::Catalog;
use crate::herder::common::Checked;

/// Parsed connector configs by connector name, each with the config offset it was
/// parsed for; cheap to clone (the clones share one cache).
#[derive(Clone)]
pub(super) struct ParsedConfigs {
    catalog: Catalog,
    by_name: Arc<Mutex<HashMap<String, (i64, Checked)>>>,
}

impl ParsedConfigs {
    /// An empty cache over `catalog`'s plugins and placeholder policy.
    pub(super) fn new(catalog: Catalog) -> Self {
        Self {
            catalog,
            by_name: Arc::default(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, (i64, Checked)>> {
        self.by_name.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The checked config of connector `name` as the log holds it in `c`: parsed on
    /// first use for `c.config_offset`, then shared.
    pub(super) fn get(&self, name: &str, c: &ClusterConnector) -> Result<Checked, Vec<FieldError>> {
        if let Some((offset, checked)) = self.lock().get(name) {
            if *offset == c.config_offset && checked.config == c.config {
                return Ok(checked.clone());
            }
        }
        // Parsed outside the lock: a plugin's parse may read files (es-source reads its
        // CA certificate).
        let checked = self.catalog.check_offline(&c.config)?;
        self.keep(name, c.config_offset, &checked);
        Ok(checked)
    }

    /// Keeps a config this worker checked before writing it, now that the log holds it
    /// at `offset`.
    pub(super) fn keep(&self, name: &str, offset: i64, checked: &Checked) {
        let mut by_name = self.lock();
        match by_name.get(name) {
            Some((kept, _)) if *kept > offset => {}
            _ => {
                by_name.insert(name.to_owned(), (offset, checked.clone()));
            }
        }
    }

    /// Forgets the configs of connectors that are gone.
    pub(super) fn retain(&self, exists: impl Fn(&str) -> bool) {
        self.lock().retain(|name, _| exists(name));
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().len()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use async_trait::async_trait;
    use connect_api::{
        ConfigDef, ConfigMap, ConnectError, PluginInfo, SourceConnector, SourceTask,
    };

    use super::*;
    use crate::placeholders::PlaceholderPolicy;
    use crate::registry::PluginRegistry;
    use crate::store::TargetState;

    /// A connector that counts how often its config is parsed.
    struct Counting(Arc<AtomicUsize>);

    #[async_trait]
    impl SourceConnector for Counting {
        type Config = ();

        fn info(&self) -> PluginInfo {
            PluginInfo {
                name: "counting".into(),
                aliases: vec![],
                version: "0".into(),
                description: "counts its parses".into(),
            }
        }

        fn config_def(&self) -> ConfigDef {
            vec![]
        }

        fn parse_config(&self, config: &ConfigMap) -> Result<(), Vec<FieldError>> {
            self.0.fetch_add(1, Ordering::SeqCst);
            match config.get("broken") {
                Some(_) => Err(vec![FieldError::new("broken", "is set")]),
                None => Ok(()),
            }
        }

        async fn task_configs(
            &self,
            _config: &(),
            _raw: &ConfigMap,
            _max_tasks: usize,
        ) -> Result<Vec<ConfigMap>, ConnectError> {
            Ok(vec![ConfigMap::new()])
        }

        async fn create_task(
            &self,
            _task_config: &ConfigMap,
        ) -> Result<Box<dyn SourceTask>, ConnectError> {
            Err(ConnectError::fatal("not used"))
        }
    }

    fn cache() -> (ParsedConfigs, Arc<AtomicUsize>) {
        let parses = Arc::new(AtomicUsize::new(0));
        let mut registry = PluginRegistry::new();
        registry.register(Arc::new(Counting(parses.clone())));
        let catalog = Catalog::new(registry, PlaceholderPolicy::default());
        (ParsedConfigs::new(catalog), parses)
    }

    fn connector(offset: i64, extra: &[(&str, &str)]) -> ClusterConnector {
        let mut config = ConfigMap::new();
        config.insert("connector.class".into(), "counting".into());
        config.insert("topic".into(), "t".into());
        for (k, v) in extra {
            config.insert((*k).into(), (*v).into());
        }
        ClusterConnector {
            config,
            target: TargetState::Started,
            config_offset: offset,
            tasks: None,
            split_failure: None,
            restart_offset: 0,
        }
    }

    #[test]
    fn a_config_is_parsed_once_per_config_offset_however_often_it_is_used() {
        let (cache, parses) = cache();
        let c = connector(7, &[]);
        for _ in 0..5 {
            assert!(cache.get("a", &c).is_ok());
        }
        assert_eq!(parses.load(Ordering::SeqCst), 1);
        let updated = connector(9, &[("counting.label", "two")]);
        let checked = cache.get("a", &updated).map_err(|e| format!("{e:?}"));
        assert_eq!(
            parses.load(Ordering::SeqCst),
            2,
            "a new offset parses again"
        );
        assert_eq!(
            checked
                .ok()
                .and_then(|c| c.config.get("counting.label").cloned()),
            Some("two".to_owned())
        );
    }

    #[test]
    fn a_config_checked_before_it_was_written_is_not_parsed_again() {
        let (cache, parses) = cache();
        let c = connector(3, &[]);
        let checked = cache
            .catalog
            .check_offline(&c.config)
            .map_err(|e| format!("{e:?}"));
        let Ok(checked) = checked else {
            panic!("the config is valid: {checked:?}", checked = checked.err())
        };
        cache.keep("a", 3, &checked);
        assert!(cache.get("a", &c).is_ok());
        assert_eq!(parses.load(Ordering::SeqCst), 1);
        // An older write kept late does not replace a newer config.
        cache.keep("a", 2, &checked);
        assert!(cache.get("a", &c).is_ok());
        assert_eq!(parses.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn a_config_that_fails_to_parse_is_tried_again_on_its_next_use() {
        let (cache, parses) = cache();
        let c = connector(4, &[("broken", "yes")]);
        assert!(cache.get("a", &c).is_err());
        assert!(cache.get("a", &c).is_err());
        assert_eq!(parses.load(Ordering::SeqCst), 2);
        assert_eq!(cache.len(), 0);
    }

    #[test]
    fn deleted_connectors_are_forgotten() {
        let (cache, _) = cache();
        assert!(cache.get("a", &connector(1, &[])).is_ok());
        assert!(cache.get("b", &connector(2, &[])).is_ok());
        cache.retain(|name| name == "b");
        assert_eq!(cache.len(), 1);
    }
}

//! sled-backed stores: one database with a tree for connector configs and one for offsets.
//!
//! Offset keys are `<connector> 0x00 <canonical partition JSON>`; connector names never
//! contain NUL (they are checked against `^[A-Za-z0-9._-]{1,128}$`), so a prefix scan
//! lists one connector's offsets.

use std::path::Path;

use async_trait::async_trait;
use connect_api::{ConfigMap, SourceOffset, SourcePartition};

use super::{ConfigStore, OffsetStore, StoreError, StoredConnector, TargetState};
use crate::error::RuntimeError;

/// Configs and offsets in one sled database.
pub struct SledStore {
    db: sled::Db,
    configs: sled::Tree,
    offsets: sled::Tree,
}

fn offset_key(connector: &str, partition: &SourcePartition) -> Vec<u8> {
    let mut key = Vec::with_capacity(connector.len() + 64);
    key.extend_from_slice(connector.as_bytes());
    key.push(0);
    key.extend_from_slice(&partition.to_canonical_bytes());
    key
}

fn corrupt(key: &[u8], message: impl ToString) -> StoreError {
    StoreError::Corrupt {
        key: String::from_utf8_lossy(key).replace('\0', "/"),
        message: message.to_string(),
    }
}

impl SledStore {
    /// Opens (or creates) the store under `dir`.
    pub fn open(dir: &Path) -> Result<Self, RuntimeError> {
        let wrap = |source| RuntimeError::Store {
            path: dir.to_path_buf(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(|e| wrap(sled::Error::Io(e)))?;
        let db = sled::open(dir.join("sled")).map_err(wrap)?;
        let configs = db.open_tree("connector-configs").map_err(wrap)?;
        let offsets = db.open_tree("offsets").map_err(wrap)?;
        Ok(Self {
            db,
            configs,
            offsets,
        })
    }

    /// Flushes everything to disk.
    pub async fn flush(&self) -> Result<(), StoreError> {
        self.db.flush_async().await?;
        Ok(())
    }
}

#[async_trait]
impl OffsetStore for SledStore {
    fn get(
        &self,
        connector: &str,
        partition: &SourcePartition,
    ) -> Result<Option<SourceOffset>, StoreError> {
        let key = offset_key(connector, partition);
        match self.offsets.get(&key)? {
            None => Ok(None),
            Some(bytes) => SourceOffset::from_json_bytes(&bytes)
                .map(Some)
                .map_err(|e| corrupt(&key, e)),
        }
    }

    fn list(&self, connector: &str) -> Result<Vec<(SourcePartition, SourceOffset)>, StoreError> {
        let mut prefix = connector.as_bytes().to_vec();
        prefix.push(0);
        let mut out = Vec::new();
        for item in self.offsets.scan_prefix(&prefix) {
            let (key, value) = item?;
            let partition = SourcePartition::from_json_bytes(&key[prefix.len()..])
                .map_err(|e| corrupt(&key, e))?;
            let offset = SourceOffset::from_json_bytes(&value).map_err(|e| corrupt(&key, e))?;
            out.push((partition, offset));
        }
        Ok(out)
    }

    async fn put_all(
        &self,
        connector: &str,
        offsets: &[(SourcePartition, SourceOffset)],
    ) -> Result<(), StoreError> {
        let mut batch = sled::Batch::default();
        for (partition, offset) in offsets {
            batch.insert(
                offset_key(connector, partition),
                offset.to_canonical_bytes(),
            );
        }
        self.offsets.apply_batch(batch)?;
        // Reported as committed only once it is on disk.
        self.db.flush_async().await?;
        Ok(())
    }

    async fn alter(
        &self,
        connector: &str,
        changes: &[(SourcePartition, Option<SourceOffset>)],
    ) -> Result<(), StoreError> {
        let mut batch = sled::Batch::default();
        for (partition, offset) in changes {
            let key = offset_key(connector, partition);
            match offset {
                Some(o) => batch.insert(key, o.to_canonical_bytes()),
                None => batch.remove(key),
            }
        }
        self.offsets.apply_batch(batch)?;
        self.db.flush_async().await?;
        Ok(())
    }

    async fn reset(&self, connector: &str) -> Result<(), StoreError> {
        let mut prefix = connector.as_bytes().to_vec();
        prefix.push(0);
        let mut batch = sled::Batch::default();
        for item in self.offsets.scan_prefix(&prefix) {
            let (key, _) = item?;
            batch.remove(key);
        }
        self.offsets.apply_batch(batch)?;
        self.db.flush_async().await?;
        Ok(())
    }
}

#[async_trait]
impl ConfigStore for SledStore {
    async fn put_connector(
        &self,
        name: &str,
        connector: &StoredConnector,
    ) -> Result<(), StoreError> {
        let bytes = serde_json::to_vec(connector).map_err(|e| corrupt(name.as_bytes(), e))?;
        self.configs.insert(name.as_bytes(), bytes)?;
        self.db.flush_async().await?;
        Ok(())
    }

    async fn remove_connector(&self, name: &str) -> Result<(), StoreError> {
        self.configs.remove(name.as_bytes())?;
        self.db.flush_async().await?;
        Ok(())
    }

    fn connectors(&self) -> Result<Vec<(String, StoredConnector)>, StoreError> {
        let mut out = Vec::new();
        for item in self.configs.iter() {
            let (key, value) = item?;
            let name = String::from_utf8(key.to_vec()).map_err(|e| corrupt(&key, e))?;
            // The first format stored the bare config map; read it as a running connector.
            let stored = match serde_json::from_slice::<StoredConnector>(&value) {
                Ok(s) => s,
                Err(_) => StoredConnector {
                    config: serde_json::from_slice::<ConfigMap>(&value)
                        .map_err(|e| corrupt(&key, e))?,
                    target_state: TargetState::Started,
                },
            };
            out.push((name, stored));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn part(index: &str) -> SourcePartition {
        SourcePartition::try_from(json!({ "index": index })).unwrap()
    }

    #[tokio::test]
    async fn offsets_survive_reopening_and_stay_per_connector() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = SledStore::open(dir.path()).unwrap();
            let off = SourceOffset::try_from(json!({"v": 1})).unwrap();
            store
                .put_all("a", &[(part("i1"), off.clone())])
                .await
                .unwrap();
            store.put_all("ab", &[(part("i1"), off)]).await.unwrap();
        }
        let store = SledStore::open(dir.path()).unwrap();
        let got = store.get("a", &part("i1")).unwrap().unwrap();
        assert_eq!(got.get("v"), Some(&json!(1)));
        assert_eq!(store.list("a").unwrap().len(), 1);
        assert!(store.get("a", &part("i2")).unwrap().is_none());
    }

    #[tokio::test]
    async fn connector_configs_round_trip_and_delete() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path()).unwrap();
        let stored = StoredConnector {
            config: [("k".to_string(), "v".to_string())].into(),
            target_state: TargetState::Paused,
        };
        store.put_connector("c1", &stored).await.unwrap();
        assert_eq!(
            store.connectors().unwrap(),
            vec![("c1".to_string(), stored)]
        );
        store.remove_connector("c1").await.unwrap();
        assert!(store.connectors().unwrap().is_empty());
    }

    #[tokio::test]
    async fn offsets_can_be_altered_and_reset_per_connector() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path()).unwrap();
        let off = SourceOffset::try_from(json!({"v": 1})).unwrap();
        store
            .put_all("a", &[(part("i1"), off.clone()), (part("i2"), off.clone())])
            .await
            .unwrap();
        store
            .put_all("b", &[(part("i1"), off.clone())])
            .await
            .unwrap();
        let moved = SourceOffset::try_from(json!({"v": 9})).unwrap();
        store
            .alter(
                "a",
                &[(part("i1"), Some(moved.clone())), (part("i2"), None)],
            )
            .await
            .unwrap();
        assert_eq!(store.list("a").unwrap(), vec![(part("i1"), moved)]);
        store.reset("a").await.unwrap();
        assert!(store.list("a").unwrap().is_empty());
        assert_eq!(
            store.list("b").unwrap().len(),
            1,
            "other connectors untouched"
        );
    }
}

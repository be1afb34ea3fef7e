//! The worker's local copy of the cluster's configs and offsets, in its sled store
//! (`storePathRootDir`): what it had read of the config and offsets logs, and how far.
//!
//! A restarted worker loads it and reads the logs on from there instead of from their
//! first record. The logs stay the truth: a copy written for another cluster or other
//! topics, or one whose position is no longer in the log (removed by retention, or a
//! topic created anew), is ignored; a worker whose disk is lost simply starts without a
//! copy. Either then starts from the logs' newest snapshot (see
//! [`super::snapshot::start`]).

use std::path::Path;

use connect_api::{SourceOffset, SourcePartition};
use serde::{Deserialize, Serialize};

use super::configs::ConfigState;
use super::positions::Fences;
use super::ClusterError;
use crate::worker_config::ClusterConf;

const TREE: &str = "cluster-cache";
const KEY: &[u8] = b"checkpoint";

/// Which cluster and logs a copy belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Identity {
    cluster: String,
    config_topic: String,
    position_topic: String,
}

impl Identity {
    fn of(conf: &ClusterConf) -> Self {
        Self {
            cluster: conf.cluster_id.clone(),
            config_topic: conf.config_topic.clone(),
            position_topic: conf.position_topic.clone(),
        }
    }
}

/// The state of the config and offsets logs up to a position in each.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Checkpoint {
    /// Everything of the config log before this offset is in `configs`.
    pub config_next: i64,
    /// The connectors.
    pub configs: ConfigState,
    /// Everything of the offsets log before this offset is in `fences` and `offsets`.
    pub positions_next: i64,
    /// The fences.
    pub fences: Fences,
    /// Committed offsets: (connector, partition, offset).
    pub offsets: Vec<(String, SourcePartition, SourceOffset)>,
}

#[derive(Serialize, Deserialize)]
struct Stored {
    identity: Identity,
    checkpoint: Checkpoint,
}

/// The copy in the worker's sled store.
pub struct ClusterCache {
    db: sled::Db,
    tree: sled::Tree,
    identity: Identity,
}

impl std::fmt::Debug for ClusterCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterCache")
            .field("identity", &self.identity)
            .finish_non_exhaustive()
    }
}

fn store_error(e: impl std::fmt::Display) -> ClusterError {
    ClusterError::Cache(e.to_string())
}

impl ClusterCache {
    /// Opens (or creates) the copy under `dir` for the cluster of `conf`.
    pub fn open(dir: &Path, conf: &ClusterConf) -> Result<Self, ClusterError> {
        std::fs::create_dir_all(dir).map_err(store_error)?;
        let db = sled::open(dir.join("sled")).map_err(store_error)?;
        let tree = db.open_tree(TREE).map_err(store_error)?;
        Ok(Self {
            db,
            tree,
            identity: Identity::of(conf),
        })
    }

    /// The copy, if there is one for this cluster and these topics. An unreadable copy
    /// is reported and ignored (the logs have everything).
    pub fn load(&self) -> Option<Checkpoint> {
        let bytes = match self.tree.get(KEY) {
            Ok(Some(b)) => b,
            Ok(None) => return None,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the local copy of the cluster state; reading the logs from the start");
                return None;
            }
        };
        match serde_json::from_slice::<Stored>(&bytes) {
            Ok(s) if s.identity == self.identity => Some(s.checkpoint),
            Ok(s) => {
                tracing::info!(
                    stored = ?s.identity,
                    now = ?self.identity,
                    "the local copy of the cluster state is of another cluster or other topics; ignoring it"
                );
                None
            }
            Err(e) => {
                tracing::warn!(error = %e, "the local copy of the cluster state is unreadable; reading the logs from the start");
                None
            }
        }
    }

    /// Replaces the copy and flushes it to disk.
    pub async fn save(&self, checkpoint: &Checkpoint) -> Result<(), ClusterError> {
        let bytes = serde_json::to_vec(&StoredRef {
            identity: &self.identity,
            checkpoint,
        })
        .map_err(ClusterError::Encode)?;
        self.tree.insert(KEY, bytes).map_err(store_error)?;
        self.db.flush_async().await.map_err(store_error)?;
        Ok(())
    }
}

#[derive(Serialize)]
struct StoredRef<'a> {
    identity: &'a Identity,
    checkpoint: &'a Checkpoint,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::configs::ConfigRecord;
    use crate::cluster::positions::{Owner, PositionRecord};
    use crate::store::TargetState;
    use serde_json::json;

    fn conf(cluster: &str) -> ClusterConf {
        ClusterConf {
            cluster_id: cluster.into(),
            ..ClusterConf::default()
        }
    }

    fn checkpoint() -> Checkpoint {
        let mut configs = ConfigState::default();
        configs.apply(
            0,
            &ConfigRecord::Connector {
                name: "c".into(),
                config: [("k".to_string(), "v".to_string())].into_iter().collect(),
                initial_state: TargetState::Started,
                create_only: false,
                request: "r".into(),
            },
        );
        let mut fences = Fences::default();
        fences.apply(&PositionRecord::Fence {
            connector: "c".into(),
            task: 0,
            owner: Owner {
                worker: "w1".into(),
                generation: 2,
                config_version: 1,
            },
        });
        Checkpoint {
            config_next: 1,
            configs,
            positions_next: 7,
            fences,
            offsets: vec![(
                "c".into(),
                SourcePartition::try_from(json!({"index": "i"})).unwrap(),
                SourceOffset::try_from(json!({"sort": [5]})).unwrap(),
            )],
        }
    }

    #[tokio::test]
    async fn a_saved_copy_comes_back_for_the_same_cluster_only() {
        let dir = tempfile::tempdir().unwrap();
        {
            let cache = ClusterCache::open(dir.path(), &conf("A")).unwrap();
            assert!(cache.load().is_none());
            cache.save(&checkpoint()).await.unwrap();
        }
        let cache = ClusterCache::open(dir.path(), &conf("A")).unwrap();
        let back = cache.load().unwrap();
        assert_eq!(back.positions_next, 7);
        assert_eq!(back.offsets, checkpoint().offsets);
        assert!(back.configs.get("c").is_some());
        assert_eq!(back.fences.owner("c", 0).map(|o| o.generation), Some(2));
        drop(cache);
        let other = ClusterCache::open(dir.path(), &conf("B")).unwrap();
        assert!(other.load().is_none(), "a copy of cluster A is not B's");
    }
}

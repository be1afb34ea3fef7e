//! `bench-memory-source`: a source connector whose task hands out pre-built benchmark
//! documents from memory (cycling through a pool), so that the runtime's producer path (task loop, JSON
//! converter, RocketMQ producer, offset commits) can be measured without Elasticsearch.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use connect_api::config::{ConfigDef, ConfigKey, ConfigMap, ConfigType, FieldError};
use connect_api::connector::{PluginInfo, SourceConnector};
use connect_api::error::ConnectError;
use connect_api::position::{SourceOffset, SourcePartition};
use connect_api::record::{RecordValue, SourceRecord};
use connect_api::task::{SourceTask, TaskContext};
use serde_json::json;

/// `connector.class` of the memory source.
pub const CLASS: &str = "bench-memory-source";
/// Config key: how many documents to emit.
pub const DOCS: &str = "bench.docs";
/// Config key: records per poll.
pub const BATCH: &str = "bench.batch";

/// Typed config of the memory source.
pub struct MemoryConfig {
    /// Documents to emit.
    pub docs: u64,
    /// Records per poll.
    pub batch: usize,
}

/// The connector; holds the documents every task hands out.
pub struct MemorySource {
    docs: Arc<Vec<Bytes>>,
}

impl MemorySource {
    /// A connector handing out `docs`.
    pub fn new(docs: Arc<Vec<Bytes>>) -> Self {
        Self { docs }
    }
}

fn number(config: &ConfigMap, key: &str) -> Result<u64, FieldError> {
    config
        .get(key)
        .ok_or_else(|| FieldError::new(key, "is required"))?
        .parse()
        .map_err(|_| FieldError::new(key, "must be a whole number"))
}

#[async_trait]
impl SourceConnector for MemorySource {
    type Config = MemoryConfig;

    fn info(&self) -> PluginInfo {
        PluginInfo {
            name: CLASS.into(),
            aliases: Vec::new(),
            version: env!("CARGO_PKG_VERSION").into(),
            description: "benchmark documents from memory (rmq-bench only)".into(),
        }
    }

    fn config_def(&self) -> ConfigDef {
        vec![
            ConfigKey::new(DOCS, ConfigType::Int, "Documents to emit.").required(),
            ConfigKey::new(BATCH, ConfigType::Int, "Records per poll.").required(),
        ]
    }

    fn parse_config(&self, config: &ConfigMap) -> Result<MemoryConfig, Vec<FieldError>> {
        let docs = number(config, DOCS);
        let batch = number(config, BATCH);
        match (docs, batch) {
            (Ok(docs), Ok(batch)) if batch > 0 && !self.docs.is_empty() => Ok(MemoryConfig {
                docs,
                batch: batch as usize,
            }),
            (Ok(_), Ok(0)) => Err(vec![FieldError::new(BATCH, "must be at least 1")]),
            (Ok(_), Ok(_)) => Err(vec![FieldError::new(DOCS, "no documents were built")]),
            (d, b) => Err([d.err(), b.err()].into_iter().flatten().collect()),
        }
    }

    async fn task_configs(
        &self,
        _config: &MemoryConfig,
        raw: &ConfigMap,
        _max_tasks: usize,
    ) -> Result<Vec<ConfigMap>, ConnectError> {
        Ok(vec![raw.clone()])
    }

    async fn create_task(
        &self,
        _task_config: &ConfigMap,
    ) -> Result<Box<dyn SourceTask>, ConnectError> {
        Ok(Box::new(MemoryTask {
            docs: self.docs.clone(),
            next: 0,
            end: 0,
            batch: 1,
            partition: None,
        }))
    }
}

struct MemoryTask {
    docs: Arc<Vec<Bytes>>,
    next: u64,
    end: u64,
    batch: usize,
    partition: Option<SourcePartition>,
}

#[async_trait]
impl SourceTask for MemoryTask {
    async fn start(&mut self, ctx: TaskContext) -> Result<(), ConnectError> {
        let parsed = MemorySource::new(self.docs.clone())
            .parse_config(&ctx.config)
            .map_err(|e| ConnectError::config(FieldError::join(&e)))?;
        self.end = parsed.docs;
        self.batch = parsed.batch;
        let partition = SourcePartition::from_typed(&json!({ "bench": "memory" }))?;
        self.next = match ctx.offsets.offset(&partition)? {
            Some(o) => o.get("next").and_then(|v| v.as_u64()).unwrap_or(0),
            None => 0,
        };
        self.partition = Some(partition);
        Ok(())
    }

    async fn poll(&mut self) -> Result<Vec<SourceRecord>, ConnectError> {
        let Some(partition) = &self.partition else {
            return Err(ConnectError::fatal("poll before start"));
        };
        if self.next >= self.end {
            tokio::time::sleep(Duration::from_millis(100)).await;
            return Ok(Vec::new());
        }
        let to = (self.next + self.batch as u64).min(self.end);
        let mut out = Vec::with_capacity((to - self.next) as usize);
        for seq in self.next..to {
            let offset = if seq + 1 == to {
                Some(SourceOffset::from_typed(&json!({ "next": to }))?)
            } else {
                None
            };
            // The pool is cycled; the key (the sequence number) stays unique.
            let doc = self.docs[(seq % self.docs.len() as u64) as usize].clone();
            out.push(
                SourceRecord::new(partition.clone(), offset, RecordValue::RawJson(doc))
                    .with_key(seq.to_string()),
            );
        }
        self.next = to;
        Ok(out)
    }
}

//! A minimal Elasticsearch fixture client: create indices, bulk-load, refresh, delete.

use anyhow::{bail, Context};
use serde_json::{json, Value};

/// An Elasticsearch at `url`.
#[derive(Clone)]
pub struct Es {
    url: String,
    http: reqwest::Client,
}

impl Es {
    /// The Elasticsearch of [`crate::es_url`].
    pub fn from_env() -> Self {
        Self::new(&crate::es_url())
    }

    /// The Elasticsearch at `url`.
    pub fn new(url: &str) -> Self {
        Self {
            url: url.trim_end_matches('/').to_owned(),
            http: reqwest::Client::new(),
        }
    }

    /// The base URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Vec<u8>>,
        ndjson: bool,
    ) -> anyhow::Result<Value> {
        let mut req = self
            .http
            .request(method.clone(), format!("{}/{}", self.url, path));
        if let Some(b) = body {
            let ct = if ndjson {
                "application/x-ndjson"
            } else {
                "application/json"
            };
            req = req.header("content-type", ct).body(b);
        }
        let resp = req
            .send()
            .await
            .with_context(|| format!("{method} {path}"))?;
        let status = resp.status();
        let value: Value = resp.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            bail!("{method} {path}: HTTP {status}: {value}");
        }
        Ok(value)
    }

    /// Creates an index with one shard, no replicas and the given `properties` mapping.
    pub async fn create_index(&self, index: &str, properties: Value) -> anyhow::Result<()> {
        let body = json!({
            "settings": {"number_of_shards": 1, "number_of_replicas": 0},
            "mappings": {"properties": properties},
        });
        self.call(
            reqwest::Method::PUT,
            index,
            Some(serde_json::to_vec(&body)?),
            false,
        )
        .await
        .map(|_| ())
    }

    /// Indexes `(id, source)` pairs with `_bulk` in chunks, failing on any item error.
    pub async fn bulk_index(&self, index: &str, docs: &[(String, Value)]) -> anyhow::Result<()> {
        for chunk in docs.chunks(2000) {
            let mut body = Vec::new();
            for (id, source) in chunk {
                serde_json::to_writer(&mut body, &json!({"index": {"_index": index, "_id": id}}))?;
                body.push(b'\n');
                serde_json::to_writer(&mut body, source)?;
                body.push(b'\n');
            }
            let resp = self
                .call(reqwest::Method::POST, "_bulk", Some(body), true)
                .await?;
            if resp["errors"].as_bool() == Some(true) {
                bail!(
                    "bulk indexing into {index} had errors: {}",
                    resp["items"][0]
                );
            }
        }
        Ok(())
    }

    /// Makes everything indexed so far searchable.
    pub async fn refresh(&self, index: &str) -> anyhow::Result<()> {
        self.call(
            reqwest::Method::POST,
            &format!("{index}/_refresh"),
            None,
            false,
        )
        .await
        .map(|_| ())
    }

    /// Deletes an index (ignores a missing one).
    pub async fn delete_index(&self, index: &str) -> anyhow::Result<()> {
        let _ = self.call(reqwest::Method::DELETE, index, None, false).await;
        Ok(())
    }
}

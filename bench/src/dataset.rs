//! The benchmark's documents and their index.
//!
//! Each document is about 1 KB of JSON: `seq` (long, unique, the tiebreaker), `ts` (a date
//! in epoch milliseconds, the tracking field; every 20th document shares its value with
//! the one before it, so 5 % share a value with a neighbour), `kind` (a keyword) and
//! `text` (words). The index has one primary shard and no replica; refresh is off while
//! loading and restored after. An index of the same shape and size is reused.

use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use futures::stream::{self, StreamExt, TryStreamExt};
use serde_json::{json, Value};

/// Bumped whenever the document shape changes, so an old index is not reused.
pub const SHAPE: &str = "v1";
/// Tracking value of document 0 (2023-11-14T22:13:20Z).
const BASE_TS_MS: i64 = 1_700_000_000_000;
/// Target size of one document's JSON.
pub const DOC_BYTES: usize = 1024;
/// Documents per `_bulk` request (about 5 MB).
const BULK_DOCS: u64 = 5_000;
/// `_bulk` requests in flight while loading.
const BULK_CONCURRENCY: usize = 2;

const WORDS: [&str; 32] = [
    "broker",
    "index",
    "shard",
    "offset",
    "commit",
    "tracking",
    "cursor",
    "replica",
    "segment",
    "message",
    "topic",
    "queue",
    "search",
    "after",
    "batch",
    "worker",
    "connector",
    "source",
    "elastic",
    "rocket",
    "stream",
    "field",
    "value",
    "record",
    "partition",
    "lag",
    "refresh",
    "mapping",
    "keyword",
    "document",
    "cluster",
    "node",
];

/// The index holding `docs` benchmark documents in `shards` primary shards.
pub fn index_name(docs: u64, shards: u32) -> String {
    if shards == 1 {
        format!("rmq_bench_{SHAPE}_{docs}")
    } else {
        format!("rmq_bench_{SHAPE}_{docs}_s{shards}")
    }
}

/// The tracking value of document `seq`: one millisecond apart, except that every
/// 20th document repeats its predecessor's value.
pub fn ts_of(seq: u64) -> i64 {
    let seq = i64::try_from(seq).unwrap_or(i64::MAX - BASE_TS_MS);
    BASE_TS_MS + seq - i64::from(seq % 20 == 19)
}

/// Document `seq` with tracking value `ts_ms`, as JSON of about [`DOC_BYTES`] bytes.
pub fn doc_json(seq: u64, ts_ms: i64) -> String {
    let head = format!(
        "{{\"seq\":{seq},\"ts\":{ts_ms},\"kind\":\"kind-{:02}\",\"text\":\"",
        seq % 16
    );
    let mut out = String::with_capacity(DOC_BYTES + 16);
    out.push_str(&head);
    // xorshift64*, seeded by seq: the same text for the same document, varied words.
    let mut x = seq.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let room = DOC_BYTES - 2; // the closing `"}`
    while out.len() < room {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        let word = WORDS[(x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 59) as usize];
        if out.len() + word.len() + 1 > room {
            break;
        }
        if !out.ends_with('"') {
            out.push(' ');
        }
        out.push_str(word);
    }
    while out.len() < room {
        out.push('.');
    }
    out.push_str("\"}");
    out
}

/// The index mapping of benchmark documents.
pub fn mappings(docs: u64) -> Value {
    json!({
        "_meta": { "rmq_bench_shape": SHAPE, "docs": docs },
        "properties": {
            "seq": { "type": "long" },
            "ts": { "type": "date" },
            "kind": { "type": "keyword" },
            "text": { "type": "text" }
        }
    })
}

/// A small Elasticsearch client for loading and checking the benchmark index.
#[derive(Clone)]
pub struct Es {
    url: String,
    http: reqwest::Client,
}

impl Es {
    /// The Elasticsearch at `url`.
    pub fn new(url: &str) -> anyhow::Result<Self> {
        Ok(Self {
            url: url.trim_end_matches('/').to_owned(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(120))
                .build()?,
        })
    }

    /// The base URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Sends a request and returns its JSON answer; a non-2xx status is an error.
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<Value> {
        let mut req = self
            .http
            .request(method.clone(), format!("{}{path}", self.url));
        if let Some(b) = body {
            req = req.json(&b);
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

    /// Whether `index` exists.
    pub async fn exists(&self, index: &str) -> anyhow::Result<bool> {
        let resp = self
            .http
            .head(format!("{}/{index}", self.url))
            .send()
            .await?;
        Ok(resp.status().is_success())
    }

    /// Documents in `index` (searchable ones, after a refresh).
    pub async fn count(&self, index: &str) -> anyhow::Result<u64> {
        let v = self
            .call(reqwest::Method::GET, &format!("/{index}/_count"), None)
            .await?;
        v["count"].as_u64().context("_count answer has no count")
    }

    /// Indexes `lines` (an NDJSON `_bulk` body) and fails on any item error.
    pub async fn bulk(&self, body: String) -> anyhow::Result<()> {
        let resp = self
            .http
            .post(format!("{}/_bulk", self.url))
            .header("content-type", "application/x-ndjson")
            .body(body)
            .send()
            .await
            .context("POST /_bulk")?;
        let status = resp.status();
        let v: Value = resp.json().await.context("_bulk answer")?;
        if !status.is_success() || v["errors"].as_bool() != Some(false) {
            let first = v["items"]
                .as_array()
                .and_then(|items| {
                    items
                        .iter()
                        .find(|i| i["index"]["error"].is_object())
                        .cloned()
                })
                .unwrap_or(Value::Null);
            bail!("_bulk failed (HTTP {status}); first error: {first}");
        }
        Ok(())
    }
}

/// The `_bulk` body indexing documents `from..to` into `index` (id = seq).
pub fn bulk_body(index: &str, from: u64, to: u64, ts: impl Fn(u64) -> i64) -> String {
    let mut body = String::with_capacity(((to - from) as usize) * (DOC_BYTES + 64));
    for seq in from..to {
        body.push_str(&format!(
            "{{\"index\":{{\"_index\":\"{index}\",\"_id\":\"{seq}\"}}}}\n"
        ));
        body.push_str(&doc_json(seq, ts(seq)));
        body.push('\n');
    }
    body
}

/// Makes sure `index_name(docs, shards)` holds exactly `docs` benchmark documents of the
/// current shape, loading them when not. Returns the index name.
pub async fn ensure_loaded(es: &Es, docs: u64, shards: u32) -> anyhow::Result<String> {
    let index = index_name(docs, shards);
    if es.exists(&index).await? {
        let mapping = es
            .call(reqwest::Method::GET, &format!("/{index}/_mapping"), None)
            .await?;
        let shape = &mapping[&index]["mappings"]["_meta"]["rmq_bench_shape"];
        if shape == SHAPE && es.count(&index).await? == docs {
            println!("dataset: reusing {index} ({docs} documents)");
            return Ok(index);
        }
        println!("dataset: {index} is incomplete or of another shape; loading it again");
        es.call(reqwest::Method::DELETE, &format!("/{index}"), None)
            .await?;
    }
    let started = Instant::now();
    es.call(
        reqwest::Method::PUT,
        &format!("/{index}"),
        Some(json!({
            "settings": {
                "number_of_shards": shards,
                "number_of_replicas": 0,
                "refresh_interval": "-1"
            },
            "mappings": mappings(docs)
        })),
    )
    .await?;
    let chunks: Vec<(u64, u64)> = (0..docs)
        .step_by(BULK_DOCS as usize)
        .map(|from| (from, (from + BULK_DOCS).min(docs)))
        .collect();
    let total = chunks.len();
    let mut done = 0usize;
    let mut stream = stream::iter(chunks)
        .map(|(from, to)| {
            let es = es.clone();
            let index = index.clone();
            async move { es.bulk(bulk_body(&index, from, to, ts_of)).await }
        })
        .buffer_unordered(BULK_CONCURRENCY);
    while stream.try_next().await?.is_some() {
        done += 1;
        if done.is_multiple_of(40) || done == total {
            println!(
                "dataset: loaded {} of {docs} documents ({:.0} s)",
                (done as u64 * BULK_DOCS).min(docs),
                started.elapsed().as_secs_f64()
            );
        }
    }
    drop(stream); // it borrows `index`, which is returned below
    es.call(
        reqwest::Method::PUT,
        &format!("/{index}/_settings"),
        Some(json!({ "index": { "refresh_interval": null } })),
    )
    .await?;
    es.call(reqwest::Method::POST, &format!("/{index}/_refresh"), None)
        .await?;
    let count = es.count(&index).await?;
    if count != docs {
        bail!("{index} holds {count} documents after loading {docs}");
    }
    println!(
        "dataset: {index} loaded, {docs} documents in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    Ok(index)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_are_about_one_kilobyte_of_valid_json() {
        for seq in [0u64, 1, 19, 999_999, u64::from(u32::MAX)] {
            let doc = doc_json(seq, ts_of(seq));
            assert_eq!(doc.len(), DOC_BYTES, "doc {seq}");
            let v: Value = serde_json::from_str(&doc).unwrap();
            assert_eq!(v["seq"], seq);
            assert_eq!(v["ts"], ts_of(seq));
        }
    }

    #[test]
    fn five_percent_of_documents_share_the_tracking_value_of_their_neighbour() {
        let n = 10_000u64;
        let shared = (1..n).filter(|&s| ts_of(s) == ts_of(s - 1)).count();
        assert_eq!(shared, 500);
        assert!((1..n).all(|s| ts_of(s) >= ts_of(s - 1)), "never decreasing");
    }

    #[test]
    fn bulk_body_has_an_action_line_and_a_source_line_per_document() {
        let body = bulk_body("i", 5, 8, ts_of);
        let lines: Vec<&str> = body.lines().collect();
        assert_eq!(lines.len(), 6);
        assert_eq!(lines[0], r#"{"index":{"_index":"i","_id":"5"}}"#);
        assert!(serde_json::from_str::<Value>(lines[5]).is_ok());
    }

    #[test]
    fn index_name_carries_shape_and_size() {
        assert_eq!(index_name(200_000, 1), "rmq_bench_v1_200000");
        assert_eq!(index_name(200_000, 4), "rmq_bench_v1_200000_s4");
    }
}

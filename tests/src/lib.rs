//! Fixtures shared by the end-to-end tests: documents of about 1 KB whose tracking
//! values come in groups, and connector configs pointing at the services under test.

use connect_testkit::es::Es;
use connect_testkit::unique_name;
use serde_json::{json, Value};

/// A document of about 1 KB: `seq` (unique), `ts` (tracking value shared by a group),
/// a keyword and filler text.
pub fn doc(seq: u64, ts: i64) -> Value {
    let filler: String = format!("{seq:08}-").chars().cycle().take(900).collect();
    json!({
        "seq": seq,
        "ts": ts,
        "kind": format!("k{}", seq % 7),
        "text": filler,
    })
}

/// The index mapping used by the tests.
pub fn mapping() -> Value {
    json!({
        "seq": {"type": "long"},
        "ts": {"type": "long"},
        "kind": {"type": "keyword"},
        "text": {"type": "text"},
    })
}

/// `count` documents from `first_seq`, where runs of up to `group` documents share a
/// tracking value (run lengths vary from 1 to `group`), starting at tracking value
/// `first_ts`. Returns `(id, source)` pairs and the last tracking value used.
pub fn grouped_docs(
    first_seq: u64,
    count: u64,
    group: u64,
    first_ts: i64,
) -> (Vec<(String, Value)>, i64) {
    let mut out = Vec::with_capacity(count as usize);
    let mut ts = first_ts;
    let mut left_in_group = 0u64;
    let mut run = 0u64;
    for seq in first_seq..first_seq + count {
        if left_in_group == 0 {
            run += 1;
            // Deterministic spread of group sizes: 1, group, and values between.
            left_in_group = match run % 4 {
                0 => 1,
                1 => group,
                2 => group / 2 + 1,
                _ => (run * 37) % group + 1,
            };
            ts += 1;
        }
        left_in_group -= 1;
        out.push((format!("d{seq}"), doc(seq, ts)));
    }
    (out, ts)
}

/// An es-source connector config.
pub fn es_connector(index: &str, topic: &str, batch: u32, tiebreaker: Option<&str>) -> Value {
    let mut c = json!({
        "connector.class": "es-source",
        "max.tasks": "1",
        "connect.topicname": topic,
        "es.hosts": connect_testkit::es_url(),
        "es.index": index,
        "es.tracking.field": "ts",
        "es.batch.size": batch.to_string(),
        "es.poll.interval.ms": "200",
    });
    if let Some(t) = tiebreaker {
        c["es.tiebreaker.field"] = json!(t);
    }
    c
}

/// One test's own index (created, with [`mapping`]), topic, connector name and worker
/// directory.
pub struct Fixture {
    /// The Elasticsearch under test.
    pub es: Es,
    /// A fresh index.
    pub index: String,
    /// A fresh topic name.
    pub topic: String,
    /// A fresh connector name.
    pub connector: String,
    /// The worker's directory (conf, store, log).
    pub dir: tempfile::TempDir,
}

impl Fixture {
    /// Names unique to this test, tagged with `tag`, and a created index.
    pub async fn new(tag: &str) -> anyhow::Result<Self> {
        let es = Es::from_env();
        let index = unique_name(&format!("e2e-{tag}")).to_lowercase();
        es.create_index(&index, mapping()).await?;
        Ok(Self {
            es,
            index,
            topic: unique_name(&format!("e2e_{tag}")),
            connector: unique_name(&format!("c-{tag}")),
            dir: tempfile::tempdir()?,
        })
    }

    /// Indexes `docs` and makes them searchable.
    pub async fn load(&self, docs: &[(String, Value)]) -> anyhow::Result<()> {
        self.es.bulk_index(&self.index, docs).await?;
        self.es.refresh(&self.index).await
    }
}

//! A — Elasticsearch's read ceiling: the search es-source sends (range + sort +
//! `search_after`, same page size, `track_total_hits: false`, built by es-source's own
//! query code), in a loop that only counts hits.

use std::time::Instant;

use anyhow::{bail, Context};
use connect_es_source::cursor::Cursor;
use connect_es_source::query::{search_body, QuerySpec, TrackingKind};
use serde::Deserialize;
use serde_json::Value;

use crate::ctx::Ctx;
use crate::model::{Run, CLIENT, ELASTICSEARCH};
use crate::procstat::CpuWindow;

#[derive(Deserialize)]
struct Page {
    hits: Hits,
}

#[derive(Deserialize)]
struct Hits {
    hits: Vec<Hit>,
}

/// Only the sort values are kept; `_source` and the rest are skipped while parsing.
#[derive(Deserialize)]
struct Hit {
    sort: Vec<Value>,
}

/// The query es-source sends for the benchmark index (`ts` tracking, `seq` tiebreaker).
pub fn spec(batch_size: u32) -> QuerySpec<'static> {
    QuerySpec {
        tracking_field: "ts",
        tiebreaker_field: Some("seq"),
        batch_size,
        tracking_kind: TrackingKind::Date,
        filter: None,
        source_includes: &[],
        source_excludes: &[],
        upper_bound_ms: None,
        time_unit: None,
    }
}

/// Reads the whole index once, page by page.
pub async fn run_once(ctx: &Ctx, index: &str) -> anyhow::Result<Run> {
    let http = reqwest::Client::new();
    let url = format!(
        "{}/{index}/_search?allow_partial_search_results=false",
        ctx.es.url()
    );
    let spec = spec(ctx.batch_size);
    let me = std::process::id();
    let window = CpuWindow::start(&[(ELASTICSEARCH, ctx.es_pid), (CLIENT, me)])?;
    let started = Instant::now();
    let mut cursor = Cursor::Start;
    let mut count = 0u64;
    loop {
        let resp = http
            .post(&url)
            // As es-source by default (es.http.compression=false): no gzip.
            .header(reqwest::header::ACCEPT_ENCODING, "identity")
            .json(&search_body(&spec, &cursor))
            .send()
            .await
            .context("search")?;
        let status = resp.status();
        let bytes = resp.bytes().await.context("search answer")?;
        if !status.is_success() {
            bail!("search: HTTP {status}: {}", String::from_utf8_lossy(&bytes));
        }
        let page: Page = serde_json::from_slice(&bytes).context("search answer")?;
        let n = page.hits.hits.len();
        count += n as u64;
        match page.hits.hits.into_iter().next_back() {
            Some(last) if n == ctx.batch_size as usize => cursor = Cursor::After(last.sort),
            _ => break,
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let used = window.used()?;
    if count != ctx.docs {
        bail!("read {count} documents, expected {}", ctx.docs);
    }
    Ok(Run::new(count, seconds, used))
}

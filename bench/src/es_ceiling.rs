//! A — Elasticsearch's read ceilings, each a loop that only counts hits:
//!
//! - A-sorted: the search es-source's incremental phase sends (range + sort on the
//!   tracking field + `search_after`, same page size, `track_total_hits: false`, built by
//!   es-source's own query code);
//! - A-pit: the search its backfill sends (one point in time, `_shard_doc` order,
//!   `search_after`, the same page body), over the whole index.

use std::time::Instant;

use anyhow::{bail, Context};
use connect_es_source::backfill::bodies::page_body;
use connect_es_source::backfill::{Reading, Step};
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
/// (`pit_id` of a point-in-time answer is skipped too: the first id stays valid.)
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

/// How long the point in time of A-pit is kept between two pages.
const PIT_KEEP_ALIVE: &str = "60s";

/// Reads the whole index once through a point in time in `_shard_doc` order, with the
/// page body es-source's backfill sends.
pub async fn run_pit_once(ctx: &Ctx, index: &str) -> anyhow::Result<Run> {
    let http = reqwest::Client::new();
    let base = ctx.es.url();
    let spec = spec(ctx.batch_size);
    let me = std::process::id();
    let window = CpuWindow::start(&[(ELASTICSEARCH, ctx.es_pid), (CLIENT, me)])?;
    let started = Instant::now();
    let opened: Value = post(
        &http,
        &format!("{base}/{index}/_pit?keep_alive={PIT_KEEP_ALIVE}"),
        None,
    )
    .await?;
    let pit = opened["id"]
        .as_str()
        .context("the point in time has no id")?
        .to_owned();
    // A bound above every document: the whole index is read, as the ceiling.
    let mut reading = Reading::new(
        pit.clone(),
        Value::from(i64::MAX / 1_000_000),
        None,
        vec![],
        1,
        ctx.docs,
    );
    let mut count = 0u64;
    loop {
        let body = page_body(&spec, &reading, 0, PIT_KEEP_ALIVE);
        let page: Page = post(
            &http,
            &format!("{base}/_search?allow_partial_search_results=false"),
            Some(&body),
        )
        .await?;
        let n = page.hits.hits.len();
        count += n as u64;
        let last = page.hits.hits.into_iter().next_back().map(|h| h.sort);
        let full = n == ctx.batch_size as usize;
        if reading.after_page(0, n, last, full, 0) != Step::Reading {
            break;
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let used = window.used()?;
    let _ = http
        .delete(format!("{base}/_pit"))
        .json(&serde_json::json!({ "id": pit }))
        .send()
        .await;
    if count != ctx.docs {
        bail!("read {count} documents, expected {}", ctx.docs);
    }
    Ok(Run::new(count, seconds, used))
}

/// POSTs `body` (none: an empty request) without gzip, as es-source does; the answer
/// decoded as `T`.
async fn post<T: serde::de::DeserializeOwned>(
    http: &reqwest::Client,
    url: &str,
    body: Option<&Value>,
) -> anyhow::Result<T> {
    let mut request = http
        .post(url)
        .header(reqwest::header::ACCEPT_ENCODING, "identity");
    if let Some(b) = body {
        request = request.json(b);
    }
    let resp = request
        .send()
        .await
        .with_context(|| format!("POST {url}"))?;
    let status = resp.status();
    let bytes = resp.bytes().await.context("answer")?;
    if !status.is_success() {
        bail!(
            "POST {url}: HTTP {status}: {}",
            String::from_utf8_lossy(&bytes)
        );
    }
    serde_json::from_slice(&bytes).with_context(|| format!("answer of POST {url}"))
}

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
    /// Milliseconds Elasticsearch spent on the search (A-pit's early/late page check).
    #[serde(default)]
    took: u64,
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
    let mut took = Vec::new();
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
        took.push(page.took);
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
    let mut run = Run::new(count, seconds, used);
    run.note = early_late_pages(&took);
    Ok(run)
}

/// Whether late pages of a `_shard_doc` read cost more than early ones: the median
/// `took` of the first and the last tenth of the pages (at least 10 pages each). On
/// Elasticsearch releases with elastic/elasticsearch#155559, where `_shard_doc` as the
/// primary sort examined every match on every page, late pages take far longer.
pub fn early_late_pages(took: &[u64]) -> Option<String> {
    let tenth = took.len() / 10;
    if tenth < 10 {
        return None;
    }
    let median = |pages: &[u64]| {
        let mut v = pages.to_vec();
        v.sort_unstable();
        v[v.len() / 2]
    };
    let (early, late) = (median(&took[..tenth]), median(&took[took.len() - tenth..]));
    Some(format!(
        "page took (median ms): first tenth {early}, last tenth {late} of {} pages",
        took.len()
    ))
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

#[cfg(test)]
mod tests {
    use super::early_late_pages;

    #[test]
    fn early_and_late_pages_are_compared_by_their_median_took() {
        let mut took = vec![3u64; 100];
        took[95..].iter_mut().for_each(|t| *t = 40);
        let note = early_late_pages(&took).unwrap();
        assert!(
            note.contains("first tenth 3, last tenth 40 of 100 pages"),
            "{note}"
        );
        assert_eq!(early_late_pages(&[1; 99]), None, "too few pages to tell");
    }
}

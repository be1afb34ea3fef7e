//! E — tailing lag: a writer indexes documents stamped `now` at a steady rate while
//! rmq-connect tails the index; for every message, lag = the time the broker stored it −
//! the document's timestamp.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::bail;
use connect_rocketmq::PullConsumer;
use connect_testkit::worker::WorkerProcess;
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::time::MissedTickBehavior;

use crate::ctx::Ctx;
use crate::dataset::{bulk_body, mappings};
use crate::end_to_end::{connector_config, Read};
use crate::produce::fresh_topic;
use crate::stats::{median, percentile_sorted};

/// Writer batches per second.
const TICKS_PER_SECOND: u64 = 10;

/// One tailing run.
#[derive(Debug, Clone, Serialize)]
pub struct TailRun {
    /// Documents written.
    pub written: u64,
    /// Messages read back.
    pub received: u64,
    /// Median lag, ms.
    pub p50_ms: i64,
    /// 99th percentile lag, ms.
    pub p99_ms: i64,
    /// Largest lag, ms.
    pub max_ms: i64,
    /// Documents per second the writer achieved.
    pub write_rate: f64,
}

/// The median of the runs' percentiles.
#[derive(Debug, Clone, Serialize)]
pub struct TailFigure {
    /// The warm-up run (not counted).
    pub warmup: Option<TailRun>,
    /// The counted runs.
    pub runs: Vec<TailRun>,
    /// Median over runs of p50, ms.
    pub p50_ms: Option<f64>,
    /// Median over runs of p99, ms.
    pub p99_ms: Option<f64>,
    /// Median over runs of max, ms.
    pub max_ms: Option<f64>,
    /// The bound of the target: refresh interval + poll interval + 1 s, ms.
    pub target_p99_ms: f64,
    /// Why the figure is missing, or which runs missed messages.
    pub note: Option<String>,
    /// Whether every counted run received every document written (the target is only
    /// judged then).
    pub complete: bool,
}

#[derive(Deserialize)]
struct Stamp {
    ts: i64,
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// One tailing run of `ctx.tail_seconds`.
pub async fn run_once(ctx: &Ctx, run: usize) -> anyhow::Result<TailRun> {
    let index = format!("rmq_bench_tail_{}_{run}", ctx.stamp);
    let topic = ctx.topic("e", run);
    let counter = fresh_topic(ctx, &topic).await?;
    ctx.es
        .call(
            reqwest::Method::PUT,
            &format!("/{index}"),
            Some(json!({
                "settings": { "number_of_shards": 1, "number_of_replicas": 0 },
                "mappings": mappings(0)
            })),
        )
        .await?;
    let dir = ctx.scratch.path().join(format!("e_{run}"));
    let name = format!("bench_e_{run}");
    let connectors = [(
        name.clone(),
        connector_config(ctx, &index, &topic, Read::Backfill),
    )];
    let mut worker = WorkerProcess::start(&dir, &format!("bench-e-{run}"), &connectors).await?;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (_, status) = worker.get(&format!("/connectors/{name}/status")).await?;
        if status["tasks"][0]["state"] == "RUNNING" {
            break;
        }
        if Instant::now() > deadline {
            bail!("the tailing connector is not RUNNING: {status}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let consumer =
        PullConsumer::start(&ctx.mq(), &format!("rmq_bench_e_{}", ctx.stamp), &topic).await?;
    // Set once the writer is done: how many documents to expect, and until when.
    let expect: Arc<Mutex<Option<(u64, Instant)>>> = Arc::new(Mutex::new(None));
    let reader = {
        let expect = expect.clone();
        tokio::spawn(async move {
            let mut lags = Vec::new();
            loop {
                let done = expect
                    .lock()
                    .map(|e| {
                        e.is_some_and(|(n, until)| lags.len() as u64 >= n || Instant::now() > until)
                    })
                    .unwrap_or(true);
                if done {
                    break;
                }
                let batch = match consumer.poll(Duration::from_millis(200)).await {
                    Ok(b) => b,
                    Err(e) => {
                        consumer.shutdown().await;
                        return Err(e.into());
                    }
                };
                for m in batch {
                    let Ok(stamp) = serde_json::from_slice::<Stamp>(&m.body) else {
                        consumer.shutdown().await;
                        bail!("a message body has no numeric ts");
                    };
                    lags.push(m.store_timestamp_ms - stamp.ts);
                }
            }
            consumer.shutdown().await;
            anyhow::Ok(lags)
        })
    };

    let written = write_load(ctx, &index).await;
    if let Ok((n, _)) = &written {
        if let Ok(mut e) = expect.lock() {
            *e = Some((*n, Instant::now() + Duration::from_secs(30)));
        }
    } else {
        reader.abort();
    }
    let lags = match &written {
        Ok(_) => reader.await.map_err(anyhow::Error::from).and_then(|r| r),
        Err(_) => Ok(Vec::new()),
    };
    let _ = worker.terminate(Duration::from_secs(30)).await;
    counter.shutdown().await;
    let _ = ctx
        .es
        .call(reqwest::Method::DELETE, &format!("/{index}"), None)
        .await;
    let (written, write_rate) = written?;
    let mut lags = lags?;
    if lags.is_empty() {
        bail!("no message arrived of the {written} documents written");
    }
    lags.sort_unstable();
    let pct = |p| percentile_sorted(&lags, p).unwrap_or(i64::MAX);
    Ok(TailRun {
        written,
        received: lags.len() as u64,
        p50_ms: pct(50.0),
        p99_ms: pct(99.0),
        max_ms: pct(100.0),
        write_rate,
    })
}

/// Indexes `ctx.tail_rate` documents per second stamped `now` for `ctx.tail_seconds`, in
/// TICKS_PER_SECOND bulk requests a second; returns how many and the rate achieved.
async fn write_load(ctx: &Ctx, index: &str) -> anyhow::Result<(u64, f64)> {
    let per_tick = ctx.tail_rate / TICKS_PER_SECOND;
    let mut tick = tokio::time::interval(Duration::from_millis(1000 / TICKS_PER_SECOND));
    tick.set_missed_tick_behavior(MissedTickBehavior::Burst);
    let started = Instant::now();
    let mut written = 0u64;
    while started.elapsed() < Duration::from_secs(ctx.tail_seconds) {
        tick.tick().await;
        let body = bulk_body(index, written, written + per_tick, |_| now_ms());
        ctx.es.bulk(body).await?;
        written += per_tick;
    }
    Ok((written, written as f64 / started.elapsed().as_secs_f64()))
}

/// Warm-up plus `ctx.runs` counted runs, and their medians.
pub async fn measure(ctx: &Ctx, target_p99_ms: f64) -> TailFigure {
    let mut runs = Vec::new();
    let total = ctx.runs + usize::from(ctx.warmup);
    for i in 0..total {
        println!(
            "E: tailing at {}/s for {} s: run {}/{total} ...",
            ctx.tail_rate,
            ctx.tail_seconds,
            i + 1
        );
        match run_once(ctx, i).await {
            Ok(r) => {
                println!(
                    "E: wrote {} ({:.0}/s), received {}: lag p50 {} ms, p99 {} ms, max {} ms",
                    r.written, r.write_rate, r.received, r.p50_ms, r.p99_ms, r.max_ms
                );
                runs.push(r);
            }
            Err(e) => {
                println!("E: run failed: {e:#}");
                return TailFigure {
                    warmup: None,
                    runs,
                    p50_ms: None,
                    p99_ms: None,
                    max_ms: None,
                    target_p99_ms,
                    note: Some(format!("run {} failed: {e:#}", i + 1)),
                    complete: false,
                };
            }
        }
    }
    let warmup = if ctx.warmup && !runs.is_empty() {
        Some(runs.remove(0))
    } else {
        None
    };
    let med =
        |f: fn(&TailRun) -> i64| median(&runs.iter().map(|r| f(r) as f64).collect::<Vec<_>>());
    let incomplete: Vec<String> = runs
        .iter()
        .filter(|r| r.received < r.written)
        .map(|r| format!("{} of {} received", r.received, r.written))
        .collect();
    TailFigure {
        p50_ms: med(|r| r.p50_ms),
        p99_ms: med(|r| r.p99_ms),
        max_ms: med(|r| r.max_ms),
        warmup,
        runs,
        target_p99_ms,
        complete: incomplete.is_empty(),
        note: (!incomplete.is_empty()).then(|| incomplete.join("; ")),
    }
}

//! B — RocketMQ's produce ceiling: Apache RocketMQ's own `BatchProducer` benchmark tool,
//! and rmq-connect's producer path (task loop, JSON converter, producer, offset commits)
//! fed from memory with the same batch size.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use bytes::Bytes;
use connect_rocketmq::Producer;
use connect_runtime::standalone::StandaloneWorker;
use connect_runtime::{PluginRegistry, WorkerConfig};
use serde_json::json;

use crate::child::run_tool;
use crate::ctx::Ctx;
use crate::dataset::{doc_json, ts_of};
use crate::memory_source::{MemorySource, BATCH, CLASS, DOCS};
use crate::model::{Run, BROKER, CLIENT, RMQ_CONNECT};
use crate::procstat::CpuWindow;

/// Queues of every benchmark topic (the broker's default for auto-created topics).
pub const TOPIC_QUEUES: u32 = 8;

/// Documents the memory source cycles through (10 MB, instead of all N in memory).
const MEMORY_POOL: u64 = 10_000;

/// The benchmark documents the memory source hands out, built once.
pub fn memory_docs() -> Arc<Vec<Bytes>> {
    Arc::new(
        (0..MEMORY_POOL)
            .map(|s| Bytes::from(doc_json(s, ts_of(s))))
            .collect(),
    )
}

/// Creates `topic` and returns a producer whose admin can count it.
pub async fn fresh_topic(ctx: &Ctx, topic: &str) -> anyhow::Result<Producer> {
    let producer = Producer::start(ctx.mq()).await?;
    producer.ensure_topic(topic, TOPIC_QUEUES).await?;
    Ok(producer)
}

/// Waits until `topic` holds at least `n` messages (checked every 100 ms) and returns
/// how many it holds then; fails after `limit` without progress.
pub async fn wait_stored(
    counter: &Producer,
    topic: &str,
    n: u64,
    limit: Duration,
) -> anyhow::Result<u64> {
    let mut last = 0;
    let mut last_change = Instant::now();
    loop {
        let stored = counter.stored_message_count(topic).await?;
        if stored >= n {
            return Ok(stored);
        }
        if stored != last {
            last = stored;
            last_change = Instant::now();
        } else if last_change.elapsed() > limit {
            bail!("{topic} stopped at {stored} of {n} messages for {limit:?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// One run of the producer path: a worker in this process with the memory source.
pub async fn ours_once(ctx: &Ctx, docs: &Arc<Vec<Bytes>>, run: usize) -> anyhow::Result<Run> {
    let topic = ctx.topic("b_ours", run);
    let counter = fresh_topic(ctx, &topic).await?;
    let mut cfg = WorkerConfig::with_store(ctx.scratch.path().join(format!("b_ours_{run}")));
    cfg.worker_id = format!("bench-b-{run}");
    cfg.http_port = connect_testkit::worker::free_port()?;
    cfg.namesrv_addr = ctx.namesrv.clone();
    let mut registry = PluginRegistry::new();
    registry.register(Arc::new(MemorySource::new(docs.clone())));
    let worker = StandaloneWorker::start(cfg, registry, Vec::new())
        .await
        .context("in-process worker")?;
    let url = format!("http://{}/connectors", worker.rest_addr());
    let config = json!({
        "name": format!("bench_b_{run}"),
        "config": {
            "connector.class": CLASS,
            "connect.topicname": topic,
            DOCS: ctx.docs.to_string(),
            BATCH: ctx.produce_batch.to_string(),
        }
    });
    let me = std::process::id();
    let window = CpuWindow::start(&[(RMQ_CONNECT, me), (BROKER, ctx.broker_pid)])?;
    let started = Instant::now();
    let resp = reqwest::Client::new()
        .post(&url)
        .json(&config)
        .send()
        .await?;
    if !resp.status().is_success() {
        bail!("creating the memory connector: HTTP {}", resp.status());
    }
    let stored = wait_stored(&counter, &topic, ctx.docs, Duration::from_secs(60)).await;
    let seconds = started.elapsed().as_secs_f64();
    let used = window.used()?;
    worker.shutdown().await;
    counter.shutdown().await;
    let stored = stored?;
    let mut r = Run::new(stored, seconds, used);
    if stored != ctx.docs {
        r.note = Some(format!("{stored} stored for {} sent", ctx.docs));
    }
    Ok(r)
}

/// One run of Apache RocketMQ's `BatchProducer` for `seconds`.
pub async fn rocketmq_tool_once(ctx: &Ctx, run: usize, seconds: u64) -> anyhow::Result<Run> {
    let topic = ctx.topic("b_java", run);
    let counter = fresh_topic(ctx, &topic).await?;
    let mut cmd = std::process::Command::new(ctx.peers.join("rocketmq-batch-producer"));
    cmd.args([
        "--namesrv",
        &ctx.namesrv,
        "--topic",
        &topic,
        "--size",
        "1024",
        "--batch",
        &ctx.produce_batch.to_string(),
        // The best of 1-64 threads on 2 cores (bench/peers/README.md).
        "--threads",
        "8",
        "--seconds",
        &seconds.to_string(),
    ]);
    let window = CpuWindow::start(&[(BROKER, ctx.broker_pid)])?;
    let limit = Duration::from_secs(seconds + 120);
    let tool = tokio::task::spawn_blocking(move || run_tool(cmd, limit)).await??;
    let mut used = window.used()?;
    used.push((CLIENT.to_owned(), tool.cpu_seconds));
    let stored = counter.stored_message_count(&topic).await?;
    counter.shutdown().await;
    let rate = tool.summary["msgs_per_sec"]
        .as_f64()
        .context("BatchProducer summary has no msgs_per_sec")?;
    // CPU per million is taken over everything stored during the tool's whole run; the
    // rate is the tool's own steady-state figure (its start-up is not counted).
    let mut r = Run::new(stored, tool.seconds, used);
    r.docs_per_sec = rate;
    r.note = Some(format!(
        "BatchProducer {}",
        tool.summary
            .as_object()
            .map(|o| {
                o.iter()
                    .filter(|(k, _)| *k != "samples")
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .unwrap_or_default()
    ));
    Ok(r)
}

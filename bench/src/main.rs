//! `rmq-bench`: the benchmark harness behind `bench/run` (see bench/README.md).
//!
//! Measures, against the real services of `distribution/bin/rmq-services`:
//! A the Elasticsearch read ceiling, B the RocketMQ produce ceiling (Apache RocketMQ's
//! `BatchProducer` and our producer path fed from memory), C rmq-connect end to end,
//! D the tools users would pick instead, E the tailing lag, F an Airbyte plugin's own
//! ceiling against the same read through rmq-connect; then prints a table and writes
//! `bench/results/<date>.json`.

mod child;
mod ctx;
mod dataset;
mod end_to_end;
mod es_ceiling;
mod faker;
mod machine;
mod memory_source;
mod model;
mod peers;
mod plugin_stage;
mod procstat;
mod produce;
mod report;
mod stats;
mod tailing;

use std::collections::BTreeSet;
use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::Parser;
use serde_json::json;

use crate::ctx::{service_pids, Ctx};
use crate::dataset::Es;
use crate::model::{measure, Figure};
use crate::peers::Peer;
use crate::report::Report;

/// Measures rmq-connect against the machine's ceilings and the tools users would pick
/// instead.
#[derive(Parser, Debug)]
#[command(name = "rmq-bench", version)]
struct Args {
    /// Documents per run (default 1,000,000).
    #[arg(long)]
    docs: Option<u64>,
    /// 200,000 documents (unless --docs says otherwise).
    #[arg(long)]
    quick: bool,
    /// Counted runs per figure (the median is reported); at least 3 for published figures.
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Skip the warm-up run before the counted runs.
    #[arg(long)]
    no_warmup: bool,
    /// Which stages to run, comma-separated, of A, B, C, D, E, F, P, S (P: C-backfill once
    /// per es.message.properties choice, for the broker's cost of each; S: C-backfill on a
    /// 4-shard copy of the index once per es.backfill.slices value).
    #[arg(long, default_value = "A,B,C,D,E,F,P,S")]
    stages: String,
    /// Elasticsearch.
    #[arg(long, env = "ES_URL", default_value = "http://127.0.0.1:9200")]
    es_url: String,
    /// RocketMQ name server.
    #[arg(long, env = "NAMESRV_ADDR", default_value = "127.0.0.1:9876")]
    namesrv: String,
    /// The rmq-connect binary to measure (bench/run builds it in release mode).
    #[arg(long, env = "RMQ_CONNECT_BIN")]
    rmq_connect: PathBuf,
    /// The rmq-services script (for the pids of Elasticsearch and the broker).
    #[arg(long)]
    rmq_services: PathBuf,
    /// The directory of the peer launchers (bench/peers).
    #[arg(long)]
    peers: PathBuf,
    /// The plugin path holding the Airbyte faker plugin for stage F (bench/run passes
    /// the one bench/peers/install fills: ~/.cache/rmq-connect/bench-tools/plugins).
    #[arg(long)]
    plugins: Option<PathBuf>,
    /// Where the JSON results go.
    #[arg(long)]
    results: PathBuf,
    /// es-source's es.batch.size (its default), also the page size of A and D.
    #[arg(long, default_value_t = 1000)]
    batch_size: u32,
    /// Seconds each BatchProducer run lasts (at least 20; its first 10 s window is its
    /// warm-up). At ~200 MB/s of commit log, mind the broker's disk.
    #[arg(long, default_value_t = 20)]
    batch_producer_seconds: u64,
    /// elasticdump's page size: the fastest of 1,000, 5,000 and 10,000 here.
    #[arg(long, default_value_t = 10_000)]
    elasticdump_page: u32,
    /// Seconds the tailing writer runs.
    #[arg(long, default_value_t = 60)]
    tail_seconds: u64,
    /// Documents per second the tailing writer indexes.
    #[arg(long, default_value_t = 2000)]
    tail_rate: u64,
}

fn stages(spec: &str) -> anyhow::Result<BTreeSet<char>> {
    let mut out = BTreeSet::new();
    for s in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        match s.to_ascii_uppercase().as_str() {
            one @ ("A" | "B" | "C" | "D" | "E" | "F" | "P" | "S") => {
                out.extend(one.chars());
            }
            other => bail!("--stages: unknown stage {other:?}; use A, B, C, D, E, F, P or S"),
        }
    }
    if out.is_empty() {
        bail!("--stages: name at least one of A, B, C, D, E, F, P, S");
    }
    Ok(out)
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if !args.rmq_connect.is_file() {
        bail!(
            "--rmq-connect {}: no such file (build it with `cargo build --release -p rmq-connect`)",
            args.rmq_connect.display()
        );
    }
    // The testkit's worker process reads the binary from RMQ_CONNECT_BIN; set before any
    // thread starts.
    std::env::set_var("RMQ_CONNECT_BIN", &args.rmq_connect);
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run(args))
}

async fn run(args: Args) -> anyhow::Result<()> {
    let stages = stages(&args.stages)?;
    if args.runs == 0 {
        bail!("--runs must be at least 1");
    }
    if args.runs < 3 {
        println!(
            "note: --runs {} (figures meant for publishing take the median of at least 3)",
            args.runs
        );
    }
    if args.batch_size == 0 || args.batch_size > 10_000 {
        bail!("--batch-size must be within 1..=10000 (Elasticsearch's max_result_window)");
    }
    if args.batch_producer_seconds < 20 {
        bail!("--batch-producer-seconds must be at least 20 (BatchProducer reports every 10 s and the first report is its warm-up)");
    }
    if args.elasticdump_page == 0 || args.elasticdump_page > 10_000 {
        bail!("--elasticdump-page must be within 1..=10000");
    }
    if args.tail_rate < 10 || !args.tail_rate.is_multiple_of(10) {
        bail!("--tail-rate must be a multiple of 10 (the writer sends 10 bulks a second)");
    }
    let docs = args
        .docs
        .unwrap_or(if args.quick { 200_000 } else { 1_000_000 });
    if docs == 0 {
        bail!("--docs must be at least 1");
    }
    connect_rocketmq::install_crypto_provider();
    let (es_pid, broker_pid) = service_pids(&args.rmq_services)?;
    let ctx = Ctx {
        es: Es::new(&args.es_url)?,
        namesrv: args.namesrv.clone(),
        docs,
        runs: args.runs,
        warmup: !args.no_warmup,
        batch_size: args.batch_size,
        produce_batch: args.batch_size,
        elasticdump_page: args.elasticdump_page,
        peers: args.peers.clone(),
        plugins: args.plugins.clone(),
        scratch: tempfile::Builder::new().prefix("rmq-bench-").tempdir()?,
        es_pid,
        broker_pid,
        tail_seconds: args.tail_seconds,
        tail_rate: args.tail_rate,
        stamp: chrono::Utc::now().format("%Y%m%d%H%M%S").to_string(),
    };
    let started = chrono::Utc::now();
    let needs_index = stages.iter().any(|s| matches!(s, 'A' | 'C' | 'D' | 'P'));
    let index = if needs_index {
        Some(dataset::ensure_loaded(&ctx.es, docs, 1).await?)
    } else {
        None
    };
    let sliced_index = if stages.contains(&'S') {
        Some(dataset::ensure_loaded(&ctx.es, docs, end_to_end::SLICED_SHARDS).await?)
    } else {
        None
    };
    let mut figures: Vec<Figure> = Vec::new();
    if let (Some(index), true) = (&index, stages.contains(&'A')) {
        figures.push(
            measure(
                "A-sorted",
                "Elasticsearch read ceiling, sorted (search_after loop)",
                ctx.warmup,
                ctx.runs,
                |_| es_ceiling::run_once(&ctx, index),
            )
            .await,
        );
        figures.push(
            measure(
                "A-pit",
                "Elasticsearch read ceiling, PIT + _shard_doc",
                ctx.warmup,
                ctx.runs,
                |_| es_ceiling::run_pit_once(&ctx, index),
            )
            .await,
        );
    }
    if stages.contains(&'B') {
        figures.push(
            measure(
                "B-rocketmq",
                "RocketMQ BatchProducer, 1 KB",
                // No separate warm-up run: each run drops its own first 10 s window.
                false,
                ctx.runs,
                |i| produce::rocketmq_tool_once(&ctx, i, args.batch_producer_seconds),
            )
            .await,
        );
        let docs = produce::memory_docs();
        figures.push(
            measure(
                "B-ours",
                "rmq-connect producer path from memory",
                ctx.warmup,
                ctx.runs,
                |i| produce::ours_once(&ctx, &docs, i),
            )
            .await,
        );
    }
    if stages.contains(&'B') && stages.contains(&'C') {
        // B just wrote gigabytes: let the broker's flushing settle before C is timed.
        tokio::time::sleep(std::time::Duration::from_secs(15)).await;
    }
    if let (Some(index), true) = (&index, stages.contains(&'C')) {
        figures.push(
            measure(
                "C-backfill",
                "rmq-connect es-source end to end, PIT backfill (default)",
                ctx.warmup,
                ctx.runs,
                |i| end_to_end::run_once(&ctx, index, i, end_to_end::Read::Backfill),
            )
            .await,
        );
        figures.push(
            measure(
                "C-incremental",
                "rmq-connect es-source end to end, sorted (es.backfill.mode=sorted)",
                ctx.warmup,
                ctx.runs,
                |i| end_to_end::run_once(&ctx, index, i, end_to_end::Read::Incremental),
            )
            .await,
        );
    }
    // P and S: C-backfill once per value of one es-source key.
    let sliced = format!(", {} shards,", end_to_end::SLICED_SHARDS);
    let sweeps = [
        (
            'P',
            &index,
            "es.message.properties",
            &end_to_end::PROPERTY_CHOICES[..],
            "",
        ),
        (
            'S',
            &sliced_index,
            "es.backfill.slices",
            &end_to_end::SLICE_CHOICES[..],
            sliced.as_str(),
        ),
    ];
    for (stage, index, key, values, on) in sweeps {
        let Some(index) = index.as_ref().filter(|_| stages.contains(&stage)) else {
            continue;
        };
        for &value in values {
            figures.push(
                measure(
                    &format!("{stage}-{value}"),
                    &format!("C-backfill{on} with {key}={value}"),
                    ctx.warmup,
                    ctx.runs,
                    |i| end_to_end::run_once(&ctx, index, i, end_to_end::Read::Setting(key, value)),
                )
                .await,
            );
        }
    }
    if let (Some(index), true) = (&index, stages.contains(&'D')) {
        figures.push(
            measure(
                "D-python",
                "Python helpers.scan -> RocketMQ",
                ctx.warmup,
                ctx.runs,
                |i| peers::run_once(&ctx, Peer::PythonScan, index, i),
            )
            .await,
        );
        figures.push(
            measure(
                "D-elasticdump",
                "elasticdump to /dev/null",
                ctx.warmup,
                ctx.runs,
                |i| peers::run_once(&ctx, Peer::Elasticdump, index, i),
            )
            .await,
        );
    }
    if stages.contains(&'F') {
        figures.extend(plugin_stage::figures(&ctx).await);
    }
    let tailing = if stages.contains(&'E') {
        // Elasticsearch's default refresh interval (1 s) + es.poll.interval.ms + 1 s.
        let target = 1_000.0 + connect_es_source::config::DEFAULT_POLL_INTERVAL_MS as f64 + 1_000.0;
        Some(tailing::measure(&ctx, target).await)
    } else {
        None
    };
    let (ratios, targets) = report::evaluate(&figures, tailing.as_ref());
    let report = Report {
        date: started.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        machine: machine::describe(&ctx.es).await,
        settings: json!({
            "docs": docs,
            "runs": ctx.runs,
            "warmup": ctx.warmup,
            "stages": args.stages,
            "es_batch_size": ctx.batch_size,
            "produce_batch": ctx.produce_batch,
            "batch_producer_seconds": args.batch_producer_seconds,
            "tail_seconds": ctx.tail_seconds,
            "tail_rate": ctx.tail_rate,
            "plugins": ctx.plugins,
            "index": index,
        }),
        figures,
        tailing,
        ratios,
        targets,
    };
    println!("{}", report::table(&report));
    let path = report::write(&report, &args.results).context("writing the results")?;
    println!("results: {}", path.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stages_are_parsed_and_unknown_ones_refused() {
        assert_eq!(
            stages("a, C,e").unwrap().into_iter().collect::<String>(),
            "ACE"
        );
        assert_eq!(stages("f").unwrap().into_iter().collect::<String>(), "F");
        assert!(stages("A,X").unwrap_err().to_string().contains("\"X\""));
        assert!(stages(" , ").is_err());
    }
}

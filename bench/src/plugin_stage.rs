//! F — an Airbyte plugin's own ceiling against the same read through rmq-connect.
//!
//! The faker plugin (`count` = the run's document count, `parallelism` 1, seed 1) runs
//! twice over: F-plugin, its `read` straight to /dev/null (the whole process timed, its
//! CPU from `getrusage` of children); F-ours, a standalone worker (the release binary,
//! fresh store, `pluginPaths` holding faker) from `POST /connectors` until the three
//! stream topics hold every record, counted on the broker. Before both, one untimed
//! census `read` counts the records per stream, which both runs must move. The runs of
//! the two figures alternate, since their ratio is the target.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::AtomicU32;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context};
use connect_rocketmq::Producer;
use connect_testkit::worker::WorkerProcess;
use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use serde_json::{json, Value};

use crate::child::spawn_measured;
use crate::ctx::Ctx;
use crate::end_to_end::{create_connector, stop_worker};
use crate::faker::{self, Plugin};
use crate::model::{measure_alternating, Figure, Run, BROKER, CLIENT, RMQ_CONNECT};
use crate::procstat::{children_cpu_seconds, peak_rss_kib, CpuWindow};
use crate::produce::TOPIC_QUEUES;

/// The id and label of the ceiling figure.
const PLUGIN_FIGURE: (&str, &str) = ("F-plugin", "faker read to /dev/null");
/// The id and label of the figure through rmq-connect.
const OURS_FIGURE: (&str, &str) = ("F-ours", "faker through rmq-connect");
/// How long the broker's counts may stand still before a run is given up (the
/// connector's `check` and `discover` start a Python process each first).
const STALL: Duration = Duration::from_secs(90);

/// What every run of stage F shares: the plugin, its config and catalog files, and the
/// records one `read` yields per stream.
struct Prepared {
    plugin: Plugin,
    config: PathBuf,
    catalog: PathBuf,
    counts: BTreeMap<String, u64>,
    total: u64,
}

/// Longest a single `read` (or census) may take: faker makes about 10,000 records a
/// second here (2N + 100 records for `count` N).
fn read_limit(ctx: &Ctx) -> Duration {
    Duration::from_secs(600 + ctx.docs / 500)
}

/// Stage F's two figures (both missing, with the reason, when the plugin cannot be set
/// up).
pub async fn figures(ctx: &Ctx) -> Vec<Figure> {
    let prepared = match prepare(ctx).await {
        Ok(p) => p,
        Err(e) => {
            println!("F: cannot prepare the faker plugin: {e:#}");
            return [PLUGIN_FIGURE, OURS_FIGURE]
                .into_iter()
                .map(|(id, label)| Figure::missing(id, label, format!("{e:#}")))
                .collect();
        }
    };
    let p = &prepared;
    let (ceiling, ours) = measure_alternating(
        PLUGIN_FIGURE,
        OURS_FIGURE,
        ctx.warmup,
        ctx.runs,
        |_| plugin_once(ctx, p),
        |i| ours_once(ctx, p, i),
    )
    .await;
    vec![ceiling, ours]
}

/// Loads the plugin, writes its config and the configured catalog, and counts one read.
async fn prepare(ctx: &Ctx) -> anyhow::Result<Prepared> {
    let Some(plugin_path) = &ctx.plugins else {
        bail!("no --plugins directory given (bench/run passes the one bench/peers/install fills)");
    };
    let plugin = Plugin::load(plugin_path)?;
    let dir = ctx.scratch.path().join("f");
    std::fs::create_dir_all(&dir)?;
    let config = dir.join("config.json");
    std::fs::write(
        &config,
        serde_json::to_vec(&faker::plugin_config(ctx.docs))?,
    )?;
    let catalog = dir.join("catalog.json");
    let (plugin, streams) = {
        let config = config.clone();
        tokio::task::spawn_blocking(move || {
            let streams = faker::discover(&plugin, &config)?;
            anyhow::Ok((plugin, streams))
        })
        .await??
    };
    std::fs::write(
        &catalog,
        serde_json::to_vec(&faker::configured_catalog(&streams))?,
    )?;
    println!(
        "F: counting the records of one faker {} read (count {}) ...",
        plugin.version.as_deref().unwrap_or("(unknown version)"),
        ctx.docs
    );
    let pid = Arc::new(AtomicU32::new(0));
    let census = {
        let (plugin, config, catalog, pid) =
            (plugin.clone(), config.clone(), catalog.clone(), pid.clone());
        tokio::task::spawn_blocking(move || faker::census(&plugin, &config, &catalog, &pid))
    };
    let counts = match tokio::time::timeout(read_limit(ctx), census).await {
        Ok(joined) => joined??,
        Err(_) => {
            let pgid = i32::try_from(pid.load(std::sync::atomic::Ordering::Relaxed)).unwrap_or(0);
            // 0 would be this process's own group: the read never started.
            if pgid > 0 {
                let _ = killpg(Pid::from_raw(pgid), Signal::SIGKILL);
            }
            bail!(
                "the census read did not finish within {:?}",
                read_limit(ctx)
            );
        }
    };
    let total = counts.values().sum();
    println!("F: {total} records per read: {}", describe(&counts));
    Ok(Prepared {
        plugin,
        config,
        catalog,
        counts,
        total,
    })
}

/// `users 200000, products 100, ...`.
fn describe(counts: &BTreeMap<String, u64>) -> String {
    counts
        .iter()
        .map(|(s, n)| format!("{s} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// F-plugin: one `read` to /dev/null, the whole process timed.
async fn plugin_once(ctx: &Ctx, p: &Prepared) -> anyhow::Result<Run> {
    let stderr = tempfile::tempfile().context("temporary file for the plugin's stderr")?;
    let mut cmd: Command = p.plugin.command(&faker::read_args(&p.config, &p.catalog));
    cmd.stdout(Stdio::null()).stderr(stderr.try_clone()?);
    let limit = read_limit(ctx);
    let run = tokio::task::spawn_blocking(move || spawn_measured(&mut cmd, limit)).await??;
    if !run.status.success() {
        bail!(
            "the plugin's read failed ({}); its stderr:\n{}",
            run.status,
            tail_of(stderr, 20)
        );
    }
    let mut r = Run::new(
        p.total,
        run.seconds,
        vec![(CLIENT.to_owned(), run.cpu_seconds)],
    );
    r.note = Some(format!(
        "faker {}: {} records ({}); the whole process, Python start-up included",
        p.plugin.version.as_deref().unwrap_or("(unknown version)"),
        p.total,
        describe(&p.counts)
    ));
    Ok(r)
}

/// The last `lines` lines of a temporary file.
fn tail_of(mut file: std::fs::File, lines: usize) -> String {
    use std::io::{Read, Seek, SeekFrom};
    let mut text = String::new();
    if file.seek(SeekFrom::Start(0)).is_err() || file.read_to_string(&mut text).is_err() {
        return "(unreadable)".into();
    }
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Milliseconds since the epoch, as the task's `last_sync_*_ms` counters hold them.
fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// F-ours: a standalone worker with the faker plugin, from the connector's creation
/// until every stream's topic holds all its records.
async fn ours_once(ctx: &Ctx, p: &Prepared, run: usize) -> anyhow::Result<Run> {
    let Some(plugin_path) = &ctx.plugins else {
        bail!("no --plugins directory");
    };
    let base = ctx.topic("f", run);
    let topics: Vec<(String, u64)> = p
        .counts
        .iter()
        .map(|(stream, n)| (format!("{base}-{stream}"), *n))
        .collect();
    let counter = Producer::start(ctx.mq()).await?;
    for (t, _) in &topics {
        counter.ensure_topic(t, TOPIC_QUEUES).await?;
    }
    let dir = ctx.scratch.path().join(format!("f_{run}"));
    let conf = format!("pluginPaths={}\n", plugin_path.display());
    let mut worker =
        WorkerProcess::start_with(&dir, &format!("bench-f-{run}"), &[], &conf, &[]).await?;
    let Some(pid) = worker.pid() else {
        bail!("the worker exited at start; log:\n{}", worker.log_tail(40));
    };
    let name = format!("bench_f_{run}");
    let body = json!({ "name": name, "config": faker::connector_config(ctx.docs, &base) });
    let window = CpuWindow::start(&[(RMQ_CONNECT, pid), (BROKER, ctx.broker_pid)])?;
    let plugin_cpu_before = children_cpu_seconds(pid)?;
    let created_ms = now_ms();
    let started = Instant::now();
    create_connector(&worker, &body).await?;
    let stored = wait_all_stored(&counter, &topics).await;
    let seconds = started.elapsed().as_secs_f64();
    let used = window.used();
    let rss = peak_rss_kib(pid);
    // The plugin's processes count once the worker has waited for them: `read` is
    // waited for before the task reports the sync's end.
    let sync = sync_times(&worker, &name, created_ms).await;
    let plugin_cpu = children_cpu_seconds(pid).map(|c| c - plugin_cpu_before);
    let (sent, log) = stop_worker(&mut worker, &name).await;
    counter.shutdown().await;
    let stored = match stored {
        Ok(s) => s,
        Err(e) => bail!("{e:#}; worker log:\n{log}"),
    };
    let mut used = used?;
    let mut note = Vec::new();
    match (&sync, plugin_cpu) {
        (Ok(_), Ok(cpu)) => used.push((CLIENT.to_owned(), cpu)),
        (Err(e), _) => note.push(format!("no plugin CPU: {e:#}")),
        (_, Err(e)) => note.push(format!("no plugin CPU: {e:#}")),
    }
    let mut r = Run::new(p.total, seconds, used);
    r.peak_rss_mib = Some(rss? as f64 / 1024.0);
    if let Ok((start_ms, end_ms)) = sync {
        let read_s = end_ms.saturating_sub(start_ms) as f64 / 1000.0;
        // Before `read`, creating the connector ran `check` and `discover` (validation)
        // and `discover` again (the tasks' catalogs).
        note.push(format!(
            "read from +{:.1} s for {:.1} s = {:.0}/s",
            start_ms.saturating_sub(created_ms) as f64 / 1000.0,
            read_s,
            if read_s > 0.0 {
                p.total as f64 / read_s
            } else {
                f64::NAN
            },
        ));
    }
    let total_stored: u64 = stored.iter().sum();
    if total_stored != p.total {
        note.push(format!(
            "the topics hold {total_stored} messages for {} records (records_sent {sent})",
            p.total
        ));
    }
    r.note = (!note.is_empty()).then(|| note.join("; "));
    Ok(r)
}

/// Waits until each topic holds at least its count (checked every 100 ms) and returns
/// what they hold then; fails when the total stands still for [`STALL`].
async fn wait_all_stored(counter: &Producer, topics: &[(String, u64)]) -> anyhow::Result<Vec<u64>> {
    let mut last = 0;
    let mut last_change = Instant::now();
    loop {
        let mut stored = Vec::with_capacity(topics.len());
        for (t, _) in topics {
            stored.push(counter.stored_message_count(t).await?);
        }
        if stored.iter().zip(topics).all(|(s, (_, n))| s >= n) {
            return Ok(stored);
        }
        let total: u64 = stored.iter().sum();
        if total != last {
            last = total;
            last_change = Instant::now();
        } else if last_change.elapsed() > STALL {
            let held: Vec<String> = stored
                .iter()
                .zip(topics)
                .map(|(s, (t, n))| format!("{t} {s}/{n}"))
                .collect();
            bail!("the topics stopped for {STALL:?} at: {}", held.join(", "));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// When the connector's first sync started and ended (epoch ms), from its task's
/// counters; waits up to 60 s for the end.
async fn sync_times(
    worker: &WorkerProcess,
    name: &str,
    after_ms: u64,
) -> anyhow::Result<(u64, u64)> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (code, status) = worker.get(&format!("/connectors/{name}/status")).await?;
        if code != 200 {
            bail!("status of {name}: HTTP {code}: {status}");
        }
        if let Some(times) = first_sync(&status, after_ms) {
            return Ok(times);
        }
        if Instant::now() >= deadline {
            bail!("the sync did not end within 60 s after the topics were full");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// `(last_sync_start_ms, last_sync_end_ms)` of the first task, once the sync that
/// started after `after_ms` has ended.
fn first_sync(status: &Value, after_ms: u64) -> Option<(u64, u64)> {
    let counters = &status["tasks"].get(0)?["counters"];
    let start = counters["last_sync_start_ms"].as_u64()?;
    let end = counters["last_sync_end_ms"].as_u64()?;
    (start >= after_ms && end >= start).then_some((start, end))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sync_times_count_only_a_finished_sync_started_after_creation() {
        let status = |c: Value| json!({"tasks": [{"id": 0, "counters": c}]});
        let done = status(json!({"last_sync_start_ms": 2_000, "last_sync_end_ms": 9_000}));
        assert_eq!(first_sync(&done, 1_000), Some((2_000, 9_000)));
        assert_eq!(first_sync(&done, 3_000), None, "an earlier sync");
        let running = status(json!({"last_sync_start_ms": 2_000}));
        assert_eq!(first_sync(&running, 1_000), None);
        assert_eq!(first_sync(&json!({"tasks": []}), 0), None);
        assert_eq!(first_sync(&Value::Null, 0), None);
    }

    #[test]
    fn counts_are_described_by_stream() {
        let counts: BTreeMap<String, u64> =
            [("users".to_owned(), 5), ("products".to_owned(), 1)].into();
        assert_eq!(describe(&counts), "products 1, users 5");
    }
}

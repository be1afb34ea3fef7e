//! C — rmq-connect end to end: a standalone worker process (the release binary, fresh
//! store) runs es-source from the start of the index until the topic holds every
//! document, counted on the broker. C-backfill with the default settings (a PIT backfill
//! of the loaded index), C-incremental with `es.backfill.mode=sorted` (the incremental
//! phase's sorted read from the first document).

use std::time::{Duration, Instant};

use anyhow::bail;
use connect_testkit::worker::WorkerProcess;
use serde_json::{json, Value};

use crate::ctx::Ctx;
use crate::model::{Run, BROKER, ELASTICSEARCH, RMQ_CONNECT};
use crate::procstat::{peak_rss_kib, CpuWindow};
use crate::produce::{fresh_topic, wait_stored};

/// How stage C reads the loaded index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Read {
    /// The default: the PIT backfill, then incremental.
    Backfill,
    /// `es.backfill.mode=sorted`: sorted on the tracking field from the first document.
    Incremental,
    /// The default read with one es-source key set (stages P and S).
    Setting(&'static str, &'static str),
}

/// The `es.message.properties` choices stage P measures, beside C-backfill's default
/// (`es_index,es_id,es_tracking_value,es_seq_no`, of which `es_seq_no` is only sent with
/// `es.envelope=true`): what each choice costs the broker.
pub const PROPERTY_CHOICES: [&str; 2] = ["none", "es_id"];

/// The `es.backfill.slices` values stage S measures on an index of [`SLICED_SHARDS`]
/// shards, most slices first: the index is loaded just before, so the first figure
/// meets the coldest Elasticsearch, and that handicap goes to the change, not to the
/// default of one slice.
pub const SLICE_CHOICES: [&str; 3] = ["4", "2", "1"];

/// The shards of stage S's index.
pub const SLICED_SHARDS: u32 = 4;

/// The es-source config of the benchmark (defaults everywhere else, as a user would
/// start).
pub fn connector_config(ctx: &Ctx, index: &str, topic: &str, read: Read) -> Value {
    let mut c = json!({
        "connector.class": "es-source",
        "es.hosts": ctx.es.url(),
        "es.index": index,
        "es.tracking.field": "ts",
        "es.tiebreaker.field": "seq",
        "connect.topicname": topic,
    });
    match read {
        Read::Backfill => {}
        Read::Incremental => c["es.backfill.mode"] = json!("sorted"),
        Read::Setting(key, value) => c[key] = json!(value),
    }
    c
}

/// `POST /connectors` with `body` (`{"name": …, "config": …}`); an error says what the
/// worker answered.
pub async fn create_connector(worker: &WorkerProcess, body: &Value) -> anyhow::Result<()> {
    let (code, answer) = worker
        .send_raw(
            reqwest::Method::POST,
            "/connectors",
            &serde_json::to_vec(body)?,
        )
        .await?;
    if code != 201 && code != 200 {
        bail!("creating the connector: HTTP {code}: {answer}");
    }
    Ok(())
}

/// Stops a measured worker: the records its connector `name` sent, and its log's end
/// (to explain a failed run).
pub async fn stop_worker(worker: &mut WorkerProcess, name: &str) -> (u64, String) {
    let sent = worker.task_sum(name, "records_sent").await.unwrap_or(0);
    let log = worker.log_tail(40);
    let _ = worker.terminate(Duration::from_secs(30)).await;
    (sent, log)
}

/// One end-to-end run.
pub async fn run_once(ctx: &Ctx, index: &str, run: usize, read: Read) -> anyhow::Result<Run> {
    let tag = match read {
        Read::Backfill => "c".to_owned(),
        Read::Incremental => "ci".to_owned(),
        Read::Setting(key, value) => format!(
            "c_{}_{}",
            key.rsplit('.').next().unwrap_or(key),
            value.replace(',', "_")
        ),
    };
    let tag = tag.as_str();
    let topic = ctx.topic(tag, run);
    let counter = fresh_topic(ctx, &topic).await?;
    let dir = ctx.scratch.path().join(format!("{tag}_{run}"));
    let mut worker = WorkerProcess::start(&dir, &format!("bench-{tag}-{run}"), &[]).await?;
    let Some(pid) = worker.pid() else {
        bail!("the worker exited at start; log:\n{}", worker.log_tail(40));
    };
    let name = format!("bench_{tag}_{run}");
    let body = json!({ "name": name, "config": connector_config(ctx, index, &topic, read) });
    let window = CpuWindow::start(&[
        (RMQ_CONNECT, pid),
        (ELASTICSEARCH, ctx.es_pid),
        (BROKER, ctx.broker_pid),
    ])?;
    let started = Instant::now();
    create_connector(&worker, &body).await?;
    let stored = wait_stored(&counter, &topic, ctx.docs, Duration::from_secs(60)).await;
    let seconds = started.elapsed().as_secs_f64();
    let used = window.used()?;
    let rss = peak_rss_kib(pid);
    let (sent, log) = stop_worker(&mut worker, &name).await;
    counter.shutdown().await;
    let stored = match stored {
        Ok(s) => s,
        Err(e) => bail!("{e}; worker log:\n{log}"),
    };
    let mut r = Run::new(ctx.docs, seconds, used);
    r.peak_rss_mib = Some(rss? as f64 / 1024.0);
    if stored != ctx.docs {
        r.note = Some(format!(
            "the topic holds {stored} messages for {} documents (records_sent {sent})",
            ctx.docs
        ));
    }
    Ok(r)
}

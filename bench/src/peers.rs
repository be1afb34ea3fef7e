//! D — the tools a user would pick instead, run through the launchers in `bench/peers`
//! (installed by `bench/peers/install`): Python `elasticsearch.helpers.scan` feeding
//! RocketMQ (or scan alone when no Python RocketMQ client works here), and `elasticdump`
//! to /dev/null.

use std::process::Command;

use anyhow::{bail, Context};

use crate::child::run_tool;
use crate::ctx::Ctx;
use crate::model::{Run, BROKER, CLIENT, ELASTICSEARCH};
use crate::procstat::CpuWindow;
use crate::produce::fresh_topic;

/// Which peer.
#[derive(Debug, Clone, Copy)]
pub enum Peer {
    /// `bench/peers/python-scan`.
    PythonScan,
    /// `bench/peers/elasticdump-devnull`.
    Elasticdump,
}

/// One run of `peer` over the whole index.
pub async fn run_once(ctx: &Ctx, peer: Peer, index: &str, run: usize) -> anyhow::Result<Run> {
    let page = ctx.batch_size.to_string();
    let mut topic = None;
    let mut cmd;
    match peer {
        Peer::PythonScan => {
            let t = ctx.topic("d_py", run);
            cmd = Command::new(ctx.peers.join("python-scan"));
            cmd.args(["--es", ctx.es.url(), "--index", index, "--page-size", &page])
                .args([
                    "--sort-field",
                    "ts",
                    "--namesrv",
                    &ctx.namesrv,
                    "--topic",
                    &t,
                ]);
            topic = Some((t.clone(), fresh_topic(ctx, &t).await?));
        }
        Peer::Elasticdump => {
            cmd = Command::new(ctx.peers.join("elasticdump-devnull"));
            let page = ctx.elasticdump_page.to_string();
            cmd.args(["--es", ctx.es.url(), "--index", index, "--page-size", &page]);
        }
    }
    let window = CpuWindow::start(&[(ELASTICSEARCH, ctx.es_pid), (BROKER, ctx.broker_pid)])?;
    // Generous: the slowest peer here reads about 2,000 documents a second.
    let limit = std::time::Duration::from_secs(600 + ctx.docs / 200);
    let tool = tokio::task::spawn_blocking(move || run_tool(cmd, limit)).await??;
    let mut used = window.used()?;
    used.push((CLIENT.to_owned(), tool.cpu_seconds));
    let docs = tool.summary["docs"]
        .as_u64()
        .context("the peer's summary has no docs count")?;
    if docs != ctx.docs {
        bail!("the peer read {docs} documents, expected {}", ctx.docs);
    }
    let mut note = Vec::new();
    if let Some(sink) = tool.summary["sink"].as_str() {
        note.push(format!("sink: {sink}"));
    }
    if let Some(client) = tool.summary["client"].as_str() {
        note.push(format!("client: {client}"));
    }
    if let Some(n) = tool.summary["note"].as_str().filter(|n| !n.is_empty()) {
        note.push(n.to_owned());
    }
    if let Some((t, counter)) = topic {
        if tool.summary["sink"] == "rocketmq" {
            let stored = crate::produce::wait_stored(
                &counter,
                &t,
                ctx.docs,
                std::time::Duration::from_secs(30),
            )
            .await;
            match stored {
                Ok(n) if n == ctx.docs => note.push(format!("{n} messages in the topic")),
                Ok(n) => note.push(format!("{n} messages in the topic for {} docs", ctx.docs)),
                Err(e) => note.push(format!("topic check failed: {e}")),
            }
        }
        counter.shutdown().await;
    }
    // The tool's own measure of its work (python-scan: first search to last acknowledged
    // send, without interpreter and producer start-up; elasticdump: its whole run), so
    // start-up costs do not count against it; the wall time is kept in the note.
    let seconds = tool.summary["seconds"]
        .as_f64()
        .filter(|s| *s > 0.0)
        .unwrap_or(tool.seconds);
    note.push(format!(
        "{:.1} s by the tool's own clock, {:.1} s wall",
        seconds, tool.seconds
    ));
    let mut r = Run::new(docs, seconds, used);
    r.note = Some(note.join("; "));
    Ok(r)
}

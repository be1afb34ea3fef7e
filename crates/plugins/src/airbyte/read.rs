//! One sync: the `read` process's stdout turned into records and resume points, handed
//! to the task through a channel bounded in bytes, so a plugin faster than RocketMQ
//! blocks on its pipe instead of filling the worker's memory.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use connect_api::{RecordValue, SourceOffset, SourcePartition, SourceRecord};
use serde_json::{json, Map, Value};
use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};

use super::messages::{Message, Record, State, StateType};
use super::stats::{SyncStats, LEVELS};
use crate::process::{describe_exit, Line, Running};

/// What the reader hands the task.
pub enum Item {
    /// A record, or a state as an offset-only record; the permit holds its bytes'
    /// share of the budget until the task takes it.
    Record(SourceRecord, OwnedSemaphorePermit),
    /// A new config the plugin wants kept (`CONTROL` of type `CONNECTOR_CONFIG`).
    Control(Value),
    /// The process exited 0: the sync is complete.
    Done,
    /// The sync failed: why, in plain words.
    Failed(String),
}

/// What the reader needs to know.
pub struct ReadSettings {
    /// The plugin's name.
    pub plugin: String,
    /// The connector's name (the partition of global and legacy states).
    pub connector: String,
    /// The topic of each stream (`connect.topicname` with `${stream}` replaced); `None`
    /// when the connector's topic is used.
    pub topic: Option<String>,
    /// The primary key of each stream, by stream name.
    pub primary_keys: BTreeMap<String, Vec<Vec<String>>>,
    /// The grace between SIGTERM and SIGKILL when the sync is cut short.
    pub grace: Duration,
}

/// The partition of a stream's records and states.
pub fn stream_partition(name: &str, namespace: Option<&str>) -> SourcePartition {
    let mut m = Map::new();
    m.insert("stream".into(), name.into());
    if let Some(ns) = namespace {
        m.insert("namespace".into(), ns.into());
    }
    m.into()
}

/// The partition of a connector's global or legacy state.
pub fn global_partition(connector: &str) -> SourcePartition {
    let mut m = Map::new();
    m.insert("global".into(), connector.into());
    m.into()
}

/// Reads the process's stdout to its end; sends items on `tx`, taking `budget` permits
/// for the bytes of each.
pub async fn read(
    mut running: Running,
    settings: Arc<ReadSettings>,
    tx: mpsc::Sender<Item>,
    budget: Arc<Semaphore>,
    budget_max: u32,
    stats: Arc<Mutex<SyncStats>>,
) {
    let mut line_no: u64 = 0;
    let end = loop {
        let line = tokio::select! {
            line = running.next_line() => line,
            _ = tx.closed() => {
                running.terminate(settings.grace).await;
                return;
            }
        };
        let Some(line) = line else { break None };
        line_no += 1;
        let text = match line {
            Line::Text(t) => t,
            Line::TooLong { max } => {
                break Some(format!(
                    "plugin {}: line {line_no} of its output is longer than {max} bytes (plugin.max.line.bytes); nothing after it was committed",
                    settings.plugin
                ))
            }
            Line::Unreadable(e) => {
                break Some(format!(
                    "plugin {}: line {line_no} of its output cannot be read: {e}",
                    settings.plugin
                ))
            }
        };
        match handle(&text, line_no, &settings, &stats) {
            Ok(Handled::Nothing) => {}
            Ok(Handled::Control(config)) => {
                if tx.send(Item::Control(config)).await.is_err() {
                    running.terminate(settings.grace).await;
                    return;
                }
            }
            Ok(Handled::Record(record)) => {
                let weight = u32::try_from(text.len())
                    .unwrap_or(u32::MAX)
                    .clamp(1, budget_max);
                let Ok(permit) = budget.clone().acquire_many_owned(weight).await else {
                    return;
                };
                if tx.send(Item::Record(record, permit)).await.is_err() {
                    running.terminate(settings.grace).await;
                    return;
                }
            }
            Err(failure) => break Some(failure),
        }
    };
    let item = match end {
        Some(failure) => {
            running.terminate(settings.grace).await;
            Item::Failed(failure)
        }
        None => match running.wait().await {
            Ok(status) if status.success() => {
                match stats.lock().unwrap_or_else(|p| p.into_inner()).error.take() {
                    // A TRACE ERROR and then exit 0: still a failed sync.
                    Some(e) => Item::Failed(e),
                    None => Item::Done,
                }
            }
            Ok(status) => {
                let traced = stats.lock().unwrap_or_else(|p| p.into_inner()).error.take();
                let tail = running.stderr_tail();
                let mut why = format!(
                    "plugin {}: `read` {}",
                    settings.plugin,
                    describe_exit(&status)
                );
                if let Some(e) = traced {
                    why.push_str(&format!(": {e}"));
                }
                if !tail.is_empty() {
                    why.push_str(&format!("; its last stderr lines:\n{}", tail.join("\n")));
                }
                Item::Failed(why)
            }
            Err(e) => Item::Failed(format!(
                "plugin {}: cannot wait for `read`: {e}",
                settings.plugin
            )),
        },
    };
    let _ = tx.send(item).await;
}

/// What one line gives.
enum Handled {
    /// Nothing to hand on (logged or counted).
    Nothing,
    /// A record, or a state as an offset-only record.
    Record(SourceRecord),
    /// A new config for the plugin.
    Control(Value),
}

/// One line: what to hand on, or why the sync fails.
fn handle(
    text: &str,
    line_no: u64,
    settings: &ReadSettings,
    stats: &Mutex<SyncStats>,
) -> Result<Handled, String> {
    let message: Message = match serde_json::from_str(text) {
        Ok(m) => m,
        Err(e) => {
            // A RECORD or STATE that does not parse loses data: fail. Anything else
            // that is not a message is the plugin's own output (banners, warnings).
            let ty = serde_json::from_str::<Value>(text)
                .ok()
                .and_then(|v| v.get("type")?.as_str().map(str::to_owned));
            if let Some(ty @ ("RECORD" | "STATE")) = ty.as_deref() {
                return Err(format!(
                    "plugin {}: the {ty} on line {line_no} cannot be read: {e}",
                    settings.plugin
                ));
            }
            lock(stats).other_lines += 1;
            tracing::info!(plugin = %settings.plugin, "plugin output: {}", cut(text));
            return Ok(Handled::Nothing);
        }
    };
    match message.ty.as_str() {
        "RECORD" => match message.record {
            Some(r) => Ok(Handled::Record(record(r, settings, stats))),
            None => Err(format!(
                "plugin {}: the RECORD on line {line_no} has no \"record\"",
                settings.plugin
            )),
        },
        "STATE" => match message.state {
            Some(s) => state(s, text, line_no, settings, stats).map(Handled::Record),
            None => Err(format!(
                "plugin {}: the STATE on line {line_no} has no \"state\"",
                settings.plugin
            )),
        },
        "LOG" => {
            if let Some(log) = message.log {
                log_line(&settings.plugin, &log.level, &log.message);
            }
            Ok(Handled::Nothing)
        }
        "TRACE" => {
            if let Some(t) = message.trace {
                lock(stats).trace(t, &settings.plugin);
            }
            Ok(Handled::Nothing)
        }
        "CONTROL" => match message.control {
            Some(c) if c.ty == "CONNECTOR_CONFIG" => match c.connector_config {
                Some(cc) => Ok(Handled::Control(cc.config)),
                None => {
                    tracing::warn!(plugin = %settings.plugin, line = line_no, "the plugin's CONNECTOR_CONFIG message has no connectorConfig; ignored");
                    Ok(Handled::Nothing)
                }
            },
            other => {
                let ty = other.map_or_else(|| "(none)".to_owned(), |c| c.ty);
                tracing::warn!(plugin = %settings.plugin, line = line_no, "CONTROL message of type {ty} ignored: only CONNECTOR_CONFIG is known");
                Ok(Handled::Nothing)
            }
        },
        other => {
            lock(stats).other_lines += 1;
            tracing::info!(plugin = %settings.plugin, "plugin message of type {other} ignored");
            Ok(Handled::Nothing)
        }
    }
}

fn lock(stats: &Mutex<SyncStats>) -> std::sync::MutexGuard<'_, SyncStats> {
    stats.lock().unwrap_or_else(|p| p.into_inner())
}

fn record(r: Record, settings: &ReadSettings, stats: &Mutex<SyncStats>) -> SourceRecord {
    let key = settings
        .primary_keys
        .get(&r.stream)
        .filter(|pk| !pk.is_empty())
        .and_then(|pk| primary_key(&r.stream, pk, r.data.get()));
    let mut properties = vec![("stream".to_owned(), r.stream.clone())];
    if let Some(ns) = &r.namespace {
        properties.push(("namespace".to_owned(), ns.clone()));
    }
    if let Some(at) = r.emitted_at {
        properties.push(("emitted_at".to_owned(), at.to_string()));
    }
    lock(stats).record(&r.stream);
    let data: Box<str> = r.data.into();
    SourceRecord {
        partition: stream_partition(&r.stream, r.namespace.as_deref()),
        offset: None,
        topic: settings.topic.as_ref().map(|t| {
            t.replace("${stream}", &r.stream)
                .replace("${namespace}", r.namespace.as_deref().unwrap_or(""))
        }),
        key,
        tags: Some(r.stream),
        properties,
        timestamp_ms: r.emitted_at,
        value: RecordValue::RawJson(Bytes::from(data.into_boxed_bytes())),
    }
}

/// `<stream>/<values>`: the primary key's values joined by `/`, each with `%` and `/`
/// percent-escaped so the parts stay apart whatever they hold.
fn primary_key(stream: &str, pk: &[Vec<String>], data: &str) -> Option<String> {
    let v: Value = serde_json::from_str(data).ok()?;
    let mut parts = vec![stream.to_owned()];
    for path in pk {
        let mut at = &v;
        for p in path {
            at = at.get(p)?;
        }
        let text = match at {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        parts.push(text.replace('%', "%25").replace('/', "%2F"));
    }
    Some(parts.join("/"))
}

fn state(
    s: State,
    text: &str,
    line_no: u64,
    settings: &ReadSettings,
    stats: &Mutex<SyncStats>,
) -> Result<SourceRecord, String> {
    let raw: Value = serde_json::from_str(text)
        .ok()
        .and_then(|mut v: Value| v.get_mut("state").map(Value::take))
        .unwrap_or(Value::Null);
    let partition = match (s.ty.unwrap_or(StateType::Legacy), &s.stream) {
        (StateType::Stream, Some(st)) => stream_partition(
            &st.stream_descriptor.name,
            st.stream_descriptor.namespace.as_deref(),
        ),
        (StateType::Stream, None) => {
            return Err(format!(
                "plugin {}: the STREAM state on line {line_no} names no stream",
                settings.plugin
            ))
        }
        _ => global_partition(&settings.connector),
    };
    let stream = s
        .stream
        .as_ref()
        .map(|st| st.stream_descriptor.name.clone());
    let counted = s.source_stats.as_ref().and_then(|st| st.record_count);
    let offset = SourceOffset::from_typed(&json!({ "state": raw })).map_err(|e| {
        format!(
            "plugin {}: the STATE on line {line_no}: {e}",
            settings.plugin
        )
    })?;
    let mut stats = lock(stats);
    stats.state(stream.as_deref(), counted, &settings.plugin);
    stats.handed_on(stream.as_deref(), &partition, &offset);
    drop(stats);
    Ok(SourceRecord::offset_only(partition, offset))
}

fn log_line(plugin: &str, level: &str, message: &str) {
    match LEVELS.iter().position(|l| *l == level) {
        Some(0 | 1) => tracing::error!(plugin, "{message}"),
        Some(2) => tracing::warn!(plugin, "{message}"),
        Some(3) => tracing::info!(plugin, "{message}"),
        Some(4) => tracing::debug!(plugin, "{message}"),
        _ => tracing::trace!(plugin, "{message}"),
    }
}

/// A line cut for a log message.
fn cut(text: &str) -> &str {
    let mut end = text.len().min(500);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

//! `GET /metrics`: per-task counters and gauges in the Prometheus text format (0.0.4),
//! read from the same task statuses the REST API shows.

use std::fmt::Write;

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};

use super::state::AppState;
use crate::status::State as TaskState;

/// Label values escaped as the text format requires.
fn esc(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

const STATES: [(TaskState, &str); 6] = [
    (TaskState::Unassigned, "UNASSIGNED"),
    (TaskState::Running, "RUNNING"),
    (TaskState::Paused, "PAUSED"),
    (TaskState::Stopped, "STOPPED"),
    (TaskState::Failed, "FAILED"),
    (TaskState::Restarting, "RESTARTING"),
];

/// Reads one value of a task's status.
type Getter = fn(&crate::status::TaskStatus) -> u64;

/// Renders every task's metrics.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "monitoring",
    operation_id = "metrics",
    responses((status = 200, description = "Per-task counters and gauges in the Prometheus text format 0.0.4",
        body = String, content_type = "text/plain"))
)]
pub async fn metrics(State(h): State<AppState>) -> Response {
    let mut rows: Vec<(String, u32, crate::status::TaskStatus)> = Vec::new();
    for name in h.connectors().await {
        if let Ok(s) = h.connector_status(&name).await {
            rows.extend(s.tasks.into_iter().map(|t| (name.clone(), t.id, t)));
        }
    }
    let mut out = String::new();
    let families: [(&str, &str, &str, Getter); 9] = [
        (
            "rmq_connect_task_records_polled_total",
            "counter",
            "Records returned by the task's poll.",
            |t| t.records_polled,
        ),
        (
            "rmq_connect_task_records_sent_total",
            "counter",
            "Records acknowledged by RocketMQ.",
            |t| t.records_sent,
        ),
        (
            "rmq_connect_task_records_in_flight",
            "gauge",
            "Records sent and not yet acknowledged.",
            |t| t.records_in_flight,
        ),
        (
            "rmq_connect_task_restarts_total",
            "counter",
            "Automatic and requested restarts of the task.",
            |t| u64::from(t.restarts),
        ),
        (
            "rmq_connect_task_records_failed_total",
            "counter",
            "Records skipped because they could not be converted or sent (errors.tolerance=all).",
            |t| t.records_failed,
        ),
        (
            "rmq_connect_task_batches_acked_total",
            "counter",
            "Batches acknowledged by RocketMQ.",
            |t| t.batches_acked,
        ),
        (
            "rmq_connect_task_batch_latency_ms_total",
            "counter",
            "Sum of the batches' send-to-acknowledgement times in ms (divide by batches_acked).",
            |t| t.batch_latency_ms_total,
        ),
        (
            "rmq_connect_task_commits_total",
            "counter",
            "Offset commits written and flushed to the store.",
            |t| t.commits,
        ),
        (
            "rmq_connect_task_commit_latency_ms_total",
            "counter",
            "Sum of the commits' write-and-flush times in ms (divide by commits).",
            |t| t.commit_latency_ms_total,
        ),
    ];
    for (metric, kind, help, get) in families {
        let _ = writeln!(out, "# HELP {metric} {help}\n# TYPE {metric} {kind}");
        for (c, id, t) in &rows {
            let _ = writeln!(
                out,
                "{metric}{{connector=\"{}\",task=\"{id}\",worker=\"{}\"}} {}",
                esc(c),
                esc(&t.worker_id),
                get(t)
            );
        }
    }
    let metric = "rmq_connect_task_state";
    let _ = writeln!(
        out,
        "# HELP {metric} 1 for the task's current state, 0 for the others.\n# TYPE {metric} gauge"
    );
    for (c, id, t) in &rows {
        for (state, label) in STATES {
            let _ = writeln!(
                out,
                "{metric}{{connector=\"{}\",task=\"{id}\",state=\"{label}\"}} {}",
                esc(c),
                u8::from(t.state == state)
            );
        }
    }
    let metric = "rmq_connect_task_committed_position_info";
    let _ = writeln!(
        out,
        "# HELP {metric} The last committed offset of each partition, as labels.\n# TYPE {metric} gauge"
    );
    for (c, id, t) in &rows {
        for (partition, offset) in &t.position {
            let _ = writeln!(
                out,
                "{metric}{{connector=\"{}\",task=\"{id}\",partition=\"{}\",offset=\"{}\"}} 1",
                esc(c),
                esc(partition),
                esc(&offset.to_string())
            );
        }
    }
    partition_metrics(&mut out, &rows);
    counter_metrics(&mut out, &rows);
    (
        [(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        out,
    )
        .into_response()
}

/// Reads one figure of a partition's progress.
type PartitionGetter = fn(&crate::progress::PartitionStatus) -> Option<f64>;

/// `rmq_connect_partition_{remaining,lag_seconds,eta_seconds}` per task and partition
/// label; a partition whose figure is unknown has no sample.
fn partition_metrics(out: &mut String, rows: &[(String, u32, crate::status::TaskStatus)]) {
    let families: [(&str, &str, PartitionGetter); 3] = [
        (
            "rmq_connect_partition_remaining",
            "Records the task still has to read from the partition.",
            |p| p.remaining.map(|r| r as f64),
        ),
        (
            "rmq_connect_partition_lag_seconds",
            "Seconds between the newest record of the partition and the task's position.",
            |p| p.lag_seconds,
        ),
        (
            "rmq_connect_partition_eta_seconds",
            "Seconds until remaining reaches 0 at its recent rate of fall.",
            |p| p.eta_seconds,
        ),
    ];
    for (metric, help, get) in families {
        let _ = writeln!(out, "# HELP {metric} {help}\n# TYPE {metric} gauge");
        for (c, id, t) in rows {
            for p in &t.partitions {
                if let Some(v) = get(p) {
                    let _ = writeln!(
                        out,
                        "{metric}{{connector=\"{}\",task=\"{id}\",partition=\"{}\"}} {v}",
                        esc(c),
                        esc(&p.partition)
                    );
                }
            }
        }
    }
}

/// `rmq_connect_task_<name>` for each figure in a task's `counters`, one family per name.
/// They are gauges: a connector may report a current count (es-source's
/// `docs_missing_tracking_field` can fall), not only a count since start.
fn counter_metrics(out: &mut String, rows: &[(String, u32, crate::status::TaskStatus)]) {
    let mut names: Vec<&str> = rows
        .iter()
        .flat_map(|(_, _, t)| t.counters.keys().map(String::as_str))
        .filter(|n| is_metric_name_part(n))
        .collect();
    names.sort_unstable();
    names.dedup();
    for name in names {
        let metric = format!("rmq_connect_task_{name}");
        let _ = writeln!(
            out,
            "# HELP {metric} The task's own figure {name}.\n# TYPE {metric} gauge"
        );
        for (c, id, t) in rows {
            if let Some(v) = t.counters.get(name) {
                let _ = writeln!(
                    out,
                    "{metric}{{connector=\"{}\",task=\"{id}\"}} {v}",
                    esc(c)
                );
            }
        }
    }
}

/// Counter names become part of a metric name, so only `[a-z0-9_]` is taken.
fn is_metric_name_part(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

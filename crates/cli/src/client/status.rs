//! `list` and `status`: connector and task states as tables.
//!
//! Status bodies are read leniently (every field optional) so the CLI keeps working
//! while the server adds fields; `restarts` and `lag` columns appear only when the
//! server reports them.

use serde::Deserialize;
use serde_json::{Map, Value};

use super::ctx::Ctx;
use super::error::CliError;
use super::table::Table;

/// `GET /connectors/{name}/status`.
#[derive(Deserialize, Default)]
#[serde(default)]
struct StatusView {
    name: String,
    connector: ConnectorView,
    tasks: Vec<TaskView>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ConnectorView {
    state: String,
    worker_id: String,
    trace: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct TaskView {
    id: u32,
    state: String,
    worker_id: String,
    trace: Option<String>,
    records_polled: Option<u64>,
    records_sent: Option<u64>,
    records_in_flight: Option<u64>,
    restarts: Option<u64>,
    lag: Option<Value>,
    position: Value,
    records_failed: Option<u64>,
    partitions: Vec<PartitionView>,
    counters: std::collections::BTreeMap<String, u64>,
}

/// One entry of a task's `partitions`.
#[derive(Deserialize, Default)]
#[serde(default)]
struct PartitionView {
    partition: String,
    remaining: Option<u64>,
    lag_seconds: Option<f64>,
    eta_seconds: Option<f64>,
    problem: Option<String>,
    records_read: u64,
    backfill: Option<BackfillView>,
}

/// A partition's `backfill`.
#[derive(Deserialize, Default)]
#[serde(default)]
struct BackfillView {
    phase: String,
    done: u64,
    left: u64,
    rate_per_second: Option<f64>,
    eta_seconds: Option<f64>,
    snapshot: Option<String>,
}

impl BackfillView {
    /// `backfill reading: 1200 of 3000 documents, 950/s, ETA 2s` or `backfill complete:
    /// 3000 documents below 2500`.
    fn line(&self) -> String {
        match self.phase.as_str() {
            "complete" => format!(
                "backfill complete: {} documents{}",
                self.done,
                self.snapshot
                    .as_deref()
                    .map(|s| format!(", incremental from {s}"))
                    .unwrap_or_default()
            ),
            phase => format!(
                "backfill {phase}: {} of {} documents{}{}",
                self.done,
                self.done + self.left,
                self.rate_per_second
                    .map(|r| format!(", {r:.0}/s"))
                    .unwrap_or_default(),
                self.eta_seconds
                    .map(|e| format!(", ETA {}", duration(e)))
                    .unwrap_or_default()
            ),
        }
    }
}

/// Characters of a progress bar.
const BAR_WIDTH: usize = 20;

/// `GET /connectors?expand=status`, or, from a server that answers that with plain
/// names, `GET /connectors` and one status request per connector.
pub async fn list(ctx: &mut Ctx) -> Result<(), CliError> {
    let answer = ctx
        .api
        .get(&["connectors"], &[("expand", "status")])
        .await?;
    let (entries, raw) = match answer.json()? {
        Value::Object(map) => (map, answer.text.clone()),
        Value::Array(names) => {
            let mut map = Map::new();
            for name in names.iter().filter_map(Value::as_str) {
                match ctx.api.get(&["connectors", name, "status"], &[]).await {
                    Ok(a) => {
                        map.insert(name.to_owned(), serde_json::json!({ "status": a.json()? }));
                    }
                    // Deleted between the two requests.
                    Err(CliError::Rejected { status: 404, .. }) => {}
                    Err(e) => return Err(e),
                }
            }
            // Scripts see the same shape as from `?expand=status`.
            let raw = Value::Object(map.clone()).to_string();
            (map, raw)
        }
        other => {
            return Err(CliError::Unexpected(format!(
                "GET /connectors answered {}",
                kind(&other)
            )))
        }
    };
    if ctx.json {
        ctx.print(&raw);
        return Ok(());
    }
    if entries.is_empty() {
        ctx.print("no connectors");
        return Ok(());
    }
    let mut table = Table::new(["NAME", "STATE", "TASKS", "SENT"]).right(&[3]);
    for (name, entry) in &entries {
        let status: Option<StatusView> = entry
            .get("status")
            .and_then(|s| serde_json::from_value(s.clone()).ok());
        match status {
            Some(s) => table.row([
                name.clone(),
                or_dash(&s.connector.state),
                task_summary(&s.tasks),
                sum(s.tasks.iter().map(|t| t.records_sent)),
            ]),
            None => table.row([name.as_str(), "-", "-", "-"]),
        }
    }
    ctx.print(&table.render());
    Ok(())
}

/// `GET /connectors/{name}/status`: connector state and worker, a table of tasks, then
/// each task's position and error in full (too long for a table cell).
pub async fn status(ctx: &mut Ctx, name: &str) -> Result<(), CliError> {
    let answer = ctx.api.get(&["connectors", name, "status"], &[]).await?;
    if ctx.json {
        ctx.print_raw(&answer);
        return Ok(());
    }
    let s: StatusView = answer.parse()?;
    let mut out = String::new();
    let shown_name = if s.name.is_empty() { name } else { &s.name };
    out.push_str(&format!("connector  {shown_name}\n"));
    out.push_str(&format!("state      {}\n", or_dash(&s.connector.state)));
    out.push_str(&format!("worker     {}\n", or_dash(&s.connector.worker_id)));
    if let Some(trace) = s.connector.trace.as_deref().filter(|t| !t.is_empty()) {
        out.push_str(&format!("error      {trace}\n"));
    }
    out.push('\n');
    if s.tasks.is_empty() {
        out.push_str("no tasks\n");
    } else {
        out.push_str(&task_table(&s.tasks));
        let progress = task_progress(&s.tasks);
        if !progress.is_empty() {
            out.push('\n');
            out.push_str(&progress);
        }
        let details = task_details(&s.tasks);
        if !details.is_empty() {
            out.push('\n');
            out.push_str(&details);
        }
    }
    ctx.print(&out);
    Ok(())
}

fn task_table(tasks: &[TaskView]) -> String {
    let show_restarts = tasks.iter().any(|t| t.restarts.is_some());
    let show_lag = tasks.iter().any(|t| t.lag.is_some());
    let mut headers = vec!["ID", "STATE", "WORKER", "POLLED", "SENT", "IN FLIGHT"];
    if show_restarts {
        headers.push("RESTARTS");
    }
    if show_lag {
        headers.push("LAG");
    }
    let numbers: Vec<usize> = std::iter::once(0).chain(3..headers.len()).collect();
    let mut table = Table::new(headers).right(&numbers);
    for t in tasks {
        let mut row = vec![
            t.id.to_string(),
            or_dash(&t.state),
            or_dash(&t.worker_id),
            count(t.records_polled),
            count(t.records_sent),
            count(t.records_in_flight),
        ];
        if show_restarts {
            row.push(count(t.restarts));
        }
        if show_lag {
            row.push(t.lag.as_ref().map_or("-".into(), scalar));
        }
        table.row(row);
    }
    table.render()
}

/// Per task: a progress bar for each partition with records left, then each partition's
/// problem, skipped records and the task's own counters.
fn task_progress(tasks: &[TaskView]) -> String {
    let mut out = String::new();
    for t in tasks {
        let mut table = Table::new(["TASK", "PARTITION", "PROGRESS", "REMAINING", "LAG", "ETA"])
            .right(&[0, 3, 4, 5]);
        let mut rows = 0;
        for p in &t.partitions {
            let Some(remaining) = p.remaining.filter(|r| *r > 0) else {
                continue;
            };
            rows += 1;
            table.row([
                t.id.to_string(),
                p.partition.clone(),
                bar(p.records_read, remaining),
                remaining.to_string(),
                p.lag_seconds.map_or("-".into(), duration),
                p.eta_seconds.map_or("-".into(), duration),
            ]);
        }
        if rows > 0 {
            out.push_str(&table.render());
        }
    }
    for t in tasks {
        for p in &t.partitions {
            if let Some(b) = &p.backfill {
                out.push_str(&format!("task {} {}  {}\n", t.id, p.partition, b.line()));
            }
            if let Some(problem) = p.problem.as_deref().filter(|p| !p.is_empty()) {
                out.push_str(&format!(
                    "task {} {}  problem: {problem}\n",
                    t.id, p.partition
                ));
            }
        }
        if let Some(n) = t.records_failed.filter(|n| *n > 0) {
            out.push_str(&format!("task {} skipped  {n} records\n", t.id));
        }
        if !t.counters.is_empty() {
            let counters: Vec<String> =
                t.counters.iter().map(|(k, v)| format!("{k}={v}")).collect();
            out.push_str(&format!("task {} counters  {}\n", t.id, counters.join(" ")));
        }
    }
    out
}

/// `[#####---------------]  25%`: the share of records read in this run out of read plus
/// remaining.
fn bar(read: u64, remaining: u64) -> String {
    let total = read.saturating_add(remaining);
    let fraction = if total == 0 {
        0.0
    } else {
        read as f64 / total as f64
    };
    let filled = ((fraction * BAR_WIDTH as f64).floor() as usize).min(BAR_WIDTH);
    format!(
        "[{}{}] {:>3}%",
        "#".repeat(filled),
        "-".repeat(BAR_WIDTH - filled),
        (fraction * 100.0).floor() as u64
    )
}

/// Seconds as `45s`, `3m 20s`, `2h 05m` or `3d 04h`.
fn duration(secs: f64) -> String {
    if !secs.is_finite() || secs < 0.0 {
        return "-".into();
    }
    let s = secs.round() as u64;
    match s {
        0..=59 => format!("{s}s"),
        60..=3_599 => format!("{}m {:02}s", s / 60, s % 60),
        3_600..=86_399 => format!("{}h {:02}m", s / 3_600, (s % 3_600) / 60),
        _ => format!("{}d {:02}h", s / 86_400, (s % 86_400) / 3_600),
    }
}

/// `task 0 position  <partition> <offset>` per partition, then `task 0 error  <trace>`.
fn task_details(tasks: &[TaskView]) -> String {
    let mut out = String::new();
    for t in tasks {
        for (partition, offset) in positions(&t.position) {
            out.push_str(&format!("task {} position  {partition} {offset}\n", t.id));
        }
        if let Some(trace) = t.trace.as_deref().filter(|t| !t.is_empty()) {
            // A running task's trace is its last retriable error, not why it stopped.
            let label = if t.state == "FAILED" {
                "error"
            } else {
                "last error"
            };
            out.push_str(&format!("task {} {label}  {trace}\n", t.id));
        }
    }
    out
}

/// A position as (partition, offset) texts: either a map of partition JSON to offset,
/// or a list of `{"partition", "offset"}` like the offsets route answers.
fn positions(position: &Value) -> Vec<(String, String)> {
    match position {
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| (k.clone(), v.to_string()))
            .collect(),
        Value::Array(items) => items
            .iter()
            .map(|i| match (i.get("partition"), i.get("offset")) {
                (Some(p), Some(o)) => (p.to_string(), o.to_string()),
                _ => (String::new(), i.to_string()),
            })
            .collect(),
        Value::Null => Vec::new(),
        other => vec![(String::new(), other.to_string())],
    }
}

/// `2 RUNNING, 1 FAILED` in the order the states first appear; `-` without tasks.
fn task_summary(tasks: &[TaskView]) -> String {
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for t in tasks {
        let state = if t.state.is_empty() { "?" } else { &t.state };
        match counts.iter_mut().find(|(s, _)| *s == state) {
            Some((_, n)) => *n += 1,
            None => counts.push((state, 1)),
        }
    }
    if counts.is_empty() {
        return "-".into();
    }
    counts
        .iter()
        .map(|(s, n)| format!("{n} {s}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The sum of the values present, or `-` when none is.
fn sum(values: impl Iterator<Item = Option<u64>>) -> String {
    values
        .flatten()
        .reduce(|a, b| a.saturating_add(b))
        .map_or("-".into(), |n| n.to_string())
}

fn count(n: Option<u64>) -> String {
    n.map_or("-".into(), |n| n.to_string())
}

fn or_dash(s: &str) -> String {
    if s.is_empty() {
        "-".into()
    } else {
        s.to_owned()
    }
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(state: &str) -> TaskView {
        TaskView {
            state: state.into(),
            ..TaskView::default()
        }
    }

    #[test]
    fn task_summary_counts_states_in_order_of_appearance() {
        let tasks = [task("RUNNING"), task("FAILED"), task("RUNNING")];
        assert_eq!(task_summary(&tasks), "2 RUNNING, 1 FAILED");
        assert_eq!(task_summary(&[]), "-");
    }

    #[test]
    fn records_sent_sum_ignores_missing_values_and_is_dash_when_all_missing() {
        assert_eq!(sum([Some(2), None, Some(3)].into_iter()), "5");
        assert_eq!(sum([None, None].into_iter()), "-");
    }

    #[test]
    fn positions_accept_a_partition_map_or_an_offsets_list() {
        let map = serde_json::json!({"{\"index\":\"a\"}": {"v": 1}});
        assert_eq!(
            positions(&map),
            vec![("{\"index\":\"a\"}".to_owned(), "{\"v\":1}".to_owned())]
        );
        let list = serde_json::json!([{"partition": {"index": "a"}, "offset": {"v": 1}}]);
        assert_eq!(
            positions(&list),
            vec![("{\"index\":\"a\"}".to_owned(), "{\"v\":1}".to_owned())]
        );
        assert!(positions(&Value::Null).is_empty());
    }

    fn part(label: &str, read: u64, remaining: Option<u64>) -> PartitionView {
        PartitionView {
            partition: label.into(),
            remaining,
            records_read: read,
            ..PartitionView::default()
        }
    }

    #[test]
    fn the_bar_is_the_share_read_in_this_run_of_read_plus_remaining() {
        assert_eq!(bar(25, 75), "[#####---------------]  25%");
        assert_eq!(bar(0, 10), "[--------------------]   0%");
        assert_eq!(bar(999, 1), "[###################-]  99%");
        assert_eq!(bar(0, 0), "[--------------------]   0%");
    }

    #[test]
    fn durations_read_as_seconds_minutes_hours_or_days() {
        assert_eq!(duration(0.4), "0s");
        assert_eq!(duration(45.0), "45s");
        assert_eq!(duration(200.0), "3m 20s");
        assert_eq!(duration(7_500.0), "2h 05m");
        assert_eq!(duration(3.0 * 86_400.0 + 4.0 * 3_600.0), "3d 04h");
        assert_eq!(duration(f64::NAN), "-");
    }

    #[test]
    fn progress_shows_bars_for_partitions_with_records_left_then_problems_and_counters() {
        let mut t = task("RUNNING");
        t.id = 1;
        let mut logs = part("logs-1", 250, Some(750));
        logs.lag_seconds = Some(12.0);
        logs.eta_seconds = Some(90.0);
        let mut gone = part("logs-2", 0, None);
        gone.problem = Some("index deleted".into());
        t.partitions = vec![logs, part("done", 10, Some(0)), gone];
        t.records_failed = Some(2);
        t.counters.insert("docs_missing_tracking_field".into(), 4);
        let out = task_progress(&[t]);
        assert_eq!(
            out,
            "TASK  PARTITION  PROGRESS                     REMAINING  LAG     ETA\n\
             \x20  1  logs-1     [#####---------------]  25%        750  12s  1m 30s\n\
             task 1 logs-2  problem: index deleted\n\
             task 1 skipped  2 records\n\
             task 1 counters  docs_missing_tracking_field=4\n"
        );
    }

    #[test]
    fn a_backfill_shows_how_far_it_has_come_then_that_it_completed() {
        let mut t = task("RUNNING");
        let mut logs = part("logs-1", 0, None);
        logs.backfill = Some(BackfillView {
            phase: "reading".into(),
            done: 1200,
            left: 1800,
            rate_per_second: Some(950.4),
            eta_seconds: Some(2.0),
            snapshot: Some("2500".into()),
        });
        let mut old = part("logs-0", 0, None);
        old.backfill = Some(BackfillView {
            phase: "complete".into(),
            done: 3000,
            snapshot: Some("2500".into()),
            ..BackfillView::default()
        });
        t.partitions = vec![logs, old];
        assert_eq!(
            task_progress(&[t]),
            "task 0 logs-1  backfill reading: 1200 of 3000 documents, 950/s, ETA 2s\n\
             task 0 logs-0  backfill complete: 3000 documents, incremental from 2500\n"
        );
    }

    #[test]
    fn progress_is_empty_when_no_task_reports_any() {
        assert_eq!(task_progress(&[task("RUNNING")]), "");
    }

    #[test]
    fn restarts_and_lag_columns_appear_only_when_reported() {
        let plain = task_table(&[task("RUNNING")]);
        assert!(
            !plain.contains("RESTARTS") && !plain.contains("LAG"),
            "{plain}"
        );
        let mut t = task("RUNNING");
        t.restarts = Some(3);
        let with = task_table(&[t]);
        assert!(
            with.starts_with("ID  STATE    WORKER  POLLED  SENT  IN FLIGHT  RESTARTS\n"),
            "{with}"
        );
        assert!(with.ends_with("         3\n"), "{with}");
    }
}

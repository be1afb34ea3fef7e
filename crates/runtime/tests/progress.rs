//! Task progress in the status and in `/metrics`: per-partition remaining,
//! lag, ETA, problem and records read, and the task's own counters, as reported by the
//! fake plugin of tests/common after every poll.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{fake_config, Harness};

#[tokio::test]
async fn status_shows_each_partitions_remaining_lag_eta_problem_and_reads() {
    let h = Harness::new();
    h.create("prog-done", fake_config(30)).await;
    let s = h
        .wait_status("prog-done", "all read", |s| {
            s["tasks"][0]["partitions"][0]["remaining"] == 0
        })
        .await;
    let t = &s["tasks"][0];
    let p = &t["partitions"][0];
    assert_eq!(p["partition"], "task-0", "{s}");
    assert_eq!(p["records_read"], 30, "{s}");
    assert_eq!(p["lag_seconds"], 0.0, "{s}");
    assert_eq!(p["eta_seconds"], 0.0, "{s}");
    assert_eq!(p["problem"], "caught up: nothing left to read", "{s}");
    assert_eq!(t["counters"]["fake_batches"], 3, "{s}");
}

#[tokio::test]
async fn eta_appears_once_remaining_has_been_falling() {
    let h = Harness::new();
    h.create("prog-eta", fake_config(1_000_000)).await;
    let s = h
        .wait_status("prog-eta", "an ETA", |s| {
            s["tasks"][0]["partitions"][0]["eta_seconds"]
                .as_f64()
                .is_some_and(|e| e > 0.0)
        })
        .await;
    let p = &s["tasks"][0]["partitions"][0];
    let remaining = p["remaining"].as_u64().unwrap();
    assert!(remaining > 0 && remaining < 1_000_000, "{s}");
    assert!(p["records_read"].as_u64().unwrap() > 0, "{s}");
    assert!(p["problem"].is_null(), "{s}");
}

#[tokio::test]
async fn metrics_show_partition_gauges_task_counters_and_skipped_records() {
    let h = Harness::new();
    h.create("prog-metrics", fake_config(30)).await;
    h.wait_status("prog-metrics", "all read", |s| {
        s["tasks"][0]["partitions"][0]["remaining"] == 0
    })
    .await;
    let text = h.get("/metrics").await.text();
    for line in [
        "# TYPE rmq_connect_partition_remaining gauge",
        "rmq_connect_partition_remaining{connector=\"prog-metrics\",task=\"0\",partition=\"task-0\"} 0",
        "rmq_connect_partition_lag_seconds{connector=\"prog-metrics\",task=\"0\",partition=\"task-0\"} 0",
        "rmq_connect_partition_eta_seconds{connector=\"prog-metrics\",task=\"0\",partition=\"task-0\"} 0",
        "# TYPE rmq_connect_task_fake_batches gauge",
        "rmq_connect_task_fake_batches{connector=\"prog-metrics\",task=\"0\"} 3",
        "# TYPE rmq_connect_task_records_failed_total counter",
    ] {
        assert!(text.lines().any(|l| l == line), "missing {line:?} in\n{text}");
    }
}

#[tokio::test]
async fn a_connector_without_progress_shows_empty_partitions_and_counters() {
    let h = Harness::new();
    h.create("prog-none", fake_config(0)).await;
    let s = h.wait_state("prog-none", "RUNNING").await;
    let t = &s["tasks"][0];
    assert_eq!(t["records_failed"], 0);
    assert!(t["counters"].is_object(), "{s}");
    assert!(t["partitions"].is_array(), "{s}");
}

//! Periodic task reconfiguration: a connector whose plugin asks for it has its
//! task configs recomputed on a timer; changed configs restart the tasks with the new
//! configs without a connector restart, equal ones change nothing, and a failing
//! recomputation leaves the running tasks alone and shows a warning.
//!
//! Hermetic: the fake plugin of tests/common, whose task count comes from shared knobs.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::atomic::Ordering;

use common::{fake_config, knobs, Harness, PLANTED};
use serde_json::Value;

fn dynamic_config(name: &str, total: u64) -> Value {
    let mut c = fake_config(total);
    c["max.tasks"] = "4".into();
    c["fake.knobs"] = name.into();
    c["fake.reconfigure.ms"] = "20".into();
    c
}

fn task_count(s: &Value) -> usize {
    s["tasks"].as_array().map(Vec::len).unwrap_or(0)
}

#[tokio::test]
async fn changed_task_configs_restart_the_tasks_without_a_connector_restart() {
    let h = Harness::new();
    let name = "reconf-grow";
    let k = knobs(name);
    k.tasks.store(1, Ordering::SeqCst);
    h.create(name, dynamic_config(name, 30)).await;
    h.wait_status(name, "one running task", |s| {
        task_count(s) == 1 && s["tasks"][0]["state"] == "RUNNING"
    })
    .await;

    k.tasks.store(3, Ordering::SeqCst);
    let s = h
        .wait_status(name, "three running tasks", |s| {
            task_count(s) == 3
                && s["tasks"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .all(|t| t["state"] == "RUNNING")
        })
        .await;
    assert_eq!(s["connector"]["state"], "RUNNING");
    let tasks = h
        .get(&format!("/connectors/{name}/tasks"))
        .await
        .expect(200);
    assert_eq!(tasks.as_array().unwrap().len(), 3, "{tasks}");
    // Every new task reads its own partition to the end.
    h.wait_until("90 records", || h.sink.count() >= 90).await;

    k.tasks.store(2, Ordering::SeqCst);
    h.wait_status(name, "two tasks", |s| task_count(s) == 2)
        .await;
}

#[tokio::test]
async fn equal_task_configs_restart_nothing() {
    let h = Harness::new();
    let name = "reconf-equal";
    let k = knobs(name);
    k.tasks.store(2, Ordering::SeqCst);
    h.create(name, dynamic_config(name, 20)).await;
    h.wait_state(name, "RUNNING").await;
    h.wait_until("40 records", || h.sink.count() >= 40).await;
    let before = k.splits.load(Ordering::SeqCst);
    h.wait_until("five more recomputations", || {
        k.splits.load(Ordering::SeqCst) >= before + 5
    })
    .await;
    // A restarted task would start over from its committed offset and report 0 polled.
    let s = h.wait_state(name, "RUNNING").await;
    for t in s["tasks"].as_array().unwrap() {
        assert_eq!(t["records_polled"], 20, "task restarted: {s}");
    }
    assert_eq!(h.sink.count(), 40, "records were read again");
}

#[tokio::test]
async fn a_failing_recomputation_keeps_the_tasks_running_and_shows_a_warning() {
    let h = Harness::new();
    let name = "reconf-fail";
    let k = knobs(name);
    k.tasks.store(2, Ordering::SeqCst);
    h.create(name, dynamic_config(name, 1_000_000)).await;
    h.wait_state(name, "RUNNING").await;

    k.fail_split.store(true, Ordering::SeqCst);
    let s = h
        .wait_status(name, "a warning", |s| {
            s["connector"]["trace"]
                .as_str()
                .is_some_and(|t| t.contains("unreachable"))
        })
        .await;
    assert_eq!(s["connector"]["state"], "RUNNING", "{s}");
    assert_eq!(task_count(&s), 2);
    let trace = s["connector"]["trace"].as_str().unwrap();
    assert!(trace.contains("keep running"), "{trace}");
    assert!(!trace.contains(PLANTED), "{trace}");
    let sent = h.sink.count();
    h.wait_until("the tasks keep producing", || h.sink.count() > sent + 100)
        .await;

    k.fail_split.store(false, Ordering::SeqCst);
    let s = h
        .wait_status(name, "the warning cleared", |s| {
            s["connector"]["trace"].is_null()
        })
        .await;
    assert_eq!(s["connector"]["state"], "RUNNING");
}

#[tokio::test]
async fn a_paused_connector_is_reconfigured_but_stays_paused_and_a_stopped_one_is_not() {
    let h = Harness::new();
    let name = "reconf-paused";
    let k = knobs(name);
    k.tasks.store(1, Ordering::SeqCst);
    h.create(name, dynamic_config(name, 10)).await;
    h.wait_state(name, "RUNNING").await;
    h.call("PUT", &format!("/connectors/{name}/pause"), None)
        .await
        .expect(202);
    h.wait_state(name, "PAUSED").await;
    k.tasks.store(2, Ordering::SeqCst);
    h.wait_status(name, "two paused tasks", |s| {
        task_count(s) == 2
            && s["tasks"]
                .as_array()
                .unwrap()
                .iter()
                .all(|t| t["state"] == "PAUSED")
    })
    .await;

    h.call("PUT", &format!("/connectors/{name}/stop"), None)
        .await
        .expect(202);
    h.wait_state(name, "STOPPED").await;
    let splits = k.splits.load(Ordering::SeqCst);
    k.tasks.store(3, Ordering::SeqCst);
    // Resuming re-arms the timer: the new count is picked up only then.
    h.call("PUT", &format!("/connectors/{name}/resume"), None)
        .await
        .expect(202);
    h.wait_status(name, "three running tasks", |s| {
        task_count(s) == 3
            && s["tasks"]
                .as_array()
                .unwrap()
                .iter()
                .all(|t| t["state"] == "RUNNING")
    })
    .await;
    assert!(k.splits.load(Ordering::SeqCst) > splits);
}

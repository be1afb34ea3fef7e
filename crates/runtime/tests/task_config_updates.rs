//! Config values a task asks to keep (an Airbyte plugin's `CONTROL` message with a
//! refreshed token): the runtime stores them over the connector's config and restarts
//! its tasks with them; a key the user stored as a placeholder is left alone.
//!
//! Hermetic: the fake plugin of tests/common, whose task asks for `fake.rotate.to`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{fake_config, Harness};
use connect_runtime::store::ConfigStore;

fn stored_password(h: &Harness, name: &str) -> Option<String> {
    h.store
        .connectors()
        .unwrap()
        .into_iter()
        .find(|(n, _)| n == name)
        .and_then(|(_, c)| c.config.get("fake.password").cloned())
}

#[tokio::test]
async fn values_a_task_sends_are_stored_and_its_tasks_restart_with_them() {
    let h = Harness::new();
    let name = "rotate-stored";
    let mut config = fake_config(30);
    config["fake.rotate.to"] = "ROTATED-token-2".into();
    h.create(name, config).await;
    h.wait_until("the task's new password stored", || {
        stored_password(&h, name).as_deref() == Some("ROTATED-token-2")
    })
    .await;
    // The restarted task has the stored value: it asks for nothing more, and reads on.
    h.wait_state(name, "RUNNING").await;
    h.wait_until("every record", || h.sink.count() >= 30).await;
    let info = h.get(&format!("/connectors/{name}")).await.expect(200);
    assert_ne!(
        info["config"]["fake.password"], "ROTATED-token-2",
        "the stored secret is still hidden: {info}"
    );
}

#[tokio::test]
async fn a_new_value_for_a_key_stored_as_a_placeholder_is_not_stored() {
    let h = Harness::new();
    let name = "rotate-placeholder";
    let mut config = fake_config(30);
    config["fake.password"] = "${env:HOME}".into();
    config["fake.rotate.to"] = "ROTATED-token-3".into();
    h.create(name, config).await;
    // The task asks at its first poll; the records show that it polled.
    h.wait_until("every record", || h.sink.count() >= 30).await;
    assert_eq!(stored_password(&h, name).as_deref(), Some("${env:HOME}"));
    let s = h.wait_state(name, "RUNNING").await;
    assert_eq!(s["tasks"][0]["state"], "RUNNING", "{s}");
}

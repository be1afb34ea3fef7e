//! The REST contract (design.md §5, §8): every route, status code and error
//! body, config round-trips with secrets hidden, and the planted-secret sweep.
//!
//! Hermetic: a `StandaloneHerder` over a temp sled store, a recording fake sink and a
//! fake connector plugin (tests/common), driven through the router without sockets.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use axum::http::header::WWW_AUTHENTICATE;
use common::{fake_config, Harness, BODIES, PLANTED, PLUGIN, PLUGIN_ALIAS, WORKER};
use connect_runtime::herder::Herder;
use serde_json::{json, Value};

const HIDDEN: &str = "[hidden]";

fn sorted_fields(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v.dedup();
    v
}

// ---------------------------------------------------------------------------------------
// GET / and /health

#[tokio::test]
async fn root_reports_version_worker_id_and_standalone_mode() {
    let h = Harness::new();
    let body = h.get("/").await.expect(200);
    assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(body["worker_id"], WORKER);
    assert_eq!(body["mode"], "standalone");
}

#[tokio::test]
async fn health_is_503_before_set_ready_and_200_after() {
    let h = Harness::not_ready();
    let r = h.get("/health").await;
    assert_eq!(r.status.as_u16(), 503, "{}", r.text());
    assert!(r.json().is_object());
    h.herder.set_ready();
    h.get("/health").await.expect(200);
}

// ---------------------------------------------------------------------------------------
// Create

#[tokio::test]
async fn post_connectors_creates_with_201_and_returns_the_info_body() {
    let h = Harness::new();
    let body = h.create("c1", fake_config(5)).await;
    assert_eq!(body["name"], "c1");
    assert_eq!(body["type"], "source");
    assert_eq!(body["config"]["connector.class"], PLUGIN);
    assert_eq!(body["config"]["fake.total"], "5");
    assert_eq!(body["config"]["fake.password"], HIDDEN);
    assert_eq!(body["tasks"], json!([{"connector": "c1", "task": 0}]));
    // It runs and produces.
    h.wait_state("c1", "RUNNING").await;
    h.wait_until("5 records produced", || h.sink.count() == 5)
        .await;
}

#[tokio::test]
async fn post_connectors_with_an_existing_name_is_409() {
    let h = Harness::new();
    h.create("dup", fake_config(1)).await;
    let r = h
        .call(
            "POST",
            "/connectors",
            Some(json!({"name": "dup", "config": fake_config(99)})),
        )
        .await;
    r.expect_error(409);
    // The original is unchanged.
    let cfg = h.get("/connectors/dup/config").await.expect(200);
    assert_eq!(cfg["fake.total"], "1");
}

#[tokio::test]
async fn post_connectors_with_an_invalid_config_is_400_naming_each_bad_key() {
    let h = Harness::new();
    let r = h
        .call(
            "POST",
            "/connectors",
            Some(json!({"name": "bad", "config": {
                "connector.class": PLUGIN,
                "fake.total": "lots",
                "fake.fail": "maybe",
                "max.tasks": "0",
                "connect.topicname": "bad topic!",
                "value.converter": "avro",
            }})),
        )
        .await;
    r.expect_error(400);
    let fields = sorted_fields(r.error_fields());
    for f in [
        "fake.total",
        "fake.fail",
        "max.tasks",
        "connect.topicname",
        "value.converter",
    ] {
        assert!(fields.contains(&f.to_owned()), "{f} not in {fields:?}");
    }
    // Nothing was created.
    h.get("/connectors/bad").await.expect_error(404);

    // A missing required key and an unknown class name their keys.
    let r = h
        .call(
            "POST",
            "/connectors",
            Some(json!({"name": "bad", "config": {"connector.class": PLUGIN}})),
        )
        .await;
    r.expect_error(400);
    assert_eq!(r.error_fields(), ["fake.total"]);
    let r = h
        .call(
            "POST",
            "/connectors",
            Some(json!({"name": "bad", "config": {"connector.class": "no-such-plugin"}})),
        )
        .await;
    r.expect_error(400);
    assert_eq!(r.error_fields(), ["connector.class"]);

    // Live validation failures name their key, and the secret the connector echoed is
    // scrubbed (the harness asserts PLANTED never appears in a body).
    let mut cfg = fake_config(1);
    cfg["fake.fail"] = json!("true");
    let r = h
        .call(
            "POST",
            "/connectors",
            Some(json!({"name": "bad", "config": cfg})),
        )
        .await;
    r.expect_error(400);
    assert_eq!(r.error_fields(), ["fake.fail"]);
    assert!(r.text().contains(HIDDEN), "{}", r.text());
    assert!(h.herder.connectors().await.is_empty());
}

#[tokio::test]
async fn post_connectors_without_name_or_config_is_400_naming_it() {
    let h = Harness::new();
    let cases = [
        (json!({"config": fake_config(1)}), "name"),
        (json!({"name": 7, "config": fake_config(1)}), "name"),
        (json!({"name": "x"}), "config"),
        (json!({"name": "x", "config": "flat?"}), "config"),
        (
            json!({"name": "x", "config": {"connector.class": PLUGIN, "fake.total": [1]}}),
            "config.fake.total",
        ),
        (
            json!({"name": "bad name!", "config": fake_config(1)}),
            "name",
        ),
        (json!({"name": "", "config": fake_config(1)}), "name"),
        (
            json!({"name": "a".repeat(129), "config": fake_config(1)}),
            "name",
        ),
    ];
    for (body, field) in cases {
        let r = h.call("POST", "/connectors", Some(body.clone())).await;
        r.expect_error(400);
        assert!(
            r.error_fields().contains(&field.to_owned()),
            "{body}: {field} not in {:?}",
            r.error_fields()
        );
    }
    // Not an object at all.
    h.call("POST", "/connectors", Some(json!([1, 2])))
        .await
        .expect_error(400);
    assert!(h.herder.connectors().await.is_empty());
}

#[tokio::test]
async fn post_connectors_honours_initial_state_paused_and_stopped_and_rejects_others() {
    let h = Harness::new();
    for (name, initial, state) in [
        ("p", "PAUSED", "PAUSED"),
        ("s", "STOPPED", "STOPPED"),
        ("r", "RUNNING", "RUNNING"),
    ] {
        let r = h
            .call(
                "POST",
                "/connectors",
                Some(json!({"name": name, "config": fake_config(50), "initial_state": initial})),
            )
            .await;
        r.expect(201);
        h.wait_state(name, state).await;
    }
    let stopped = h.get("/connectors/s/status").await.expect(200);
    assert_eq!(
        stopped["tasks"],
        json!([]),
        "a STOPPED connector runs no task"
    );
    // Only `r` produced.
    h.wait_until("r produced", || h.sink.count() == 50).await;
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(h.sink.count(), 50, "a paused or stopped connector produced");

    for bad in [json!("SLEEPING"), json!(3), json!({"s": 1})] {
        let r = h
            .call(
                "POST",
                "/connectors",
                Some(json!({"name": "x", "config": fake_config(1), "initial_state": bad})),
            )
            .await;
        r.expect_error(400);
        assert_eq!(r.error_fields(), ["initial_state"]);
    }
    h.get("/connectors/x").await.expect_error(404);
}

// ---------------------------------------------------------------------------------------
// RocketMQ-style flat create/update

#[tokio::test]
async fn post_connectors_name_flat_creates_with_201_then_updates_with_200() {
    let h = Harness::new();
    let r = h
        .call("POST", "/connectors/flat", Some(fake_config(3)))
        .await;
    let body = r.expect(201);
    assert_eq!(body["name"], "flat");
    let mut cfg = fake_config(4);
    cfg["extra.key"] = json!("v");
    let body = h
        .call("POST", "/connectors/flat", Some(cfg))
        .await
        .expect(200);
    assert_eq!(body["config"]["fake.total"], "4");
    assert_eq!(body["config"]["extra.key"], "v");
    // Same config again: still 200.
    let mut cfg = fake_config(4);
    cfg["extra.key"] = json!("v");
    h.call("POST", "/connectors/flat", Some(cfg))
        .await
        .expect(200);
    // An invalid update is 400 and leaves the connector as it was.
    let r = h
        .call(
            "POST",
            "/connectors/flat",
            Some(json!({"connector.class": PLUGIN, "fake.total": "-1"})),
        )
        .await;
    r.expect_error(400);
    assert_eq!(r.error_fields(), ["fake.total"]);
    let cfg = h.get("/connectors/flat/config").await.expect(200);
    assert_eq!(cfg["fake.total"], "4");
    // A `name` in the flat body that differs from the path is 400 naming `name`.
    let mut cfg = fake_config(4);
    cfg["name"] = json!("other");
    let r = h.call("POST", "/connectors/flat", Some(cfg)).await;
    r.expect_error(400);
    assert_eq!(r.error_fields(), ["name"]);
    // A bad name in the path is 400 naming `name`.
    let r = h
        .call("POST", "/connectors/bad%20name", Some(fake_config(1)))
        .await;
    r.expect_error(400);
    assert_eq!(r.error_fields(), ["name"]);
}

#[tokio::test]
async fn legacy_dashed_keys_are_accepted_and_shown_dotted() {
    let h = Harness::new();
    let body = h
        .call(
            "POST",
            "/connectors/legacy",
            Some(json!({
                "connector-class": PLUGIN,
                "max-task": "2",
                "connect-topicname": "legacy-topic",
                "fake.total": "2",
            })),
        )
        .await
        .expect(201);
    let want = json!({
        "connector.class": PLUGIN,
        "max.tasks": "2",
        "connect.topicname": "legacy-topic",
        "fake.total": "2",
    });
    assert_eq!(body["config"], want);
    assert_eq!(h.get("/connectors/legacy/config").await.expect(200), want);
    assert_eq!(body["tasks"].as_array().unwrap().len(), 2);
    h.wait_until("2 tasks x 2 records", || h.sink.count() == 4)
        .await;
    let topics: Vec<String> = h
        .sink
        .messages
        .lock()
        .unwrap()
        .iter()
        .map(|m| m.topic.clone())
        .collect();
    assert!(topics.iter().all(|t| t == "legacy-topic"), "{topics:?}");
}

// ---------------------------------------------------------------------------------------
// Reads

#[tokio::test]
async fn get_connectors_lists_names_and_expands_status_and_info() {
    let h = Harness::new();
    assert_eq!(h.get("/connectors").await.expect(200), json!([]));
    h.create("b", fake_config(1)).await;
    h.create("a", fake_config(1)).await;
    assert_eq!(h.get("/connectors").await.expect(200), json!(["a", "b"]));

    let s = h.get("/connectors?expand=status").await.expect(200);
    assert_eq!(s["a"]["status"]["name"], "a");
    assert_eq!(s["a"]["status"]["connector"]["worker_id"], WORKER);
    assert!(s["a"].get("info").is_none());

    let i = h.get("/connectors?expand=info").await.expect(200);
    assert_eq!(i["b"]["info"]["name"], "b");
    assert_eq!(i["b"]["info"]["config"]["fake.password"], HIDDEN);
    assert!(i["b"].get("status").is_none());

    for q in ["expand=status&expand=info", "expand=info,status"] {
        let both = h.get(&format!("/connectors?{q}")).await.expect(200);
        for n in ["a", "b"] {
            assert_eq!(both[n]["status"]["name"], n, "{q}");
            assert_eq!(both[n]["info"]["name"], n, "{q}");
        }
    }
    let r = h.get("/connectors?expand=everything").await;
    r.expect_error(400);
    assert_eq!(r.error_fields(), ["expand"]);
}

#[tokio::test]
async fn get_connector_info_config_status_tasks_and_task_status() {
    let h = Harness::new();
    let mut cfg = fake_config(7);
    cfg["max.tasks"] = json!("2");
    h.create("r", cfg).await;
    h.wait_state("r", "RUNNING").await;

    let info = h.get("/connectors/r").await.expect(200);
    assert_eq!(info["name"], "r");
    assert_eq!(info["type"], "source");
    assert_eq!(
        info["tasks"],
        json!([{"connector": "r", "task": 0}, {"connector": "r", "task": 1}])
    );

    let cfg = h.get("/connectors/r/config").await.expect(200);
    assert_eq!(cfg["max.tasks"], "2");
    assert_eq!(cfg["fake.password"], HIDDEN);

    h.wait_until("both tasks produced", || h.sink.count() == 14)
        .await;
    let status = h
        .wait_status("r", "records_sent", |s| {
            s["tasks"]
                .as_array()
                .is_some_and(|t| t.len() == 2 && t.iter().all(|t| t["records_sent"] == 7))
        })
        .await;
    assert_eq!(status["name"], "r");
    assert_eq!(status["type"], "source");
    assert_eq!(status["connector"]["state"], "RUNNING");
    assert_eq!(status["connector"]["worker_id"], WORKER);
    assert_eq!(status["tasks"][1]["id"], 1);
    assert_eq!(status["tasks"][1]["worker_id"], WORKER);

    let tasks = h.get("/connectors/r/tasks").await.expect(200);
    let tasks = tasks.as_array().unwrap();
    assert_eq!(tasks.len(), 2);
    assert_eq!(tasks[0]["id"], json!({"connector": "r", "task": 0}));
    assert_eq!(tasks[1]["config"]["fake.task.id"], "1");
    assert_eq!(tasks[1]["config"]["fake.password"], HIDDEN);

    let t0 = h.get("/connectors/r/tasks/0/status").await.expect(200);
    assert_eq!(t0["id"], 0);
    assert_eq!(t0["state"], "RUNNING");
    assert_eq!(t0["records_sent"], 7);

    h.get("/connectors/r/tasks/2/status")
        .await
        .expect_error(404);
    h.get("/connectors/r/tasks/4294967295/status")
        .await
        .expect_error(404);
    for bad in ["x", "-1", "1.5", "4294967296", "%20"] {
        let r = h.get(&format!("/connectors/r/tasks/{bad}/status")).await;
        r.expect_error(400);
        assert_eq!(r.error_fields(), ["id"], "{bad}");
    }
    for path in [
        "/connectors/nope",
        "/connectors/nope/config",
        "/connectors/nope/status",
        "/connectors/nope/tasks",
        "/connectors/nope/tasks/0/status",
        "/connectors/nope/offsets",
    ] {
        h.get(path).await.expect_error(404);
    }
}

// ---------------------------------------------------------------------------------------
// Config round-trip and secrets

fn round_trip_config() -> Value {
    json!({
        "connector.class": PLUGIN,
        "fake.total": "3",
        "fake.password": PLANTED,
        "connect.topicname": "rt-topic",
        "max.tasks": "1",
        "value.converter": "json",
        "a.custom.key": "with spaces, commas, = and \"quotes\"",
        "unicode.key.✓": "värde ✓ 値",
        "empty.value": "",
        "db.Password.extra": format!("{PLANTED}-2"),
        "client.secret": format!("{PLANTED}-3"),
        "auth.token": format!("{PLANTED}-4"),
        "placeholder.password": "${env:HOME}",
        "literal.dollar": "$${not-a-placeholder}",
    })
}

fn is_secret_key(k: &str) -> bool {
    let l = k.to_ascii_lowercase();
    k == "fake.password" || l.contains("password") || l.contains("secret") || l.contains("token")
}

fn expected_shown(put: &Value) -> Value {
    let mut out = put.as_object().unwrap().clone();
    for (k, v) in out.iter_mut() {
        if is_secret_key(k) {
            *v = json!(HIDDEN);
        }
    }
    Value::Object(out)
}

#[tokio::test]
async fn put_config_round_trips_exactly_except_secrets_which_show_hidden() {
    let h = Harness::new();
    let put = round_trip_config();
    let r = h
        .call("PUT", "/connectors/rt/config", Some(put.clone()))
        .await;
    let body = r.expect(201);
    let want = expected_shown(&put);
    assert_eq!(body["config"], want);
    assert_eq!(h.get("/connectors/rt/config").await.expect(200), want);

    // What the herder stored is exactly what was PUT (placeholders unresolved).
    let stored = connect_runtime::store::ConfigStore::connectors(&*h.store).unwrap();
    let (_, stored) = stored.into_iter().find(|(n, _)| n == "rt").unwrap();
    let put_map: BTreeMap<String, String> = serde_json::from_value(put.clone()).unwrap();
    assert_eq!(stored.config, put_map);

    // A second PUT with another value replaces it (200) and round-trips too.
    let mut put2 = put.clone();
    put2["a.custom.key"] = json!("changed");
    put2.as_object_mut().unwrap().remove("empty.value");
    let body = h
        .call("PUT", "/connectors/rt/config", Some(put2.clone()))
        .await
        .expect(200);
    assert_eq!(body["config"], expected_shown(&put2));
    assert_eq!(
        h.get("/connectors/rt/config").await.expect(200),
        expected_shown(&put2)
    );
}

#[tokio::test]
async fn secrets_show_hidden_in_every_response_that_carries_a_config() {
    let h = Harness::new();
    let put = round_trip_config();
    h.call("PUT", "/connectors/sec/config", Some(put.clone()))
        .await
        .expect(201);
    h.wait_state("sec", "RUNNING").await;

    let check = |what: &str, cfg: &Value| {
        let obj = cfg
            .as_object()
            .unwrap_or_else(|| panic!("{what}: no config in {cfg}"));
        for (k, v) in obj {
            if is_secret_key(k) {
                assert_eq!(v, HIDDEN, "{what}: {k} shown as {v}");
            }
        }
        assert_eq!(obj["fake.password"], HIDDEN, "{what}");
    };
    check(
        "info",
        &h.get("/connectors/sec").await.expect(200)["config"],
    );
    check("config", &h.get("/connectors/sec/config").await.expect(200));
    let tasks = h.get("/connectors/sec/tasks").await.expect(200);
    check("tasks", &tasks[0]["config"]);
    check(
        "expand=info",
        &h.get("/connectors?expand=info").await.expect(200)["sec"]["info"]["config"],
    );
    check(
        "allocated/connectors",
        &h.get("/allocated/connectors").await.expect(200)["sec"],
    );
    let alloc = h.get("/allocated/tasks").await.expect(200);
    check("allocated/tasks", &alloc[0]["config"]);
    // PATCH answers with the info too.
    let patched = h
        .call(
            "PATCH",
            "/connectors/sec/config",
            Some(json!({"a.custom.key": "p"})),
        )
        .await
        .expect(200);
    check("patch", &patched["config"]);

    // validate: every value of a secret key is hidden.
    let v = h
        .call(
            "PUT",
            &format!("/connector-plugins/{PLUGIN}/config/validate"),
            Some(put),
        )
        .await
        .expect(200);
    for c in v["configs"].as_array().unwrap() {
        let name = c["value"]["name"].as_str().unwrap();
        if is_secret_key(name) {
            assert_eq!(c["value"]["value"], HIDDEN, "validate: {name}");
        }
    }
}

#[tokio::test]
async fn patch_config_merges_keys_and_null_removes_one() {
    let h = Harness::new();
    let mut cfg = fake_config(2);
    cfg["drop.me"] = json!("x");
    cfg["keep.me"] = json!("y");
    h.create("p", cfg).await;
    let body = h
        .call(
            "PATCH",
            "/connectors/p/config",
            Some(json!({"drop.me": null, "fake.total": 3, "new.key": true})),
        )
        .await
        .expect(200);
    let want = json!({
        "connector.class": PLUGIN,
        "fake.total": "3",
        "fake.password": HIDDEN,
        "connect.topicname": "fake-topic",
        "keep.me": "y",
        "new.key": "true",
    });
    assert_eq!(body["config"], want);
    assert_eq!(h.get("/connectors/p/config").await.expect(200), want);
    // The secret itself survived the patch (it is still the planted value in the store).
    let stored = connect_runtime::store::ConfigStore::connectors(&*h.store).unwrap();
    assert_eq!(stored[0].1.config["fake.password"], PLANTED);

    // An invalid patch is 400 naming the key, and changes nothing.
    let r = h
        .call(
            "PATCH",
            "/connectors/p/config",
            Some(json!({"fake.total": "x"})),
        )
        .await;
    r.expect_error(400);
    assert_eq!(r.error_fields(), ["fake.total"]);
    let r = h
        .call("PATCH", "/connectors/p/config", Some(json!({"k": [1]})))
        .await;
    r.expect_error(400);
    assert_eq!(r.error_fields(), ["k"]);
    h.call("PATCH", "/connectors/p/config", Some(json!([1])))
        .await
        .expect_error(400);
    assert_eq!(h.get("/connectors/p/config").await.expect(200), want);
    // Removing a required key is 400 naming it.
    let r = h
        .call(
            "PATCH",
            "/connectors/p/config",
            Some(json!({"fake.total": null})),
        )
        .await;
    r.expect_error(400);
    assert_eq!(r.error_fields(), ["fake.total"]);
    h.call("PATCH", "/connectors/nope/config", Some(json!({"a": "b"})))
        .await
        .expect_error(404);
}

// ---------------------------------------------------------------------------------------
// Lifecycle

#[tokio::test]
async fn pause_resume_stop_and_resume_from_stopped() {
    let h = Harness::new();
    h.create("l", fake_config(0)).await;
    h.wait_state("l", "RUNNING").await;

    h.call("PUT", "/connectors/l/pause", None).await.expect(202);
    h.wait_state("l", "PAUSED").await;
    // Pausing twice is fine.
    h.call("PUT", "/connectors/l/pause", None).await.expect(202);

    h.call("PUT", "/connectors/l/resume", None)
        .await
        .expect(202);
    h.wait_state("l", "RUNNING").await;

    h.call("PUT", "/connectors/l/stop", None).await.expect(202);
    let s = h.wait_state("l", "STOPPED").await;
    assert_eq!(s["tasks"], json!([]), "no task runs while STOPPED");
    // Still listed and readable.
    assert_eq!(h.get("/connectors").await.expect(200), json!(["l"]));
    h.get("/connectors/l/config").await.expect(200);

    h.call("PUT", "/connectors/l/resume", None)
        .await
        .expect(202);
    h.wait_state("l", "RUNNING").await;

    // Stop then pause: paused with tasks started paused.
    h.call("PUT", "/connectors/l/stop", None).await.expect(202);
    h.wait_state("l", "STOPPED").await;
    h.call("PUT", "/connectors/l/pause", None).await.expect(202);
    h.wait_state("l", "PAUSED").await;

    for verb in ["pause", "resume", "stop"] {
        h.call("PUT", &format!("/connectors/nope/{verb}"), None)
            .await
            .expect_error(404);
    }
}

#[tokio::test]
async fn a_paused_connector_produces_nothing_until_resumed() {
    let h = Harness::new();
    h.call(
        "POST",
        "/connectors",
        Some(json!({"name": "pp", "config": fake_config(40), "initial_state": "PAUSED"})),
    )
    .await
    .expect(201);
    h.wait_state("pp", "PAUSED").await;
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(h.sink.count(), 0);
    h.call("PUT", "/connectors/pp/resume", None)
        .await
        .expect(202);
    h.wait_until("40 records", || h.sink.count() == 40).await;
}

#[tokio::test]
async fn restart_routes_answer_204_or_202_and_validate_their_query() {
    let h = Harness::new();
    h.create("rs", fake_config(1)).await;
    h.wait_state("rs", "RUNNING").await;

    h.call("POST", "/connectors/rs/restart", None)
        .await
        .expect(204);
    h.call(
        "POST",
        "/connectors/rs/restart?includeTasks=false&onlyFailed=false",
        None,
    )
    .await
    .expect(204);
    let body = h
        .call("POST", "/connectors/rs/restart?includeTasks=true", None)
        .await
        .expect(202);
    assert_eq!(body["name"], "rs");
    assert!(body["connector"]["state"].is_string(), "{body}");
    assert!(body["tasks"].is_array(), "{body}");
    let body = h
        .call(
            "POST",
            "/connectors/rs/restart?includeTasks=true&onlyFailed=true",
            None,
        )
        .await
        .expect(202);
    assert_eq!(body["name"], "rs");

    for q in ["onlyFailed=maybe", "includeTasks=1"] {
        let r = h
            .call("POST", &format!("/connectors/rs/restart?{q}"), None)
            .await;
        r.expect_error(400);
        let field = q.split('=').next().unwrap();
        assert_eq!(r.error_fields(), [field], "{q}");
    }

    h.call("POST", "/connectors/rs/tasks/0/restart", None)
        .await
        .expect(204);
    h.wait_state("rs", "RUNNING").await;
    h.call("POST", "/connectors/rs/tasks/1/restart", None)
        .await
        .expect_error(404);
    let r = h.call("POST", "/connectors/rs/tasks/x/restart", None).await;
    r.expect_error(400);
    assert_eq!(r.error_fields(), ["id"]);
    h.call("POST", "/connectors/nope/restart", None)
        .await
        .expect_error(404);
    h.call("POST", "/connectors/nope/restart?includeTasks=true", None)
        .await
        .expect_error(404);
    h.call("POST", "/connectors/nope/tasks/0/restart", None)
        .await
        .expect_error(404);
    // Still running, one task.
    let s = h.wait_state("rs", "RUNNING").await;
    assert_eq!(s["tasks"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_failed_task_shows_failed_with_a_scrubbed_trace_and_restart_only_failed_restarts_it() {
    let h = Harness::new();
    let mut cfg = fake_config(20);
    cfg["fake.crash.at"] = json!("5");
    h.create("cr", cfg).await;
    let s = h
        .wait_status("cr", "task FAILED", |s| s["tasks"][0]["state"] == "FAILED")
        .await;
    let trace = s["tasks"][0]["trace"].as_str().unwrap_or_default();
    assert!(trace.contains("crashed"), "{s}");
    assert!(
        trace.contains(HIDDEN),
        "the echoed secret is shown as [hidden]: {s}"
    );
    let t0 = h.get("/connectors/cr/tasks/0/status").await.expect(200);
    assert_eq!(t0["state"], "FAILED");
    assert_eq!(h.sink.count(), 5, "records before the crash were sent");

    // onlyFailed restarts the failed task (which fails again at the same record).
    let body = h
        .call(
            "POST",
            "/connectors/cr/restart?includeTasks=true&onlyFailed=true",
            None,
        )
        .await
        .expect(202);
    assert_eq!(body["name"], "cr");
    assert_eq!(body["tasks"].as_array().unwrap().len(), 1, "{body}");
    h.wait_status("cr", "task FAILED again", |s| {
        s["tasks"][0]["state"] == "FAILED"
    })
    .await;
    h.call("POST", "/connectors/cr/tasks/0/restart", None)
        .await
        .expect(204);

    // Fixing the config (PATCH removes the crash) runs it to the end from offset 5.
    h.call(
        "PATCH",
        "/connectors/cr/config",
        Some(json!({"fake.crash.at": null})),
    )
    .await
    .expect(200);
    h.wait_state("cr", "RUNNING").await;
    h.wait_until("all 20 records", || h.sink.count() == 20)
        .await;
    let mut keys: Vec<String> = h
        .sink
        .messages
        .lock()
        .unwrap()
        .iter()
        .filter_map(|m| m.key.clone())
        .collect();
    keys.sort();
    keys.dedup();
    assert_eq!(
        keys.len(),
        20,
        "no record lost or repeated across the crash"
    );
}

/// Concurrent creates of one name: exactly one 201, the others 409.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_creates_of_one_name_give_one_201_and_409_for_the_rest() {
    let h = std::sync::Arc::new(Harness::new());
    let mut joins = Vec::new();
    for i in 0..8 {
        let h = h.clone();
        joins.push(tokio::spawn(async move {
            h.call(
                "POST",
                "/connectors",
                Some(json!({"name": "race", "config": fake_config(i)})),
            )
            .await
            .status
            .as_u16()
        }));
    }
    let mut codes = Vec::new();
    for j in joins {
        codes.push(j.await.unwrap());
    }
    codes.sort();
    assert_eq!(codes, [201, 409, 409, 409, 409, 409, 409, 409]);
    assert_eq!(h.herder.connectors().await, ["race"]);
    let s = h.wait_state("race", "RUNNING").await;
    assert_eq!(s["tasks"].as_array().unwrap().len(), 1);
}

// ---------------------------------------------------------------------------------------
// Offsets

#[tokio::test]
async fn offsets_are_read_while_running_and_altered_or_reset_only_while_stopped() {
    let h = Harness::new();
    h.create("o", fake_config(30)).await;
    let want = json!({"offsets": [{"partition": {"task": 0}, "offset": {"next": 30}}]});
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let got = h.get("/connectors/o/offsets").await.expect(200);
        if got == want {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "offsets: {got}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let alter = json!({"offsets": [{"partition": {"task": 0}, "offset": {"next": 5}}]});
    h.call("PATCH", "/connectors/o/offsets", Some(alter.clone()))
        .await
        .expect_error(409);
    h.call("DELETE", "/connectors/o/offsets", None)
        .await
        .expect_error(409);
    h.call("PUT", "/connectors/o/pause", None).await.expect(202);
    h.wait_state("o", "PAUSED").await;
    h.call("PATCH", "/connectors/o/offsets", Some(alter.clone()))
        .await
        .expect_error(409);
    h.call("DELETE", "/connectors/o/offsets", None)
        .await
        .expect_error(409);
    assert_eq!(h.get("/connectors/o/offsets").await.expect(200), want);

    h.call("PUT", "/connectors/o/stop", None).await.expect(202);
    h.wait_state("o", "STOPPED").await;

    let body = h
        .call("PATCH", "/connectors/o/offsets", Some(alter.clone()))
        .await
        .expect(200);
    assert!(body["message"].is_string(), "{body}");
    assert_eq!(h.get("/connectors/o/offsets").await.expect(200), alter);

    // A second partition, then `null` removes the first.
    h.call(
        "PATCH",
        "/connectors/o/offsets",
        Some(json!({"offsets": [
            {"partition": {"task": 7}, "offset": {"next": 1}},
            {"partition": {"task": 0}, "offset": null},
        ]})),
    )
    .await
    .expect(200);
    assert_eq!(
        h.get("/connectors/o/offsets").await.expect(200),
        json!({"offsets": [{"partition": {"task": 7}, "offset": {"next": 1}}]})
    );

    // Bad bodies name the element at fault and change nothing.
    let cases = [
        (
            json!({"offsets": [{"offset": {"next": 1}}]}),
            "offsets[0].partition",
        ),
        (
            json!({"offsets": [{"partition": 5, "offset": {"next": 1}}]}),
            "offsets[0].partition",
        ),
        (
            json!({"offsets": [{"partition": {"task": 1}, "offset": {"next": 1}}, {"partition": {"task": 1}, "offset": "x"}]}),
            "offsets[1].offset",
        ),
        (json!({"offsets": {"partition": {}}}), "offsets"),
        (json!({}), "offsets"),
    ];
    for (body, field) in cases {
        let r = h
            .call("PATCH", "/connectors/o/offsets", Some(body.clone()))
            .await;
        r.expect_error(400);
        assert_eq!(r.error_fields(), [field], "{body}");
    }
    assert_eq!(
        h.get("/connectors/o/offsets").await.expect(200),
        json!({"offsets": [{"partition": {"task": 7}, "offset": {"next": 1}}]})
    );

    let body = h
        .call("DELETE", "/connectors/o/offsets", None)
        .await
        .expect(200);
    assert!(body["message"].is_string(), "{body}");
    assert_eq!(
        h.get("/connectors/o/offsets").await.expect(200),
        json!({"offsets": []})
    );

    // After the reset the task starts from the beginning again.
    h.call("PUT", "/connectors/o/resume", None)
        .await
        .expect(202);
    h.wait_until("30 more records", || h.sink.count() == 60)
        .await;

    h.call("PATCH", "/connectors/nope/offsets", Some(alter))
        .await
        .expect_error(404);
    h.call("DELETE", "/connectors/nope/offsets", None)
        .await
        .expect_error(404);
}

// ---------------------------------------------------------------------------------------
// Delete

#[tokio::test]
async fn delete_answers_204_then_the_connector_is_404_everywhere() {
    let h = Harness::new();
    h.create("d", fake_config(0)).await;
    h.create("other", fake_config(0)).await;
    h.wait_state("d", "RUNNING").await;
    h.call("DELETE", "/connectors/d", None).await.expect(204);
    assert_eq!(h.get("/connectors").await.expect(200), json!(["other"]));
    for (method, path) in [
        ("GET", "/connectors/d"),
        ("GET", "/connectors/d/config"),
        ("GET", "/connectors/d/status"),
        ("GET", "/connectors/d/tasks"),
        ("GET", "/connectors/d/tasks/0/status"),
        ("GET", "/connectors/d/offsets"),
        ("DELETE", "/connectors/d/offsets"),
        ("PUT", "/connectors/d/pause"),
        ("PUT", "/connectors/d/resume"),
        ("PUT", "/connectors/d/stop"),
        ("POST", "/connectors/d/restart"),
        ("POST", "/connectors/d/tasks/0/restart"),
        ("DELETE", "/connectors/d"),
    ] {
        h.call(method, path, None).await.expect_error(404);
    }
    h.call("PATCH", "/connectors/d/config", Some(json!({"a": "b"})))
        .await
        .expect_error(404);
    assert!(h
        .get("/allocated/connectors")
        .await
        .expect(200)
        .get("d")
        .is_none());
    // The store forgot it too.
    let stored = connect_runtime::store::ConfigStore::connectors(&*h.store).unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].0, "other");
    // The name can be reused.
    h.create("d", fake_config(0)).await;
}

// ---------------------------------------------------------------------------------------
// Plugins

#[tokio::test]
async fn plugin_routes_list_describe_and_validate() {
    let h = Harness::new();
    for path in ["/connector-plugins", "/plugin/list"] {
        let list = h.get(path).await.expect(200);
        assert_eq!(list.as_array().unwrap().len(), 1, "{path}");
        assert_eq!(list[0]["class"], PLUGIN, "{path}");
        assert_eq!(list[0]["aliases"], json!([PLUGIN_ALIAS]), "{path}");
        assert_eq!(list[0]["type"], "source");
        assert_eq!(list[0]["version"], "0.0.1-test");
    }
    for p in [PLUGIN, PLUGIN_ALIAS] {
        let def = h
            .get(&format!("/connector-plugins/{p}/config"))
            .await
            .expect(200);
        let names: Vec<&str> = def
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            names,
            ["fake.total", "fake.password", "fake.fail", "fake.rotate.to"]
        );
        assert_eq!(def[1]["type"], "password");
        assert_eq!(def[0]["required"], true);
    }
    h.get("/connector-plugins/nope/config")
        .await
        .expect_error(404);

    let url = format!("/connector-plugins/{PLUGIN}/config/validate");
    let good = h.call("PUT", &url, Some(fake_config(3))).await.expect(200);
    assert_eq!(good["name"], PLUGIN);
    assert_eq!(good["error_count"], 0, "{good}");
    // connector.class may be left out: the plugin in the path is used.
    let good = h
        .call("PUT", &url, Some(json!({"fake.total": "1"})))
        .await
        .expect(200);
    assert_eq!(good["error_count"], 0, "{good}");

    let bad = h
        .call(
            "PUT",
            &url,
            Some(json!({"fake.total": "x", "fake.fail": "maybe", "fake.password": PLANTED, "max.tasks": "0"})),
        )
        .await
        .expect(200);
    assert_eq!(bad["error_count"], 3, "{bad}");
    let errors_of = |name: &str| -> Vec<Value> {
        bad["configs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["value"]["name"] == name)
            .unwrap_or_else(|| panic!("{name} missing in {bad}"))["value"]["errors"]
            .as_array()
            .unwrap()
            .clone()
    };
    assert_eq!(errors_of("fake.total").len(), 1);
    assert_eq!(errors_of("fake.fail").len(), 1);
    assert_eq!(errors_of("max.tasks").len(), 1);
    assert!(errors_of("fake.password").is_empty());

    // Live validation failure: counted, named, and the echoed secret scrubbed.
    let mut cfg = fake_config(1);
    cfg["fake.fail"] = json!("true");
    let live = h.call("PUT", &url, Some(cfg)).await.expect(200);
    assert_eq!(live["error_count"], 1, "{live}");

    h.call(
        "PUT",
        "/connector-plugins/nope/config/validate",
        Some(fake_config(1)),
    )
    .await
    .expect_error(404);
    h.call("PUT", &url, Some(json!(["not", "an", "object"])))
        .await
        .expect_error(400);
    // Validation creates nothing.
    assert!(h.herder.connectors().await.is_empty());
}

// ---------------------------------------------------------------------------------------
// RocketMQ Connect aliases

#[tokio::test]
async fn rocketmq_read_only_aliases_answer_200() {
    let h = Harness::new();
    h.create("m", fake_config(0)).await;
    h.wait_state("m", "RUNNING").await;
    assert_eq!(h.get("/connectors/list").await.expect(200), json!(["m"]));
    let cluster = h.get("/getClusterInfo").await.expect(200);
    assert_eq!(cluster["mode"], "standalone");
    assert_eq!(cluster["workers"][0]["worker_id"], WORKER);
    assert_eq!(cluster["workers"][0]["connectors"], json!(["m"]));
    let alloc = h.get("/allocated/connectors").await.expect(200);
    assert_eq!(alloc["m"]["connector.class"], PLUGIN);
    let tasks = h.get("/allocated/tasks").await.expect(200);
    assert_eq!(tasks[0]["id"], json!({"connector": "m", "task": 0}));
    assert_eq!(h.get("/plugin/list").await.expect(200)[0]["class"], PLUGIN);
}

#[tokio::test]
async fn rocketmq_state_changing_gets_are_405_naming_the_verb_and_change_nothing() {
    let h = Harness::new();
    h.create("m", fake_config(0)).await;
    h.wait_state("m", "RUNNING").await;
    for (path, verb) in [
        ("/connectors/m/stop", "PUT /connectors/m/stop"),
        ("/connectors/m/pause", "PUT /connectors/m/pause"),
        ("/connectors/m/resume", "PUT /connectors/m/resume"),
        ("/connectors/stop/all", "PUT /connectors/{name}/stop"),
        ("/connectors/pause/all", "PUT /connectors/{name}/pause"),
        ("/connectors/resume/all", "PUT /connectors/{name}/resume"),
        ("/plugin/reload", ""),
        // Unknown connectors too: still 405, not 404, and never a state change.
        ("/connectors/nope/stop", "PUT /connectors/nope/stop"),
    ] {
        let r = h.get(path).await;
        let body = r.expect_error(405);
        let msg = body["message"].as_str().unwrap();
        assert!(msg.contains(verb), "{path}: {msg}");
    }
    // Nothing changed.
    assert_eq!(h.get("/connectors").await.expect(200), json!(["m"]));
    let s = h.wait_state("m", "RUNNING").await;
    assert_eq!(s["tasks"].as_array().unwrap().len(), 1);
    assert_eq!(h.state("m").await, "RUNNING");
}

// ---------------------------------------------------------------------------------------
// Framework-level errors: 404, 405, 413, 415, 400

#[tokio::test]
async fn unknown_routes_are_404_and_wrong_verbs_405_with_the_json_error_body() {
    let h = Harness::new();
    h.create("v", fake_config(0)).await;
    for path in [
        "/nope",
        "/connectors/v/nope",
        "/connectors/v/tasks/0",
        "/connectors/v/tasks/0/status/x",
        "/connector-plugins/x/y",
    ] {
        h.get(path).await.expect_error(404);
    }
    for (method, path) in [
        ("DELETE", "/"),
        ("POST", "/health"),
        ("PUT", "/connectors"),
        ("DELETE", "/connectors"),
        ("PUT", "/connectors/v"),
        ("PATCH", "/connectors/v"),
        ("POST", "/connectors/v/config"),
        ("DELETE", "/connectors/v/config"),
        ("POST", "/connectors/v/status"),
        ("PUT", "/connectors/v/tasks"),
        ("POST", "/connectors/v/pause"),
        ("DELETE", "/connectors/v/resume"),
        ("GET", "/connectors/v/restart"),
        ("PUT", "/connectors/v/restart"),
        ("GET", "/connectors/v/tasks/0/restart"),
        ("POST", "/connectors/v/offsets"),
        ("PUT", "/connectors/v/offsets"),
        ("POST", "/connector-plugins"),
        ("GET", "/connector-plugins/x/config/validate"),
        ("POST", "/connector-plugins/x/config/validate"),
        ("POST", "/getClusterInfo"),
        ("DELETE", "/allocated/tasks"),
        ("PUT", "/connectors/v/stop/all"),
    ] {
        let r = h.call(method, path, None).await;
        assert_ne!(r.status.as_u16(), 200, "{method} {path}");
        r.expect_error(if path == "/connectors/v/stop/all" {
            404
        } else {
            405
        });
    }
    // None of that touched the connector.
    assert_eq!(h.state("v").await, "RUNNING");
}

#[tokio::test]
async fn oversized_bodies_are_413_with_the_json_error_body_and_connection_close() {
    let h = Harness::new();
    let big = format!(
        "{{\"name\":\"big\",\"config\":{{\"connector.class\":\"{PLUGIN}\",\"fake.total\":\"1\",\"pad\":\"{}\"}}}}",
        "x".repeat(1024 * 1024)
    );
    for (method, path) in [
        ("POST", "/connectors"),
        ("POST", "/connectors/big"),
        ("PUT", "/connectors/big/config"),
        ("PATCH", "/connectors/big/config"),
        ("PATCH", "/connectors/big/offsets"),
        ("PUT", "/connector-plugins/fake-source/config/validate"),
    ] {
        let resp = h
            .raw(method, path, Some("application/json"), big.clone())
            .await;
        resp.expect_error(413);
        // The unread body ends the connection: clients are told not to reuse it.
        assert_eq!(
            resp.headers.get("connection").map(|v| v.as_bytes()),
            Some(&b"close"[..]),
            "{method} {path}"
        );
    }
    // Just under the limit is accepted.
    let ok = format!(
        "{{\"name\":\"big\",\"config\":{{\"connector.class\":\"{PLUGIN}\",\"fake.total\":\"1\",\"connect.topicname\":\"t\",\"pad\":\"{}\"}}}}",
        "x".repeat(1024 * 1024 - 200)
    );
    assert!(ok.len() <= 1024 * 1024);
    h.raw("POST", "/connectors", Some("application/json"), ok)
        .await
        .expect(201);
}

#[tokio::test]
async fn writes_without_json_content_type_are_415() {
    let h = Harness::new();
    h.create("ct", fake_config(0)).await;
    let body = serde_json::to_vec(&json!({"name": "x", "config": fake_config(1)})).unwrap();
    for ct in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("application/jsonx"),
    ] {
        for (method, path) in [
            ("POST", "/connectors"),
            ("POST", "/connectors/x"),
            ("PUT", "/connectors/ct/config"),
            ("PATCH", "/connectors/ct/config"),
            ("PATCH", "/connectors/ct/offsets"),
            ("PUT", "/connector-plugins/fake-source/config/validate"),
        ] {
            h.raw(method, path, ct, body.clone())
                .await
                .expect_error(415);
        }
    }
    // Parameters and case are fine.
    for ct in ["application/json; charset=utf-8", "Application/JSON"] {
        h.raw(
            "PUT",
            "/connector-plugins/fake-source/config/validate",
            Some(ct),
            serde_json::to_vec(&fake_config(1)).unwrap(),
        )
        .await
        .expect(200);
    }
    assert_eq!(h.get("/connectors").await.expect(200), json!(["ct"]));
}

#[tokio::test]
async fn malformed_or_empty_json_is_400_with_the_json_error_body() {
    let h = Harness::new();
    h.create("mj", fake_config(0)).await;
    for body in [
        "",
        "{",
        "{\"name\": ",
        "nul",
        "{\"name\":\"x\",\"config\":{}}}",
        "\u{feff}{}",
        "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]",
    ] {
        for (method, path) in [
            ("POST", "/connectors"),
            ("POST", "/connectors/x"),
            ("PUT", "/connectors/mj/config"),
            ("PATCH", "/connectors/mj/config"),
            ("PATCH", "/connectors/mj/offsets"),
            ("PUT", "/connector-plugins/fake-source/config/validate"),
        ] {
            h.raw(method, path, Some("application/json"), body)
                .await
                .expect_error(400);
        }
    }
    // Invalid UTF-8.
    h.raw(
        "POST",
        "/connectors",
        Some("application/json"),
        vec![b'{', 0xff, b'}'],
    )
    .await
    .expect_error(400);
    assert_eq!(h.get("/connectors").await.expect(200), json!(["mj"]));
}

/// Every name `POST /connectors` accepts must be reachable through the per-connector
/// routes; `list` collides with the RocketMQ alias `GET /connectors/list`.
#[tokio::test]
async fn a_connector_named_list_is_refused_or_reachable() {
    let h = Harness::new();
    let r = h
        .call(
            "POST",
            "/connectors",
            Some(json!({"name": "list", "config": fake_config(0)})),
        )
        .await;
    if r.status.as_u16() == 400 {
        assert_eq!(r.error_fields(), ["name"]);
        return;
    }
    r.expect(201);
    assert_eq!(h.get("/connectors/list").await.expect(200)["name"], "list");
    h.call("DELETE", "/connectors/list", None).await.expect(204);
}

// ---------------------------------------------------------------------------------------
// Auth

const TOKEN: &str = "rest-token-0123456789abcdef";

#[tokio::test]
async fn with_a_token_requests_without_or_with_a_wrong_one_are_401() {
    let h = Harness::with_token(TOKEN);
    for auth in [
        None,
        Some("Bearer wrong".to_owned()),
        Some(format!("Bearer {TOKEN}x")),
        Some(format!("Basic {TOKEN}")),
        Some(TOKEN.to_owned()),
        Some("Bearer ".to_owned()),
    ] {
        for (method, path) in [
            ("GET", "/"),
            ("GET", "/connectors"),
            ("POST", "/connectors"),
            ("GET", "/nope"),
            ("GET", "/metrics"),
            ("PUT", "/connectors/x/pause"),
            ("DELETE", "/connectors/x"),
        ] {
            let mut req = axum::http::Request::builder().method(method).uri(path);
            if let Some(a) = &auth {
                req = req.header("authorization", a);
            }
            let r = h.send(req.body(axum::body::Body::empty()).unwrap()).await;
            let body = r.expect_error(401);
            assert!(
                r.headers[WWW_AUTHENTICATE]
                    .to_str()
                    .unwrap()
                    .starts_with("Bearer"),
                "{method} {path}"
            );
            assert!(!body.to_string().contains(TOKEN), "{body}");
        }
    }
    // A request with a body but no token creates nothing.
    let req = axum::http::Request::builder()
        .method("POST")
        .uri("/connectors")
        .header("content-type", "application/json")
        .body(axum::body::Body::from(
            serde_json::to_vec(&json!({"name": "sneaky", "config": fake_config(1)})).unwrap(),
        ))
        .unwrap();
    h.send(req).await.expect_error(401);
    assert!(h.herder.connectors().await.is_empty());
}

#[tokio::test]
async fn with_a_token_the_right_one_passes_and_health_is_always_open() {
    let h = Harness::with_token(TOKEN);
    let auth = format!("Bearer {TOKEN}");
    let req = |method: &str, path: &str, body: Option<Value>| {
        let mut b = axum::http::Request::builder()
            .method(method)
            .uri(path)
            .header("authorization", &auth);
        let body = match body {
            Some(v) => {
                b = b.header("content-type", "application/json");
                axum::body::Body::from(serde_json::to_vec(&v).unwrap())
            }
            None => axum::body::Body::empty(),
        };
        b.body(body).unwrap()
    };
    h.send(req("GET", "/", None)).await.expect(200);
    h.send(req("GET", "/connectors", None)).await.expect(200);
    h.send(req(
        "POST",
        "/connectors",
        Some(json!({"name": "ok", "config": fake_config(1)})),
    ))
    .await
    .expect(201);
    h.send(req("GET", "/connectors/ok/status", None))
        .await
        .expect(200);
    h.send(req("GET", "/nope", None)).await.expect_error(404);

    for a in [None, Some("Bearer wrong"), Some("garbage")] {
        let mut b = axum::http::Request::builder().uri("/health");
        if let Some(a) = a {
            b = b.header("authorization", a);
        }
        h.send(b.body(axum::body::Body::empty()).unwrap())
            .await
            .expect(200);
    }
}

// ---------------------------------------------------------------------------------------
// The planted secret

/// Offline (parse) errors of a connector are scrubbed like live validation errors are:
/// a connector that echoes a secret value in a parse error must not leak it.
#[tokio::test]
async fn a_secret_echoed_in_a_parse_error_is_scrubbed() {
    let h = Harness::new();
    let mut cfg = fake_config(1);
    cfg["fake.password"] = json!(format!("{PLANTED} with spaces"));
    // `Harness::send` fails the test if a body contains the planted value.
    let r = h
        .call(
            "POST",
            "/connectors",
            Some(json!({"name": "pe", "config": cfg.clone()})),
        )
        .await;
    r.expect_error(400);
    assert_eq!(r.error_fields(), ["fake.password"]);
    h.call("POST", "/connectors/pe", Some(cfg.clone()))
        .await
        .expect_error(400);
    let v = h
        .call(
            "PUT",
            &format!("/connector-plugins/{PLUGIN}/config/validate"),
            Some(cfg),
        )
        .await
        .expect(200);
    assert_eq!(v["error_count"], 1);
}

/// Drives every route that can carry a config, status, error or validation result with
/// the planted secret in several kinds of secret keys, including error paths and a
/// connector that echoes the secret in its own validation message; no body contains it.
#[tokio::test]
async fn a_planted_secret_never_appears_in_any_response_body() {
    let h = Harness::new();
    let mut cfg = round_trip_config();
    cfg["max.tasks"] = json!("2");
    h.call(
        "POST",
        "/connectors",
        Some(json!({"name": "s", "config": cfg.clone()})),
    )
    .await
    .expect(201);
    h.wait_state("s", "RUNNING").await;
    h.call(
        "POST",
        "/connectors",
        Some(json!({"name": "s", "config": cfg.clone()})),
    )
    .await
    .expect_error(409);
    let mut failing = cfg.clone();
    failing["fake.fail"] = json!("true");
    h.call(
        "POST",
        "/connectors",
        Some(json!({"name": "s2", "config": failing.clone()})),
    )
    .await
    .expect_error(400);
    h.call("PUT", "/connectors/s/config", Some(failing.clone()))
        .await
        .expect_error(400);
    h.call(
        "PATCH",
        "/connectors/s/config",
        Some(json!({"fake.fail": "true"})),
    )
    .await
    .expect_error(400);
    let mut bad = cfg.clone();
    bad["fake.total"] = json!("NaN");
    h.call("PUT", "/connectors/s/config", Some(bad.clone()))
        .await
        .expect_error(400);
    let url = format!("/connector-plugins/{PLUGIN}/config/validate");
    h.call("PUT", &url, Some(failing)).await.expect(200);
    h.call("PUT", &url, Some(bad)).await.expect(200);
    h.call("PUT", &url, Some(cfg.clone())).await.expect(200);
    for path in [
        "/connectors",
        "/connectors?expand=status&expand=info",
        "/connectors/s",
        "/connectors/s/config",
        "/connectors/s/status",
        "/connectors/s/tasks",
        "/connectors/s/tasks/0/status",
        "/connectors/s/tasks/1/status",
        "/connectors/s/offsets",
        "/connectors/list",
        "/getClusterInfo",
        "/allocated/connectors",
        "/allocated/tasks",
        "/connector-plugins",
        "/connector-plugins/fake-source/config",
    ] {
        h.get(path).await.expect(200);
    }
    h.call("POST", "/connectors/s/restart?includeTasks=true", None)
        .await
        .expect(202);
    h.call("PUT", "/connectors/s/stop", None).await.expect(202);
    h.call("PUT", "/connectors/s/resume", None)
        .await
        .expect(202);
    h.wait_state("s", "RUNNING").await;

    // Every body of this test binary so far (all tests run in this process).
    let bodies = BODIES.lock().unwrap();
    assert!(bodies.len() > 30);
    for b in bodies.iter() {
        assert!(!b.contains(PLANTED), "leaked: {b}");
        assert!(!b.contains("S3CRET"), "leaked a part: {b}");
    }
}

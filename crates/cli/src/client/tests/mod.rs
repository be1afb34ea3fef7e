//! Each client command against a fake REST API: what it sends (method, path, query,
//! `Authorization`, body), what it prints, and its exit code.

mod fake;

use std::path::PathBuf;

use clap::{CommandFactory, Parser};
use serde_json::{json, Value};

use super::{execute, Output};
use fake::Fake;

const TOKEN: &str = "s3cret-t0ken";

/// Parses `args` with the binary's real parser and runs the client command.
async fn run(args: &[&str]) -> Output {
    let argv = std::iter::once("rmq-connect").chain(args.iter().copied());
    let cli = crate::Cli::try_parse_from(argv).expect("arguments parse");
    let crate::Command::Client(cmd) = cli.command else {
        panic!("{args:?} is not a client command");
    };
    // No system proxy: the fake is on loopback and the tests must not leave the machine.
    execute(cmd, reqwest::Client::builder().no_proxy()).await
}

/// Runs `args` against `fake` with the test token.
async fn run_at(fake: &Fake, args: &[&str]) -> Output {
    let mut all = args.to_vec();
    all.extend(["--url", &fake.url, "--token", TOKEN]);
    run(&all).await
}

fn write_file(dir: &tempfile::TempDir, name: &str, text: &str) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn demo_config() -> Value {
    json!({
        "connector.class": "es-source",
        "connect.topicname": "orders",
        "es.hosts": "http://127.0.0.1:9200",
        "es.index": "orders",
        "es.tracking.field": "updated_at",
        "max.tasks": "1"
    })
}

fn status_body() -> Value {
    json!({
        "name": "orders",
        "connector": {"state": "RUNNING", "worker_id": "w1"},
        "tasks": [
            {"id": 0, "state": "RUNNING", "worker_id": "w1",
             "records_polled": 5000, "records_sent": 4990, "records_in_flight": 10,
             "position": {"{\"index\":\"orders\"}": {"tracking": 17}},
             "trace": "retrying send: broker busy"},
            {"id": 1, "state": "FAILED", "worker_id": "w1",
             "records_polled": 0, "records_sent": 0, "records_in_flight": 0,
             "position": {}, "trace": "index orders-2 does not exist"}
        ],
        "type": "source"
    })
}

fn assert_ok(out: &Output) {
    assert_eq!(
        out.code, 0,
        "stdout: {}\nstderr: {}",
        out.stdout, out.stderr
    );
    assert_eq!(out.stderr, "");
}

#[tokio::test]
async fn list_asks_for_expand_status_and_tables_state_tasks_and_records_sent() {
    let fake = Fake::start(vec![(
        "GET",
        "/connectors",
        200,
        json!({
            "orders": {"status": status_body()},
            "users": {"status": {"name": "users", "connector": {"state": "PAUSED", "worker_id": "w1"},
                                 "tasks": [{"id": 0, "state": "PAUSED", "worker_id": "w1", "records_sent": 3}]}}
        }),
    )])
    .await;
    let out = run_at(&fake, &["list"]).await;
    assert_ok(&out);
    let seen = fake.only();
    assert_eq!(
        (seen.method.as_str(), seen.path.as_str()),
        ("GET", "/connectors")
    );
    assert_eq!(seen.query.as_deref(), Some("expand=status"));
    assert_eq!(
        out.stdout,
        "NAME    STATE    TASKS                SENT\n\
         orders  RUNNING  1 RUNNING, 1 FAILED  4990\n\
         users   PAUSED   1 PAUSED                3\n"
    );
}

#[tokio::test]
async fn list_falls_back_to_one_status_request_per_connector_when_expand_answers_names() {
    let fake = Fake::start(vec![
        ("GET", "/connectors", 200, json!(["orders", "gone"])),
        ("GET", "/connectors/orders/status", 200, status_body()),
        // "gone" was deleted between the two requests: 404, and it is left out.
    ])
    .await;
    let out = run_at(&fake, &["list"]).await;
    assert_ok(&out);
    let paths: Vec<String> = fake.seen().into_iter().map(|s| s.path).collect();
    assert_eq!(
        paths,
        [
            "/connectors",
            "/connectors/orders/status",
            "/connectors/gone/status"
        ]
    );
    assert_eq!(
        out.stdout,
        "NAME    STATE    TASKS                SENT\norders  RUNNING  1 RUNNING, 1 FAILED  4990\n"
    );

    // --json gives scripts the same shape as `?expand=status` would have.
    let out = run_at(&fake, &["list", "--json"]).await;
    assert_ok(&out);
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v, json!({"orders": {"status": status_body()}}));
}

#[tokio::test]
async fn list_json_prints_the_raw_answer() {
    let body = json!({"orders": {"status": status_body()}});
    let fake = Fake::start(vec![("GET", "/connectors", 200, body.clone())]).await;
    let out = run_at(&fake, &["list", "--json"]).await;
    assert_ok(&out);
    assert_eq!(out.stdout, format!("{body}\n"));
}

#[tokio::test]
async fn status_shows_connector_worker_task_table_positions_and_errors() {
    let fake = Fake::start(vec![(
        "GET",
        "/connectors/orders/status",
        200,
        status_body(),
    )])
    .await;
    let out = run_at(&fake, &["status", "orders"]).await;
    assert_ok(&out);
    assert_eq!(fake.only().method, "GET");
    assert_eq!(
        out.stdout,
        "connector  orders\n\
         state      RUNNING\n\
         worker     w1\n\
         \n\
         ID  STATE    WORKER  POLLED  SENT  IN FLIGHT\n\
         \x200  RUNNING  w1        5000  4990         10\n\
         \x201  FAILED   w1           0     0          0\n\
         \n\
         task 0 position  {\"index\":\"orders\"} {\"tracking\":17}\n\
         task 0 last error  retrying send: broker busy\n\
         task 1 error  index orders-2 does not exist\n"
    );
}

#[tokio::test]
async fn status_json_prints_the_raw_answer_unchanged() {
    let fake = Fake::start(vec![(
        "GET",
        "/connectors/orders/status",
        200,
        status_body(),
    )])
    .await;
    let out = run_at(&fake, &["status", "orders", "--json"]).await;
    assert_ok(&out);
    assert_eq!(out.stdout, format!("{}\n", status_body()));
}

#[tokio::test]
async fn names_are_escaped_as_one_path_segment() {
    let fake = Fake::start(vec![]).await;
    let _ = run_at(&fake, &["status", "a b/c"]).await;
    assert_eq!(fake.only().path, "/connectors/a%20b%2Fc/status");
}

#[tokio::test]
async fn dot_names_exit_2_without_sending_anything() {
    let fake = Fake::start(vec![]).await;
    let out = run_at(&fake, &["delete", ".."]).await;
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(fake.seen().is_empty());
}

#[tokio::test]
async fn create_posts_name_from_the_file_name_and_the_flat_config() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_file(&dir, "orders.json", &demo_config().to_string());
    let fake = Fake::start(vec![(
        "POST",
        "/connectors",
        201,
        json!({"name": "orders", "config": demo_config(), "tasks": [], "type": "source"}),
    )])
    .await;
    let out = run_at(&fake, &["create", file.to_str().unwrap()]).await;
    assert_ok(&out);
    assert_eq!(out.stdout, "created connector orders\n");
    let seen = fake.only();
    assert_eq!(seen.method, "POST");
    assert_eq!(seen.content_type.as_deref(), Some("application/json"));
    assert_eq!(
        seen.body,
        Some(json!({"name": "orders", "config": demo_config()}))
    );
}

#[tokio::test]
async fn create_name_option_overrides_the_file_name_and_numbers_are_sent_as_text() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_file(
        &dir,
        "es-demo.json",
        r#"{"connector.class": "es-source", "max.tasks": 2}"#,
    );
    let fake = Fake::start(vec![("POST", "/connectors", 201, json!({}))]).await;
    let out = run_at(
        &fake,
        &["create", file.to_str().unwrap(), "--name", "orders-2"],
    )
    .await;
    assert_ok(&out);
    assert_eq!(
        fake.only().body,
        Some(
            json!({"name": "orders-2", "config": {"connector.class": "es-source", "max.tasks": "2"}})
        )
    );
}

#[tokio::test]
async fn create_of_a_missing_or_malformed_file_exits_2_and_sends_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let fake = Fake::start(vec![]).await;
    let missing = dir.path().join("nope.json");
    let out = run_at(&fake, &["create", missing.to_str().unwrap()]).await;
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.starts_with("error: cannot read connector file"),
        "{}",
        out.stderr
    );

    let bad = write_file(&dir, "bad.json", "{not json");
    let out = run_at(&fake, &["create", bad.to_str().unwrap()]).await;
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("is not valid JSON"), "{}", out.stderr);

    let nested = write_file(&dir, "nested.json", r#"{"name": "x", "config": {}}"#);
    let out = run_at(&fake, &["create", nested.to_str().unwrap()]).await;
    assert_eq!(out.code, 2);
    assert!(fake.seen().is_empty());
}

#[tokio::test]
async fn update_puts_the_flat_config_to_the_config_route() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_file(&dir, "whatever.json", &demo_config().to_string());
    let fake = Fake::start(vec![("PUT", "/connectors/orders/config", 200, json!({}))]).await;
    let out = run_at(&fake, &["update", "orders", file.to_str().unwrap()]).await;
    assert_ok(&out);
    assert_eq!(out.stdout, "updated connector orders\n");
    let seen = fake.only();
    assert_eq!(seen.method, "PUT");
    assert_eq!(seen.body, Some(demo_config()));
}

#[tokio::test]
async fn pause_resume_stop_put_their_routes_and_say_what_happened() {
    let fake = Fake::start(vec![
        ("PUT", "/connectors/orders/pause", 202, Value::Null),
        ("PUT", "/connectors/orders/resume", 202, Value::Null),
        ("PUT", "/connectors/orders/stop", 204, Value::Null),
    ])
    .await;
    for (cmd, said) in [
        ("pause", "paused connector orders\n"),
        ("resume", "resumed connector orders\n"),
        ("stop", "stopped connector orders\n"),
    ] {
        let out = run_at(&fake, &[cmd, "orders"]).await;
        assert_ok(&out);
        assert_eq!(out.stdout, said);
    }
    let sent: Vec<(String, String, Option<Value>)> = fake
        .seen()
        .into_iter()
        .map(|s| (s.method, s.path, s.body))
        .collect();
    assert_eq!(
        sent,
        [
            ("PUT".into(), "/connectors/orders/pause".into(), None),
            ("PUT".into(), "/connectors/orders/resume".into(), None),
            ("PUT".into(), "/connectors/orders/stop".into(), None),
        ]
    );
}

#[tokio::test]
async fn restart_sends_include_tasks_and_only_failed_as_query() {
    let fake = Fake::start(vec![("POST", "/connectors/orders/restart", 202, json!({}))]).await;
    let out = run_at(&fake, &["restart", "orders"]).await;
    assert_ok(&out);
    assert_eq!(out.stdout, "restarting connector orders\n");
    let out = run_at(
        &fake,
        &["restart", "orders", "--include-tasks", "--only-failed"],
    )
    .await;
    assert_ok(&out);
    let queries: Vec<Option<String>> = fake.seen().into_iter().map(|s| s.query).collect();
    assert_eq!(
        queries,
        [
            Some("includeTasks=false&onlyFailed=false".to_owned()),
            Some("includeTasks=true&onlyFailed=true".to_owned()),
        ]
    );
}

#[tokio::test]
async fn restart_task_posts_the_task_restart_route() {
    let fake = Fake::start(vec![(
        "POST",
        "/connectors/orders/tasks/3/restart",
        204,
        Value::Null,
    )])
    .await;
    let out = run_at(&fake, &["restart", "orders", "--task", "3"]).await;
    assert_ok(&out);
    assert_eq!(out.stdout, "restarting task 3 of connector orders\n");
    let seen = fake.only();
    assert_eq!((seen.method.as_str(), seen.query), ("POST", None));
}

#[test]
fn restart_task_cannot_be_combined_with_include_tasks() {
    let parsed = crate::Cli::try_parse_from([
        "rmq-connect",
        "restart",
        "orders",
        "--task",
        "1",
        "--include-tasks",
    ]);
    assert!(parsed.is_err());
}

#[tokio::test]
async fn delete_sends_delete_and_confirms() {
    let fake = Fake::start(vec![("DELETE", "/connectors/orders", 204, Value::Null)]).await;
    let out = run_at(&fake, &["delete", "orders"]).await;
    assert_ok(&out);
    assert_eq!(out.stdout, "deleted connector orders\n");
    assert_eq!(fake.only().method, "DELETE");
}

#[tokio::test]
async fn offsets_shows_a_partition_and_offset_table() {
    let fake = Fake::start(vec![(
        "GET",
        "/connectors/orders/offsets",
        200,
        json!({"offsets": [{"partition": {"index": "orders"}, "offset": {"tracking": 17, "ids": ["a"]}}]}),
    )])
    .await;
    let out = run_at(&fake, &["offsets", "orders"]).await;
    assert_ok(&out);
    assert_eq!(
        out.stdout,
        "PARTITION           OFFSET\n{\"index\":\"orders\"}  {\"ids\":[\"a\"],\"tracking\":17}\n"
    );
    assert_eq!(fake.only().method, "GET");
}

#[tokio::test]
async fn offsets_reset_sends_delete_and_prints_the_servers_message() {
    let fake = Fake::start(vec![(
        "DELETE",
        "/connectors/orders/offsets",
        200,
        json!({"message": "The offsets for this connector have been reset successfully"}),
    )])
    .await;
    let out = run_at(&fake, &["offsets", "orders", "--reset"]).await;
    assert_ok(&out);
    assert_eq!(
        out.stdout,
        "The offsets for this connector have been reset successfully\n"
    );
    assert_eq!(fake.only().method, "DELETE");
}

#[tokio::test]
async fn offsets_reset_of_a_running_connector_shows_the_409_message_and_exits_1() {
    let fake = Fake::start(vec![(
        "DELETE",
        "/connectors/orders/offsets",
        409,
        json!({"error_code": 409, "message": "connector orders must be STOPPED to reset its offsets", "errors": []}),
    )])
    .await;
    let out = run_at(&fake, &["offsets", "orders", "--reset"]).await;
    assert_eq!(out.code, 1);
    assert_eq!(out.stdout, "");
    assert_eq!(
        out.stderr,
        "error: connector orders must be STOPPED to reset its offsets\n"
    );
}

#[tokio::test]
async fn validate_puts_the_flat_config_to_the_plugin_route_and_lists_field_errors_with_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_file(&dir, "orders.json", &demo_config().to_string());
    let fake = Fake::start(vec![(
        "PUT",
        "/connector-plugins/es-source/config/validate",
        200,
        json!({
            "name": "es-source",
            "error_count": 2,
            "configs": [
                {"definition": {"name": "es.index"}, "value": {"name": "es.index", "value": "orders", "errors": ["index orders does not exist"]}},
                {"definition": {"name": "es.hosts"}, "value": {"name": "es.hosts", "value": "x", "errors": []}},
                {"definition": {"name": "es.tracking.field"}, "value": {"name": "es.tracking.field", "value": "updated_at", "errors": ["is not mapped"]}}
            ]
        }),
    )])
    .await;
    let path = file.to_str().unwrap();
    let out = run_at(&fake, &["validate", path]).await;
    assert_eq!(out.code, 1);
    assert_eq!(out.stdout, "");
    assert_eq!(
        out.stderr,
        format!(
            "error: 2 errors in the es-source config {path}\n  \
             es.index: index orders does not exist\n  \
             es.tracking.field: is not mapped\n"
        )
    );
    let seen = fake.only();
    assert_eq!(seen.method, "PUT");
    assert_eq!(seen.body, Some(demo_config()));
}

#[tokio::test]
async fn validate_of_a_valid_config_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_file(&dir, "orders.json", &demo_config().to_string());
    let fake = Fake::start(vec![(
        "PUT",
        "/connector-plugins/es-source/config/validate",
        200,
        json!({"name": "es-source", "error_count": 0, "configs": []}),
    )])
    .await;
    let path = file.to_str().unwrap();
    let out = run_at(&fake, &["validate", path]).await;
    assert_ok(&out);
    assert_eq!(out.stdout, format!("{path} is a valid es-source config\n"));
}

#[tokio::test]
async fn validate_without_connector_class_exits_2_and_sends_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_file(&dir, "x.json", r#"{"es.index": "orders"}"#);
    let fake = Fake::start(vec![]).await;
    let out = run_at(&fake, &["validate", file.to_str().unwrap()]).await;
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.ends_with("connector.class is not set\n"),
        "{}",
        out.stderr
    );
    assert!(fake.seen().is_empty());
}

#[tokio::test]
async fn plugins_prints_a_table_with_protocol_and_origin_and_says_why_a_plugin_failed() {
    let fake = Fake::start(vec![(
        "GET",
        "/connector-plugins",
        200,
        json!([{"class": "es-source", "type": "source", "version": "0.1.0",
                "aliases": ["ElasticsearchSourceConnector"], "description": "Elasticsearch documents",
                "protocol": "compiled-in", "location": null},
               {"class": "faker", "type": "source", "version": "7.2.1", "aliases": [],
                "description": "Fake users", "protocol": "airbyte", "location": "/p/faker"},
               {"class": "broken", "type": "source", "location": "/p/broken",
                "error": "/p/broken/plugin.json: is not valid JSON"}]),
    )])
    .await;
    for args in [&["plugins"][..], &["plugins", "list"][..]] {
        let out = run_at(&fake, args).await;
        assert_ok(&out);
        assert_eq!(
            out.stdout,
            "CLASS      TYPE    VERSION  PROTOCOL     ALIASES                       LOADED FROM    DESCRIPTION\n\
             es-source  source  0.1.0    compiled-in  ElasticsearchSourceConnector  (this binary)  Elasticsearch documents\n\
             faker      source  7.2.1    airbyte                                    /p/faker       Fake users\n\
             \n\
             plugin broken in /p/broken failed to load: /p/broken/plugin.json: is not valid JSON\n"
        );
    }
}

#[tokio::test]
async fn token_is_sent_as_bearer_header_and_never_printed() {
    let fake = Fake::start(vec![(
        "GET",
        "/connectors/orders/status",
        401,
        json!({"error_code": 401, "message": "a valid bearer token is required", "errors": []}),
    )])
    .await;
    let out = run_at(&fake, &["status", "orders"]).await;
    assert_eq!(fake.only().auth, Some(format!("Bearer {TOKEN}")));
    assert_eq!(out.code, 1);
    assert_eq!(out.stderr, "error: a valid bearer token is required\n");
    assert!(!out.stdout.contains(TOKEN) && !out.stderr.contains(TOKEN));
}

#[tokio::test]
async fn without_a_token_no_authorization_is_sent_and_a_401_hints_at_token() {
    let fake = Fake::start(vec![(
        "GET",
        "/connector-plugins",
        401,
        json!({"error_code": 401, "message": "a valid bearer token is required", "errors": []}),
    )])
    .await;
    let out = run(&["plugins", "--url", &fake.url]).await;
    assert_eq!(fake.only().auth, None);
    assert_eq!(out.code, 1);
    assert_eq!(
        out.stderr,
        "error: a valid bearer token is required (pass --token or set RMQ_CONNECT_TOKEN)\n"
    );
}

#[test]
fn token_env_value_is_hidden_from_help() {
    let cmd = crate::Cli::command();
    let list = cmd.find_subcommand("list").expect("list subcommand");
    let token = list
        .get_arguments()
        .find(|a| a.get_id() == "token")
        .expect("--token");
    assert!(token.is_hide_env_values_set());
}

#[tokio::test]
async fn server_400_prints_the_message_and_each_field_error_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_file(&dir, "orders.json", &demo_config().to_string());
    let fake = Fake::start(vec![(
        "POST",
        "/connectors",
        400,
        json!({"error_code": 400, "message": "invalid connector config",
               "errors": [{"field": "es.index", "message": "is required"},
                          {"field": "connect.topicname", "message": "is required"}]}),
    )])
    .await;
    let out = run_at(&fake, &["create", file.to_str().unwrap()]).await;
    assert_eq!(out.code, 1);
    assert_eq!(out.stdout, "");
    assert_eq!(
        out.stderr,
        "error: invalid connector config\n  es.index: is required\n  connect.topicname: is required\n"
    );
}

#[tokio::test]
async fn non_json_error_answer_exits_1_with_the_status_line() {
    let fake = Fake::start(vec![(
        "GET",
        "/connector-plugins",
        502,
        json!("upstream unavailable"),
    )])
    .await;
    let out = run_at(&fake, &["plugins"]).await;
    assert_eq!(out.code, 1);
    assert_eq!(
        out.stderr,
        "error: HTTP 502 Bad Gateway: upstream unavailable\n"
    );
}

#[tokio::test]
async fn nothing_listening_exits_3_naming_the_url() {
    // A port that was just free: bind, note it, release it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let out = run(&["list", "--url", &url, "--token", TOKEN]).await;
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert_eq!(out.stdout, "");
    assert!(
        out.stderr.starts_with(&format!(
            "error: cannot reach rmq-connect at http://127.0.0.1:{port}/: "
        )),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.ends_with("(is the worker running? --url)\n"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains(TOKEN));
}

#[test]
fn standalone_and_tail_still_parse_as_before() {
    let cli = crate::Cli::try_parse_from(["rmq-connect", "standalone", "-c", "w.conf", "a.json"])
        .unwrap();
    assert!(matches!(cli.command, crate::Command::Standalone { .. }));
    let cli =
        crate::Cli::try_parse_from(["rmq-connect", "tail", "--topic", "t", "--print"]).unwrap();
    assert!(matches!(
        cli.command,
        crate::Command::Tail { print: true, .. }
    ));
}

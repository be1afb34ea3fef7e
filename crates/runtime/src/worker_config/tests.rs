//! Unit tests of the worker conf parser.

use super::*;

#[test]
fn conf_reads_rocketmq_connect_keys_and_defaults() {
    let cfg = WorkerConfig::parse(
        "# comment\nworkerId=w1\nstorePathRootDir=/tmp/x\nnamesrvAddr = 10.0.0.1:9876\n",
    )
    .unwrap();
    assert_eq!(cfg.worker_id, "w1");
    assert_eq!(cfg.http_port, DEFAULT_HTTP_PORT);
    assert_eq!(cfg.http_host.to_string(), "127.0.0.1");
    assert_eq!(cfg.namesrv_addr, "10.0.0.1:9876");
    assert_eq!(cfg.producer_group, "rmq-connect-w1");
}

#[test]
fn conf_errors_name_the_key_or_line() {
    let err = WorkerConfig::parse("storePathRootDir=/x\nhttpPort=eighty").unwrap_err();
    assert!(err.contains("httpPort"), "{err}");
    let err = WorkerConfig::parse("workerId=w").unwrap_err();
    assert!(err.contains("storePathRootDir"), "{err}");
    let err = WorkerConfig::parse("storePathRootDir=/x\njunk line").unwrap_err();
    assert!(err.contains("line 2"), "{err}");
}

#[test]
fn cluster_keys_are_read_with_rocketmq_connect_defaults_and_checked_together() {
    let cfg = WorkerConfig::parse("storePathRootDir=/x\n").unwrap();
    assert_eq!(cfg.cluster, ClusterConf::default());
    assert_eq!(cfg.cluster.config_topic, "connector-config-topic");
    assert_eq!(cfg.cluster.snapshot_interval, Duration::from_secs(600));
    let cfg = WorkerConfig::parse(
        "storePathRootDir=/x\nconnectClusterId=c1\noffsetStoreTopic=pos\n\
         sessionTimeoutMs=3000\nheartbeatIntervalMs=750\nsnapshotIntervalMs=5000\n",
    )
    .unwrap();
    assert_eq!(cfg.cluster.cluster_id, "c1");
    assert_eq!(cfg.cluster.position_topic, "pos");
    assert_eq!(cfg.cluster.session_timeout, Duration::from_secs(3));
    assert_eq!(cfg.cluster.snapshot_interval, Duration::from_secs(5));
    for (conf, key) in [
        ("snapshotIntervalMs=500", "snapshotIntervalMs"),
        ("snapshotIntervalMs=86400000", "snapshotIntervalMs"),
        ("sessionTimeoutMs=999", "sessionTimeoutMs"),
        ("heartbeatIntervalMs=5000", "heartbeatIntervalMs"),
        ("heartbeatIntervalMs=2501", "a quarter of sessionTimeoutMs"),
        (
            "configStoreTopic=connector-status-topic",
            "four different topics",
        ),
    ] {
        let err = WorkerConfig::parse(&format!("storePathRootDir=/x\n{conf}\n")).unwrap_err();
        assert!(err.contains(key), "{conf}: {err}");
    }
}

#[test]
fn rest_token_from_the_conf_is_hidden_in_debug() {
    let cfg = WorkerConfig::parse(
        "storePathRootDir=/x\nrest.auth.token=tok-abcdefghijklmnop\nsecretKey=sk-very-secret\n",
    )
    .unwrap();
    assert_eq!(
        cfg.rest_auth_token.as_ref().map(Secret::expose),
        Some("tok-abcdefghijklmnop")
    );
    let shown = format!("{cfg:?}");
    assert!(!shown.contains("tok-abcdefghijklmnop"), "{shown}");
    assert!(!shown.contains("sk-very-secret"), "{shown}");
    assert!(shown.contains("[hidden]"), "{shown}");
    assert!(WorkerConfig::parse("storePathRootDir=/x")
        .unwrap()
        .rest_auth_token
        .is_none());
}

#[test]
fn rest_token_file_is_read_and_trimmed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("token");
    std::fs::write(&path, "  tok-from-a-file-0123\n\n").unwrap();
    let cfg = WorkerConfig::parse(&format!(
        "storePathRootDir=/x\nrest.auth.token.file={}",
        path.display()
    ))
    .unwrap();
    assert_eq!(
        cfg.rest_auth_token.as_ref().map(Secret::expose),
        Some("tok-from-a-file-0123")
    );
}

#[test]
fn rest_token_errors_name_the_key_and_path_but_not_the_token() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing");
    let err = WorkerConfig::parse(&format!(
        "storePathRootDir=/x\nrest.auth.token.file={}",
        missing.display()
    ))
    .unwrap_err();
    assert!(err.contains(REST_AUTH_TOKEN_FILE), "{err}");
    assert!(err.contains(&missing.display().to_string()), "{err}");

    let empty = dir.path().join("empty");
    std::fs::write(&empty, " \n").unwrap();
    let err = WorkerConfig::parse(&format!(
        "storePathRootDir=/x\nrest.auth.token.file={}",
        empty.display()
    ))
    .unwrap_err();
    assert!(
        err.contains("empty") && err.contains(&empty.display().to_string()),
        "{err}"
    );

    let err = WorkerConfig::parse(&format!(
        "storePathRootDir=/x\nrest.auth.token=tok-abcdefghijklmnop\nrest.auth.token.file={}",
        empty.display()
    ))
    .unwrap_err();
    assert!(err.contains("not both"), "{err}");
    assert!(!err.contains("tok-abcdefghijklmnop"), "{err}");

    let err = WorkerConfig::parse("storePathRootDir=/x\nrest.auth.token=").unwrap_err();
    assert!(
        err.contains(REST_AUTH_TOKEN) && err.contains("empty"),
        "{err}"
    );
    let err = WorkerConfig::parse("storePathRootDir=/x\nrest.auth.token=two words").unwrap_err();
    assert!(
        err.contains("printable ASCII") && !err.contains("words"),
        "{err}"
    );
}

#[test]
fn placeholder_policy_keys_are_read() {
    let cfg = WorkerConfig::parse(
        "storePathRootDir=/x\nconfig.providers.file.allowed.dirs=/etc/connect/secrets\nconfig.providers.env.allowed=ES_*\n",
    )
    .unwrap();
    assert_eq!(
        cfg.placeholders.file_allowed_dirs,
        vec![PathBuf::from("/etc/connect/secrets")]
    );
    assert!(cfg.placeholders.env_is_allowed("ES_PASSWORD"));
    assert!(!cfg.placeholders.env_is_allowed("HOME"));
    let default = WorkerConfig::parse("storePathRootDir=/x").unwrap();
    assert!(default.placeholders.file_allowed_dirs.is_empty());
    assert!(default.placeholders.env_is_allowed("HOME"));
    let err =
        WorkerConfig::parse("storePathRootDir=/x\nconfig.providers.file.allowed.dirs=relative/dir")
            .unwrap_err();
    assert!(err.contains("config.providers.file.allowed.dirs"), "{err}");
}

//! Hermetic lifecycle tests: no RocketMQ needed. They check that the client's own
//! runtime can be created, used and dropped from inside tokio runtimes without
//! panicking, and that sends to an unreachable name server fail as retriable errors
//! within the configured timeout.

use std::net::TcpListener;
use std::time::Duration;
use std::time::Instant;

use connect_rocketmq::MqConfig;
use connect_rocketmq::MqError;
use connect_rocketmq::OutMessage;
use connect_rocketmq::Producer;

/// A loopback address on which nothing listens (the port was free a moment ago).
fn dead_namesrv() -> String {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    let addr = l.local_addr().expect("local address");
    drop(l);
    addr.to_string()
}

fn cfg() -> MqConfig {
    MqConfig {
        send_timeout: Duration::from_millis(1500),
        admin_timeout: Duration::from_secs(2),
        ..MqConfig::new(dead_namesrv())
    }
}

#[test]
fn create_and_drop_inside_multi_thread_runtime() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let p = Producer::start(cfg()).await.unwrap();
        let clone = p.clone();
        drop(p);
        // Dropping the last handle inside the runtime must not panic.
        drop(clone);
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_to_unreachable_name_server_is_retriable_and_bounded() {
    let p = Producer::start(cfg()).await.unwrap();
    let started = Instant::now();
    let err = p
        .send_batch(vec![
            OutMessage::new("rt_lifecycle", &b"x"[..]).with_key("k")
        ])
        .await
        .unwrap_err();
    let took = started.elapsed();
    assert!(err.is_retriable(), "{err:?}");
    assert!(took < Duration::from_secs(6), "took {took:?}");
    let err = p
        .send_one(OutMessage::new("rt_lifecycle", &b"x"[..]))
        .await
        .unwrap_err();
    assert!(err.is_retriable(), "{err:?}");
    let err = p.ensure_topic("rt_lifecycle", 4).await.unwrap_err();
    assert!(err.is_retriable(), "{err:?}");
    p.shutdown().await;
}

#[tokio::test]
async fn validation_errors_come_before_any_io_and_shutdown_closes_clones() {
    let p = Producer::start(cfg()).await.unwrap();
    let err = p.send_batch(Vec::<OutMessage>::new()).await.unwrap_err();
    assert!(matches!(err, MqError::EmptyBatch));
    let err = p
        .send_batch(vec![
            OutMessage::new("a", &b"x"[..]),
            OutMessage::new("b", &b"x"[..]),
        ])
        .await
        .unwrap_err();
    assert!(matches!(err, MqError::MixedTopics { .. }), "{err}");
    let err = p.ensure_topic("bad topic", 4).await.unwrap_err();
    assert!(matches!(err, MqError::InvalidTopic { .. }), "{err}");

    let clone = p.clone();
    p.shutdown().await;
    let err = clone
        .send_one(OutMessage::new("a", &b"x"[..]))
        .await
        .unwrap_err();
    assert!(matches!(err, MqError::Closed(_)), "{err}");
    assert!(!err.is_retriable());
    // A second shutdown through another clone is a no-op.
    clone.shutdown().await;
}

#[test]
fn invalid_config_is_rejected_without_a_runtime_being_built() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let err = rt
        .block_on(Producer::start(MqConfig::new("nohostport")))
        .unwrap_err();
    assert!(matches!(err, MqError::Config(_)), "{err}");
}

//! [`LogReader`] against a real Apache RocketMQ (name server from `NAMESRV_ADDR`, default
//! 127.0.0.1:9876): reads at chosen offsets, the offsets of the queue, a parked read woken
//! by an append, and the refusal of a topic with more than one queue. Ignored by default
//! so that `cargo test` stays hermetic; `tests/run` runs them with `--ignored`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;
use std::time::Instant;
use std::time::SystemTime;
use std::time::UNIX_EPOCH;

mod common;

use common::{namesrv, unique};
use connect_rocketmq::LogReader;
use connect_rocketmq::MqConfig;
use connect_rocketmq::MqError;
use connect_rocketmq::OutMessage;
use connect_rocketmq::Producer;
use connect_rocketmq::LOG_LONG_POLL;

fn cfg() -> MqConfig {
    MqConfig::new(namesrv())
}

/// A fresh topic with `queues` queues (and the producer that created it).
async fn topic_with_queues(prefix: &str, queues: u32) -> (Producer, String) {
    let topic = unique(prefix);
    let p = Producer::start(cfg()).await.unwrap();
    p.ensure_topic(&topic, queues).await.unwrap();
    (p, topic)
}

/// Appends `body` to `topic`; returns its offset.
async fn append(p: &Producer, topic: &str, body: &str) -> i64 {
    let ack = p
        .send_one(OutMessage::new(topic, body.as_bytes().to_vec()))
        .await
        .expect("append a record");
    i64::try_from(ack.queue_offset.expect("the broker reports the offset")).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a real RocketMQ: run tests/run"]
async fn reads_from_chosen_offsets_and_a_parked_read_wakes_on_append() {
    let (p, topic) = topic_with_queues("log_reader", 1).await;
    let before_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap())
        .unwrap();
    let mut offsets = Vec::new();
    for i in 0..5 {
        offsets.push(append(&p, &topic, &format!("record-{i}")).await);
    }
    assert_eq!(offsets, vec![0, 1, 2, 3, 4]);

    let r = LogReader::open(&cfg(), "rmq-connect-log-reader-test", &topic)
        .await
        .unwrap();
    assert_eq!(r.topic(), topic);
    assert_eq!(r.min_offset().await.unwrap(), 0);
    assert_eq!(r.end_offset().await.unwrap(), 5);
    // Broker clock and ours may differ a little; a minute earlier is before everything.
    assert_eq!(r.offset_at(before_ms - 60_000).await.unwrap(), 0);

    let batch = r.read(2, false).await.unwrap();
    let bodies: Vec<_> = batch
        .records
        .iter()
        .map(|x| (x.offset, String::from_utf8_lossy(&x.body).into_owned()))
        .collect();
    assert_eq!(
        bodies,
        vec![
            (2, "record-2".to_owned()),
            (3, "record-3".to_owned()),
            (4, "record-4".to_owned())
        ]
    );
    assert_eq!((batch.next, batch.end), (5, 5));
    assert!(batch.records.iter().all(|x| x.store_ms > 0), "{batch:?}");

    // At the end, nothing new: an empty batch, at once without `wait`.
    let batch = r.read(5, false).await.unwrap();
    assert!(batch.records.is_empty(), "{batch:?}");
    assert_eq!(batch.next, 5);

    // Beyond the end: empty, and `next` is moved back into the queue's range.
    let batch = r.read(50, false).await.unwrap();
    assert!(batch.records.is_empty(), "{batch:?}");
    assert!(batch.next <= 5, "{batch:?}");

    // A parked read at the end returns the record appended meanwhile, before its long
    // poll is over.
    let started = Instant::now();
    let (batch, offset) = tokio::join!(r.read(5, true), async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        append(&p, &topic, "late").await
    });
    let batch = batch.unwrap();
    assert_eq!(offset, 5);
    assert_eq!(batch.records.len(), 1, "{batch:?}");
    assert_eq!(&batch.records[0].body[..], b"late");
    assert!(
        started.elapsed() < LOG_LONG_POLL + Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );

    // A parked read with nothing to return ends empty after about the long poll.
    let started = Instant::now();
    let batch = r.read(6, true).await.unwrap();
    assert!(batch.records.is_empty(), "{batch:?}");
    assert!(
        started.elapsed() >= LOG_LONG_POLL - Duration::from_millis(500),
        "{:?}",
        started.elapsed()
    );

    let started = Instant::now();
    r.shutdown().await;
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "{:?}",
        started.elapsed()
    );
    p.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a real RocketMQ: run tests/run"]
async fn a_topic_with_more_than_one_queue_or_none_is_refused() {
    let (p, topic) = topic_with_queues("log_reader_many", 2).await;
    let err = LogReader::open(&cfg(), "rmq-connect-log-reader-test", &topic)
        .await
        .unwrap_err();
    assert!(
        matches!(err, MqError::Config(ref m) if m.contains("has 2 queues")),
        "{err:?}"
    );
    let err = LogReader::open(
        &cfg(),
        "rmq-connect-log-reader-test",
        &unique("log_reader_absent"),
    )
    .await
    .unwrap_err();
    assert!(err.is_retriable(), "{err:?}");
    p.shutdown().await;
}

//! Round trip against a real Apache RocketMQ (name server from `NAMESRV_ADDR`, default
//! 127.0.0.1:9876). Ignored by default so that `cargo test` stays hermetic; run with
//! `cargo test -p connect-rocketmq -- --ignored --nocapture` once the services are up
//! (`distribution/bin/rmq-services start`).

use std::collections::HashMap;
use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use std::time::Instant;

mod common;

use common::{namesrv, unique};
use connect_rocketmq::MqConfig;
use connect_rocketmq::OutMessage;
use connect_rocketmq::Producer;
use connect_rocketmq::PullConsumer;
use connect_rocketmq::SendStatusKind;

const TOTAL: usize = 20_000;
const BATCH: usize = 200;
const BODY_LEN: usize = 1_000;
const CONCURRENCY: usize = 4;
const QUEUES: u32 = 8;
const CONSUME_DEADLINE: Duration = Duration::from_secs(120);

fn key(i: usize) -> String {
    format!("doc-{i:06}")
}

/// A deterministic ~1 KB body that differs per message.
fn body(i: usize) -> Vec<u8> {
    let head = format!("{{\"seq\":{i},\"pad\":\"");
    let mut b = head.into_bytes();
    let fill = b'a' + (i % 26) as u8;
    b.resize(BODY_LEN - 2, fill);
    b.extend_from_slice(b"\"}");
    b
}

fn tag(i: usize) -> &'static str {
    if i.is_multiple_of(2) {
        "TagEven"
    } else {
        "TagOdd"
    }
}

fn message(topic: &str, i: usize) -> OutMessage {
    OutMessage::new(topic, body(i))
        .with_key(key(i))
        .with_tags(tag(i))
        .with_property("seq", i.to_string())
}

/// Sends messages `start..end` in batches of `batch`, `concurrency` batches in flight.
/// Returns the elapsed time.
async fn send_all(
    producer: &Producer,
    topic: &str,
    start: usize,
    end: usize,
    batch: usize,
    concurrency: usize,
) -> Duration {
    let next = Arc::new(AtomicUsize::new(start));
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..concurrency {
        let producer = producer.clone();
        let next = Arc::clone(&next);
        let topic = topic.to_string();
        tasks.spawn(async move {
            loop {
                let first = next.fetch_add(batch, Ordering::Relaxed);
                if first >= end {
                    return;
                }
                let msgs: Vec<_> = (first..(first + batch).min(end))
                    .map(|i| message(&topic, i))
                    .collect();
                let n = msgs.len();
                let outcome = producer.send_batch(msgs).await.expect("send_batch");
                assert_eq!(outcome.status, SendStatusKind::Ok, "{outcome:?}");
                assert_eq!(outcome.msg_ids.len(), n, "{outcome:?}");
            }
        });
    }
    while let Some(r) = tasks.join_next().await {
        r.expect("sender task");
    }
    started.elapsed()
}

fn rate(n: usize, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64().max(1e-9)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs a real RocketMQ: run tests/run"]
async fn roundtrip_20k_messages_in_batches() {
    let topic = unique("rt");
    let cfg = MqConfig {
        producer_group: unique("rt_pg"),
        ..MqConfig::new(namesrv())
    };
    let producer = Producer::start(cfg.clone()).await.unwrap();

    let t = Instant::now();
    producer.ensure_topic(&topic, QUEUES).await.unwrap();
    eprintln!("ensure_topic({topic}, {QUEUES}) took {:?}", t.elapsed());
    // Idempotent: a second call changes nothing and succeeds.
    producer.ensure_topic(&topic, QUEUES).await.unwrap();

    let t = Instant::now();
    let first = producer.send_one(message(&topic, 0)).await.unwrap();
    eprintln!(
        "first send_one to the new topic took {:?}: {first:?}",
        t.elapsed()
    );

    // The probe above is message 0; send the rest in batches (1..TOTAL).
    let elapsed = send_all(&producer, &topic, 1, TOTAL, BATCH, CONCURRENCY).await;
    eprintln!(
        "send_batch: {} msgs of ~{BODY_LEN} B in batches of {BATCH}, {CONCURRENCY} in flight: {elapsed:?} = {:.0} msg/s",
        TOTAL - 1,
        rate(TOTAL - 1, elapsed)
    );

    let consumer = PullConsumer::start(&cfg, &unique("rt_cg"), &topic)
        .await
        .unwrap();
    let mut seen: HashMap<String, usize> = HashMap::with_capacity(TOTAL);
    let started = Instant::now();
    let deadline = started + CONSUME_DEADLINE;
    let mut first_at = None;
    while seen.len() < TOTAL {
        assert!(
            Instant::now() < deadline,
            "only {} of {TOTAL} distinct keys within {CONSUME_DEADLINE:?}",
            seen.len()
        );
        for m in consumer.poll(Duration::from_millis(500)).await.unwrap() {
            first_at.get_or_insert_with(Instant::now);
            assert_eq!(m.topic, topic);
            let k = m.key.clone().expect("every message has a key");
            let i: usize = k.trim_start_matches("doc-").parse().unwrap();
            assert_eq!(m.body, body(i), "body of {k}");
            assert_eq!(m.tags.as_deref(), Some(tag(i)), "tag of {k}");
            assert_eq!(
                m.properties.get("seq").map(String::as_str),
                Some(i.to_string().as_str()),
                "property of {k}: {:?}",
                m.properties
            );
            assert!(m.store_timestamp_ms > 0);
            *seen.entry(k).or_default() += 1;
        }
    }
    let consumed_in = started.elapsed();
    let since_first = first_at.map(|t| t.elapsed()).unwrap_or_default();
    eprintln!(
        "consumer: {TOTAL} msgs in {consumed_in:?} from start ({:.0} msg/s), {since_first:?} after the first message ({:.0} msg/s)",
        rate(TOTAL, consumed_in),
        rate(TOTAL, since_first)
    );
    // Drain a little longer to catch late duplicates.
    let extra = consumer.poll(Duration::from_millis(500)).await.unwrap();
    for m in extra {
        *seen.entry(m.key.unwrap_or_default()).or_default() += 1;
    }
    for i in 0..TOTAL {
        assert_eq!(seen.get(&key(i)).copied(), Some(1), "key {}", key(i));
    }
    assert_eq!(seen.len(), TOTAL);

    let t = Instant::now();
    consumer.shutdown().await;
    eprintln!("consumer shutdown took {:?}", t.elapsed());
    let t = Instant::now();
    producer.shutdown().await;
    eprintln!("producer shutdown took {:?}", t.elapsed());
}

/// Rough `send_batch` throughput for several in-flight levels (prints only).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs a real RocketMQ: run tests/run"]
async fn send_batch_throughput_by_concurrency() {
    let topic = unique("rt_tp");
    let cfg = MqConfig {
        producer_group: unique("rt_pg"),
        ..MqConfig::new(namesrv())
    };
    let producer = Producer::start(cfg).await.unwrap();
    producer.ensure_topic(&topic, QUEUES).await.unwrap();
    // Warm up connections and routes.
    send_all(&producer, &topic, 0, 2_000, BATCH, 2).await;
    for concurrency in [1, 2, 4, 8] {
        let elapsed = send_all(&producer, &topic, 0, TOTAL, BATCH, concurrency).await;
        eprintln!(
            "send_batch x{concurrency} in flight: {TOTAL} msgs in {elapsed:?} = {:.0} msg/s",
            rate(TOTAL, elapsed)
        );
    }
    let t = Instant::now();
    for i in 0..500 {
        producer.send_one(message(&topic, i)).await.unwrap();
    }
    eprintln!(
        "send_one sequential: 500 msgs = {:.0} msg/s",
        rate(500, t.elapsed())
    );
    producer.shutdown().await;
}

/// A first send to a topic nobody created: works when the broker auto-creates topics
/// (`autoCreateTopicEnable=true`); prints how long it takes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a real RocketMQ: run tests/run"]
async fn first_send_to_a_topic_that_was_never_created() {
    let topic = unique("rt_auto");
    let cfg = MqConfig {
        producer_group: unique("rt_pg"),
        ..MqConfig::new(namesrv())
    };
    let producer = Producer::start(cfg).await.unwrap();
    let t = Instant::now();
    let r = producer.send_one(message(&topic, 0)).await;
    eprintln!(
        "first send_one without ensure_topic took {:?}: {r:?}",
        t.elapsed()
    );
    let t = Instant::now();
    let r2 = producer
        .send_batch((1..BATCH).map(|i| message(&topic, i)).collect::<Vec<_>>())
        .await;
    eprintln!(
        "then send_batch took {:?}: {:?}",
        t.elapsed(),
        r2.as_ref().map(|o| o.status)
    );
    r.unwrap();
    r2.unwrap();
    producer.shutdown().await;
}

use connect_rocketmq::*;
use std::time::{Duration, Instant};
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn exp() {
    tracing_subscriber::fmt().with_env_filter("info,connect_rocketmq=debug").init();
    let cfg = MqConfig::default();
    let topic = format!("rt_exp_{}", std::process::id());
    let p = Producer::start(cfg.clone()).await.unwrap();
    p.ensure_topic(&topic, 4).await.unwrap();
    p.send_batch(
        (0..10)
            .map(|i| OutMessage::new(topic.clone(), format!("b{i}")).with_key(format!("k{i}")))
            .collect(),
    )
    .await
    .unwrap();
    let c = PullConsumer::start(&cfg, &format!("cg_exp_{}", std::process::id()), &topic)
        .await
        .unwrap();
    let mut n = 0;
    let t = Instant::now();
    while n < 10 && t.elapsed() < Duration::from_secs(30) {
        n += c.poll(Duration::from_millis(500)).await.unwrap().len();
    }
    eprintln!("got {n} in {:?}", t.elapsed());
    let t = Instant::now();
    eprintln!("=== shutdown");
    c.shutdown().await;
    eprintln!("=== consumer shutdown {:?}", t.elapsed());
    p.shutdown().await;
}

//! `rmq-connect tail`: read a topic from the beginning with a fresh consumer group and
//! print a running count — the quickest way to see documents arriving.

use std::io::Write;
use std::time::{Duration, Instant};

use anyhow::Context;
use connect_rocketmq::{MqConfig, PullConsumer};

/// Reads `topic` until Ctrl-C, `limit` messages, or `idle_exit_secs` without news.
pub async fn run(
    namesrv: &str,
    topic: &str,
    print: bool,
    limit: Option<u64>,
    idle_exit_secs: Option<u64>,
) -> anyhow::Result<()> {
    let cfg = MqConfig::new(namesrv);
    let group = format!(
        "rmq-connect-tail-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or_default()
    );
    let consumer = PullConsumer::start(&cfg, &group, topic)
        .await
        .with_context(|| format!("cannot read topic {topic} from {namesrv}"))?;
    let mut count: u64 = 0;
    let mut last_news = Instant::now();
    let mut last_line = Instant::now();
    // One listener for the whole run: a listener made afresh in each round would miss a
    // Ctrl-C that arrives while a batch is being printed.
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    let result = loop {
        let batch = tokio::select! {
            _ = &mut ctrl_c => break Ok(()),
            b = consumer.poll(Duration::from_millis(500)) => b,
        };
        let batch = match batch {
            Ok(b) => b,
            Err(e) => break Err(anyhow::Error::new(e).context("reading the topic failed")),
        };
        if !batch.is_empty() {
            last_news = Instant::now();
        }
        for m in batch {
            if limit.is_some_and(|l| count >= l) {
                break;
            }
            count += 1;
            if print {
                println!(
                    "{}\t{}",
                    m.key.as_deref().unwrap_or("-"),
                    String::from_utf8_lossy(&m.body)
                );
            }
        }
        if !print && last_line.elapsed() >= Duration::from_secs(1) {
            print!("\r{topic}: {count} messages");
            let _ = std::io::stdout().flush();
            last_line = Instant::now();
        }
        if limit.is_some_and(|l| count >= l) {
            break Ok(());
        }
        if idle_exit_secs.is_some_and(|s| last_news.elapsed() >= Duration::from_secs(s)) {
            break Ok(());
        }
    };
    println!("\r{topic}: {count} messages");
    consumer.shutdown().await;
    result
}

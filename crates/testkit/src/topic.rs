//! Reads a RocketMQ topic back, from its beginning, with a fresh consumer group.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use connect_rocketmq::{MqConfig, PullConsumer, ReceivedMessage};

/// Everything read from a topic so far, by key.
pub struct TopicReader {
    consumer: PullConsumer,
    /// Every message read, in arrival order.
    pub messages: Vec<ReceivedMessage>,
    counts: HashMap<String, usize>,
}

impl TopicReader {
    /// Starts reading `topic` from its first offset.
    pub async fn start(topic: &str) -> anyhow::Result<Self> {
        let cfg = MqConfig::new(crate::namesrv_addr());
        let group = crate::unique_name("it_reader");
        let consumer = PullConsumer::start(&cfg, &group, topic).await?;
        Ok(Self {
            consumer,
            messages: Vec::new(),
            counts: HashMap::new(),
        })
    }

    fn take(&mut self, batch: Vec<ReceivedMessage>) {
        for m in &batch {
            *self
                .counts
                .entry(m.key.clone().unwrap_or_default())
                .or_insert(0) += 1;
        }
        self.messages.extend(batch);
    }

    /// How many distinct keys were read.
    pub fn distinct_keys(&self) -> usize {
        self.counts.len()
    }

    /// Reads until at least `n` distinct keys were read, or fails after `timeout`.
    pub async fn read_distinct(&mut self, n: usize, timeout: Duration) -> anyhow::Result<()> {
        self.read_until(timeout, &format!("{n} distinct keys"), |r| {
            r.distinct_keys() >= n
        })
        .await
    }

    /// Reads until `pred(self)` holds, or fails after `timeout`.
    pub async fn read_until(
        &mut self,
        timeout: Duration,
        what: &str,
        mut pred: impl FnMut(&Self) -> bool,
    ) -> anyhow::Result<()> {
        let deadline = Instant::now() + timeout;
        while !pred(self) {
            if Instant::now() >= deadline {
                anyhow::bail!(
                    "timed out after {timeout:?} waiting for {what}; read {} messages",
                    self.messages.len()
                );
            }
            let batch = self.consumer.poll(Duration::from_millis(500)).await?;
            self.take(batch);
        }
        Ok(())
    }

    /// Keeps reading until nothing new arrived for `quiet`, so late duplicates are seen.
    pub async fn drain(&mut self, quiet: Duration) -> anyhow::Result<()> {
        let mut last_news = Instant::now();
        while last_news.elapsed() < quiet {
            let batch = self.consumer.poll(Duration::from_millis(300)).await?;
            if !batch.is_empty() {
                last_news = Instant::now();
                self.take(batch);
            }
        }
        Ok(())
    }

    /// How often each key was read.
    pub fn key_counts(&self) -> &HashMap<String, usize> {
        &self.counts
    }

    /// Stops the consumer.
    pub async fn shutdown(self) {
        self.consumer.shutdown().await;
    }
}

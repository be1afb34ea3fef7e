//! Reads a RocketMQ topic back, from its beginning, with a fresh consumer group:
//! [`TopicReader`] keeps every message, [`KeyCounter`] only counts them by key.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
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

    /// Like [`TopicReader::drain`], but fails if messages still arrive after `timeout`.
    pub async fn drain_within(&mut self, quiet: Duration, timeout: Duration) -> anyhow::Result<()> {
        let deadline = Instant::now() + timeout;
        let mut last_news = Instant::now();
        while last_news.elapsed() < quiet {
            if Instant::now() >= deadline {
                anyhow::bail!(
                    "messages still arriving after {timeout:?} ({} read)",
                    self.messages.len()
                );
            }
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

/// Reads a topic from its beginning in the background and counts messages by key,
/// keeping no bodies (for streams of hundreds of thousands of messages).
pub struct KeyCounter {
    counts: Arc<Mutex<HashMap<String, u32>>>,
    total: Arc<AtomicU64>,
    last_error: Arc<Mutex<Option<String>>>,
    stop: Arc<AtomicBool>,
    reader: Option<tokio::task::JoinHandle<()>>,
    topic: String,
}

impl KeyCounter {
    /// Starts counting `topic` from its first offset, with a fresh consumer group.
    pub async fn start(topic: &str) -> anyhow::Result<Self> {
        let cfg = MqConfig::new(crate::namesrv_addr());
        let group = crate::unique_name("it_counter");
        let consumer = PullConsumer::start(&cfg, &group, topic).await?;
        let counts = Arc::new(Mutex::new(HashMap::new()));
        let total = Arc::new(AtomicU64::new(0));
        let last_error = Arc::new(Mutex::new(None));
        let stop = Arc::new(AtomicBool::new(false));
        let reader = tokio::spawn({
            let (counts, total, last_error, stop) = (
                counts.clone(),
                total.clone(),
                last_error.clone(),
                stop.clone(),
            );
            async move {
                while !stop.load(Ordering::Relaxed) {
                    match consumer.poll(Duration::from_millis(300)).await {
                        Ok(batch) => {
                            let mut c = lock(&counts);
                            for m in &batch {
                                *c.entry(m.key.clone().unwrap_or_default()).or_insert(0) += 1;
                            }
                            total.fetch_add(batch.len() as u64, Ordering::Relaxed);
                        }
                        Err(e) => *lock(&last_error) = Some(e.to_string()),
                    }
                }
                consumer.shutdown().await;
            }
        });
        Ok(Self {
            counts,
            total,
            last_error,
            stop,
            reader: Some(reader),
            topic: topic.to_owned(),
        })
    }

    /// Messages read so far (duplicates included).
    pub fn total(&self) -> u64 {
        self.total.load(Ordering::Relaxed)
    }

    /// Distinct keys read so far.
    pub fn distinct(&self) -> usize {
        lock(&self.counts).len()
    }

    /// A copy of the counts by key so far.
    pub fn counts(&self) -> HashMap<String, u32> {
        lock(&self.counts).clone()
    }

    /// What was read so far against the keys `expected`.
    pub fn delivery(&self, expected: &HashSet<String>) -> Delivery {
        Delivery::of(expected, &lock(&self.counts))
    }

    /// Waits until every key of `expected` was read at least once, or fails after
    /// `timeout` saying how many are missing (and a few of them).
    pub async fn wait_for(
        &self,
        expected: &HashSet<String>,
        timeout: Duration,
    ) -> anyhow::Result<Delivery> {
        let deadline = Instant::now() + timeout;
        loop {
            let missing = {
                let counts = lock(&self.counts);
                expected.iter().filter(|k| !counts.contains_key(*k)).count()
            };
            if missing == 0 {
                return Ok(self.delivery(expected));
            }
            if Instant::now() >= deadline {
                let d = self.delivery(expected);
                anyhow::bail!(
                    "timed out after {timeout:?} waiting for all {} expected keys in topic {}: \
                     {} missing (e.g. {:?}); {} messages read{}",
                    expected.len(),
                    self.topic,
                    d.missing.len(),
                    d.missing.iter().take(5).collect::<Vec<_>>(),
                    self.total(),
                    self.error_note()
                );
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// Waits until nothing new arrived for `quiet` (so late duplicates are counted), at
    /// most `timeout`.
    pub async fn drain(&self, quiet: Duration, timeout: Duration) -> anyhow::Result<()> {
        let deadline = Instant::now() + timeout;
        let (mut seen, mut since) = (self.total(), Instant::now());
        loop {
            tokio::time::sleep(Duration::from_millis(200)).await;
            let now = self.total();
            if now != seen {
                (seen, since) = (now, Instant::now());
            } else if since.elapsed() >= quiet {
                return Ok(());
            }
            if Instant::now() >= deadline {
                anyhow::bail!(
                    "topic {} still receiving after {timeout:?} ({now} messages read)",
                    self.topic
                );
            }
        }
    }

    fn error_note(&self) -> String {
        lock(&self.last_error)
            .as_ref()
            .map(|e| format!("; last poll error: {e}"))
            .unwrap_or_default()
    }

    /// Stops the background reader and its consumer; returns the final counts.
    pub async fn stop(mut self) -> HashMap<String, u32> {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(r) = self.reader.take() {
            let _ = r.await;
        }
        std::mem::take(&mut *lock(&self.counts))
    }
}

impl Drop for KeyCounter {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Messages read against the keys expected.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Delivery {
    /// Expected keys never read (sorted).
    pub missing: Vec<String>,
    /// Keys read that were not expected (sorted).
    pub unexpected: Vec<String>,
    /// Copies beyond the first, summed over the expected keys.
    pub duplicates: u64,
    /// Expected keys read more than once (sorted).
    pub duplicated_keys: Vec<String>,
}

impl Delivery {
    /// Compares the `counts` by key with the keys `expected`.
    pub fn of(expected: &HashSet<String>, counts: &HashMap<String, u32>) -> Self {
        let mut d = Delivery::default();
        for key in expected {
            match counts.get(key) {
                None | Some(0) => d.missing.push(key.clone()),
                Some(&n) if n > 1 => {
                    d.duplicates += u64::from(n - 1);
                    d.duplicated_keys.push(key.clone());
                }
                Some(_) => {}
            }
        }
        d.unexpected = counts
            .keys()
            .filter(|k| !expected.contains(*k))
            .cloned()
            .collect();
        d.missing.sort();
        d.unexpected.sort();
        d.duplicated_keys.sort();
        d
    }

    /// Duplicates per key prefix up to the last `/` (es-source keys `<index>/<_id>`:
    /// duplicates per index).
    pub fn duplicates_by_prefix(&self, counts: &HashMap<String, u32>) -> BTreeMap<String, u64> {
        let mut out = BTreeMap::new();
        for key in &self.duplicated_keys {
            let prefix = key.rsplit_once('/').map_or(key.as_str(), |(p, _)| p);
            let n = counts.get(key).copied().unwrap_or(1).saturating_sub(1);
            *out.entry(prefix.to_owned()).or_insert(0) += u64::from(n);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delivery_names_missing_unexpected_and_duplicated_keys() {
        let expected: HashSet<String> = ["i1/a", "i1/b", "i2/c", "i2/d"]
            .into_iter()
            .map(String::from)
            .collect();
        let counts: HashMap<String, u32> = [("i1/a", 1), ("i1/b", 3), ("i2/c", 2), ("x/z", 1)]
            .into_iter()
            .map(|(k, n)| (k.to_owned(), n))
            .collect();
        let d = Delivery::of(&expected, &counts);
        assert_eq!(d.missing, ["i2/d"]);
        assert_eq!(d.unexpected, ["x/z"]);
        assert_eq!(d.duplicates, 3);
        assert_eq!(d.duplicated_keys, ["i1/b", "i2/c"]);
        let by_index = d.duplicates_by_prefix(&counts);
        assert_eq!(by_index.get("i1"), Some(&2));
        assert_eq!(by_index.get("i2"), Some(&1));
    }

    #[test]
    fn exact_delivery_has_nothing_to_report() {
        let expected: HashSet<String> = ["a/1".to_owned()].into_iter().collect();
        let counts: HashMap<String, u32> = [("a/1".to_owned(), 1)].into_iter().collect();
        assert_eq!(Delivery::of(&expected, &counts), Delivery::default());
    }
}

//! connect-testkit: helpers for tests against the real services.
//!
//! Services are addressed by `ES_URL` (default `http://127.0.0.1:9200`) and
//! `NAMESRV_ADDR` (default `127.0.0.1:9876`), as started by
//! `distribution/bin/rmq-services`. Names are unique per call so tests never share an
//! index, topic or connector. Waits poll with a deadline instead of sleeping.

pub mod cluster;
pub mod es;
pub mod process;
pub mod services;
pub mod topic;
pub mod worker;

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The Elasticsearch under test.
pub fn es_url() -> String {
    std::env::var("ES_URL").unwrap_or_else(|_| "http://127.0.0.1:9200".to_owned())
}

/// The RocketMQ name server under test.
pub fn namesrv_addr() -> String {
    std::env::var("NAMESRV_ADDR").unwrap_or_else(|_| "127.0.0.1:9876".to_owned())
}

static SEQ: AtomicU64 = AtomicU64::new(0);

/// A name unique to this process and call: `<prefix>_<pid>_<millis>_<n>` (valid as an
/// index, topic and connector name once lower-cased).
pub fn unique_name(prefix: &str) -> String {
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or_default();
    format!(
        "{prefix}_{}_{millis}_{}",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    )
}

/// Polls `check` every 200 ms until it returns `Some`, or fails after `timeout` with
/// `what` and the last observation.
pub async fn eventually<T, F, Fut>(timeout: Duration, what: &str, mut check: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<Option<T>>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        let last = match check().await {
            Ok(Some(v)) => return Ok(v),
            Ok(None) => "not yet".to_owned(),
            Err(e) => format!("{e:#}"),
        };
        if Instant::now() >= deadline {
            anyhow::bail!("timed out after {timeout:?} waiting for {what} (last: {last})");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

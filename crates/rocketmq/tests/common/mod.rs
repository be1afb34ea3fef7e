//! Helpers of the tests against a real Apache RocketMQ (name server from `NAMESRV_ADDR`,
//! default 127.0.0.1:9876).

use std::time::SystemTime;
use std::time::UNIX_EPOCH;

/// The name server under test.
pub fn namesrv() -> String {
    std::env::var("NAMESRV_ADDR").unwrap_or_else(|_| "127.0.0.1:9876".to_string())
}

/// A name unique to this process and moment: `<prefix>_<pid>_<nanos>`.
pub fn unique(prefix: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("{prefix}_{}_{nanos}", std::process::id())
}

//! What the figures were taken on: CPU, memory, kernel, service versions, commit.

use serde_json::{json, Value};

use crate::dataset::Es;

fn first_line_with(path: &str, key: &str) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    text.lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_owned())
}

/// A JSON description of this machine and the services' versions.
pub async fn describe(es: &Es) -> Value {
    let es_version = es
        .call(reqwest::Method::GET, "/_nodes/_local", None)
        .await
        .ok()
        .and_then(|v| {
            v["nodes"]
                .as_object()?
                .values()
                .next()?
                .get("version")?
                .as_str()
                .map(str::to_owned)
        });
    json!({
        "cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        "cpu_model": first_line_with("/proc/cpuinfo", "model name"),
        "memory": first_line_with("/proc/meminfo", "MemTotal"),
        "kernel": std::fs::read_to_string("/proc/sys/kernel/osrelease").ok().map(|s| s.trim().to_owned()),
        "elasticsearch": es_version,
        "rocketmq": std::env::var("RMQ_BENCH_ROCKETMQ_VERSION").ok(),
        "rmq_connect_commit": std::env::var("RMQ_BENCH_COMMIT").ok(),
    })
}

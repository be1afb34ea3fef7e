//! What every stage needs: service addresses and pids, tools, sizes.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{bail, Context};

use crate::dataset::Es;

/// Settings and handles shared by the stages.
pub struct Ctx {
    /// Elasticsearch.
    pub es: Es,
    /// RocketMQ name server address.
    pub namesrv: String,
    /// Documents per run.
    pub docs: u64,
    /// Counted runs per figure.
    pub runs: usize,
    /// Whether a warm-up run precedes the counted runs.
    pub warmup: bool,
    /// es-source's `es.batch.size` (its default), also the page size of A and D.
    pub batch_size: u32,
    /// Messages per send of the RocketMQ produce ceiling and of our producer path.
    pub produce_batch: u32,
    /// elasticdump's page size (`--limit`), tuned.
    pub elasticdump_page: u32,
    /// `bench/peers` (the peer tools' launchers).
    pub peers: PathBuf,
    /// The plugin path holding the Airbyte faker plugin (stage F), when given.
    pub plugins: Option<PathBuf>,
    /// Scratch space (worker stores, logs); deleted at exit.
    pub scratch: tempfile::TempDir,
    /// Pid of Elasticsearch.
    pub es_pid: u32,
    /// Pid of the RocketMQ broker.
    pub broker_pid: u32,
    /// Seconds the tailing writer runs.
    pub tail_seconds: u64,
    /// Documents per second the tailing writer indexes.
    pub tail_rate: u64,
    /// A name unique to this invocation, for topics and indices.
    pub stamp: String,
}

impl Ctx {
    /// A fresh topic name for `what`, unique to this invocation.
    pub fn topic(&self, what: &str, run: usize) -> String {
        format!("rmq_bench_{what}_{}_{run}", self.stamp)
    }

    /// The RocketMQ client config of the benchmark's own producers and consumers.
    pub fn mq(&self) -> connect_rocketmq::MqConfig {
        connect_rocketmq::MqConfig::new(self.namesrv.clone())
    }
}

/// Pids of Elasticsearch and the broker, from `rmq-services status`.
pub fn service_pids(rmq_services: &PathBuf) -> anyhow::Result<(u32, u32)> {
    let out = Command::new(rmq_services)
        .arg("status")
        .output()
        .with_context(|| format!("cannot run {}", rmq_services.display()))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let es = pid_of(&text, "elasticsearch");
    let broker = pid_of(&text, "broker");
    match (es, broker) {
        (Some(e), Some(b)) => Ok((e, b)),
        _ => bail!(
            "Elasticsearch and the RocketMQ broker must be running (run `{} start`); status says:\n{text}",
            rmq_services.display()
        ),
    }
}

/// The pid on the `name  up  pid N ...` line of `rmq-services status`.
fn pid_of(status: &str, name: &str) -> Option<u32> {
    status.lines().find_map(|line| {
        let mut words = line.split_whitespace();
        if words.next()? != name || words.next()? != "up" || words.next()? != "pid" {
            return None;
        }
        words.next()?.parse().ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pids_are_read_from_the_status_lines_of_running_services_only() {
        let status = "elasticsearch  up    pid 4625     127.0.0.1:9200   rss 755 MiB\n\
                      namesrv        up    pid 4400     127.0.0.1:9876\n\
                      broker         down  127.0.0.1:10911\n";
        assert_eq!(pid_of(status, "elasticsearch"), Some(4625));
        assert_eq!(pid_of(status, "namesrv"), Some(4400));
        assert_eq!(pid_of(status, "broker"), None);
        assert_eq!(pid_of(status, "elasticsearch-secure"), None);
    }
}

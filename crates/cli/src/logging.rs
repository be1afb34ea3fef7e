//! Log set-up: `RUST_LOG` filters (default `info`), text or JSON lines on stderr.

use tracing_subscriber::EnvFilter;

/// `info` for rmq-connect; the RocketMQ client's routine chatter only from `warn` up.
const DEFAULT_FILTER: &str = "info,rocketmq_client_rust=warn,rocketmq_transport=warn,\
rocketmq_remoting=warn,rocketmq_runtime=warn,rocketmq_common=warn,rocketmq_rust=warn";

/// Installs the global subscriber.
pub fn init(format: &str) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

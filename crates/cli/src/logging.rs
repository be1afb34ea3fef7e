//! Log set-up: `RUST_LOG` filters (default `info`), text or JSON lines on stderr
//! (coloured only when stderr is a terminal and `NO_COLOR` is unset).

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// `info` for rmq-connect; the RocketMQ client's routine chatter only from `warn` up, and
/// its runtime's shutdown self-report (a JSON tree of its internal tasks, logged when
/// one of them outlives the client's stop) only as an error.
const DEFAULT_FILTER: &str = "info,rocketmq_client_rust=warn,rocketmq_transport=warn,\
rocketmq_remoting=warn,rocketmq_runtime=warn,rocketmq_runtime::shutdown_report=error,\
rocketmq_common=warn,rocketmq_rust=warn";

/// Installs the global subscriber.
pub fn init(format: &str) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        // Colours only on a terminal: a log redirected to a file stays plain text.
        .with_ansi(std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none())
        .with_writer(std::io::stderr);
    if format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

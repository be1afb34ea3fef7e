//! `rmq-connect`: run a standalone worker, read a topic, or manage a worker's connectors
//! over its REST API.

mod client;
mod distributed;
mod logging;
mod standalone;
mod tail;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// rmq-connect: stream data from Elasticsearch (and more) into Apache RocketMQ.
#[derive(Parser)]
#[command(name = "rmq-connect", version, about)]
struct Cli {
    /// Log format: text or json.
    #[arg(long, global = true, default_value = "text", value_parser = ["text", "json"])]
    log_format: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a standalone worker from a worker conf file, creating the connectors given as
    /// JSON files (the file name, without `.json`, is the connector name).
    Standalone {
        /// Worker conf file (properties style: workerId, httpPort, storePathRootDir, namesrvAddr).
        #[arg(short = 'c', long = "config")]
        config: PathBuf,
        /// Connector config files (flat JSON objects).
        connectors: Vec<PathBuf>,
    },
    /// Run a worker of a cluster: workers with the same connectClusterId and namesrvAddr
    /// share connectors and split their tasks (connectors are created over REST).
    Distributed {
        /// Worker conf file (as standalone, plus connectClusterId, the internal topics,
        /// sessionTimeoutMs and heartbeatIntervalMs).
        #[arg(short = 'c', long = "config")]
        config: PathBuf,
    },
    /// Read a RocketMQ topic from its beginning and print a running count of messages
    /// (and, with --print, each message).
    Tail {
        /// The topic.
        #[arg(long)]
        topic: String,
        /// Name server addresses.
        #[arg(long, default_value = "127.0.0.1:9876", env = "NAMESRV_ADDR")]
        namesrv: String,
        /// Print each message's key and body.
        #[arg(long)]
        print: bool,
        /// Stop after this many messages.
        #[arg(long)]
        limit: Option<u64>,
        /// Stop when nothing arrived for this many seconds (default: run until Ctrl-C).
        #[arg(long)]
        idle_exit_secs: Option<u64>,
    },
    #[command(flatten)]
    Client(client::ClientCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    logging::init(&cli.log_format);
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("rmq-connect: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let code = rt.block_on(async {
        let result = match cli.command {
            Command::Standalone { config, connectors } => {
                standalone::run(&config, &connectors).await
            }
            Command::Distributed { config } => distributed::run(&config).await,
            Command::Tail {
                topic,
                namesrv,
                print,
                limit,
                idle_exit_secs,
            } => tail::run(&namesrv, &topic, print, limit, idle_exit_secs).await,
            // Client commands print their own errors and choose their exit codes.
            Command::Client(cmd) => return client::run(cmd).await,
        };
        match result {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("rmq-connect: {e:#}");
                ExitCode::from(2)
            }
        }
    });
    // The RocketMQ client owns threads of its own; do not wait for stragglers.
    rt.shutdown_timeout(std::time::Duration::from_secs(5));
    code
}

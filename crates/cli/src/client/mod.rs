//! Client subcommands of `rmq-connect` over a worker's REST API (list, status, create,
//! ...). Every HTTP call goes through [`http::Api`], so all commands share one error
//! handling: `error: <message>` and field errors on stderr, exit 1 when the server
//! answered with an error, 2 for a usage or local file problem, 3 when the server
//! cannot be reached.
//!
//! Commands write to a buffer rather than to stdout directly, so tests can check
//! exactly what a user would see.

mod config;
mod ctx;
mod error;
mod http;
mod install;
mod lifecycle;
mod offsets;
mod plugins;
mod status;
mod table;
#[cfg(test)]
mod tests;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};

use ctx::Ctx;
use error::CliError;
use http::Api;

/// Where a worker's REST API listens by default.
pub const DEFAULT_URL: &str = "http://127.0.0.1:8081";

/// How to reach the worker and how to print. Deliberately not `Debug`: it holds the token.
#[derive(Args, Clone)]
pub struct Conn {
    /// The worker's REST API.
    #[arg(long, env = "RMQ_CONNECT_URL", default_value = DEFAULT_URL, help_heading = "Connection")]
    pub url: String,
    /// Token for the REST API, sent as `Authorization: Bearer <token>` (never printed).
    #[arg(
        long,
        env = "RMQ_CONNECT_TOKEN",
        hide_env_values = true,
        help_heading = "Connection"
    )]
    pub token: Option<String>,
    /// Print the server's raw JSON answer (for scripts) instead of tables and messages.
    #[arg(long, help_heading = "Connection")]
    pub json: bool,
}

/// The client subcommands, flattened into the binary's own.
#[derive(Subcommand)]
pub enum ClientCommand {
    /// List connectors with their state, task states and records sent.
    List {
        #[command(flatten)]
        conn: Conn,
    },
    /// Show a connector's state, worker and tasks.
    Status {
        /// Connector name.
        name: String,
        #[command(flatten)]
        conn: Conn,
    },
    /// Create a connector from a flat JSON config file.
    Create {
        /// Flat JSON object of config keys (like conf/connectors/es-demo.json).
        file: PathBuf,
        /// Connector name (default: the file name without `.json`).
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        conn: Conn,
    },
    /// Replace a connector's config with a flat JSON config file (creates it if absent).
    Update {
        /// Connector name.
        name: String,
        /// Flat JSON object of config keys.
        file: PathBuf,
        #[command(flatten)]
        conn: Conn,
    },
    /// Pause a connector's tasks (they keep their position).
    Pause {
        /// Connector name.
        name: String,
        #[command(flatten)]
        conn: Conn,
    },
    /// Resume a paused or stopped connector.
    Resume {
        /// Connector name.
        name: String,
        #[command(flatten)]
        conn: Conn,
    },
    /// Stop a connector's tasks, keeping its config (offsets can then be reset).
    Stop {
        /// Connector name.
        name: String,
        #[command(flatten)]
        conn: Conn,
    },
    /// Restart a connector (and its tasks), or one task with --task.
    Restart {
        /// Connector name.
        name: String,
        /// Restart the tasks too.
        #[arg(long, conflicts_with = "task")]
        include_tasks: bool,
        /// Restart only what has failed.
        #[arg(long, conflicts_with = "task")]
        only_failed: bool,
        /// Restart only this task.
        #[arg(long, value_name = "ID")]
        task: Option<u32>,
        #[command(flatten)]
        conn: Conn,
    },
    /// Delete a connector (its committed offsets are kept).
    Delete {
        /// Connector name.
        name: String,
        #[command(flatten)]
        conn: Conn,
    },
    /// Show a connector's committed offsets, or reset them with --reset (only while STOPPED).
    Offsets {
        /// Connector name.
        name: String,
        /// Delete the committed offsets so the connector starts from the beginning.
        #[arg(long)]
        reset: bool,
        #[command(flatten)]
        conn: Conn,
    },
    /// Check a flat JSON config file against its plugin; exit 1 if it has errors.
    Validate {
        /// Flat JSON object of config keys, with `connector.class`.
        file: PathBuf,
        #[command(flatten)]
        conn: Conn,
    },
    /// The connector plugins: list those of a worker (the default), or install one.
    Plugins {
        #[command(subcommand)]
        action: Option<PluginsAction>,
        #[command(flatten)]
        conn: Conn,
    },
}

/// `rmq-connect plugins ...`.
#[derive(Subcommand)]
pub enum PluginsAction {
    /// List a worker's plugins: name, version, protocol, where each was loaded from,
    /// and why a plugin found under `pluginPaths` failed to load.
    List {
        #[command(flatten)]
        conn: Conn,
    },
    /// Install an Airbyte source from PyPI into a plugin path: a virtual environment
    /// with the package in DIR/NAME, checked by running its `spec`, and its
    /// plugin.json. Workers whose pluginPaths include DIR load it when they start.
    InstallPypi {
        /// The package, with an optional exact version: airbyte-source-faker==7.2.1.
        requirement: String,
        /// The plugin path to install into (one of a worker's pluginPaths).
        #[arg(long)]
        dir: PathBuf,
        /// The plugin's name, its connector.class (default: the package name without
        /// `airbyte-source-`).
        #[arg(long)]
        name: Option<String>,
        /// The Python that creates the virtual environment.
        #[arg(long, env = "RMQ_CONNECT_PYTHON", default_value = "python3")]
        python: String,
    },
}

impl ClientCommand {
    fn conn(&self) -> &Conn {
        match self {
            Self::List { conn }
            | Self::Status { conn, .. }
            | Self::Create { conn, .. }
            | Self::Update { conn, .. }
            | Self::Pause { conn, .. }
            | Self::Resume { conn, .. }
            | Self::Stop { conn, .. }
            | Self::Restart { conn, .. }
            | Self::Delete { conn, .. }
            | Self::Offsets { conn, .. }
            | Self::Validate { conn, .. } => conn,
            Self::Plugins {
                action: Some(PluginsAction::List { conn }),
                ..
            } => conn,
            Self::Plugins { conn, .. } => conn,
        }
    }
}

/// What a command printed and how it ended.
pub struct Output {
    /// Text for stdout.
    pub stdout: String,
    /// Text for stderr.
    pub stderr: String,
    /// Process exit code.
    pub code: u8,
}

/// Runs a client command, prints its output and returns its exit code.
pub async fn run(cmd: ClientCommand) -> ExitCode {
    if let ClientCommand::Plugins {
        action:
            Some(PluginsAction::InstallPypi {
                requirement,
                dir,
                name,
                python,
            }),
        ..
    } = cmd
    {
        return install::install_pypi(requirement, dir, name, python).await;
    }
    let out = execute(cmd, reqwest::Client::builder()).await;
    // A closed pipe (`rmq-connect list | head -1`) is not worth a panic.
    let _ = std::io::stdout().lock().write_all(out.stdout.as_bytes());
    let _ = std::io::stderr().lock().write_all(out.stderr.as_bytes());
    ExitCode::from(out.code)
}

/// Runs a client command with an HTTP client from `builder`, capturing its output.
pub async fn execute(cmd: ClientCommand, builder: reqwest::ClientBuilder) -> Output {
    let conn = cmd.conn();
    let mut ctx = match Api::new(&conn.url, conn.token.as_deref(), builder) {
        Ok(api) => Ctx::new(api, conn.json),
        Err(e) => return Output::failed(String::new(), &e),
    };
    let result = dispatch(&cmd, &mut ctx).await;
    match result {
        Ok(()) => Output {
            stdout: ctx.into_out(),
            stderr: String::new(),
            code: 0,
        },
        Err(e) => Output::failed(ctx.into_out(), &e),
    }
}

impl Output {
    fn failed(stdout: String, e: &CliError) -> Self {
        Self {
            stdout,
            stderr: e.render(),
            code: e.exit_code(),
        }
    }
}

async fn dispatch(cmd: &ClientCommand, ctx: &mut Ctx) -> Result<(), CliError> {
    use lifecycle::Action;
    match cmd {
        ClientCommand::List { .. } => status::list(ctx).await,
        ClientCommand::Status { name, .. } => status::status(ctx, name).await,
        ClientCommand::Create { file, name, .. } => {
            config::create(ctx, file, name.as_deref()).await
        }
        ClientCommand::Update { name, file, .. } => config::update(ctx, name, file).await,
        ClientCommand::Pause { name, .. } => lifecycle::act(ctx, name, Action::Pause).await,
        ClientCommand::Resume { name, .. } => lifecycle::act(ctx, name, Action::Resume).await,
        ClientCommand::Stop { name, .. } => lifecycle::act(ctx, name, Action::Stop).await,
        ClientCommand::Restart {
            name,
            include_tasks,
            only_failed,
            task,
            ..
        } => match task {
            Some(id) => lifecycle::restart_task(ctx, name, *id).await,
            None => lifecycle::restart(ctx, name, *include_tasks, *only_failed).await,
        },
        ClientCommand::Delete { name, .. } => lifecycle::delete(ctx, name).await,
        ClientCommand::Offsets { name, reset, .. } => {
            if *reset {
                offsets::reset(ctx, name).await
            } else {
                offsets::show(ctx, name).await
            }
        }
        ClientCommand::Validate { file, .. } => config::validate(ctx, file).await,
        ClientCommand::Plugins {
            action: Some(PluginsAction::InstallPypi { .. }),
            ..
        } => Err(CliError::Usage(
            "plugins install-pypi does not talk to a worker".into(),
        )),
        ClientCommand::Plugins { .. } => plugins::list(ctx).await,
    }
}

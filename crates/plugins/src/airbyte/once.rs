//! The short commands of the protocol, `spec`, `check` and `discover`: start the
//! process, take the one answer it prints, and wait for it to exit, within a time limit.

use std::sync::Arc;
use std::time::Duration;

use crate::airbyte::messages::Message;
use crate::error::PluginError;
use crate::guard::Guard;
use crate::process::{describe_exit, Line, LogFields, PluginCommand, Running};

/// The longest line of a short command's answer (a large catalog, say).
const ANSWER_LINE_MAX: usize = 64 * 1024 * 1024;
/// How long the process may take to exit after SIGTERM.
const GRACE: Duration = Duration::from_secs(5);

/// Runs `args` (for example `["discover", "--config", path]`) and returns the first
/// message of type `want` (`SPEC`, `CONNECTION_STATUS`, `CATALOG`).
pub async fn run_once(
    cmd: &PluginCommand,
    args: &[String],
    want: &str,
    timeout: Duration,
    guard: Option<Arc<Guard>>,
) -> Result<Message, PluginError> {
    let command = args.first().cloned().unwrap_or_default();
    let mut running = cmd
        .spawn(
            args,
            ANSWER_LINE_MAX,
            guard,
            LogFields {
                plugin: cmd.plugin.clone(),
                ..LogFields::default()
            },
        )
        .await?;
    let outcome = tokio::time::timeout(timeout, collect(&mut running, want)).await;
    let protocol = |message: String| PluginError::Protocol {
        plugin: cmd.plugin.clone(),
        command: command.clone(),
        message,
    };
    match outcome {
        Err(_) => {
            running.terminate(GRACE).await;
            Err(PluginError::Timeout {
                plugin: cmd.plugin.clone(),
                command,
                seconds: timeout.as_secs(),
            })
        }
        Ok(Collected { answer, error }) => {
            let status = tokio::time::timeout(GRACE, running.wait()).await;
            let exit = match &status {
                Ok(Ok(s)) if s.success() => None,
                Ok(Ok(s)) => Some(describe_exit(s)),
                Ok(Err(e)) => Some(format!("could not be waited for: {e}")),
                Err(_) => {
                    running.terminate(GRACE).await;
                    Some("did not exit after its answer".into())
                }
            };
            match (answer, error, exit) {
                // An answer counts even when a failed exit follows it (for `check`, a
                // FAILED status says why).
                (Some(m), _, _) => Ok(m),
                (None, Some(error), _) => Err(protocol(format!("failed: {error}"))),
                (None, None, exit) => {
                    let tail = running.stderr_tail();
                    let mut message = format!(
                        "printed no {want} message and {}",
                        exit.unwrap_or_else(|| "exited with code 0".into())
                    );
                    if !tail.is_empty() {
                        message.push_str(&format!("; its last stderr lines:\n{}", tail.join("\n")));
                    }
                    Err(protocol(message))
                }
            }
        }
    }
}

struct Collected {
    answer: Option<Message>,
    error: Option<String>,
}

async fn collect(running: &mut Running, want: &str) -> Collected {
    let mut out = Collected {
        answer: None,
        error: None,
    };
    while let Some(line) = running.next_line().await {
        let text = match line {
            Line::Text(t) => t,
            Line::TooLong { max } => {
                out.error = Some(format!("printed a line longer than {max} bytes"));
                break;
            }
            Line::Unreadable(e) => {
                out.error = Some(format!("printed unreadable output: {e}"));
                break;
            }
        };
        let Ok(message) = serde_json::from_str::<Message>(&text) else {
            tracing::debug!("plugin output: {text}");
            continue;
        };
        if message.ty == want && out.answer.is_none() {
            out.answer = Some(message);
            continue;
        }
        if let Some(log) = &message.log {
            tracing::debug!(level = %log.level, "plugin log: {}", log.message);
        }
        if let Some(e) = message.trace.as_ref().and_then(|t| t.error.as_ref()) {
            out.error.get_or_insert_with(|| e.message.clone());
        }
    }
    out
}

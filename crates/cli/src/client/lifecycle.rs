//! `pause`, `resume`, `stop`, `restart` and `delete`.

use reqwest::Method;

use super::ctx::Ctx;
use super::error::CliError;

/// A target-state change.
#[derive(Debug, Clone, Copy)]
pub enum Action {
    /// `PUT /connectors/{name}/pause`.
    Pause,
    /// `PUT /connectors/{name}/resume`.
    Resume,
    /// `PUT /connectors/{name}/stop`.
    Stop,
}

impl Action {
    fn route(self) -> &'static str {
        match self {
            Self::Pause => "pause",
            Self::Resume => "resume",
            Self::Stop => "stop",
        }
    }

    fn past(self) -> &'static str {
        match self {
            Self::Pause => "paused",
            Self::Resume => "resumed",
            Self::Stop => "stopped",
        }
    }
}

/// Pauses, resumes or stops a connector.
pub async fn act(ctx: &mut Ctx, name: &str, action: Action) -> Result<(), CliError> {
    let answer = ctx
        .api
        .call(
            Method::PUT,
            &["connectors", name, action.route()],
            &[],
            None,
        )
        .await?;
    ctx.done(&answer, &format!("{} connector {name}", action.past()));
    Ok(())
}

/// Restarts a connector, with or without its tasks.
pub async fn restart(
    ctx: &mut Ctx,
    name: &str,
    include_tasks: bool,
    only_failed: bool,
) -> Result<(), CliError> {
    let query = [
        ("includeTasks", bool_text(include_tasks)),
        ("onlyFailed", bool_text(only_failed)),
    ];
    let answer = ctx
        .api
        .call(Method::POST, &["connectors", name, "restart"], &query, None)
        .await?;
    let what = match (include_tasks, only_failed) {
        (false, false) => format!("connector {name}"),
        (true, false) => format!("connector {name} and its tasks"),
        (false, true) => format!("connector {name} if it has failed"),
        (true, true) => format!("the failed parts of connector {name} and its tasks"),
    };
    ctx.done(&answer, &format!("restarting {what}"));
    Ok(())
}

/// Restarts one task.
pub async fn restart_task(ctx: &mut Ctx, name: &str, task: u32) -> Result<(), CliError> {
    let id = task.to_string();
    let answer = ctx
        .api
        .call(
            Method::POST,
            &["connectors", name, "tasks", &id, "restart"],
            &[],
            None,
        )
        .await?;
    ctx.done(
        &answer,
        &format!("restarting task {task} of connector {name}"),
    );
    Ok(())
}

/// Deletes a connector.
pub async fn delete(ctx: &mut Ctx, name: &str) -> Result<(), CliError> {
    let answer = ctx
        .api
        .call(Method::DELETE, &["connectors", name], &[], None)
        .await?;
    ctx.done(&answer, &format!("deleted connector {name}"));
    Ok(())
}

fn bool_text(b: bool) -> &'static str {
    if b {
        "true"
    } else {
        "false"
    }
}

//! `plugins`: the installed connector plugins.

use serde::Deserialize;

use super::ctx::Ctx;
use super::error::CliError;
use super::table::Table;

/// One entry of `GET /connector-plugins`.
#[derive(Deserialize, Default)]
#[serde(default)]
struct Plugin {
    class: String,
    #[serde(rename = "type")]
    kind: String,
    version: String,
    aliases: Vec<String>,
    description: String,
}

/// `GET /connector-plugins` as a table.
pub async fn list(ctx: &mut Ctx) -> Result<(), CliError> {
    let answer = ctx.api.get(&["connector-plugins"], &[]).await?;
    if ctx.json {
        ctx.print_raw(&answer);
        return Ok(());
    }
    let plugins: Vec<Plugin> = answer.parse()?;
    let mut table = Table::new(["CLASS", "TYPE", "VERSION", "ALIASES", "DESCRIPTION"]);
    for p in &plugins {
        table.row([
            p.class.clone(),
            p.kind.clone(),
            p.version.clone(),
            p.aliases.join(", "),
            p.description.clone(),
        ]);
    }
    ctx.print(&table.render());
    Ok(())
}

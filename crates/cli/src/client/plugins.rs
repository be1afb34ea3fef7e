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
    version: Option<String>,
    aliases: Vec<String>,
    description: Option<String>,
    protocol: Option<String>,
    location: Option<String>,
    error: Option<String>,
}

/// `GET /connector-plugins` as a table.
pub async fn list(ctx: &mut Ctx) -> Result<(), CliError> {
    let answer = ctx.api.get(&["connector-plugins"], &[]).await?;
    if ctx.json {
        ctx.print_raw(&answer);
        return Ok(());
    }
    let plugins: Vec<Plugin> = answer.parse()?;
    let mut table = Table::new([
        "CLASS",
        "TYPE",
        "VERSION",
        "PROTOCOL",
        "ALIASES",
        "LOADED FROM",
        "DESCRIPTION",
    ]);
    for p in plugins.iter().filter(|p| p.error.is_none()) {
        table.row([
            p.class.clone(),
            p.kind.clone(),
            p.version.clone().unwrap_or_default(),
            p.protocol.clone().unwrap_or_default(),
            p.aliases.join(", "),
            p.location.clone().unwrap_or_else(|| "(this binary)".into()),
            p.description.clone().unwrap_or_default(),
        ]);
    }
    let mut out = table.render();
    for p in plugins.iter().filter(|p| p.error.is_some()) {
        out.push_str(&format!(
            "\nplugin {} in {} failed to load: {}\n",
            p.class,
            p.location.as_deref().unwrap_or("?"),
            p.error.as_deref().unwrap_or_default()
        ));
    }
    ctx.print(&out);
    Ok(())
}

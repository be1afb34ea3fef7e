//! `offsets NAME` (show) and `offsets NAME --reset`.

use reqwest::Method;
use serde::Deserialize;
use serde_json::Value;

use super::ctx::Ctx;
use super::error::CliError;
use super::table::Table;

/// `{"offsets": [{"partition": {..}, "offset": {..}}]}`.
#[derive(Deserialize)]
struct Offsets {
    offsets: Vec<PartitionOffset>,
}

#[derive(Deserialize)]
struct PartitionOffset {
    #[serde(default)]
    partition: Value,
    #[serde(default)]
    offset: Value,
}

/// `GET /connectors/{name}/offsets` as a PARTITION / OFFSET table of compact JSON.
pub async fn show(ctx: &mut Ctx, name: &str) -> Result<(), CliError> {
    let answer = ctx.api.get(&["connectors", name, "offsets"], &[]).await?;
    if ctx.json {
        ctx.print_raw(&answer);
        return Ok(());
    }
    let offsets: Offsets = answer.parse()?;
    if offsets.offsets.is_empty() {
        ctx.print(&format!("connector {name} has no committed offsets"));
        return Ok(());
    }
    let mut table = Table::new(["PARTITION", "OFFSET"]);
    for o in &offsets.offsets {
        table.row([o.partition.to_string(), o.offset.to_string()]);
    }
    ctx.print(&table.render());
    Ok(())
}

/// `DELETE /connectors/{name}/offsets`; the server refuses (409) unless the connector is
/// STOPPED, and its message says so.
pub async fn reset(ctx: &mut Ctx, name: &str) -> Result<(), CliError> {
    let answer = ctx
        .api
        .call(Method::DELETE, &["connectors", name, "offsets"], &[], None)
        .await?;
    let message = serde_json::from_str::<Value>(&answer.text)
        .ok()
        .and_then(|v| v.get("message").and_then(Value::as_str).map(str::to_owned))
        .unwrap_or_else(|| format!("reset the offsets of connector {name}"));
    ctx.done(&answer, &message);
    Ok(())
}

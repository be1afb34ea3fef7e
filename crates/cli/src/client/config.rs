//! `create`, `update` and `validate`: commands that send a connector config file.
//!
//! Files are read exactly as `rmq-connect standalone` reads them (a flat JSON object;
//! numbers and booleans become their text), so a file behaves the same either way.

use std::path::Path;

use connect_api::{ConfigMap, FieldError};
use reqwest::Method;
use serde::Deserialize;
use serde_json::{json, Value};

use super::ctx::Ctx;
use super::error::CliError;

/// `connector.class` and its legacy dashed spelling, in the order they are looked up.
const CLASS_KEYS: [&str; 2] = ["connector.class", "connector-class"];

/// Reads a flat config file; its name is the file name without `.json`.
fn read(path: &Path) -> Result<(String, ConfigMap), CliError> {
    crate::standalone::read_connector_file(path).map_err(|e| CliError::Usage(format!("{e:#}")))
}

fn to_json(config: &ConfigMap) -> Value {
    Value::Object(
        config
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect(),
    )
}

/// `POST /connectors` with `{"name", "config"}`.
pub async fn create(ctx: &mut Ctx, file: &Path, name: Option<&str>) -> Result<(), CliError> {
    let (file_name, config) = read(file)?;
    let name = name.map_or(file_name, str::to_owned);
    let body = json!({ "name": name, "config": to_json(&config) });
    let answer = ctx
        .api
        .call(Method::POST, &["connectors"], &[], Some(&body))
        .await?;
    ctx.done(&answer, &format!("created connector {name}"));
    Ok(())
}

/// `PUT /connectors/{name}/config` with the flat config.
pub async fn update(ctx: &mut Ctx, name: &str, file: &Path) -> Result<(), CliError> {
    let (_, config) = read(file)?;
    let answer = ctx
        .api
        .call(
            Method::PUT,
            &["connectors", name, "config"],
            &[],
            Some(&to_json(&config)),
        )
        .await?;
    let verb = if answer.status == 201 {
        "created"
    } else {
        "updated"
    };
    ctx.done(&answer, &format!("{verb} connector {name}"));
    Ok(())
}

/// Kafka Connect's validation answer; only the parts the CLI shows.
#[derive(Deserialize, Default)]
#[serde(default)]
struct Validation {
    error_count: u64,
    configs: Vec<ConfigEntry>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ConfigEntry {
    value: ConfigValue,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ConfigValue {
    name: String,
    errors: Vec<String>,
}

/// `PUT /connector-plugins/{class}/config/validate`; field errors make it fail (exit 1).
pub async fn validate(ctx: &mut Ctx, file: &Path) -> Result<(), CliError> {
    let (_, config) = read(file)?;
    let shown = file.display();
    let class = CLASS_KEYS
        .iter()
        .find_map(|k| config.get(*k))
        .filter(|c| !c.trim().is_empty())
        .ok_or_else(|| CliError::Usage(format!("{shown}: connector.class is not set")))?
        .clone();
    let answer = ctx
        .api
        .call(
            Method::PUT,
            &["connector-plugins", &class, "config", "validate"],
            &[],
            Some(&to_json(&config)),
        )
        .await?;
    let result: Validation = answer.parse()?;
    if ctx.json {
        ctx.print_raw(&answer);
    }
    let errors: Vec<FieldError> = result
        .configs
        .iter()
        .flat_map(|c| {
            c.value
                .errors
                .iter()
                .map(|m| FieldError::new(c.value.name.clone(), m.clone()))
        })
        .collect();
    if result.error_count == 0 && errors.is_empty() {
        if !ctx.json {
            ctx.print(&format!("{shown} is a valid {class} config"));
        }
        return Ok(());
    }
    let count = result.error_count.max(errors.len() as u64);
    let plural = if count == 1 { "error" } else { "errors" };
    Err(CliError::Invalid {
        message: format!("{count} {plural} in the {class} config {shown}"),
        errors,
    })
}

//! The Airbyte faker plugin as stage F runs it: its `plugin.json` (installed by
//! `bench/peers/install` with `rmq-connect plugins install-pypi`), its config, the
//! configured catalog rmq-connect builds from its `discover`, and a census of the records
//! one `read` yields per stream.
//!
//! Everything here blocks (child processes, files); call it from `spawn_blocking`.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context};
use serde::Deserialize;
use serde_json::{json, Value};

/// The plugin's name under the plugin path: the `connector.class` of its connectors.
pub const PLUGIN: &str = "faker";
/// The faker's seed: every run yields the same records.
const SEED: u64 = 1;
/// Records per slice (and per state message) of the `users` and `purchases` streams.
const RECORDS_PER_SLICE: u64 = 1000;
/// One process: the ceiling and rmq-connect's child do the same work.
const PARALLELISM: u64 = 1;

/// The parts of `plugin.json` needed to start the plugin's process as the worker does.
#[derive(Debug, Deserialize)]
struct Manifest {
    /// The program and its first arguments.
    command: Vec<String>,
    /// Variables set on top of the inherited environment.
    #[serde(default)]
    env: BTreeMap<String, String>,
    /// The installed package's version.
    #[serde(default)]
    version: Option<String>,
}

/// An installed plugin: how to start its process.
#[derive(Debug, Clone)]
pub struct Plugin {
    /// The plugin directory (its working directory).
    pub dir: PathBuf,
    /// The program: relative to `dir` when it holds a `/`, else looked up on `PATH`.
    program: PathBuf,
    /// The arguments before the protocol's own.
    args: Vec<String>,
    /// The variables `plugin.json` sets.
    env: BTreeMap<String, String>,
    /// The version `plugin.json` declares.
    pub version: Option<String>,
}

impl Plugin {
    /// Reads `<plugin_path>/faker/plugin.json`.
    pub fn load(plugin_path: &Path) -> anyhow::Result<Self> {
        let dir = plugin_path.join(PLUGIN);
        let file = dir.join("plugin.json");
        let text = std::fs::read_to_string(&file).with_context(|| {
            format!(
                "cannot read {} (bench/peers/install installs the faker plugin there)",
                file.display()
            )
        })?;
        Self::parse(dir, &text).with_context(|| format!("{}", file.display()))
    }

    fn parse(dir: PathBuf, text: &str) -> anyhow::Result<Self> {
        let m: Manifest = serde_json::from_str(text).context("not a plugin manifest")?;
        let Some((first, args)) = m.command.split_first() else {
            bail!("\"command\" names no program");
        };
        // As rmq-connect resolves it: a path relative to the plugin, or a bare name.
        let program = if first.contains('/') {
            dir.join(first)
        } else {
            PathBuf::from(first)
        };
        Ok(Self {
            dir,
            program,
            args: args.to_vec(),
            env: m.env,
            version: m.version,
        })
    }

    /// The plugin's process with the protocol arguments `protocol` (for example
    /// `discover --config c.json`): in its directory, with its environment, stdin
    /// closed; stdout and stderr are the caller's to set.
    pub fn command(&self, protocol: &[&OsStr]) -> Command {
        let mut cmd = Command::new(&self.program);
        cmd.args(&self.args)
            .args(protocol)
            .envs(&self.env)
            .current_dir(&self.dir)
            .stdin(Stdio::null());
        cmd
    }
}

/// The plugin's config for `count` users and purchases (the JSON `read` gets).
pub fn plugin_config(count: u64) -> Value {
    json!({
        "count": count,
        "parallelism": PARALLELISM,
        "seed": SEED,
        "records_per_slice": RECORDS_PER_SLICE,
        "always_updated": false,
    })
}

/// The connector config of the same read through rmq-connect: one topic per stream
/// (`<topic_base>-<stream>`) and no second sync within a run.
pub fn connector_config(count: u64, topic_base: &str) -> Value {
    json!({
        "connector.class": PLUGIN,
        "connect.topicname": format!("{topic_base}-${{stream}}"),
        "count": count.to_string(),
        "parallelism": PARALLELISM.to_string(),
        "seed": SEED.to_string(),
        "records_per_slice": RECORDS_PER_SLICE.to_string(),
        "always_updated": "false",
        "sync.interval.ms": "3600000",
    })
}

/// Runs `discover --config <config>` and returns the streams of its catalog.
pub fn discover(plugin: &Plugin, config: &Path) -> anyhow::Result<Vec<Value>> {
    let out = plugin
        .command(&["discover".as_ref(), "--config".as_ref(), config.as_os_str()])
        .output()
        .context("cannot run the plugin's discover")?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        bail!(
            "the plugin's discover failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let catalog = stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|m| m["type"] == "CATALOG")
        .context("the plugin's discover printed no CATALOG message")?;
    catalog["catalog"]["streams"]
        .as_array()
        .cloned()
        .context("the CATALOG message has no streams")
}

/// The configured catalog rmq-connect builds for a connector without stream overrides:
/// every stream, incremental with its default cursor where the stream supports it (and
/// the cursor is known), full refresh else; destination `append`; the source's primary
/// key.
pub fn configured_catalog(streams: &[Value]) -> Value {
    let configured: Vec<Value> = streams
        .iter()
        .map(|s| {
            let cursor = s["default_cursor_field"].as_array().cloned();
            let incremental = s["supported_sync_modes"]
                .as_array()
                .is_some_and(|m| m.iter().any(|m| m == "incremental"))
                && (s["source_defined_cursor"] == true
                    || cursor.as_ref().is_some_and(|c| !c.is_empty()));
            let mut c = json!({
                "stream": s,
                "sync_mode": if incremental { "incremental" } else { "full_refresh" },
                "destination_sync_mode": "append",
            });
            if let (true, Some(cursor)) = (incremental, cursor.filter(|c| !c.is_empty())) {
                c["cursor_field"] = Value::Array(cursor);
            }
            if let Some(pk) = s["source_defined_primary_key"]
                .as_array()
                .filter(|k| !k.is_empty())
            {
                c["primary_key"] = Value::Array(pk.clone());
            }
            c
        })
        .collect();
    json!({ "streams": configured })
}

/// `read --config <config> --catalog <catalog>`.
pub fn read_args<'a>(config: &'a Path, catalog: &'a Path) -> [&'a OsStr; 5] {
    [
        "read".as_ref(),
        "--config".as_ref(),
        config.as_os_str(),
        "--catalog".as_ref(),
        catalog.as_os_str(),
    ]
}

/// The head of a protocol message: enough to count records by stream.
#[derive(Deserialize)]
struct MessageHead<'a> {
    #[serde(rename = "type", borrow)]
    ty: std::borrow::Cow<'a, str>,
    #[serde(default, borrow)]
    record: Option<RecordHead<'a>>,
}

#[derive(Deserialize)]
struct RecordHead<'a> {
    #[serde(borrow)]
    stream: std::borrow::Cow<'a, str>,
}

/// Counts `line` in `counts` when it is a `RECORD` message.
fn count_record(line: &str, counts: &mut BTreeMap<String, u64>) {
    let Ok(head) = serde_json::from_str::<MessageHead>(line) else {
        return;
    };
    if let (true, Some(r)) = (head.ty == "RECORD", head.record) {
        *counts.entry(r.stream.into_owned()).or_default() += 1;
    }
}

/// Runs `read` once and counts its `RECORD` lines per stream (untimed: this tells
/// stage F how many records a run moves, and warms the plugin's files). `pid` receives
/// the process id so that the caller can stop it.
pub fn census(
    plugin: &Plugin,
    config: &Path,
    catalog: &Path,
    pid: &std::sync::atomic::AtomicU32,
) -> anyhow::Result<BTreeMap<String, u64>> {
    let mut child = plugin
        .command(&read_args(config, catalog))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .context("cannot run the plugin's read")?;
    pid.store(child.id(), std::sync::atomic::Ordering::Relaxed);
    let stdout = child.stdout.take().context("no stdout pipe")?;
    let mut counts = BTreeMap::new();
    for line in BufReader::with_capacity(1 << 20, stdout).lines() {
        count_record(&line.context("reading the plugin's output")?, &mut counts);
    }
    let status = child.wait()?;
    if !status.success() {
        bail!("the plugin's read failed ({status})");
    }
    if counts.is_empty() {
        bail!("the plugin's read yielded no record");
    }
    Ok(counts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_manifest_gives_program_args_and_env_relative_to_the_plugin() {
        let p = Plugin::parse(
            PathBuf::from("/p/faker"),
            r#"{"name": "faker", "protocol": "airbyte", "command": ["venv/bin/source-faker", "-x"],
                "version": "7.2.1", "env": {"PYTHONUNBUFFERED": "1"}}"#,
        )
        .unwrap();
        assert_eq!(p.program, Path::new("/p/faker/venv/bin/source-faker"));
        assert_eq!(p.args, ["-x"]);
        assert_eq!(p.env["PYTHONUNBUFFERED"], "1");
        assert_eq!(p.version.as_deref(), Some("7.2.1"));
        let bare = Plugin::parse(PathBuf::from("/p"), r#"{"command": ["python3"]}"#).unwrap();
        assert_eq!(bare.program, Path::new("python3"));
        assert!(Plugin::parse(PathBuf::from("/p"), r#"{"command": []}"#).is_err());
        assert!(Plugin::parse(PathBuf::from("/p"), "not json").is_err());
    }

    #[test]
    fn streams_are_incremental_with_their_default_cursor_where_supported() {
        let streams = vec![
            json!({"name": "users", "json_schema": {}, "supported_sync_modes": ["full_refresh", "incremental"],
                   "source_defined_cursor": true, "default_cursor_field": ["updated_at"],
                   "source_defined_primary_key": [["id"]]}),
            json!({"name": "static", "json_schema": {}, "supported_sync_modes": ["full_refresh"]}),
        ];
        let c = configured_catalog(&streams);
        let s = c["streams"].as_array().unwrap();
        assert_eq!(s[0]["sync_mode"], "incremental");
        assert_eq!(s[0]["cursor_field"], json!(["updated_at"]));
        assert_eq!(s[0]["primary_key"], json!([["id"]]));
        assert_eq!(s[0]["destination_sync_mode"], "append");
        assert_eq!(s[0]["stream"]["name"], "users");
        assert_eq!(s[1]["sync_mode"], "full_refresh");
        assert!(s[1].get("cursor_field").is_none());
        assert!(s[1].get("primary_key").is_none());
    }

    #[test]
    fn only_record_lines_are_counted_by_stream() {
        let mut counts = BTreeMap::new();
        for line in [
            r#"{"type":"RECORD","record":{"stream":"users","data":{"id":1},"emitted_at":1}}"#,
            r#"{"type": "RECORD", "record": {"stream": "users", "data": {"id": 2}}}"#,
            r#"{"type":"RECORD","record":{"stream":"products","data":{}}}"#,
            r#"{"type":"STATE","state":{"type":"STREAM"}}"#,
            r#"{"type":"LOG","log":{"level":"INFO","message":"\"RECORD\""}}"#,
            "not json",
            r#"{"type":"RECORD"}"#,
        ] {
            count_record(line, &mut counts);
        }
        assert_eq!(counts.len(), 2);
        assert_eq!(counts["users"], 2);
        assert_eq!(counts["products"], 1);
    }

    #[test]
    fn the_connector_config_carries_the_same_settings_as_strings() {
        let plugin = plugin_config(200_000);
        let conn = connector_config(200_000, "t");
        for k in ["count", "parallelism", "seed", "records_per_slice"] {
            assert_eq!(conn[k], plugin[k].to_string(), "{k}");
        }
        assert_eq!(conn["always_updated"], plugin["always_updated"].to_string());
        assert_eq!(conn["connect.topicname"], "t-${stream}");
        assert_eq!(conn["connector.class"], PLUGIN);
    }
}

//! The Airbyte protocol's messages: one JSON object per line on the process's stdout.
//!
//! Only what the host reads is typed; every object keeps unknown fields out of the way
//! (the protocol adds fields over time), and a message of a type the host does not know
//! is reported as such rather than failing the read.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::Value;

/// One line of a plugin's stdout, parsed.
#[derive(Debug, Deserialize)]
pub struct Message {
    /// `RECORD`, `STATE`, `LOG`, `SPEC`, `CONNECTION_STATUS`, `CATALOG`, `TRACE`,
    /// `CONTROL`, or one the host does not know.
    #[serde(rename = "type")]
    pub ty: String,
    /// A record (`RECORD`).
    pub record: Option<Record>,
    /// A resume point (`STATE`).
    pub state: Option<State>,
    /// A log line (`LOG`).
    pub log: Option<Log>,
    /// The plugin's specification (`SPEC`).
    pub spec: Option<Spec>,
    /// The answer of `check` (`CONNECTION_STATUS`).
    #[serde(rename = "connectionStatus")]
    pub connection_status: Option<ConnectionStatus>,
    /// The answer of `discover` (`CATALOG`).
    pub catalog: Option<Catalog>,
    /// An error, estimate or stream status (`TRACE`).
    pub trace: Option<Trace>,
    /// A request to the host (`CONTROL`).
    pub control: Option<Control>,
}

/// A record of one stream.
#[derive(Debug, Deserialize)]
pub struct Record {
    /// The stream.
    pub stream: String,
    /// The stream's namespace, if it has one.
    pub namespace: Option<String>,
    /// The record, kept as the plugin wrote it (it is produced as is).
    pub data: Box<RawValue>,
    /// When the plugin read it, in epoch milliseconds.
    pub emitted_at: Option<i64>,
}

/// How a `STATE` message is scoped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum StateType {
    /// One state per stream (`stream`).
    Stream,
    /// One state for every stream (`global`).
    Global,
    /// The state before the protocol had types (`data`).
    Legacy,
}

/// A stream's name and namespace.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize)]
pub struct StreamDescriptor {
    /// The stream's name.
    pub name: String,
    /// Its namespace, if it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// The state of one stream.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct StreamState {
    /// Which stream.
    pub stream_descriptor: StreamDescriptor,
    /// Its state, opaque to the host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream_state: Option<Value>,
}

/// The counts the plugin attaches to a state.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct StateStats {
    /// Records emitted since the previous state of the same scope.
    #[serde(rename = "recordCount")]
    pub record_count: Option<f64>,
}

/// A resume point. The host stores it as it came (the whole `state` object) and hands it
/// back to `read --state`.
#[derive(Debug, Deserialize)]
pub struct State {
    /// Its scope; absent means `LEGACY`.
    #[serde(rename = "type")]
    pub ty: Option<StateType>,
    /// The stream's state (`STREAM`).
    pub stream: Option<StreamState>,
    /// The counts the plugin attached.
    #[serde(rename = "sourceStats")]
    pub source_stats: Option<StateStats>,
}

/// A log line.
#[derive(Debug, Deserialize)]
pub struct Log {
    /// `FATAL`, `ERROR`, `WARN`, `INFO`, `DEBUG` or `TRACE`.
    pub level: String,
    /// The message.
    pub message: String,
    /// A stack trace, if any.
    pub stack_trace: Option<String>,
}

/// The plugin's specification.
#[derive(Debug, Clone, Deserialize)]
pub struct Spec {
    /// The JSON Schema of its config.
    #[serde(rename = "connectionSpecification")]
    pub connection_specification: Value,
    /// Where its documentation is.
    #[serde(rename = "documentationUrl")]
    pub documentation_url: Option<String>,
}

/// Whether `check` succeeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Status {
    /// The plugin reached its source with the config.
    Succeeded,
    /// It did not; the message says why.
    Failed,
}

/// The answer of `check`.
#[derive(Debug, Clone, Deserialize)]
pub struct ConnectionStatus {
    /// Succeeded or failed.
    pub status: Status,
    /// Why it failed.
    pub message: Option<String>,
}

/// Full refresh or incremental.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncMode {
    /// Every sync reads everything.
    FullRefresh,
    /// Every sync reads what changed since the state.
    Incremental,
}

impl SyncMode {
    /// The protocol's name: `full_refresh` or `incremental`.
    pub fn as_str(self) -> &'static str {
        match self {
            SyncMode::FullRefresh => "full_refresh",
            SyncMode::Incremental => "incremental",
        }
    }
}

/// One stream of a catalog, as `discover` describes it.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Stream {
    /// Its name.
    pub name: String,
    /// Its namespace, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// The JSON Schema of its records.
    pub json_schema: Value,
    /// How it can be read.
    pub supported_sync_modes: Vec<SyncMode>,
    /// Whether the plugin decides the cursor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_defined_cursor: Option<bool>,
    /// The cursor used unless the config names another.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_cursor_field: Option<Vec<String>>,
    /// The primary key: a list of field paths.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_defined_primary_key: Option<Vec<Vec<String>>>,
    /// Everything else the plugin said about the stream, passed back in the configured
    /// catalog.
    #[serde(flatten)]
    pub other: BTreeMap<String, Value>,
}

/// The answer of `discover`.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Catalog {
    /// The streams.
    pub streams: Vec<Stream>,
}

/// One stream of the catalog handed to `read`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConfiguredStream {
    /// The stream as discovered.
    pub stream: Stream,
    /// How to read it.
    pub sync_mode: SyncMode,
    /// The cursor (incremental).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cursor_field: Vec<String>,
    /// Always `append`: the host only reads.
    pub destination_sync_mode: String,
    /// The primary key.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub primary_key: Vec<Vec<String>>,
}

/// The catalog handed to `read`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConfiguredCatalog {
    /// The streams to read.
    pub streams: Vec<ConfiguredStream>,
}

/// What a `TRACE` message reports.
#[derive(Debug, Deserialize)]
pub struct Trace {
    /// `ERROR`, `ESTIMATE`, `STREAM_STATUS`, `ANALYTICS`.
    #[serde(rename = "type")]
    pub ty: String,
    /// The error (`ERROR`).
    pub error: Option<TraceError>,
    /// The estimate (`ESTIMATE`).
    pub estimate: Option<Estimate>,
    /// The stream's status (`STREAM_STATUS`).
    pub stream_status: Option<StreamStatus>,
}

/// An error the plugin reports before it fails.
#[derive(Debug, Deserialize)]
pub struct TraceError {
    /// For the user.
    pub message: String,
    /// For the developer.
    pub internal_message: Option<String>,
    /// `system_error`, `config_error` or `transient_error`.
    pub failure_type: Option<String>,
    /// The stream it concerns, if one.
    pub stream_descriptor: Option<StreamDescriptor>,
}

/// How many records a stream (or the sync) will emit.
#[derive(Debug, Deserialize)]
pub struct Estimate {
    /// The stream.
    pub name: String,
    /// Its namespace.
    pub namespace: Option<String>,
    /// `STREAM` or `SYNC`.
    #[serde(rename = "type")]
    pub ty: String,
    /// Records.
    pub row_estimate: Option<u64>,
}

/// Where a stream is in a sync.
#[derive(Debug, Deserialize)]
pub struct StreamStatus {
    /// The stream.
    pub stream_descriptor: StreamDescriptor,
    /// `STARTED`, `RUNNING`, `COMPLETE`, `INCOMPLETE`.
    pub status: String,
}

/// A request of the plugin to the host.
#[derive(Debug, Deserialize)]
pub struct Control {
    /// `CONNECTOR_CONFIG`.
    #[serde(rename = "type")]
    pub ty: String,
    /// The new config (`CONNECTOR_CONFIG`).
    #[serde(rename = "connectorConfig")]
    pub connector_config: Option<ControlConfig>,
}

/// A config the plugin wants stored (for example a refreshed token).
#[derive(Debug, Deserialize)]
pub struct ControlConfig {
    /// The whole config.
    pub config: Value,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str) -> Message {
        serde_json::from_str(line).unwrap_or_else(|e| panic!("{line}: {e}"))
    }

    #[test]
    fn a_record_keeps_its_data_as_written() {
        let m = parse(
            r#"{"type":"RECORD","record":{"stream":"users","data":{"id":1,"name":"a\u00e9"},"emitted_at":1700000000000}}"#,
        );
        assert_eq!(m.ty, "RECORD");
        let r = m.record.unwrap_or_else(|| panic!("no record"));
        assert_eq!(r.stream, "users");
        assert_eq!(r.data.get(), r#"{"id":1,"name":"a\u00e9"}"#);
        assert_eq!(r.emitted_at, Some(1_700_000_000_000));
    }

    #[test]
    fn a_stream_state_names_its_stream_and_counts() {
        let m = parse(
            r#"{"type":"STATE","state":{"type":"STREAM","stream":{"stream_descriptor":{"name":"users"},"stream_state":{"seed":1,"updated_at":"x"}},"sourceStats":{"recordCount":250.0}}}"#,
        );
        let s = m.state.unwrap_or_else(|| panic!("no state"));
        assert_eq!(s.ty, Some(StateType::Stream));
        assert_eq!(
            s.stream.map(|s| s.stream_descriptor.name),
            Some("users".to_owned())
        );
        assert_eq!(s.source_stats.and_then(|s| s.record_count), Some(250.0));
    }

    #[test]
    fn unknown_message_types_and_fields_are_read_not_refused() {
        let m = parse(r#"{"type":"FUTURE_THING","future":{"a":1},"extra":2}"#);
        assert_eq!(m.ty, "FUTURE_THING");
        assert!(m.record.is_none());
    }

    #[test]
    fn a_discovered_stream_round_trips_into_the_configured_catalog_with_unknown_fields() {
        let m = parse(
            r#"{"type":"CATALOG","catalog":{"streams":[{"name":"users","json_schema":{},"supported_sync_modes":["full_refresh","incremental"],"source_defined_cursor":true,"default_cursor_field":["updated_at"],"source_defined_primary_key":[["id"]],"is_resumable":true}]}}"#,
        );
        let c = m.catalog.unwrap_or_else(|| panic!("no catalog"));
        let s = &c.streams[0];
        assert_eq!(s.supported_sync_modes[1], SyncMode::Incremental);
        let back = serde_json::to_value(s).unwrap_or_default();
        assert_eq!(back["is_resumable"], Value::Bool(true));
    }
}

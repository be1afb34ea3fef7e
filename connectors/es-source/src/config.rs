//! The typed config of `es-source`, its documented keys, and parsing with per-field errors.
//!
//! Contract: [`EsSourceConfig::parse`] reads only `es.*` keys (framework keys such as
//! `connector.class` are ignored), never contacts Elasticsearch, and reports every
//! problem as a [`FieldError`] on the key to change. [`config_def`] documents every key
//! it reads; a test keeps the two in step. Secrets live in [`Password`], which never
//! prints its value.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use connect_api::{ConfigDef, ConfigKey, ConfigMap, ConfigReader, ConfigType, FieldError};
use url::Url;

/// Comma-separated Elasticsearch base URLs.
pub const HOSTS: &str = "es.hosts";
/// Comma-separated index names; each is one partition.
pub const INDEX: &str = "es.index";
/// The field documents are read in ascending order of.
pub const TRACKING_FIELD: &str = "es.tracking.field";
/// An optional unique field that orders documents sharing a tracking value.
pub const TIEBREAKER_FIELD: &str = "es.tiebreaker.field";
/// Documents per search request.
pub const BATCH_SIZE: &str = "es.batch.size";
/// Wait after a poll that found nothing new.
pub const POLL_INTERVAL_MS: &str = "es.poll.interval.ms";
/// Timeout of each request to Elasticsearch.
pub const REQUEST_TIMEOUT_MS: &str = "es.request.timeout.ms";
/// Basic-auth user name.
pub const USERNAME: &str = "es.username";
/// Basic-auth password.
pub const PASSWORD: &str = "es.password";
/// API key (`encoded` form or `id:api_key`); exclusive with basic auth.
pub const API_KEY: &str = "es.api.key";
/// PEM file of the CA certificate(s) to trust for https hosts.
pub const TLS_CA_PATH: &str = "es.tls.ca.path";
/// Whether Elasticsearch is asked to gzip its answers.
pub const HTTP_COMPRESSION: &str = "es.http.compression";
/// Largest file [`TLS_CA_PATH`] may name (a CA bundle is a few KiB; this is generous).
pub const MAX_CA_FILE_BYTES: u64 = 1024 * 1024;
// --- index resolution and messages (es-indices helper) ---
/// How often the connector re-resolves `es.index` to find new concrete indices.
pub const INDEX_REFRESH_INTERVAL_MS: &str = "es.index.refresh.interval.ms";
/// Topic prefix: records go to `<prefix><concrete index>`.
pub const TOPIC_PREFIX: &str = "es.topic.prefix";
/// A constant message tag.
pub const TAG: &str = "es.tag";
/// A `_source` field whose value becomes the message tag.
pub const TAG_FIELD: &str = "es.tag.field";
/// Whether the body is an envelope with metadata around `_source`.
pub const ENVELOPE: &str = "es.envelope";
/// Default of [`INDEX_REFRESH_INTERVAL_MS`].
pub const DEFAULT_INDEX_REFRESH_INTERVAL_MS: u64 = 60_000;
/// Smallest non-zero [`INDEX_REFRESH_INTERVAL_MS`].
pub const MIN_INDEX_REFRESH_INTERVAL_MS: u64 = 1_000;
/// Largest [`INDEX_REFRESH_INTERVAL_MS`] (one day).
pub const MAX_INDEX_REFRESH_INTERVAL_MS: u64 = 86_400_000;
/// Longest RocketMQ topic name.
pub const MAX_TOPIC_LEN: usize = 127;
// --- end index resolution and messages ---

/// Internal: the indices one task reads, written by `task_configs` (not for users).
pub const TASK_INDICES: &str = "es.task.indices";

// --- read position, filters and lag (es-core) ---
/// Where a partition without a committed offset starts: `earliest`, `latest` or a value.
pub const START: &str = "es.start";
/// A JSON query object every document read must also match.
pub const QUERY: &str = "es.query";
/// Comma-separated `_source` fields (or patterns) to include.
pub const SOURCE_INCLUDES: &str = "es.source.includes";
/// Comma-separated `_source` fields (or patterns) to exclude.
pub const SOURCE_EXCLUDES: &str = "es.source.excludes";
/// How far behind now reads of time-based tracking fields stay.
pub const LAG: &str = "es.lag";
/// The epoch unit of a long tracking field that holds time (`seconds`, `millis`, ...).
pub const TIME_UNIT: &str = "es.tracking.time.unit";
/// Largest [`LAG`]: one day.
pub const MAX_LAG: Duration = Duration::from_secs(86_400);
/// How often a task measures each index's progress (remaining, lag, missing field).
pub const PROGRESS_INTERVAL_MS: &str = "es.progress.interval.ms";
/// Default of [`PROGRESS_INTERVAL_MS`].
pub const DEFAULT_PROGRESS_INTERVAL_MS: u64 = 5000;
/// Largest [`PROGRESS_INTERVAL_MS`] (one hour).
pub const MAX_PROGRESS_INTERVAL_MS: u64 = 3_600_000;
// --- end es-core ---

/// Default of [`BATCH_SIZE`].
pub const DEFAULT_BATCH_SIZE: u32 = 1000;
/// Largest [`BATCH_SIZE`]: Elasticsearch's default `index.max_result_window`.
pub const MAX_BATCH_SIZE: u32 = 10_000;
/// Default of [`POLL_INTERVAL_MS`].
pub const DEFAULT_POLL_INTERVAL_MS: u64 = 1000;
/// Smallest [`POLL_INTERVAL_MS`].
pub const MIN_POLL_INTERVAL_MS: u64 = 10;
/// Largest [`POLL_INTERVAL_MS`] (one hour).
pub const MAX_POLL_INTERVAL_MS: u64 = 3_600_000;
/// Default of [`REQUEST_TIMEOUT_MS`].
pub const DEFAULT_REQUEST_TIMEOUT_MS: u64 = 30_000;
/// Smallest [`REQUEST_TIMEOUT_MS`].
pub const MIN_REQUEST_TIMEOUT_MS: u64 = 1_000;
/// Largest [`REQUEST_TIMEOUT_MS`] (ten minutes).
pub const MAX_REQUEST_TIMEOUT_MS: u64 = 600_000;

/// A secret whose `Debug` and `Display` print `[hidden]`.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    /// Wraps a secret.
    pub fn new(secret: impl Into<String>) -> Self {
        Self(secret.into())
    }

    /// The secret itself; only for handing to the HTTP client.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[hidden]")
    }
}

impl fmt::Display for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[hidden]")
    }
}

/// An Elasticsearch API key, as `es.api.key` gave it. `Debug` prints `[hidden]`.
#[derive(Clone, PartialEq, Eq)]
pub enum ApiKey {
    /// The base64 `encoded` value Elasticsearch returns when it creates a key
    /// (`base64(id:api_key)`), sent as is.
    Encoded(Password),
    /// The key's `id` and its secret `api_key`, given as `id:api_key`.
    IdSecret {
        /// The key's id.
        id: String,
        /// The key's secret.
        secret: Password,
    },
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[hidden]")
    }
}

/// The CA certificate file of `es.tls.ca.path`, read and checked when the config is
/// parsed. `Debug` prints the path only.
#[derive(Clone, PartialEq, Eq)]
pub struct CaFile {
    path: PathBuf,
    pem: Vec<u8>,
}

impl CaFile {
    /// The file's path, as configured.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The file's content: one or more PEM certificates.
    pub fn pem(&self) -> &[u8] {
        &self.pem
    }
}

impl fmt::Debug for CaFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("CaFile").field(&self.path).finish()
    }
}

/// Where a partition without a committed offset starts reading (`es.start`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum StartPosition {
    /// `earliest`: from the first document.
    #[default]
    Earliest,
    /// `latest`: after the newest document present when the task first reads the index.
    Latest,
    /// A tracking value: from the documents with tracking value >= it. Kept as written;
    /// it is read per the tracking field's type once the mapping is known.
    Value(String),
}

/// The parsed, checked config of an `es-source` connector.
#[derive(Debug, Clone, PartialEq)]
pub struct EsSourceConfig {
    /// `es.hosts`: base URLs of Elasticsearch nodes (http or https, no credentials in
    /// the URL), each ending in `/` so that API paths are joined below any path prefix.
    pub hosts: Vec<Url>,
    /// `es.index`: concrete index names, in config order, without duplicates; each is
    /// one partition.
    pub indices: Vec<String>,
    /// `es.tracking.field`: the field documents are read in ascending order of; must be
    /// mapped as long, integer, short, byte, double, float, half_float, date, date_nanos
    /// or keyword, with doc values. Documents without it are not read.
    pub tracking_field: String,
    /// `es.tiebreaker.field`: a field unique per document, sorted after the tracking
    /// field; when set, the offset is the pair of sort values, so a document written
    /// later at an already-read tracking value must have a larger tiebreaker. When
    /// unset, the offset remembers the ids already read at the last tracking value.
    pub tiebreaker_field: Option<String>,
    /// `es.batch.size`: documents per search request (1..=10000).
    pub batch_size: u32,
    /// `es.poll.interval.ms`: how long a poll that found nothing new waits.
    pub poll_interval: Duration,
    /// `es.request.timeout.ms`: the timeout of each request to Elasticsearch.
    pub request_timeout: Duration,
    /// `es.username`: basic-auth user; set together with `es.password`.
    pub username: Option<String>,
    /// `es.password`: basic-auth password; never shown or logged.
    pub password: Option<Password>,
    /// `es.api.key`: API key; never shown or logged. Exclusive with basic auth.
    pub api_key: Option<ApiKey>,
    /// `es.tls.ca.path`: CA certificate(s) trusted for https hosts, besides the
    /// built-in public roots.
    pub tls_ca: Option<CaFile>,
    /// `es.http.compression`: ask Elasticsearch for gzipped answers.
    pub http_compression: bool,
    // --- index resolution and messages (es-indices helper) ---
    /// `es.index.refresh.interval.ms`: how often `es.index` is resolved again while the
    /// connector runs; `None` (configured as 0) for never.
    pub index_refresh_interval: Option<Duration>,
    /// `es.topic.prefix`: when set, each record goes to `<prefix><index>` (characters a
    /// RocketMQ topic cannot hold replaced by `_`); wins over `connect.topicname`.
    pub topic_prefix: Option<String>,
    /// `es.tag`: a constant tag on every message.
    pub tag: Option<String>,
    /// `es.tag.field`: a top-level or dotted `_source` field whose value is the tag.
    pub tag_field: Option<String>,
    /// `es.envelope`: wrap `_source` in `{"_index","_id","_seq_no","_primary_term",
    /// "tracking","_source"}`.
    pub envelope: bool,
    // --- end index resolution and messages ---
    // --- es-core ---
    /// `es.start`: where a partition without a committed offset starts.
    pub start: StartPosition,
    /// `es.query`: a query object every document read (and counted) must also match.
    pub query: Option<serde_json::Map<String, serde_json::Value>>,
    /// `es.source.includes`: `_source` fields to include (all when empty).
    pub source_includes: Vec<String>,
    /// `es.source.excludes`: `_source` fields to exclude.
    pub source_excludes: Vec<String>,
    /// `es.lag`: for date and date_nanos tracking fields, only documents with tracking
    /// value <= now - lag are read; `None` reads up to now.
    pub lag: Option<Duration>,
    /// `es.progress.interval.ms`: how often each index's progress is measured.
    pub progress_interval: Duration,
    /// `es.tracking.time.unit`: the epoch unit of a long tracking field holding time
    /// (enables `es.lag` and lag in seconds for it).
    pub time_unit: Option<crate::tracking::TimeUnit>,
    // --- end es-core ---
}

impl EsSourceConfig {
    /// Parses the `es.*` keys of a connector or task config.
    pub fn parse(map: &ConfigMap) -> Result<Self, Vec<FieldError>> {
        let mut r = ConfigReader::new(map);

        let raw_hosts = r.list(HOSTS);
        if raw_hosts.is_empty() {
            r.error(HOSTS, "is required: a comma-separated list of http(s) URLs");
        }
        let mut hosts = Vec::new();
        for raw in &raw_hosts {
            match parse_host(raw) {
                Ok(url) => hosts.push(url),
                Err(msg) => r.error(HOSTS, msg),
            }
        }

        let indices = r.list(INDEX);
        if indices.is_empty() {
            r.error(
                INDEX,
                "is required: one index name or a comma-separated list",
            );
        }
        if !indices.is_empty() && indices.iter().all(|i| i.starts_with('-')) {
            r.error(
                INDEX,
                "lists only exclusions (-name); add at least one index, alias or pattern",
            );
        }
        for (i, name) in indices.iter().enumerate() {
            if let Err(msg) = check_index_entry(name) {
                r.error(INDEX, msg);
            }
            if indices[..i].contains(name) {
                r.error(INDEX, format!("lists index {name:?} more than once"));
            }
        }

        let tracking_field = r.required_str(TRACKING_FIELD);
        let tiebreaker_field = r.optional_str(TIEBREAKER_FIELD);
        if tiebreaker_field.as_deref() == Some(tracking_field.as_str()) {
            r.error(
                TIEBREAKER_FIELD,
                "must differ from es.tracking.field: use a field that is unique per document",
            );
        }

        let batch_size = r.number_or(BATCH_SIZE, DEFAULT_BATCH_SIZE, 1..=MAX_BATCH_SIZE);
        let poll_ms = r.number_or(
            POLL_INTERVAL_MS,
            DEFAULT_POLL_INTERVAL_MS,
            MIN_POLL_INTERVAL_MS..=MAX_POLL_INTERVAL_MS,
        );
        let timeout_ms = r.number_or(
            REQUEST_TIMEOUT_MS,
            DEFAULT_REQUEST_TIMEOUT_MS,
            MIN_REQUEST_TIMEOUT_MS..=MAX_REQUEST_TIMEOUT_MS,
        );

        // The password is read raw: leading or trailing spaces may be part of it.
        let username = r.optional_str(USERNAME);
        let password = map
            .get(PASSWORD)
            .filter(|p| !p.is_empty())
            .map(|p| Password::new(p.as_str()));
        match (&username, &password) {
            (Some(_), None) => r.error(PASSWORD, "is required when es.username is set"),
            (None, Some(_)) => r.error(USERNAME, "is required when es.password is set"),
            _ => {}
        }
        let api_key = r.optional_str(API_KEY).and_then(|raw| {
            parse_api_key(&raw)
                .map_err(|msg| r.error(API_KEY, msg))
                .ok()
        });
        if r.optional_str(API_KEY).is_some() && (username.is_some() || password.is_some()) {
            r.error(
                API_KEY,
                "cannot be combined with es.username / es.password: authenticate with \
                 either an API key or a user, not both",
            );
        }
        let http_compression = r.bool_or(HTTP_COMPRESSION, false);
        let tls_ca = r.optional_str(TLS_CA_PATH).and_then(|path| {
            read_ca_file(&path)
                .map_err(|msg| r.error(TLS_CA_PATH, msg))
                .ok()
        });

        // --- index resolution and messages (es-indices helper) ---
        let refresh_ms = r.number_or(
            INDEX_REFRESH_INTERVAL_MS,
            DEFAULT_INDEX_REFRESH_INTERVAL_MS,
            0..=MAX_INDEX_REFRESH_INTERVAL_MS,
        );
        if refresh_ms != 0 && refresh_ms < MIN_INDEX_REFRESH_INTERVAL_MS {
            r.error(
                INDEX_REFRESH_INTERVAL_MS,
                format!("must be 0 (never) or at least {MIN_INDEX_REFRESH_INTERVAL_MS}"),
            );
        }
        let index_refresh_interval = (refresh_ms > 0).then(|| Duration::from_millis(refresh_ms));
        let topic_prefix = r.optional_str(TOPIC_PREFIX);
        if let Some(prefix) = &topic_prefix {
            if let Err(msg) = check_topic_prefix(prefix) {
                r.error(TOPIC_PREFIX, msg);
            }
        }
        let tag = r.optional_str(TAG);
        let tag_field = r.optional_str(TAG_FIELD);
        if tag.is_some() && tag_field.is_some() {
            r.error(
                TAG_FIELD,
                "cannot be set together with es.tag: use a constant tag or a field, not both",
            );
        }
        if let Some(t) = &tag {
            if t.contains("||") {
                r.error(
                    TAG,
                    "must not contain \"||\", which RocketMQ uses to combine tags",
                );
            }
        }
        let envelope = r.bool_or(ENVELOPE, false);
        // --- end index resolution and messages ---
        // --- es-core ---
        let start = match r.optional_str(START).as_deref() {
            None | Some("earliest") => StartPosition::Earliest,
            Some("latest") => StartPosition::Latest,
            Some(value) => StartPosition::Value(value.to_owned()),
        };
        let query = match map.get(QUERY).map(|q| q.trim()).filter(|q| !q.is_empty()) {
            None => None,
            Some(raw) => match serde_json::from_str::<serde_json::Value>(raw) {
                Ok(serde_json::Value::Object(q)) if !q.is_empty() => Some(q),
                Ok(serde_json::Value::Object(_)) => {
                    r.error(QUERY, "is an empty object; write a query such as {\"term\": {\"status\": \"paid\"}} or leave it unset");
                    None
                }
                Ok(other) => {
                    r.error(
                        QUERY,
                        format!("must be a JSON object such as {{\"term\": {{\"status\": \"paid\"}}}}, not {}", json_kind(&other)),
                    );
                    None
                }
                Err(e) => {
                    r.error(QUERY, format!("is not valid JSON ({e})"));
                    None
                }
            },
        };
        let source_includes = r.list(SOURCE_INCLUDES);
        let source_excludes = r.list(SOURCE_EXCLUDES);
        let lag = match r.optional_str(LAG) {
            None => None,
            Some(raw) => match parse_duration(&raw) {
                Ok(d) if d > MAX_LAG => {
                    r.error(LAG, format!("{raw:?} is more than one day (86400s)"));
                    None
                }
                Ok(d) if d.is_zero() => None,
                Ok(d) => Some(d),
                Err(msg) => {
                    r.error(LAG, msg);
                    None
                }
            },
        };
        let time_unit = match r.optional_str(TIME_UNIT) {
            None => None,
            Some(name) => {
                let unit = crate::tracking::TimeUnit::parse(&name);
                if unit.is_none() {
                    r.error(
                        TIME_UNIT,
                        format!("{name:?} is not a unit; use seconds, millis, micros or nanos"),
                    );
                }
                unit
            }
        };
        let progress_ms = r.number_or(
            PROGRESS_INTERVAL_MS,
            DEFAULT_PROGRESS_INTERVAL_MS,
            0..=MAX_PROGRESS_INTERVAL_MS,
        );
        // --- end es-core ---

        r.finish(Self {
            hosts,
            indices,
            tracking_field,
            tiebreaker_field,
            batch_size,
            poll_interval: Duration::from_millis(poll_ms),
            request_timeout: Duration::from_millis(timeout_ms),
            username,
            password,
            api_key,
            tls_ca,
            http_compression,
            index_refresh_interval,
            topic_prefix,
            tag,
            tag_field,
            envelope,
            start,
            query,
            source_includes,
            source_excludes,
            lag,
            progress_interval: Duration::from_millis(progress_ms),
            time_unit,
        })
    }

    /// The key to blame when Elasticsearch rejects the credentials (401): `es.api.key`,
    /// `es.password`, or `es.username` when none are set.
    pub fn credentials_key(&self) -> &'static str {
        if self.api_key.is_some() {
            API_KEY
        } else if self.username.is_some() {
            PASSWORD
        } else {
            USERNAME
        }
    }
}

/// Parses `es.api.key`: `id:api_key`, or the base64 `encoded` form of it. Messages
/// never quote the value.
fn parse_api_key(raw: &str) -> Result<ApiKey, String> {
    const HELP: &str = "give the `encoded` value Elasticsearch returned when the key was \
                        created, or `id:api_key`";
    if raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "must not contain spaces or control characters; {HELP}"
        ));
    }
    if let Some((id, secret)) = raw.split_once(':') {
        if id.is_empty() || secret.is_empty() {
            return Err(format!("has an empty id or api_key around ':'; {HELP}"));
        }
        return Ok(ApiKey::IdSecret {
            id: id.to_owned(),
            secret: Password::new(secret),
        });
    }
    let decoded = decode_base64(raw)
        .ok_or_else(|| format!("is neither base64 nor of the form id:api_key; {HELP}"))?;
    match decoded.iter().position(|&b| b == b':') {
        Some(colon) if colon > 0 && colon + 1 < decoded.len() => {
            Ok(ApiKey::Encoded(Password::new(raw)))
        }
        _ => Err(format!(
            "is base64 but does not decode to id:api_key (is it only the id or only the \
             api_key?); {HELP}"
        )),
    }
}

/// Standard base64 with padding (the alphabet of Elasticsearch's `encoded` API keys).
fn decode_base64(s: &str) -> Option<Vec<u8>> {
    if s.is_empty() || !s.len().is_multiple_of(4) {
        return None;
    }
    let body = s.trim_end_matches('=');
    if s.len() - body.len() > 2 {
        return None;
    }
    let mut out = Vec::with_capacity(s.len() / 4 * 3);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in body.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

/// Reads and checks `es.tls.ca.path`: an absolute path to a regular file of at most
/// [`MAX_CA_FILE_BYTES`] holding PEM certificates the TLS client accepts. Messages never
/// quote the file's content.
fn read_ca_file(raw: &str) -> Result<CaFile, String> {
    let path = PathBuf::from(raw);
    if !path.is_absolute() {
        return Err(format!(
            "{raw:?} is not an absolute path; give the full path of the CA's PEM file"
        ));
    }
    let meta = std::fs::metadata(&path).map_err(|e| format!("cannot read {raw:?}: {e}"))?;
    if !meta.is_file() {
        return Err(format!("{raw:?} is not a regular file"));
    }
    if meta.len() > MAX_CA_FILE_BYTES {
        return Err(format!(
            "{raw:?} is larger than {MAX_CA_FILE_BYTES} bytes; it should hold only the CA \
             certificate(s) in PEM"
        ));
    }
    let pem = std::fs::read(&path).map_err(|e| format!("cannot read {raw:?}: {e}"))?;
    crate::client::check_ca_pem(&pem).map_err(|msg| format!("{raw:?} {msg}"))?;
    Ok(CaFile { path, pem })
}

// --- es-core ---
impl EsSourceConfig {
    /// The options that depend on the tracking field's mapped kind, checked once it is
    /// known (by the task, and by validation after the mapping check): `es.lag` needs a
    /// date or date_nanos field, and an `es.start` value must be a value of the field.
    pub fn check_for_kind(&self, kind: crate::tracking::TrackingKind) -> Vec<FieldError> {
        let mut errors = Vec::new();
        if self.time_unit.is_some() && kind != crate::tracking::TrackingKind::Long {
            errors.push(FieldError::new(
                TIME_UNIT,
                format!(
                    "only applies to long (integer, short, byte) tracking fields, but {} is \
                     {}; remove es.tracking.time.unit",
                    self.tracking_field,
                    crate::tracking::describe(kind)
                ),
            ));
        } else if self.lag.is_some()
            && crate::tracking::units_per_second(kind, self.time_unit).is_none()
        {
            errors.push(FieldError::new(
                LAG,
                format!(
                    "only applies to date and date_nanos tracking fields, or long fields with \
                     es.tracking.time.unit, but {} is {}; remove es.lag or set \
                     es.tracking.time.unit",
                    self.tracking_field,
                    crate::tracking::describe(kind)
                ),
            ));
        }
        if let StartPosition::Value(raw) = &self.start {
            if let Err(msg) = crate::tracking::parse_value(kind, raw) {
                errors.push(FieldError::new(
                    START,
                    format!(
                        "{msg}; {} is {}",
                        self.tracking_field,
                        crate::tracking::describe(kind)
                    ),
                ));
            }
        }
        errors
    }
}

/// A duration written as a number with a unit, `500ms`, `5s`, `2m` or `1h`; a bare
/// number is milliseconds.
pub fn parse_duration(raw: &str) -> Result<Duration, String> {
    let text = raw.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let bad = || {
        format!(
            "{raw:?} is not a duration; write a whole number with a unit (500ms, 5s, 2m, 1h) \
             or a number of milliseconds"
        )
    };
    let n: u64 = digits.parse().map_err(|_| bad())?;
    let millis = match unit.trim() {
        "" | "ms" => Some(n),
        "s" => n.checked_mul(1000),
        "m" => n.checked_mul(60_000),
        "h" => n.checked_mul(3_600_000),
        _ => return Err(bad()),
    };
    millis.map(Duration::from_millis).ok_or_else(bad)
}

fn json_kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}
// --- end es-core ---

/// `raw` with anything between `://` and the last `@` (user info, which may hold a
/// password) replaced by `[hidden]`, so error messages can quote the entry.
fn redact_userinfo(raw: &str) -> String {
    match (raw.find("://"), raw.rfind('@')) {
        (Some(start), Some(at)) if at > start + 3 => {
            format!("{}[hidden]{}", &raw[..start + 3], &raw[at..])
        }
        (None, Some(_)) => "[an entry with '@', hidden]".to_owned(),
        _ => raw.to_owned(),
    }
}

/// Parses one `es.hosts` entry into a base URL ending in `/`.
fn parse_host(raw: &str) -> Result<Url, String> {
    let shown = redact_userinfo(raw);
    let raw_url = Url::parse(raw);
    if let Ok(u) = &raw_url {
        if !u.username().is_empty() || u.password().is_some() {
            // Do not echo the value: it holds a secret.
            return Err(
                "an entry contains credentials; put them in es.username and es.password instead"
                    .into(),
            );
        }
    }
    let mut url = raw_url.map_err(|e| {
        format!("{shown:?} is not a URL ({e}); write it like http://localhost:9200")
    })?;
    if url.scheme() != "http" && url.scheme() != "https" {
        return Err(format!(
            "{shown:?} uses scheme {:?}; only http and https are allowed",
            url.scheme()
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(format!("{shown:?} has no host"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(format!("{shown:?} must not have a query or fragment"));
    }
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    Ok(url)
}

/// Checks one `es.index` entry: a name, alias or data stream, a wildcard pattern (`*`),
/// or an exclusion (`-name` or `-pattern`).
fn check_index_entry(entry: &str) -> Result<(), String> {
    let name = match entry.strip_prefix('-') {
        Some("") => return Err("\"-\" excludes nothing".to_owned()),
        Some(rest) => rest,
        None => entry,
    };
    if name.contains('?') {
        return Err(format!(
            "{entry:?} contains '?'; Elasticsearch patterns only know '*'"
        ));
    }
    if name.contains('*') {
        // A pattern must be a valid name once its wildcards are left out.
        let fixed = name.replace('*', "");
        if fixed.is_empty() {
            return Ok(());
        }
        return check_index_name(&fixed)
            .map_err(|msg| format!("{entry:?} is not a valid pattern: {msg}"));
    }
    check_index_name(name)
}

/// Checks that `prefix` only holds characters RocketMQ topic names allow.
fn check_topic_prefix(prefix: &str) -> Result<(), String> {
    if let Some(c) = prefix.chars().find(|c| !is_topic_char(*c)) {
        return Err(format!(
            "{prefix:?} contains {c:?}; RocketMQ topic names only allow letters, digits, \
             '_', '-', '%' and '|'"
        ));
    }
    if prefix.len() >= MAX_TOPIC_LEN {
        return Err(format!(
            "is {} characters long; the topic (prefix + index name) must be at most \
             {MAX_TOPIC_LEN}",
            prefix.len()
        ));
    }
    Ok(())
}

/// Whether RocketMQ allows `c` in a topic name (`^[%|a-zA-Z0-9_-]+$`).
pub fn is_topic_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '%' | '|')
}

/// Checks a concrete index name against Elasticsearch's naming rules.
fn check_index_name(name: &str) -> Result<(), String> {
    if let Some(c) = name
        .chars()
        .find(|c| matches!(c, '\\' | '/' | '"' | '<' | '>' | '|' | ' ' | '#' | ':'))
    {
        return Err(format!(
            "{name:?} contains {c:?}, which index names cannot contain"
        ));
    }
    if name.chars().any(char::is_uppercase) {
        return Err(format!(
            "{name:?} has upper-case letters; index names are lower case"
        ));
    }
    if name.starts_with(['-', '_', '+']) || name == "." || name == ".." {
        return Err(format!("{name:?} is not a valid index name"));
    }
    if name.len() > 255 {
        return Err(format!("{name:?} is longer than 255 bytes"));
    }
    Ok(())
}

/// Every key `es-source` reads, with type, default and docs.
pub fn config_def() -> ConfigDef {
    vec![
        ConfigKey {
            name: HOSTS,
            ty: ConfigType::List,
            default: None,
            required: true,
            doc: "Comma-separated base URLs of Elasticsearch nodes, http or https, for \
                  example http://es1:9200,http://es2:9200. Requests are spread over them \
                  round-robin. Credentials go in es.username / es.password, not in the URL.",
        },
        ConfigKey {
            name: INDEX,
            ty: ConfigType::List,
            default: None,
            required: true,
            doc: "Comma-separated indices to read: index names, aliases, data streams and \
                  wildcard patterns (logs-*), with -name or -pattern entries to leave \
                  indices out. Each entry resolves to concrete indices (an alias to its \
                  indices, a data stream to its backing indices; a pattern matches \
                  concrete indices and data streams, not aliases). Each concrete index is \
                  one partition with its own offset; they are spread over the tasks. A \
                  name that does not exist fails validation; a pattern that matches \
                  nothing yet is allowed (logged as a warning) and picked up when indices \
                  appear (see es.index.refresh.interval.ms).",
        },
        ConfigKey {
            name: TRACKING_FIELD,
            ty: ConfigType::String,
            default: None,
            required: true,
            doc: "Field read in ascending order to find new documents, for example an \
                  update timestamp or a sequence number. Must be mapped as long, integer, \
                  short, byte, double, float, half_float, date, date_nanos or keyword, with \
                  doc values (text, scaled_float and unsigned_long are refused). Documents \
                  without the field are not read; their number is reported in the task's \
                  progress as docs_missing_tracking_field.",
        },
        ConfigKey {
            name: TIEBREAKER_FIELD,
            ty: ConfigType::String,
            default: None,
            required: false,
            doc: "Optional field unique per document (keyword or numeric, with doc \
                  values) used to order documents that share a tracking value. With it \
                  the offset is small; without it the offset remembers the ids already \
                  read at the last tracking value. A document written later with the \
                  same tracking value must not sort before one already read (use a \
                  growing sequence or a time-ordered id), or leave this unset. Documents \
                  without the field are not read.",
        },
        ConfigKey {
            name: BATCH_SIZE,
            ty: ConfigType::Int,
            default: Some("1000"),
            required: false,
            doc: "Documents fetched per search request, 1 to 10000.",
        },
        ConfigKey {
            name: POLL_INTERVAL_MS,
            ty: ConfigType::Int,
            default: Some("1000"),
            required: false,
            doc: "Milliseconds to wait after a poll that found no new document in any \
                  index of the task, 10 to 3600000.",
        },
        ConfigKey {
            name: REQUEST_TIMEOUT_MS,
            ty: ConfigType::Int,
            default: Some("30000"),
            required: false,
            doc: "Timeout of each request to Elasticsearch in milliseconds, 1000 to \
                  600000. A timed-out request is retried.",
        },
        ConfigKey {
            name: USERNAME,
            ty: ConfigType::String,
            default: None,
            required: false,
            doc: "User name for HTTP basic authentication; set together with es.password.",
        },
        ConfigKey {
            name: PASSWORD,
            ty: ConfigType::Password,
            default: None,
            required: false,
            doc: "Password for HTTP basic authentication; never shown or logged.",
        },
        ConfigKey {
            name: API_KEY,
            ty: ConfigType::Password,
            default: None,
            required: false,
            doc: "Elasticsearch API key, sent as `Authorization: ApiKey ...`: the base64 \
                  `encoded` value returned by POST /_security/api_key, or `id:api_key`. \
                  Never shown or logged. Use it instead of es.username / es.password, not \
                  with them.",
        },
        ConfigKey {
            name: HTTP_COMPRESSION,
            ty: ConfigType::Bool,
            default: Some("false"),
            required: false,
            doc: "true: ask Elasticsearch to gzip its answers (Accept-Encoding: gzip). \
                  Off by default: compressing a page of documents costs Elasticsearch more \
                  CPU than finding them (about half again in bench/), and on a local \
                  network the bandwidth saved rarely matters. Turn it on when the link to \
                  Elasticsearch is slow or metered.",
        },
        ConfigKey {
            name: TLS_CA_PATH,
            ty: ConfigType::String,
            default: None,
            required: false,
            doc: "Absolute path of a PEM file with the certificate(s) of the CA that signed \
                  the https hosts' certificates (for example Elasticsearch's \
                  config/certs/http_ca.crt), trusted besides the public root CAs. The file is \
                  read when the config is checked; host names are verified against the \
                  certificate.",
        },
        // --- index resolution and messages (es-indices helper) ---
        ConfigKey {
            name: INDEX_REFRESH_INTERVAL_MS,
            ty: ConfigType::Int,
            default: Some("60000"),
            required: false,
            doc: "Milliseconds between two resolutions of es.index while the connector \
                  runs; new concrete indices (a new match of a pattern, a rollover of an \
                  alias or data stream) are then given to the tasks, which restart with \
                  the new split. 0 turns it off; otherwise 1000 to 86400000. While no \
                  index matches, the connector runs one idle task and logs a warning at \
                  every resolution.",
        },
        ConfigKey {
            name: TOPIC_PREFIX,
            ty: ConfigType::String,
            default: None,
            required: false,
            doc: "When set, each document goes to the topic <prefix><concrete index \
                  name> (characters RocketMQ topics cannot hold, such as '.', become \
                  '_'), and connect.topicname is not used. Letters, digits, '_', '-', \
                  '%' and '|' only; prefix plus index name must be at most 127 characters.",
        },
        ConfigKey {
            name: TAG,
            ty: ConfigType::String,
            default: None,
            required: false,
            doc: "A constant tag set on every message, for broker-side filtering. Not \
                  together with es.tag.field.",
        },
        ConfigKey {
            name: TAG_FIELD,
            ty: ConfigType::String,
            default: None,
            required: false,
            doc: "A field of _source whose value becomes the message tag: a top-level \
                  name, or a dotted path into objects (a.b.c; a top-level key that \
                  contains dots is tried first). Strings, numbers and booleans are used \
                  as text; a missing, null, object or array value leaves the message \
                  without a tag. Not together with es.tag.",
        },
        ConfigKey {
            name: ENVELOPE,
            ty: ConfigType::Bool,
            default: Some("false"),
            required: false,
            doc: "false: the message body is the document's _source, byte for byte. \
                  true: the body is {\"_index\",\"_id\",\"_seq_no\",\"_primary_term\",\
                  \"tracking\",\"_source\"}, where tracking is the tracking field's sort \
                  value and _source the original bytes.",
        },
        // --- end index resolution and messages ---
        // --- es-core ---
        ConfigKey {
            name: START,
            ty: ConfigType::String,
            default: Some("earliest"),
            required: false,
            doc: "Where an index without a committed offset starts: `earliest` (its first \
                  document), `latest` (after the newest document present when the task \
                  first reads the index; until a later document is committed, a restart \
                  looks for the newest one again) or a tracking value (documents with \
                  tracking value >= it: a number for numeric fields, epoch milliseconds or \
                  an RFC 3339 timestamp such as 2024-05-01T12:00:00Z for date and \
                  date_nanos, the text for keyword). Ignored once an offset is committed.",
        },
        ConfigKey {
            name: QUERY,
            ty: ConfigType::String,
            default: None,
            required: false,
            doc: "A JSON query object, for example {\"term\": {\"status\": \"paid\"}}, \
                  added as a filter to every search (and to the progress counts): only \
                  matching documents are read.",
        },
        ConfigKey {
            name: SOURCE_INCLUDES,
            ty: ConfigType::List,
            default: None,
            required: false,
            doc: "Comma-separated _source fields or patterns (a.b, meta.*) to put in the \
                  messages; all fields when unset. The read position never depends on \
                  _source.",
        },
        ConfigKey {
            name: SOURCE_EXCLUDES,
            ty: ConfigType::List,
            default: None,
            required: false,
            doc: "Comma-separated _source fields or patterns to leave out of the messages.",
        },
        ConfigKey {
            name: LAG,
            ty: ConfigType::String,
            default: Some("0"),
            required: false,
            doc: "For date and date_nanos tracking fields: only read documents whose \
                  tracking value is at most now minus this duration (by the clock of \
                  the host running the task), so documents that become searchable late (refresh interval, a \
                  slow writer) are not skipped. A whole number with a unit: 500ms, 5s, 2m, \
                  1h (a bare number is milliseconds); at most one day. 0 reads up to now. \
                  Rejected for other field types.",
        },
        ConfigKey {
            name: TIME_UNIT,
            ty: ConfigType::String,
            default: None,
            required: false,
            doc: "For a long (integer, short, byte) tracking field that holds epoch time: \
                  its unit, seconds, millis, micros or nanos. Enables es.lag and the lag in \
                  seconds in the task's progress for that field. Rejected for other types.",
        },
        ConfigKey {
            name: PROGRESS_INTERVAL_MS,
            ty: ConfigType::Int,
            default: Some("5000"),
            required: false,
            doc: "Milliseconds between two progress measurements of an index (documents \
                  remaining after the position, lag in seconds for time fields, documents \
                  missing the tracking field), 0 to 3600000; each costs two counts and at \
                  most one one-hit search per index, made inside a poll. 0 measures on \
                  every poll.",
        },
        // --- end es-core ---
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> ConfigMap {
        connect_api::config::config_from_pairs(pairs)
    }

    fn minimal() -> ConfigMap {
        map(&[
            ("connector.class", "es-source"),
            (HOSTS, "http://127.0.0.1:9200"),
            (INDEX, "orders"),
            (TRACKING_FIELD, "updated_at"),
        ])
    }

    fn fields(errs: &[FieldError]) -> Vec<&str> {
        errs.iter().map(|e| e.field.as_str()).collect()
    }

    #[test]
    fn minimal_config_takes_defaults() {
        let c = EsSourceConfig::parse(&minimal()).unwrap();
        assert_eq!(c.hosts[0].as_str(), "http://127.0.0.1:9200/");
        assert_eq!(c.indices, ["orders"]);
        assert_eq!(c.tracking_field, "updated_at");
        assert_eq!(c.tiebreaker_field, None);
        assert_eq!(c.batch_size, DEFAULT_BATCH_SIZE);
        assert_eq!(
            c.poll_interval,
            Duration::from_millis(DEFAULT_POLL_INTERVAL_MS)
        );
        assert_eq!(
            c.request_timeout,
            Duration::from_millis(DEFAULT_REQUEST_TIMEOUT_MS)
        );
        assert!(c.username.is_none() && c.password.is_none());
    }

    #[test]
    fn full_config_parses() {
        let mut m = minimal();
        m.insert(HOSTS.into(), "https://a:9200/prefix, http://b:9201".into());
        m.insert(INDEX.into(), "a, b,c".into());
        m.insert(TIEBREAKER_FIELD.into(), "id".into());
        m.insert(BATCH_SIZE.into(), "200".into());
        m.insert(POLL_INTERVAL_MS.into(), "10".into());
        m.insert(USERNAME.into(), "elastic".into());
        m.insert(PASSWORD.into(), " s3cret ".into());
        let c = EsSourceConfig::parse(&m).unwrap();
        let hosts: Vec<_> = c.hosts.iter().map(Url::as_str).collect();
        assert_eq!(hosts, ["https://a:9200/prefix/", "http://b:9201/"]);
        assert_eq!(c.indices, ["a", "b", "c"]);
        assert_eq!(c.tiebreaker_field.as_deref(), Some("id"));
        assert_eq!(c.batch_size, 200);
        assert_eq!(c.poll_interval, Duration::from_millis(10));
        assert_eq!(c.password.as_ref().unwrap().expose(), " s3cret ");
    }

    #[test]
    fn every_problem_is_reported_on_its_key() {
        let m = map(&[
            (HOSTS, "ftp://x:21, http://ok:9200, not a url"),
            (INDEX, "Orders, logs-?, a, a"),
            (TIEBREAKER_FIELD, "ts"),
            (TRACKING_FIELD, "ts"),
            (BATCH_SIZE, "10001"),
            (POLL_INTERVAL_MS, "5"),
            (REQUEST_TIMEOUT_MS, "soon"),
            (USERNAME, "elastic"),
        ]);
        let errs = EsSourceConfig::parse(&m).unwrap_err();
        assert_eq!(
            fields(&errs),
            [
                HOSTS,
                HOSTS,
                INDEX,
                INDEX,
                INDEX,
                TIEBREAKER_FIELD,
                BATCH_SIZE,
                POLL_INTERVAL_MS,
                REQUEST_TIMEOUT_MS,
                PASSWORD
            ]
        );
        assert!(errs[0].message.contains("only http and https"), "{errs:?}");
        assert!(errs[2].message.contains("lower case"));
        assert!(errs[3].message.contains("'?'"));
        assert!(errs[4].message.contains("more than once"));
        assert!(errs[6].message.contains("between 1 and 10000"));
    }

    #[test]
    fn required_keys_are_reported() {
        let errs = EsSourceConfig::parse(&map(&[("connector.class", "es-source")])).unwrap_err();
        assert_eq!(fields(&errs), [HOSTS, INDEX, TRACKING_FIELD]);
    }

    #[test]
    fn credentials_in_urls_are_rejected_without_echoing_them() {
        let mut m = minimal();
        m.insert(HOSTS.into(), "http://elastic:hunter2@es:9200".into());
        let errs = EsSourceConfig::parse(&m).unwrap_err();
        assert_eq!(fields(&errs), [HOSTS]);
        assert!(!errs[0].message.contains("hunter2"));
        m.insert(HOSTS.into(), "http://es:9200".into());
        m.insert(PASSWORD.into(), "hunter2".into());
        assert_eq!(fields(&EsSourceConfig::parse(&m).unwrap_err()), [USERNAME]);
    }

    #[test]
    fn password_never_prints() {
        let mut m = minimal();
        m.insert(USERNAME.into(), "elastic".into());
        m.insert(PASSWORD.into(), "hunter2".into());
        let c = EsSourceConfig::parse(&m).unwrap();
        let shown = format!("{c:?} {}", c.password.as_ref().unwrap());
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("[hidden]"));
    }

    #[test]
    fn config_def_documents_every_key_with_matching_defaults() {
        let def = config_def();
        let names: Vec<_> = def.iter().map(|k| k.name).collect();
        assert_eq!(
            names,
            [
                HOSTS,
                INDEX,
                TRACKING_FIELD,
                TIEBREAKER_FIELD,
                BATCH_SIZE,
                POLL_INTERVAL_MS,
                REQUEST_TIMEOUT_MS,
                USERNAME,
                PASSWORD,
                API_KEY,
                HTTP_COMPRESSION,
                TLS_CA_PATH,
                INDEX_REFRESH_INTERVAL_MS,
                TOPIC_PREFIX,
                TAG,
                TAG_FIELD,
                ENVELOPE,
                START,
                QUERY,
                SOURCE_INCLUDES,
                SOURCE_EXCLUDES,
                LAG,
                TIME_UNIT,
                PROGRESS_INTERVAL_MS
            ]
        );
        assert!(def.iter().all(|k| !k.doc.is_empty()));
        let default = |name| def.iter().find(|k| k.name == name).unwrap().default;
        assert_eq!(
            default(INDEX_REFRESH_INTERVAL_MS),
            Some(&*DEFAULT_INDEX_REFRESH_INTERVAL_MS.to_string())
        );
        assert_eq!(default(ENVELOPE), Some("false"));
        assert_eq!(default(BATCH_SIZE), Some(&*DEFAULT_BATCH_SIZE.to_string()));
        assert_eq!(
            default(POLL_INTERVAL_MS),
            Some(&*DEFAULT_POLL_INTERVAL_MS.to_string())
        );
        assert_eq!(
            default(REQUEST_TIMEOUT_MS),
            Some(&*DEFAULT_REQUEST_TIMEOUT_MS.to_string())
        );
        assert!(def.iter().find(|k| k.name == PASSWORD).unwrap().is_secret());
        assert!(def.iter().find(|k| k.name == API_KEY).unwrap().is_secret());
        // Required keys are exactly the ones parse() reports when absent.
        let required: Vec<_> = def.iter().filter(|k| k.required).map(|k| k.name).collect();
        assert_eq!(required, [HOSTS, INDEX, TRACKING_FIELD]);
    }

    /// A CA certificate (public part only) made by rmq-services for its secured node.
    const TEST_CA_PEM: &str = "-----BEGIN CERTIFICATE-----\n\
MIIDLzCCAhegAwIBAgIUW1Fkd7IGdMPeGILeJSCLgz6tDnwwDQYJKoZIhvcNAQEL\n\
BQAwHzEdMBsGA1UEAwwUcm1xLXNlcnZpY2VzIHRlc3QgQ0EwHhcNMjYxMTIxMTc0\n\
OTM3WhcNMzYxMTE4MTc0OTM3WjAfMR0wGwYDVQQDDBRybXEtc2VydmljZXMgdGVz\n\
dCBDQTCCASIwDQYJKoZIhvcNAQEBBQADggEPADCCAQoCggEBANB8M3hzlZ/qVBZi\n\
r2oNchh8q2epRTH1MiviOiSYO3CqH6KVpyHE4AlLBuQwY7hdLPX71fpk6rXY2uKn\n\
bGQPujK/1Nv7mnY36XfqFjqwn//vgqOTNuQuNBhCY7GMhw6YnBBYSXht/jvYTbun\n\
DLB36dKDuLHzQ738S6vwRmtANmjiZ6+eUeh7BWbMaSNJEUeL1atjqzXOGX3mcXBH\n\
V0hdoajRS0drfwK22MaqeJJW2kbQko4AGx93I22tTJaDeJzmRrNdrxIi4hpfYDBl\n\
9YNw7G1yDJICOcqDmlKKwOt+WFtHAZmRJHa01zoDet+LTVwbsPxnCiqFs1a5NBzm\n\
+ROBZoUCAwEAAaNjMGEwHQYDVR0OBBYEFIgWwplIrMld4Z4G4GXaDxuwuwLkMB8G\n\
A1UdIwQYMBaAFIgWwplIrMld4Z4G4GXaDxuwuwLkMA8GA1UdEwEB/wQFMAMBAf8w\n\
DgYDVR0PAQH/BAQDAgEGMA0GCSqGSIb3DQEBCwUAA4IBAQARfV6Xx2EhtzMK5OOk\n\
NisQATwlF1Kbq6GexaJ1M6JKkSKDWk1vrA3Z1EJoGzSY4B4UmkJQdnzLH451to+a\n\
Hh2Xw+UL4sQ1JV4fJ8MVAZW049wsMm4irgOClQwj1NMl7jSrVbVCVyBHJ5aDxq3S\n\
82mQNyUFcTTH6829OsgT18P8amgCnjkHJpCYI37CIe5vRwVyg/ERdoWjJdWJ+IsL\n\
VceATN1REJT9XJLTHjPPaQa9s+T0x9D2MJES0QfleTGsyPB2yul3Plp6FNQ59fzX\n\
y0HCHeFl1jutN8ccoJnnUelP3LYuLTSUMELx67P/NbWhh1tcrF7L069ZHWwzXySO\n\
uSf1\n\
-----END CERTIFICATE-----\n";

    /// Writes `content` to a fresh file under the temp dir and returns its path.
    fn temp_file(name: &str, content: &[u8]) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("es-source-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, content).unwrap();
        path
    }

    fn with(pairs: &[(&str, &str)]) -> Result<EsSourceConfig, Vec<FieldError>> {
        let mut m = minimal();
        for (k, v) in pairs {
            m.insert((*k).into(), (*v).into());
        }
        EsSourceConfig::parse(&m)
    }

    #[test]
    fn http_compression_is_off_unless_asked_for_and_must_be_a_boolean() {
        assert!(!with(&[]).unwrap().http_compression);
        assert!(
            with(&[(HTTP_COMPRESSION, "true")])
                .unwrap()
                .http_compression
        );
        let errs = with(&[(HTTP_COMPRESSION, "gzip")]).unwrap_err();
        assert_eq!(errs[0].field, HTTP_COMPRESSION);
    }

    #[test]
    fn api_key_accepts_the_encoded_form_and_id_colon_key() {
        // base64("VuaCfGcBCdbkQm-e5aOx:ui2lp2axTNmsyakw9tvNnw"), as Elasticsearch returns it.
        let encoded = "VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw==";
        let c = with(&[(API_KEY, encoded)]).unwrap();
        assert_eq!(c.api_key, Some(ApiKey::Encoded(Password::new(encoded))));
        assert_eq!(c.credentials_key(), API_KEY);
        let c = with(&[(API_KEY, " VuaCfGcBCdbkQm-e5aOx:ui2lp2axTNmsyakw9tvNnw ")]).unwrap();
        let Some(ApiKey::IdSecret { id, secret }) = &c.api_key else {
            panic!("{:?}", c.api_key)
        };
        assert_eq!(id, "VuaCfGcBCdbkQm-e5aOx");
        assert_eq!(secret.expose(), "ui2lp2axTNmsyakw9tvNnw");
        let shown = format!("{c:?}");
        assert!(
            !shown.contains("ui2lp2ax") && !shown.contains("VuaCfG"),
            "{shown}"
        );
    }

    #[test]
    fn bad_api_keys_are_errors_on_the_key_without_echoing_it() {
        for bad in [
            "ui2lp2axTNmsyakw9tvNnw",   // only the secret: not base64 of id:key
            "dWkybHAyYXhUTm1zeWFrdzl0", // base64 without a ':' inside
            ":ui2lp2axTNmsyakw9tvNnw",
            "VuaCfGcBCdbkQm-e5aOx:",
            "has space:x",
        ] {
            let errs = with(&[(API_KEY, bad)]).unwrap_err();
            assert_eq!(fields(&errs), [API_KEY], "{bad}");
            assert!(!errs[0].message.contains(bad), "{bad}: {}", errs[0].message);
        }
    }

    #[test]
    fn api_key_and_basic_auth_are_exclusive() {
        let errs = with(&[
            (API_KEY, "id:secret"),
            (USERNAME, "elastic"),
            (PASSWORD, "hunter2"),
        ])
        .unwrap_err();
        assert_eq!(fields(&errs), [API_KEY]);
        assert!(errs[0].message.contains("either"), "{}", errs[0].message);
        let errs = with(&[(API_KEY, "id:secret"), (USERNAME, "elastic")]).unwrap_err();
        assert!(fields(&errs).contains(&API_KEY), "{errs:?}");
    }

    #[test]
    fn ca_file_is_read_and_checked_at_parse_time() {
        let good = temp_file("ca.crt", TEST_CA_PEM.as_bytes());
        let c = with(&[(TLS_CA_PATH, good.to_str().unwrap())]).unwrap();
        let ca = c.tls_ca.as_ref().unwrap();
        assert_eq!(ca.path(), good);
        assert_eq!(ca.pem(), TEST_CA_PEM.as_bytes());
        assert!(
            !format!("{c:?}").contains("BEGIN"),
            "Debug shows the path only"
        );
        // A client builds with it.
        crate::client::EsClient::new(&c).unwrap();

        let not_pem = temp_file("not-pem.crt", b"this is not a certificate\n");
        let garbage = temp_file(
            "garbage.crt",
            b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        );
        let missing = good.with_file_name("missing.crt");
        for (path, says) in [
            (not_pem.to_str().unwrap(), "no PEM certificate"),
            (garbage.to_str().unwrap(), "cannot be used"),
            (missing.to_str().unwrap(), "cannot read"),
            ("relative/ca.crt", "absolute"),
            (
                good.parent().unwrap().to_str().unwrap(),
                "not a regular file",
            ),
        ] {
            let errs = with(&[(TLS_CA_PATH, path)]).unwrap_err();
            assert_eq!(fields(&errs), [TLS_CA_PATH], "{path}");
            assert!(
                errs[0].message.contains(says),
                "{path}: {}",
                errs[0].message
            );
            assert!(
                !errs[0].message.contains("this is not"),
                "{}",
                errs[0].message
            );
        }
    }

    #[test]
    fn host_errors_never_echo_a_password() {
        for bad in [
            "http://elastic:hunter2@es:99999",
            "ftp://elastic:hunter2@es",
            "elastic:hunter2@es",
            "http://elastic:hunter2@",
        ] {
            let errs = EsSourceConfig::parse(&map(&[
                ("es.hosts", bad),
                ("es.index", "i"),
                ("es.tracking.field", "ts"),
            ]))
            .unwrap_err();
            let text = format!("{errs:?}");
            assert!(!text.contains("hunter2"), "{bad}: {text}");
            assert!(errs.iter().any(|e| e.field == "es.hosts"), "{bad}: {text}");
        }
    }

    #[test]
    fn index_entries_may_be_patterns_aliases_and_exclusions() {
        let mut m = minimal();
        m.insert(
            INDEX.into(),
            "logs-*, -logs-debug*, orders-alias, -old".into(),
        );
        let c = EsSourceConfig::parse(&m).unwrap();
        assert_eq!(
            c.indices,
            ["logs-*", "-logs-debug*", "orders-alias", "-old"]
        );
        m.insert(INDEX.into(), "-logs-*".into());
        assert_eq!(fields(&EsSourceConfig::parse(&m).unwrap_err()), [INDEX]);
        m.insert(INDEX.into(), "a,-".into());
        assert_eq!(fields(&EsSourceConfig::parse(&m).unwrap_err()), [INDEX]);
        m.insert(INDEX.into(), "Logs-*".into());
        let errs = EsSourceConfig::parse(&m).unwrap_err();
        assert!(errs[0].message.contains("lower case"), "{errs:?}");
    }

    #[test]
    fn message_keys_parse_and_conflicts_are_field_errors() {
        let c = EsSourceConfig::parse(&minimal()).unwrap();
        assert_eq!(
            c.index_refresh_interval,
            Some(Duration::from_millis(DEFAULT_INDEX_REFRESH_INTERVAL_MS))
        );
        assert!(!c.envelope && c.topic_prefix.is_none() && c.tag.is_none());
        let mut m = minimal();
        m.insert(INDEX_REFRESH_INTERVAL_MS.into(), "0".into());
        m.insert(TOPIC_PREFIX.into(), "es_".into());
        m.insert(TAG_FIELD.into(), "kind".into());
        m.insert(ENVELOPE.into(), "true".into());
        let c = EsSourceConfig::parse(&m).unwrap();
        assert_eq!(c.index_refresh_interval, None);
        assert_eq!(c.topic_prefix.as_deref(), Some("es_"));
        assert_eq!(c.tag_field.as_deref(), Some("kind"));
        assert!(c.envelope);

        m.insert(INDEX_REFRESH_INTERVAL_MS.into(), "10".into());
        m.insert(TOPIC_PREFIX.into(), "es.".into());
        m.insert(TAG.into(), "t".into());
        m.insert(ENVELOPE.into(), "yes".into());
        let errs = EsSourceConfig::parse(&m).unwrap_err();
        assert_eq!(
            fields(&errs),
            [INDEX_REFRESH_INTERVAL_MS, TOPIC_PREFIX, TAG_FIELD, ENVELOPE]
        );
    }
    // --- es-core ---
    #[test]
    fn start_query_source_and_lag_parse() {
        let c = EsSourceConfig::parse(&minimal()).unwrap();
        assert_eq!(c.start, StartPosition::Earliest);
        assert_eq!((c.query, c.lag), (None, None));
        assert!(c.source_includes.is_empty() && c.source_excludes.is_empty());
        assert_eq!(
            c.progress_interval,
            Duration::from_millis(DEFAULT_PROGRESS_INTERVAL_MS)
        );

        let mut m = minimal();
        m.insert(START.into(), "latest".into());
        m.insert(QUERY.into(), r#" {"term": {"status": "paid"}} "#.into());
        m.insert(SOURCE_INCLUDES.into(), "a, b.*".into());
        m.insert(SOURCE_EXCLUDES.into(), "secret".into());
        m.insert(LAG.into(), "5s".into());
        let c = EsSourceConfig::parse(&m).unwrap();
        assert_eq!(c.start, StartPosition::Latest);
        assert_eq!(
            serde_json::Value::Object(c.query.unwrap()),
            serde_json::json!({"term": {"status": "paid"}})
        );
        assert_eq!(c.source_includes, ["a", "b.*"]);
        assert_eq!(c.source_excludes, ["secret"]);
        assert_eq!(c.lag, Some(Duration::from_secs(5)));

        m.insert(START.into(), "2024-05-01T00:00:00Z".into());
        m.insert(LAG.into(), "0".into());
        let c = EsSourceConfig::parse(&m).unwrap();
        assert_eq!(c.start, StartPosition::Value("2024-05-01T00:00:00Z".into()));
        assert_eq!(c.lag, None);
    }

    #[test]
    fn bad_queries_and_lags_are_field_errors() {
        for (query, want) in [
            ("{not json", "not valid JSON"),
            ("[1]", "an array"),
            ("\"match_all\"", "a string"),
            ("{}", "empty object"),
        ] {
            let mut m = minimal();
            m.insert(QUERY.into(), query.into());
            let errs = EsSourceConfig::parse(&m).unwrap_err();
            assert_eq!(fields(&errs), [QUERY], "{query}");
            assert!(
                errs[0].message.contains(want),
                "{query}: {}",
                errs[0].message
            );
        }
        for lag in ["5 parsecs", "-1s", "1.5s", "2d", "25h"] {
            let mut m = minimal();
            m.insert(LAG.into(), lag.into());
            assert_eq!(
                fields(&EsSourceConfig::parse(&m).unwrap_err()),
                [LAG],
                "{lag}"
            );
        }
    }

    #[test]
    fn kind_dependent_options_are_field_errors() {
        use crate::tracking::TrackingKind;
        let mut m = minimal();
        m.insert(LAG.into(), "5s".into());
        m.insert(START.into(), "2024-05-01T00:00:00Z".into());
        let c = EsSourceConfig::parse(&m).unwrap();
        assert!(c.check_for_kind(TrackingKind::Date).is_empty());
        assert!(c.check_for_kind(TrackingKind::DateNanos).is_empty());
        assert_eq!(fields(&c.check_for_kind(TrackingKind::Long)), [LAG, START]);
        m.insert(START.into(), "k-7".into());
        m.remove(LAG);
        let c = EsSourceConfig::parse(&m).unwrap();
        assert!(c.check_for_kind(TrackingKind::Keyword).is_empty());
        let errs = c.check_for_kind(TrackingKind::Double);
        assert_eq!(fields(&errs), [START]);
        assert!(errs[0].message.contains("floating-point"), "{errs:?}");

        // A long field holding epoch time takes es.lag once its unit is named.
        let mut m = minimal();
        m.insert(LAG.into(), "5s".into());
        let c = EsSourceConfig::parse(&m).unwrap();
        assert_eq!(fields(&c.check_for_kind(TrackingKind::Long)), [LAG]);
        m.insert(TIME_UNIT.into(), "seconds".into());
        let c = EsSourceConfig::parse(&m).unwrap();
        assert!(c.check_for_kind(TrackingKind::Long).is_empty());
        assert_eq!(fields(&c.check_for_kind(TrackingKind::Date)), [TIME_UNIT]);
        m.insert(TIME_UNIT.into(), "fortnights".into());
        assert_eq!(fields(&EsSourceConfig::parse(&m).unwrap_err()), [TIME_UNIT]);
    }

    #[test]
    fn durations_take_a_unit_or_milliseconds() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("750"), Ok(Duration::from_millis(750)));
        assert_eq!(parse_duration("5s"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert!(parse_duration("").is_err());
        assert!(parse_duration("s").is_err());
        assert!(parse_duration("99999999999999999999h").is_err());
    }
    // --- end es-core ---
}

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
/// Largest file [`TLS_CA_PATH`] may name (a CA bundle is a few KiB; this is generous).
pub const MAX_CA_FILE_BYTES: u64 = 1024 * 1024;
/// Internal: the indices one task reads, written by `task_configs` (not for users).
pub const TASK_INDICES: &str = "es.task.indices";

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
    /// mapped with a sortable type (long, integer, double, date, date_nanos, keyword, ...).
    /// Documents without it are not read.
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
        for (i, name) in indices.iter().enumerate() {
            if let Err(msg) = check_index_name(name) {
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
        let tls_ca = r.optional_str(TLS_CA_PATH).and_then(|path| {
            read_ca_file(&path)
                .map_err(|msg| r.error(TLS_CA_PATH, msg))
                .ok()
        });

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

/// Checks a concrete index name against Elasticsearch's naming rules.
fn check_index_name(name: &str) -> Result<(), String> {
    if name.contains(['*', '?']) {
        return Err(format!(
            "{name:?} is a pattern; patterns are not supported yet, list concrete index names"
        ));
    }
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
            doc: "Comma-separated concrete index names to read. Each index is one \
                  partition with its own offset; indices are spread over the tasks.",
        },
        ConfigKey {
            name: TRACKING_FIELD,
            ty: ConfigType::String,
            default: None,
            required: true,
            doc: "Field read in ascending order to find new documents, for example an \
                  update timestamp or a sequence number. Must be mapped with a sortable \
                  type (long, integer, double, date, date_nanos, keyword, ...), not text. \
                  Documents without the field are not read.",
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
            (INDEX, "Orders, logs-*, a, a"),
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
        assert!(errs[3].message.contains("pattern"));
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
                TLS_CA_PATH
            ]
        );
        assert!(def.iter().all(|k| !k.doc.is_empty()));
        let default = |name| def.iter().find(|k| k.name == name).unwrap().default;
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
}

//! The typed config of `es-source`, its documented keys, and parsing with per-field errors.
//!
//! Contract: [`EsSourceConfig::parse`] reads only `es.*` keys (framework keys such as
//! `connector.class` are ignored), never contacts Elasticsearch, and reports every
//! problem as a [`FieldError`] on the key to change. [`config_def`] documents every key
//! it reads; a test keeps the two in step. Secrets live in [`Password`], which never
//! prints its value.

use std::fmt;
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
            index_refresh_interval,
            topic_prefix,
            tag,
            tag_field,
            envelope,
        })
    }
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
                INDEX_REFRESH_INTERVAL_MS,
                TOPIC_PREFIX,
                TAG,
                TAG_FIELD,
                ENVELOPE
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
        // Required keys are exactly the ones parse() reports when absent.
        let required: Vec<_> = def.iter().filter(|k| k.required).map(|k| k.name).collect();
        assert_eq!(required, [HOSTS, INDEX, TRACKING_FIELD]);
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
}

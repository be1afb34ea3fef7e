//! The typed config of `es-source`, its documented keys, and parsing with per-field errors.
//!
//! Contract: [`EsSourceConfig::parse`] reads only `es.*` keys (framework keys such as
//! `connector.class` are ignored), never contacts Elasticsearch, and reports every
//! problem as a [`FieldError`] on the key to change. [`config_def`] documents every key
//! it reads; a test keeps the two in step. Secrets live in [`Password`], which never
//! prints its value.
//!
//! One file per concern reads its keys: `hosts` (reaching Elasticsearch), `auth`
//! (credentials and TLS trust), `index` (which indices), `tracking` (the tracking field,
//! the read position and pace) and `message` (topic, tag and body). This module
//! holds the config struct, the order the keys are read in, and the key reference.

use std::time::Duration;

use connect_api::{ConfigDef, ConfigKey, ConfigMap, ConfigReader, ConfigType, FieldError};
use url::Url;

use crate::tracking::{TimeUnit, TrackingKind};

mod auth;
mod backfill;
mod hosts;
mod index;
mod message;
mod tracking;

#[cfg(test)]
mod tests;

pub use auth::{
    ApiKey, CaFile, Password, API_KEY, MAX_CA_FILE_BYTES, PASSWORD, TLS_CA_PATH, USERNAME,
};
pub use backfill::{
    BackfillMode, BackfillSettings, BackfillSlices, BACKFILL_KEEP_ALIVE, BACKFILL_MODE,
    BACKFILL_RANGE_DOCS, BACKFILL_SLICES, DEFAULT_BACKFILL_KEEP_ALIVE, DEFAULT_BACKFILL_RANGE_DOCS,
    MAX_AUTO_BACKFILL_SLICES, MAX_BACKFILL_SLICES,
};
pub use hosts::{
    DEFAULT_REQUEST_TIMEOUT_MS, HOSTS, HTTP_COMPRESSION, MAX_REQUEST_TIMEOUT_MS,
    MIN_REQUEST_TIMEOUT_MS, REQUEST_TIMEOUT_MS,
};
pub use index::{
    DEFAULT_INDEX_REFRESH_INTERVAL_MS, INDEX, INDEX_REFRESH_INTERVAL_MS,
    MAX_INDEX_REFRESH_INTERVAL_MS, MIN_INDEX_REFRESH_INTERVAL_MS, TASK_INDICES,
};
pub use message::{
    is_topic_char, MessageProperties, ENVELOPE, MAX_TOPIC_LEN, MESSAGE_PROPERTIES, SOURCE_EXCLUDES,
    SOURCE_INCLUDES, TAG, TAG_FIELD, TOPIC_PREFIX,
};
pub use tracking::{
    parse_duration, StartPosition, BATCH_SIZE, DEFAULT_BATCH_SIZE, DEFAULT_POLL_INTERVAL_MS,
    DEFAULT_PROGRESS_INTERVAL_MS, LAG, MAX_BATCH_SIZE, MAX_LAG, MAX_POLL_INTERVAL_MS,
    MAX_PROGRESS_INTERVAL_MS, MIN_POLL_INTERVAL_MS, POLL_INTERVAL_MS, PROGRESS_INTERVAL_MS, QUERY,
    START, TIEBREAKER_FIELD, TIME_UNIT, TRACKING_FIELD,
};

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
    pub time_unit: Option<TimeUnit>,
    /// `es.message.properties`: the user properties each message carries.
    pub message_properties: MessageProperties,
    /// `es.backfill.mode`, `es.backfill.slices`, `es.backfill.range.docs` and
    /// `es.backfill.keep.alive`: how an index without a committed position is read first.
    pub backfill: BackfillSettings,
}

impl EsSourceConfig {
    /// Parses the `es.*` keys of a connector or task config.
    ///
    /// The keys are read in the order their errors are listed to the user.
    pub fn parse(map: &ConfigMap) -> Result<Self, Vec<FieldError>> {
        let mut r = ConfigReader::new(map);
        let hosts = hosts::read_hosts(&mut r);
        let indices = index::read_entries(&mut r);
        let (tracking_field, tiebreaker_field) = tracking::read_fields(&mut r);
        let batch_size = tracking::read_batch_size(&mut r);
        let poll_interval = tracking::read_poll_interval(&mut r);
        let request_timeout = hosts::read_request_timeout(&mut r);
        let credentials = auth::read_credentials(&mut r, map);
        let http_compression = r.bool_or(HTTP_COMPRESSION, false);
        let tls_ca = auth::read_tls_ca(&mut r);
        let index_refresh_interval = index::read_refresh_interval(&mut r);
        let shape = message::read_shape(&mut r);
        let bounds = tracking::read_bounds(&mut r, map);
        let progress_interval = tracking::read_progress_interval(&mut r);
        let backfill = backfill::read_backfill(&mut r);

        r.finish(Self {
            hosts,
            indices,
            tracking_field,
            tiebreaker_field,
            batch_size,
            poll_interval,
            request_timeout,
            username: credentials.username,
            password: credentials.password,
            api_key: credentials.api_key,
            tls_ca,
            http_compression,
            index_refresh_interval,
            topic_prefix: shape.topic_prefix,
            tag: shape.tag,
            tag_field: shape.tag_field,
            envelope: shape.envelope,
            start: bounds.start,
            query: bounds.query,
            source_includes: shape.source_includes,
            source_excludes: shape.source_excludes,
            lag: bounds.lag,
            progress_interval,
            time_unit: bounds.time_unit,
            message_properties: shape.properties,
            backfill,
        })
    }

    /// The key to blame when Elasticsearch rejects the credentials (401): `es.api.key`,
    /// `es.password`, or `es.username` when none are set.
    pub fn credentials_key(&self) -> &'static str {
        auth::credentials_key(self.api_key.as_ref(), self.username.as_deref())
    }

    /// The options that depend on the tracking field's mapped kind, checked once it is
    /// known (by the task, and by validation after the mapping check): `es.lag` needs a
    /// date or date_nanos field, and an `es.start` value must be a value of the field.
    pub fn check_for_kind(&self, kind: TrackingKind) -> Vec<FieldError> {
        tracking::check_for_kind(
            kind,
            &self.tracking_field,
            &self.start,
            self.lag,
            self.time_unit,
        )
    }
}

/// Every key `es-source` reads, with type, default and docs.
pub fn config_def() -> ConfigDef {
    vec![
        ConfigKey::new(HOSTS, ConfigType::List, "Comma-separated base URLs of Elasticsearch nodes, http or https, for \
                  example http://es1:9200,http://es2:9200. Requests are spread over them \
                  round-robin. Credentials go in es.username / es.password, not in the URL.").required(),
        ConfigKey::new(INDEX, ConfigType::List, "Comma-separated indices to read: index names, aliases, data streams and \
                  wildcard patterns (logs-*), with -name or -pattern entries to leave \
                  indices out. Each entry resolves to concrete indices (an alias to its \
                  indices, a data stream to its backing indices; a pattern matches \
                  concrete indices and data streams, not aliases). Each concrete index is \
                  one partition with its own offset; they are spread over the tasks. A \
                  name that does not exist fails validation; a pattern that matches \
                  nothing yet is allowed (logged as a warning) and picked up when indices \
                  appear (see es.index.refresh.interval.ms).").required(),
        ConfigKey::new(TRACKING_FIELD, ConfigType::String, "Field read in ascending order to find new documents, for example an \
                  update timestamp or a sequence number. Must be mapped as long, integer, \
                  short, byte, double, float, half_float, date, date_nanos or keyword, with \
                  doc values (text, scaled_float and unsigned_long are refused). Documents \
                  without the field are not read; their number is reported in the task's \
                  progress as docs_missing_tracking_field.").required(),
        ConfigKey::new(TIEBREAKER_FIELD, ConfigType::String, "Optional field unique per document (keyword or numeric, with doc \
                  values) used to order documents that share a tracking value. With it \
                  the offset is small; without it the offset remembers the ids already \
                  read at the last tracking value. A document written later with the \
                  same tracking value must not sort before one already read (use a \
                  growing sequence or a time-ordered id), or leave this unset. Documents \
                  without the field are not read."),
        ConfigKey::new(BATCH_SIZE, ConfigType::Int, "Documents fetched per search request, 1 to 10000.").with_default("1000"),
        ConfigKey::new(POLL_INTERVAL_MS, ConfigType::Int, "Milliseconds to wait after a poll that found no new document in any \
                  index of the task, 10 to 3600000.").with_default("1000"),
        ConfigKey::new(REQUEST_TIMEOUT_MS, ConfigType::Int, "Timeout of each request to Elasticsearch in milliseconds, 1000 to \
                  600000. A timed-out request is retried.").with_default("30000"),
        ConfigKey::new(USERNAME, ConfigType::String, "User name for HTTP basic authentication; set together with es.password."),
        ConfigKey::new(PASSWORD, ConfigType::Password, "Password for HTTP basic authentication; never shown or logged."),
        ConfigKey::new(API_KEY, ConfigType::Password, "Elasticsearch API key, sent as `Authorization: ApiKey ...`: the base64 \
                  `encoded` value returned by POST /_security/api_key, or `id:api_key`. \
                  Never shown or logged. Use it instead of es.username / es.password, not \
                  with them."),
        ConfigKey::new(HTTP_COMPRESSION, ConfigType::Bool, "true: ask Elasticsearch to gzip its answers (Accept-Encoding: gzip). \
                  Off by default: compressing a page of documents costs Elasticsearch more \
                  CPU than finding them (about half again in bench/), and on a local \
                  network the bandwidth saved rarely matters. Turn it on when the link to \
                  Elasticsearch is slow or metered.").with_default("false"),
        ConfigKey::new(TLS_CA_PATH, ConfigType::String, "Absolute path of a PEM file with the certificate(s) of the CA that signed \
                  the https hosts' certificates (for example Elasticsearch's \
                  config/certs/http_ca.crt), trusted besides the public root CAs. The file is \
                  read when the config is checked; host names are verified against the \
                  certificate."),
        ConfigKey::new(INDEX_REFRESH_INTERVAL_MS, ConfigType::Int, "Milliseconds between two resolutions of es.index while the connector \
                  runs; new concrete indices (a new match of a pattern, a rollover of an \
                  alias or data stream) are then given to the tasks, which restart with \
                  the new split. 0 turns it off; otherwise 1000 to 86400000. While no \
                  index matches, the connector runs one idle task and logs a warning at \
                  every resolution.").with_default("60000"),
        ConfigKey::new(TOPIC_PREFIX, ConfigType::String, "When set, each document goes to the topic <prefix><concrete index \
                  name> (characters RocketMQ topics cannot hold, such as '.', become \
                  '_'), and connect.topicname is not used. Letters, digits, '_', '-', \
                  '%' and '|' only; prefix plus index name must be at most 127 characters."),
        ConfigKey::new(TAG, ConfigType::String, "A constant tag set on every message, for broker-side filtering. Not \
                  together with es.tag.field."),
        ConfigKey::new(TAG_FIELD, ConfigType::String, "A field of _source whose value becomes the message tag: a top-level \
                  name, or a dotted path into objects (a.b.c; a top-level key that \
                  contains dots is tried first). Strings, numbers and booleans are used \
                  as text; a missing, null, object or array value leaves the message \
                  without a tag. Not together with es.tag."),
        ConfigKey::new(ENVELOPE, ConfigType::Bool, "false: the message body is the document's _source, byte for byte. \
                  true: the body is {\"_index\",\"_id\",\"_seq_no\",\"_primary_term\",\
                  \"tracking\",\"_source\"}, where tracking is the tracking field's sort \
                  value and _source the original bytes.").with_default("false"),
        ConfigKey::new(START, ConfigType::String, "Where an index without a committed offset starts: `earliest` (its first \
                  document), `latest` (after the newest document present when the task \
                  first reads the index; until a later document is committed, a restart \
                  looks for the newest one again) or a tracking value (documents with \
                  tracking value >= it: a number for numeric fields, epoch milliseconds or \
                  an RFC 3339 timestamp such as 2024-05-01T12:00:00Z for date and \
                  date_nanos, the text for keyword). Ignored once an offset is committed.").with_default("earliest"),
        ConfigKey::new(QUERY, ConfigType::String, "A JSON query object, for example {\"term\": {\"status\": \"paid\"}}, \
                  added as a filter to every search (and to the progress counts): only \
                  matching documents are read."),
        ConfigKey::new(SOURCE_INCLUDES, ConfigType::List, "Comma-separated _source fields or patterns (a.b, meta.*) to put in the \
                  messages; all fields when unset. The read position never depends on \
                  _source."),
        ConfigKey::new(SOURCE_EXCLUDES, ConfigType::List, "Comma-separated _source fields or patterns to leave out of the messages."),
        ConfigKey::new(LAG, ConfigType::String, "For date and date_nanos tracking fields: only read documents whose \
                  tracking value is at most now minus this duration (by the clock of \
                  the host running the task), so documents that become searchable late (refresh interval, a \
                  slow writer) are not skipped. A whole number with a unit: 500ms, 5s, 2m, \
                  1h (a bare number is milliseconds); at most one day. 0 reads up to now. \
                  Rejected for other field types.").with_default("0"),
        ConfigKey::new(TIME_UNIT, ConfigType::String, "For a long (integer, short, byte) tracking field that holds epoch time: \
                  its unit, seconds, millis, micros or nanos. Enables es.lag and the lag in \
                  seconds in the task's progress for that field. Rejected for other types."),
        ConfigKey::new(PROGRESS_INTERVAL_MS, ConfigType::Int, "Milliseconds between two progress measurements of an index (documents \
                  remaining after the position, lag in seconds for time fields, documents \
                  missing the tracking field), 0 to 3600000; each costs two counts and at \
                  most one one-hit search per index, made inside a poll. 0 measures on \
                  every poll.").with_default("5000"),
        ConfigKey::new(MESSAGE_PROPERTIES, ConfigType::List, "Comma-separated user properties each message carries: es_index (the \
                  concrete index), es_id (the _id), es_tracking_value (the tracking \
                  value as text), es_seq_no (with es.envelope=true), or none. The key \
                  <index>/<_id> is always set. Each property costs the broker a little per \
                  message.").with_default("es_index,es_id,es_tracking_value,es_seq_no"),
        ConfigKey::new(BACKFILL_MODE, ConfigType::String, "How an index without a committed position is read first. pit: the \
                  documents already there are copied through a point in time in \
                  _shard_doc order (no sort on the tracking field, the cheapest read \
                  Elasticsearch has) up to a snapshot bound S, the highest tracking value \
                  at or below now minus es.lag when the backfill starts; then the index is \
                  read incrementally from S (inclusive), so documents at S are read once. \
                  Progress (done, left, rate, ETA) is in the task's status. Not used with \
                  es.start=latest. sorted: read from the start sorted on the tracking \
                  field, page after page, as the incremental phase does.").with_default("pit"),
        ConfigKey::new(BACKFILL_SLICES, ConfigType::String, "Slices of the point in time one task reads in parallel during a pit \
                  backfill: auto (one per primary shard of the index, at most 8) or a \
                  number from 1 to 32. One slice over several shards makes every shard \
                  collect a full page for each page read; a slice per shard does not.").with_default("auto"),
        ConfigKey::new(BACKFILL_RANGE_DOCS, ConfigType::Int, "A pit backfill cuts the snapshot into ranges of the tracking field of \
                  about this many documents (at percentiles; one range for keyword and \
                  date_nanos fields), read one after the other. If the point in time \
                  expires (the task was stopped longer than es.backfill.keep.alive), only \
                  the range being read is read again: that bounds the duplicates. 1000 \
                  to 1000000000.").with_default("1000000"),
        ConfigKey::new(BACKFILL_KEEP_ALIVE, ConfigType::String, "How long Elasticsearch keeps a pit backfill's point in time between two \
                  of its searches (each search renews it), 10s to 24h, as 300s, 5m or \
                  1h. A task restarted within it continues the same snapshot.").with_default("5m"),
    ]
}

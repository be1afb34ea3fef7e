//! A thin wrapper over the official `elasticsearch` client: the calls the connector
//! makes, with HTTP errors turned into [`EsError`]s and hits decoded without copying
//! `_source`.
//!
//! Contract: every method is one request and is cancel-safe (dropping it drops the
//! request). An error status is never mistaken for an answer (the client does not treat
//! 4xx/5xx as errors by itself). A search that timed out or failed on a shard is an error,
//! never a short page. Credentials are handed to the HTTP client and nowhere else; this
//! type's `Debug` does not show them.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

use bytes::Bytes;
use elasticsearch::auth::Credentials;
use elasticsearch::cert::{Certificate, CertificateValidation};
use elasticsearch::cluster::ClusterHealthParts;
use elasticsearch::http::headers::{HeaderValue, ACCEPT_ENCODING};
use elasticsearch::http::response::Response;
use elasticsearch::http::transport::{
    MultiNodeConnectionPool, SingleNodeConnectionPool, TransportBuilder,
};
use elasticsearch::indices::IndicesGetFieldMappingParts;
use elasticsearch::{Elasticsearch, SearchParts};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;
use url::Url;

use crate::config::{ApiKey, EsSourceConfig};
use crate::error::EsError;

/// Longest error reason kept from an Elasticsearch answer.
const MAX_REASON_LEN: usize = 1000;

/// A connection to an Elasticsearch cluster.
#[derive(Clone)]
pub struct EsClient {
    es: Elasticsearch,
}

impl fmt::Debug for EsClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The transport's own Debug would print the credentials.
        f.write_str("EsClient")
    }
}

/// One hit of a search page.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    /// `_index`: the concrete index the document lives in.
    pub index: String,
    /// `_id`.
    pub id: String,
    /// `sort`: the values the search sorted on, as Elasticsearch wrote them.
    pub sort: Vec<Value>,
    /// `_source`: the document, byte for byte as Elasticsearch returned it.
    pub source: Bytes,
    /// `_seq_no`, when the search asked for `seq_no_primary_term`.
    pub seq_no: Option<i64>,
    /// `_primary_term`, when the search asked for `seq_no_primary_term`.
    pub primary_term: Option<i64>,
    /// `fields`: the doc values the search asked for (`docvalue_fields`), by field.
    pub fields: BTreeMap<String, Vec<Value>>,
}

/// One page of a search through a point in time.
#[derive(Debug, Clone, PartialEq)]
pub struct PitPage {
    /// The point in time's id as this answer gives it (the next search must use it).
    pub pit: Option<String>,
    /// The hits.
    pub hits: Vec<Hit>,
}

/// The mapping of one field in one concrete index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldMapping {
    /// The field type, for example `long` or `keyword`.
    pub ty: String,
    /// The `doc_values` setting, when the mapping writes it out.
    pub doc_values: Option<bool>,
}

/// Field mappings by concrete index name, then by full field name; a field missing from
/// an index's map is not mapped there.
pub type FieldMappings = BTreeMap<String, BTreeMap<String, FieldMapping>>;

/// Whether `error` (with its causes) says that the server's TLS certificate was refused.
pub fn is_certificate_error(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut current = Some(error);
    while let Some(e) = current {
        if e.to_string().contains("certificate") {
            return true;
        }
        current = e.source();
    }
    false
}

impl EsClient {
    /// A client for the config's hosts, with its timeout and credentials.
    pub fn new(config: &EsSourceConfig) -> Result<Self, EsError> {
        Self::for_hosts(&config.hosts, config)
    }

    /// A client for `hosts` only (used to check each host on its own), with the config's
    /// timeout and credentials.
    pub fn for_hosts(hosts: &[Url], config: &EsSourceConfig) -> Result<Self, EsError> {
        if hosts.is_empty() {
            return Err(EsError::Config("es.hosts lists no host".into()));
        }
        let builder = match hosts {
            [one] => TransportBuilder::new(SingleNodeConnectionPool::new(one.clone())),
            // No sniffing (`None`): the configured hosts are the ones we may talk to.
            many => {
                TransportBuilder::new(MultiNodeConnectionPool::round_robin(many.to_vec(), None))
            }
        };
        let mut builder = builder.timeout(config.request_timeout);
        if !config.http_compression {
            // Without this header the HTTP client asks for gzip, and Elasticsearch spends
            // more CPU compressing a page than finding it.
            builder = builder.header(ACCEPT_ENCODING, HeaderValue::from_static("identity"));
        }
        // Parsing makes the API key and basic auth exclusive; the key wins regardless.
        if let Some(key) = &config.api_key {
            builder = builder.auth(match key {
                ApiKey::Encoded(encoded) => Credentials::EncodedApiKey(encoded.expose().to_owned()),
                ApiKey::IdSecret { id, secret } => {
                    Credentials::ApiKey(id.clone(), secret.expose().to_owned())
                }
            });
        } else if let (Some(user), Some(password)) = (&config.username, &config.password) {
            builder = builder.auth(Credentials::Basic(
                user.clone(),
                password.expose().to_owned(),
            ));
        }
        if let Some(ca) = &config.tls_ca {
            // Full validation: the chain must lead to this CA (or a public root) and the
            // certificate must name the host.
            let cert = Certificate::from_pem(ca.pem()).map_err(EsError::Build)?;
            builder = builder.cert_validation(CertificateValidation::Full(cert));
        }
        let transport = builder
            .build()
            .map_err(|e| EsError::Build(elasticsearch::Error::from(e)))?;
        Ok(Self {
            es: Elasticsearch::new(transport),
        })
    }

    /// `GET /_cluster/health`: the cluster's name and status (`green`, `yellow`, `red`).
    ///
    /// Used instead of `GET /`, which some distributions (the integ-test zip) lack.
    pub async fn health(&self) -> Result<(String, String), EsError> {
        let what = "GET /_cluster/health";
        let response = self
            .es
            .cluster()
            .health(ClusterHealthParts::None)
            .send()
            .await;
        let bytes = read(response, what).await?;
        #[derive(Deserialize)]
        struct Health {
            cluster_name: String,
            status: String,
        }
        let health: Health = decode(&bytes, what)?;
        Ok((health.cluster_name, health.status))
    }

    /// The mappings of `fields` in `index` (a name, alias or pattern; the answer is keyed
    /// by concrete index). A missing index is a 404 `index_not_found_exception`.
    pub async fn field_mappings(
        &self,
        index: &str,
        fields: &[&str],
    ) -> Result<FieldMappings, EsError> {
        let what = format!("the field mapping request for index {index}");
        let response = self
            .es
            .indices()
            .get_field_mapping(IndicesGetFieldMappingParts::IndexFields(&[index], fields))
            .send()
            .await;
        let bytes = read(response, &what).await?;

        #[derive(Deserialize)]
        struct IndexEntry {
            #[serde(default)]
            mappings: BTreeMap<String, FieldEntry>,
        }
        #[derive(Deserialize)]
        struct FieldEntry {
            // One entry keyed by the leaf name of the field.
            mapping: BTreeMap<String, LeafMapping>,
        }
        #[derive(Deserialize)]
        struct LeafMapping {
            #[serde(rename = "type")]
            ty: Option<String>,
            doc_values: Option<bool>,
        }
        let raw: BTreeMap<String, IndexEntry> = decode(&bytes, &what)?;
        let mut out = FieldMappings::new();
        for (concrete, entry) in raw {
            let fields = entry
                .mappings
                .into_iter()
                .filter_map(|(name, field)| {
                    let leaf = field.mapping.into_values().next()?;
                    Some((
                        name,
                        FieldMapping {
                            // A mapping without a type is an object field.
                            ty: leaf.ty.unwrap_or_else(|| "object".to_owned()),
                            doc_values: leaf.doc_values,
                        },
                    ))
                })
                .collect();
            out.insert(concrete, fields);
        }
        Ok(out)
    }

    /// Runs one search on `index` and decodes its hits.
    pub async fn search(&self, index: &str, body: Value) -> Result<Vec<Hit>, EsError> {
        let what = format!("search on index {index}");
        let response = self
            .es
            .search(SearchParts::Index(&[index]))
            // A shard failure must fail the search, not shorten the page: a short page
            // would move the cursor past documents on the failed shard.
            .allow_partial_search_results(false)
            .body(body)
            .send()
            .await;
        let bytes = read(response, &what).await?;
        decode_hits(&bytes, index, &what).map(|page| page.hits)
    }

    /// `POST /<index>/_pit`: opens a point in time on `index`, kept `keep_alive` (`300s`)
    /// after each search; returns its id.
    pub async fn open_pit(&self, index: &str, keep_alive: &str) -> Result<String, EsError> {
        let what = format!("opening a point in time on index {index}");
        let response = self
            .es
            .open_point_in_time(elasticsearch::OpenPointInTimeParts::Index(&[index]))
            .keep_alive(keep_alive)
            .send()
            .await;
        let bytes = read(response, &what).await?;
        #[derive(Deserialize)]
        struct Opened {
            id: String,
        }
        let opened: Opened = decode(&bytes, &what)?;
        Ok(opened.id)
    }

    /// `DELETE /_pit`: frees a point in time (an unknown or expired one is no error).
    pub async fn close_pit(&self, pit: &str) -> Result<(), EsError> {
        let what = "closing a point in time";
        let response = self
            .es
            .close_point_in_time()
            .body(serde_json::json!({ "id": pit }))
            .send()
            .await;
        match read(response, what).await {
            Ok(_) => Ok(()),
            Err(EsError::Status { status: 404, .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// A search through the point in time named in `body` (`POST /_search`), for index
    /// `index` (named in errors); its hits and the point in time's newest id.
    pub async fn search_pit(&self, index: &str, body: Value) -> Result<PitPage, EsError> {
        let bytes = self.search_pit_raw(index, body).await?;
        decode_hits(
            &bytes,
            index,
            &format!("search of the backfill of index {index}"),
        )
    }

    /// A search through a point in time whose answer the caller decodes (sizes 0 and 1
    /// with aggregations while a backfill is planned).
    pub async fn search_pit_raw(&self, index: &str, body: Value) -> Result<Bytes, EsError> {
        let what = format!("search of the backfill of index {index}");
        let response = self
            .es
            .search(SearchParts::None)
            .allow_partial_search_results(false)
            .body(body)
            .send()
            .await;
        read(response, &what).await
    }

    /// `_count`: how many documents of `index` match `query` (for the progress figures).
    pub async fn count(&self, index: &str, query: Value) -> Result<u64, EsError> {
        let what = format!("count on index {index}");
        let response = self
            .es
            .count(elasticsearch::CountParts::Index(&[index]))
            .body(serde_json::json!({ "query": query }))
            .send()
            .await;
        let bytes = read(response, &what).await?;
        #[derive(Deserialize)]
        struct Count {
            count: u64,
        }
        let answer: Count = decode(&bytes, &what)?;
        Ok(answer.count)
    }
}

// The calls that resolve `es.index` and check it against the indices' settings.

/// What `GET /_resolve/index/<expression>` says one expression stands for.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct ResolvedExpression {
    /// Concrete indices matched by name or pattern.
    #[serde(default)]
    pub indices: Vec<ResolvedIndex>,
    /// Aliases matched, with the indices they point to.
    #[serde(default)]
    pub aliases: Vec<ResolvedAlias>,
    /// Data streams matched, with their backing indices.
    #[serde(default)]
    pub data_streams: Vec<ResolvedDataStream>,
}

/// A concrete index in a resolve answer.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ResolvedIndex {
    /// The index name.
    pub name: String,
    /// `open`, `closed`, `hidden`, `frozen`, ...
    #[serde(default)]
    pub attributes: Vec<String>,
}

/// An alias in a resolve answer.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ResolvedAlias {
    /// The alias name.
    pub name: String,
    /// The indices (or data streams) it points to.
    #[serde(default)]
    pub indices: Vec<String>,
}

/// A data stream in a resolve answer.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ResolvedDataStream {
    /// The data stream name.
    pub name: String,
    /// Its backing indices, oldest first.
    #[serde(default)]
    pub backing_indices: Vec<String>,
}

impl EsClient {
    /// `GET /_resolve/index/<expression>` (open indices only). A plain name that does not
    /// exist is a 404; a pattern without match is an empty answer.
    pub async fn resolve_index(&self, expression: &str) -> Result<ResolvedExpression, EsError> {
        use elasticsearch::indices::IndicesResolveIndexParts;
        use elasticsearch::params::ExpandWildcards;
        let what = format!("resolving {expression}");
        let response = self
            .es
            .indices()
            .resolve_index(IndicesResolveIndexParts::Name(&[expression]))
            .expand_wildcards(&[ExpandWildcards::Open])
            .send()
            .await;
        let bytes = read(response, &what).await?;
        decode(&bytes, &what)
    }

    /// `index.max_result_window` of each of `indices` (concrete names), defaults included.
    pub async fn max_result_windows(
        &self,
        indices: &[&str],
    ) -> Result<BTreeMap<String, u64>, EsError> {
        use elasticsearch::indices::IndicesGetSettingsParts;
        const SETTING: &str = "index.max_result_window";
        let what = "reading index.max_result_window".to_owned();
        let response = self
            .es
            .indices()
            .get_settings(IndicesGetSettingsParts::IndexName(indices, &[SETTING]))
            .include_defaults(true)
            .flat_settings(true)
            .send()
            .await;
        let bytes = read(response, &what).await?;
        #[derive(Deserialize)]
        struct Entry {
            #[serde(default)]
            settings: BTreeMap<String, Value>,
            #[serde(default)]
            defaults: BTreeMap<String, Value>,
        }
        let raw: BTreeMap<String, Entry> = decode(&bytes, &what)?;
        let mut out = BTreeMap::new();
        for (index, entry) in raw {
            let value = entry.settings.get(SETTING).or(entry.defaults.get(SETTING));
            // Settings come back as strings ("10000"); accept numbers too.
            let limit = value.and_then(|v| match v {
                Value::String(s) => s.parse().ok(),
                other => other.as_u64(),
            });
            if let Some(limit) = limit {
                out.insert(index, limit);
            }
        }
        Ok(out)
    }
}

/// Decodes a search answer; `_source` stays a slice of `bytes`.
fn decode_hits(bytes: &Bytes, index: &str, what: &str) -> Result<PitPage, EsError> {
    #[derive(Deserialize)]
    struct Answer<'a> {
        #[serde(default)]
        pit_id: Option<String>,
        #[serde(default)]
        timed_out: bool,
        #[serde(rename = "_shards")]
        shards: Option<Shards>,
        #[serde(borrow)]
        hits: Hits<'a>,
    }
    #[derive(Deserialize)]
    struct Shards {
        #[serde(default)]
        failed: u64,
    }
    #[derive(Deserialize)]
    struct Hits<'a> {
        #[serde(borrow)]
        hits: Vec<RawHit<'a>>,
    }
    #[derive(Deserialize)]
    struct RawHit<'a> {
        #[serde(rename = "_index", borrow)]
        index: Cow<'a, str>,
        #[serde(rename = "_id", borrow)]
        id: Cow<'a, str>,
        #[serde(rename = "_source", borrow)]
        source: Option<&'a RawValue>,
        #[serde(default)]
        sort: Vec<Value>,
        #[serde(rename = "_seq_no", default)]
        seq_no: Option<i64>,
        #[serde(rename = "_primary_term", default)]
        primary_term: Option<i64>,
        #[serde(default)]
        fields: BTreeMap<String, Vec<Value>>,
    }

    let answer: Answer<'_> = decode(bytes, what)?;
    if answer.timed_out {
        return Err(EsError::Incomplete {
            index: index.to_owned(),
            detail: "timed out".into(),
        });
    }
    if let Some(failed) = answer.shards.map(|s| s.failed).filter(|&n| n > 0) {
        return Err(EsError::Incomplete {
            index: index.to_owned(),
            detail: format!("failed on {failed} shard(s)"),
        });
    }
    let hits = answer
        .hits
        .hits
        .into_iter()
        .map(|hit| {
            let source = hit.source.ok_or_else(|| EsError::Decode {
                what: what.to_owned(),
                detail: format!(
                    "document {}/{} has no _source; the connector needs _source enabled",
                    hit.index, hit.id
                ),
            })?;
            Ok(Hit {
                // The raw value borrows from `bytes`, so this is a zero-copy sub-slice.
                source: bytes.slice_ref(source.get().as_bytes()),
                index: hit.index.into_owned(),
                id: hit.id.into_owned(),
                sort: hit.sort,
                seq_no: hit.seq_no,
                primary_term: hit.primary_term,
                fields: hit.fields,
            })
        })
        .collect::<Result<Vec<Hit>, EsError>>()?;
    Ok(PitPage {
        pit: answer.pit_id,
        hits,
    })
}

/// The body of a successful answer, or the error the status and body describe.
async fn read(
    response: Result<Response, elasticsearch::Error>,
    what: &str,
) -> Result<Bytes, EsError> {
    let transport = |source| EsError::Transport {
        what: what.to_owned(),
        source,
    };
    let response = response.map_err(transport)?;
    let status = response.status_code();
    let bytes = response.bytes().await.map_err(transport)?;
    if status.is_client_error() || status.is_server_error() {
        let (error_type, reason) = describe_error(&bytes);
        return Err(EsError::Status {
            what: what.to_owned(),
            status: status.as_u16(),
            error_type,
            reason,
        });
    }
    Ok(bytes)
}

fn decode<'a, T: Deserialize<'a>>(bytes: &'a [u8], what: &str) -> Result<T, EsError> {
    serde_json::from_slice(bytes).map_err(|e| EsError::Decode {
        what: what.to_owned(),
        detail: e.to_string(),
    })
}

/// `(error.type, "type: reason (root cause: type: reason)")` of an error answer.
fn describe_error(body: &[u8]) -> (Option<String>, String) {
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    let error = parsed.as_ref().and_then(|v| v.get("error"));
    let (ty, mut text) = match error {
        Some(Value::String(s)) => (None, s.clone()),
        Some(e @ Value::Object(_)) => {
            let ty = e.get("type").and_then(Value::as_str).map(str::to_owned);
            let mut text = type_reason(e);
            let root = e
                .get("root_cause")
                .and_then(|r| r.get(0))
                .map(type_reason)
                .or_else(|| e.get("caused_by").map(type_reason));
            if let Some(root) = root.filter(|r| *r != text) {
                text.push_str(&format!(" (root cause: {root})"));
            }
            (ty, text)
        }
        _ if body.is_empty() => (None, "no body".to_owned()),
        _ => (None, String::from_utf8_lossy(body).into_owned()),
    };
    if text.len() > MAX_REASON_LEN {
        let mut cut = MAX_REASON_LEN;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        text.push('…');
    }
    (ty, text)
}

fn type_reason(e: &Value) -> String {
    let ty = e.get("type").and_then(Value::as_str).unwrap_or("error");
    match e.get("reason").and_then(Value::as_str) {
        Some(reason) => format!("{ty}: {reason}"),
        None => ty.to_owned(),
    }
}

#[cfg(test)]
mod tests;

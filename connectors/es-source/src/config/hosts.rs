//! How the connector reaches Elasticsearch: `es.hosts`, `es.request.timeout.ms` and
//! `es.http.compression`.
//!
//! Contract: every host is an http(s) base URL ending in `/`, without credentials, query
//! or fragment. An entry that carries user info is refused without quoting it: it may
//! hold a password.

use std::time::Duration;

use connect_api::ConfigReader;
use url::Url;

/// Comma-separated Elasticsearch base URLs.
pub const HOSTS: &str = "es.hosts";
/// Timeout of each request to Elasticsearch.
pub const REQUEST_TIMEOUT_MS: &str = "es.request.timeout.ms";
/// Whether Elasticsearch is asked to gzip its answers.
pub const HTTP_COMPRESSION: &str = "es.http.compression";
/// Default of [`REQUEST_TIMEOUT_MS`].
pub const DEFAULT_REQUEST_TIMEOUT_MS: u64 = 30_000;
/// Smallest [`REQUEST_TIMEOUT_MS`].
pub const MIN_REQUEST_TIMEOUT_MS: u64 = 1_000;
/// Largest [`REQUEST_TIMEOUT_MS`] (ten minutes).
pub const MAX_REQUEST_TIMEOUT_MS: u64 = 600_000;

/// Reads `es.hosts`: at least one entry, each a valid base URL.
pub(super) fn read_hosts(r: &mut ConfigReader<'_>) -> Vec<Url> {
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
    hosts
}

/// Reads `es.request.timeout.ms`.
pub(super) fn read_request_timeout(r: &mut ConfigReader<'_>) -> Duration {
    Duration::from_millis(r.number_or(
        REQUEST_TIMEOUT_MS,
        DEFAULT_REQUEST_TIMEOUT_MS,
        MIN_REQUEST_TIMEOUT_MS..=MAX_REQUEST_TIMEOUT_MS,
    ))
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

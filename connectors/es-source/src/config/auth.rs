//! Credentials and TLS trust: `es.username` / `es.password`, `es.api.key` and
//! `es.tls.ca.path`, with the secret types that hold them.
//!
//! Contract: secrets live in [`Password`] and [`ApiKey`], whose `Debug` prints
//! `[hidden]`, and no error message quotes a secret or the CA file's content. The CA file
//! is read once per parse, into [`CaFile`]; the client builds its TLS trust from those
//! bytes and never opens the path again.

use std::fmt;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use connect_api::{ConfigMap, ConfigReader};
use elasticsearch::cert::{Certificate, CertificateValidation};
use elasticsearch::http::transport::{SingleNodeConnectionPool, TransportBuilder};
use url::Url;

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

/// The credentials of a config: basic auth, an API key, or none.
pub(super) struct Credentials {
    pub(super) username: Option<String>,
    pub(super) password: Option<Password>,
    pub(super) api_key: Option<ApiKey>,
}

/// Reads `es.username`, `es.password` and `es.api.key`: the user and password come
/// together, and an API key excludes both.
pub(super) fn read_credentials(r: &mut ConfigReader<'_>, map: &ConfigMap) -> Credentials {
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
    let raw_key = r.optional_str(API_KEY);
    let api_key = raw_key
        .as_deref()
        .and_then(|raw| parse_api_key(raw).map_err(|msg| r.error(API_KEY, msg)).ok());
    if raw_key.is_some() && (username.is_some() || password.is_some()) {
        r.error(
            API_KEY,
            "cannot be combined with es.username / es.password: authenticate with \
             either an API key or a user, not both",
        );
    }
    Credentials {
        username,
        password,
        api_key,
    }
}

/// Reads `es.tls.ca.path`: the CA file, read and checked, when it is set.
pub(super) fn read_tls_ca(r: &mut ConfigReader<'_>) -> Option<CaFile> {
    r.optional_str(TLS_CA_PATH).and_then(|path| {
        read_ca_file(&path)
            .map_err(|msg| r.error(TLS_CA_PATH, msg))
            .ok()
    })
}

/// The key to blame when Elasticsearch rejects the credentials (401): `es.api.key` when
/// an API key is set, `es.password` when a user is, `es.username` when none are set.
pub(super) fn credentials_key(api_key: Option<&ApiKey>, username: Option<&str>) -> &'static str {
    if api_key.is_some() {
        API_KEY
    } else if username.is_some() {
        PASSWORD
    } else {
        USERNAME
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
    // Elasticsearch writes `encoded` in the standard alphabet, with padding.
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(raw)
        .map_err(|_| format!("is neither base64 nor of the form id:api_key; {HELP}"))?;
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

/// Reads and checks `es.tls.ca.path`: an absolute path to a regular file of at most
/// [`MAX_CA_FILE_BYTES`] holding PEM certificates the TLS client accepts. Its type and
/// size are looked at before it is opened, so a FIFO or device never blocks the parse.
/// Messages never quote the file's content.
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
    check_ca_pem(&pem).map_err(|msg| format!("{raw:?} {msg}"))?;
    Ok(CaFile { path, pem })
}

/// Checks that `pem` holds at least one PEM certificate the TLS client accepts as a trust
/// anchor, by building a client with it (the rustls backend only parses the certificates
/// then). The message never quotes the content.
fn check_ca_pem(pem: &[u8]) -> Result<(), String> {
    let cert = Certificate::from_pem(pem).map_err(|_| {
        "holds no PEM certificate (a block from -----BEGIN CERTIFICATE----- to \
         -----END CERTIFICATE-----)"
            .to_owned()
    })?;
    let url = Url::parse("https://localhost/").map_err(|e| e.to_string())?;
    let pool = SingleNodeConnectionPool::new(url);
    TransportBuilder::new(pool)
        .cert_validation(CertificateValidation::Full(cert))
        .build()
        .map(drop)
        .map_err(|e| {
            let e = elasticsearch::Error::from(e);
            let mut text = format!("holds a certificate that cannot be used as a CA ({e}");
            let mut source = std::error::Error::source(&e);
            while let Some(cause) = source {
                text.push_str(&format!(": {cause}"));
                source = cause.source();
            }
            text.push(')');
            text
        })
}

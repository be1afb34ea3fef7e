//! The one place the client talks HTTP: builds URLs from path segments (each escaped),
//! sends the bearer token, and turns every failure into a [`CliError`] so all commands
//! report errors the same way.

use std::time::Duration;

use connect_api::FieldError;
use reqwest::header::{HeaderValue, ACCEPT, AUTHORIZATION};
use reqwest::{Method, Url};
use serde::Deserialize;
use serde_json::Value;

use super::error::CliError;

/// How long to wait for a TCP connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long to wait for an answer. Creating a connector checks the live Elasticsearch
/// and deleting one waits for its tasks to drain, so this is generous.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(90);

/// A client of one worker's REST API.
pub struct Api {
    base: Url,
    token: Option<HeaderValue>,
    http: reqwest::Client,
}

/// A successful (2xx) answer.
#[derive(Debug)]
pub struct Answer {
    /// HTTP status.
    pub status: u16,
    /// The body as sent (empty for 204).
    pub text: String,
}

impl Answer {
    /// The body as JSON.
    pub fn json(&self) -> Result<Value, CliError> {
        serde_json::from_str(&self.text).map_err(|e| {
            CliError::Unexpected(format!("HTTP {} body is not JSON: {e}", self.status))
        })
    }

    /// The body as `T`.
    pub fn parse<T: serde::de::DeserializeOwned>(&self) -> Result<T, CliError> {
        serde_json::from_str(&self.text).map_err(|e| {
            CliError::Unexpected(format!("HTTP {} body has another shape: {e}", self.status))
        })
    }
}

/// The API's error body; every field is optional so any 4xx/5xx body can be shown.
#[derive(Deserialize, Default)]
#[serde(default)]
struct ErrorBody {
    message: Option<String>,
    errors: Vec<FieldError>,
}

impl Api {
    /// A client of the worker at `url` (`http://` is assumed when no scheme is given).
    /// `builder` lets tests turn off system proxies.
    pub fn new(
        url: &str,
        token: Option<&str>,
        builder: reqwest::ClientBuilder,
    ) -> Result<Self, CliError> {
        let with_scheme = if url.contains("://") {
            url.to_owned()
        } else {
            format!("http://{url}")
        };
        let base = Url::parse(&with_scheme)
            .map_err(|e| CliError::Usage(format!("--url {url:?} is not a URL: {e}")))?;
        if !matches!(base.scheme(), "http" | "https") || base.cannot_be_a_base() {
            return Err(CliError::Usage(format!(
                "--url {url:?} must be an http:// or https:// URL"
            )));
        }
        let token = match token.filter(|t| !t.is_empty()) {
            None => None,
            Some(t) => {
                let mut v = HeaderValue::from_str(&format!("Bearer {t}")).map_err(|_| {
                    CliError::Usage(
                        "the token holds characters not allowed in an HTTP header".into(),
                    )
                })?;
                // Keeps the token out of any Debug output of the request.
                v.set_sensitive(true);
                Some(v)
            }
        };
        let http = builder
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            // The API never redirects; following one could hand the token to another host.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("rmq-connect-cli/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| CliError::Usage(format!("cannot set up the HTTP client: {e}")))?;
        Ok(Self { base, token, http })
    }

    /// The base URL as shown in messages: no user name or password.
    pub fn shown_url(&self) -> String {
        let mut u = self.base.clone();
        let _ = u.set_password(None);
        let _ = u.set_username("");
        u.to_string()
    }

    /// The URL of `segments` (each escaped as one path segment) under the base URL.
    fn url(&self, segments: &[&str], query: &[(&str, &str)]) -> Result<Url, CliError> {
        // The url crate silently drops `.` and `..` segments, which would send the
        // request to another route (`DELETE /connectors/..` is `DELETE /`).
        if let Some(bad) = segments.iter().find(|s| matches!(**s, "" | "." | "..")) {
            return Err(CliError::Usage(format!(
                "{bad:?} cannot be used as a name in a URL"
            )));
        }
        let mut url = self.base.clone();
        url.path_segments_mut()
            .map_err(|()| CliError::Usage("--url cannot have a path appended".into()))?
            .pop_if_empty()
            .extend(segments);
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        Ok(url)
    }

    /// Sends one request; a 2xx answer is returned, anything else is an error.
    pub async fn call(
        &self,
        method: Method,
        segments: &[&str],
        query: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Result<Answer, CliError> {
        let url = self.url(segments, query)?;
        let mut req = self
            .http
            .request(method, url)
            .header(ACCEPT, "application/json");
        if let Some(token) = &self.token {
            req = req.header(AUTHORIZATION, token.clone());
        }
        if let Some(body) = body {
            req = req.json(body);
        }
        let resp = req.send().await.map_err(|e| self.transport_error(&e))?;
        let status = resp.status();
        let text = resp.text().await.map_err(|e| self.transport_error(&e))?;
        if status.is_success() {
            return Ok(Answer {
                status: status.as_u16(),
                text,
            });
        }
        let parsed: ErrorBody = serde_json::from_str(&text).unwrap_or_default();
        let mut message = match parsed.message.filter(|m| !m.trim().is_empty()) {
            Some(m) => m,
            None => status_line(status, &text),
        };
        if status == reqwest::StatusCode::UNAUTHORIZED && self.token.is_none() {
            message.push_str(" (pass --token or set RMQ_CONNECT_TOKEN)");
        }
        Err(CliError::Rejected {
            status: status.as_u16(),
            message,
            errors: parsed.errors,
        })
    }

    /// `GET`.
    pub async fn get(&self, segments: &[&str], query: &[(&str, &str)]) -> Result<Answer, CliError> {
        self.call(Method::GET, segments, query, None).await
    }

    fn transport_error(&self, e: &reqwest::Error) -> CliError {
        if e.is_timeout() {
            return CliError::NoAnswer {
                url: self.shown_url(),
                secs: REQUEST_TIMEOUT.as_secs(),
            };
        }
        // reqwest's own message repeats the URL; the innermost cause says what happened.
        let mut cause: &dyn std::error::Error = e;
        while let Some(next) = cause.source() {
            cause = next;
        }
        CliError::Unreachable {
            url: self.shown_url(),
            detail: cause.to_string(),
        }
    }
}

/// `HTTP 502 Bad Gateway` plus the start of a non-JSON body, for errors that did not
/// come from the API itself (a proxy, another program on the port).
fn status_line(status: reqwest::StatusCode, body: &str) -> String {
    let mut line = format!(
        "HTTP {} {}",
        status.as_u16(),
        status.canonical_reason().unwrap_or("")
    )
    .trim_end()
    .to_owned();
    let snippet: String = body.trim().chars().take(200).collect();
    if !snippet.is_empty() {
        line.push_str(": ");
        line.push_str(&snippet);
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(url: &str) -> Api {
        Api::new(url, None, reqwest::Client::builder()).unwrap()
    }

    #[test]
    fn url_escapes_each_segment_and_keeps_a_base_path() {
        let a = api("http://h:1/prefix/");
        let u = a.url(&["connectors", "a b/c", "status"], &[]).unwrap();
        assert_eq!(u.as_str(), "http://h:1/prefix/connectors/a%20b%2Fc/status");
    }

    #[test]
    fn url_without_scheme_gets_http() {
        assert_eq!(api("localhost:8081").shown_url(), "http://localhost:8081/");
    }

    #[test]
    fn dot_segments_are_refused_instead_of_silently_dropped() {
        let a = api("http://h:1");
        for bad in [".", "..", ""] {
            let e = a.url(&["connectors", bad], &[]).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{bad:?}");
        }
    }

    #[test]
    fn shown_url_hides_user_and_password() {
        assert_eq!(api("http://u:pw@h:1/").shown_url(), "http://h:1/");
    }

    #[test]
    fn non_http_url_and_header_breaking_token_are_usage_errors() {
        let e = Api::new("ftp://h", None, reqwest::Client::builder()).err();
        assert_eq!(e.map(|e| e.exit_code()), Some(2));
        let e = Api::new("http://h", Some("a\nb"), reqwest::Client::builder()).err();
        let e = e.expect("a newline in the token is refused");
        assert!(!e.to_string().contains("a\nb"));
    }

    #[test]
    fn non_json_error_body_is_shown_as_status_line_and_snippet() {
        let s = status_line(reqwest::StatusCode::BAD_GATEWAY, "  upstream down\n");
        assert_eq!(s, "HTTP 502 Bad Gateway: upstream down");
        assert_eq!(
            status_line(reqwest::StatusCode::NOT_FOUND, ""),
            "HTTP 404 Not Found"
        );
    }
}

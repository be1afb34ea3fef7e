//! Bearer-token authentication of the REST API (design.md §8).
//!
//! When the worker conf sets `rest.auth.token` (or `rest.auth.token.file`), every route
//! but `GET /health` requires `Authorization: Bearer <token>`; the token is compared in
//! constant time and a missing or wrong one gets 401 with the API's JSON error body and
//! `WWW-Authenticate: Bearer`. Without a token every request passes.
//!
//! Wire it as the outermost layer of the router, so unknown routes are covered too:
//!
//! ```text
//! router.layer(axum::middleware::from_fn(auth::require_bearer(token)))
//! ```
//!
//! where `token` is `cfg.rest_auth_token.clone().map(Arc::new)`.

use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::Arc;

use axum::extract::Request;
use axum::http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::ApiError;
use crate::secrets::Secret;
use crate::worker_config::{WorkerConfig, REST_AUTH_TOKEN, REST_AUTH_TOKEN_FILE};

/// The route that stays open without a token, so probes need no secret.
pub const OPEN_PATH: &str = "/health";

/// The future [`require_bearer`]'s middleware returns.
pub type AuthFuture = Pin<Box<dyn Future<Output = Response> + Send + 'static>>;

/// A middleware for [`axum::middleware::from_fn`] that enforces `token` (see the module
/// docs); `None` lets every request through.
pub fn require_bearer(
    token: Option<Arc<Secret>>,
) -> impl Fn(Request, Next) -> AuthFuture + Clone + Send + Sync + 'static {
    move |req: Request, next: Next| {
        let verdict = check(token.as_deref(), &req);
        Box::pin(async move {
            match verdict {
                Ok(()) => next.run(req).await,
                Err(rejection) => rejection.into_response(),
            }
        })
    }
}

/// Why a request was turned away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rejection {
    /// No `Authorization: Bearer` header (absent, or another scheme).
    Missing,
    /// A bearer token that is not the configured one.
    Wrong,
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        // Neither message echoes what the client sent.
        let (message, challenge) = match self {
            Rejection::Missing => (
                "this API requires an `Authorization: Bearer <token>` header with the worker's rest.auth.token",
                "Bearer",
            ),
            Rejection::Wrong => (
                "the bearer token is not valid",
                "Bearer error=\"invalid_token\"",
            ),
        };
        let mut response = ApiError::new(StatusCode::UNAUTHORIZED, message).into_response();
        response
            .headers_mut()
            .insert(WWW_AUTHENTICATE, HeaderValue::from_static(challenge));
        response
    }
}

fn check(token: Option<&Secret>, req: &Request) -> Result<(), Rejection> {
    let Some(token) = token else {
        return Ok(());
    };
    let open = req.uri().path() == OPEN_PATH && matches!(*req.method(), Method::GET | Method::HEAD);
    if open {
        return Ok(());
    }
    let header = req
        .headers()
        .get(AUTHORIZATION)
        .ok_or(Rejection::Missing)?
        .as_bytes();
    // The scheme is case-insensitive (RFC 7235); the token itself is not.
    let presented = header
        .split_first_chunk::<7>()
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case(b"bearer "))
        .map(|(_, rest)| rest.trim_ascii())
        .ok_or(Rejection::Missing)?;
    if token.matches(presented) {
        Ok(())
    } else {
        Err(Rejection::Wrong)
    }
}

/// Logs a warning when the REST API listens beyond loopback without a token.
pub fn warn_if_exposed(cfg: &WorkerConfig) {
    if is_exposed(cfg.http_host, cfg.rest_auth_token.is_some()) {
        tracing::warn!(
            http_host = %cfg.http_host,
            "the REST API listens beyond loopback without authentication: anyone who can reach \
             this port can create, change and delete connectors; set {REST_AUTH_TOKEN} or \
             {REST_AUTH_TOKEN_FILE} in the worker conf, or bind httpHost to 127.0.0.1"
        );
    }
}

fn is_exposed(host: IpAddr, has_token: bool) -> bool {
    !has_token && !host.is_loopback()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::routing::{get, put};
    use axum::Router;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    const TOKEN: &str = "s3cret-token-0123456789";

    fn app(token: Option<&str>) -> Router {
        let token = token.map(|t| Arc::new(Secret::new(t)));
        Router::new()
            .route("/health", get(|| async { "ready" }))
            .route("/connectors", get(|| async { "[]" }))
            .route("/connectors/{name}/pause", put(|| async { "paused" }))
            .layer(axum::middleware::from_fn(require_bearer(token)))
    }

    async fn send(app: Router, method: &str, path: &str, auth: Option<&str>) -> Response {
        let mut req = Request::builder().method(method).uri(path);
        if let Some(a) = auth {
            req = req.header(AUTHORIZATION, a);
        }
        app.oneshot(req.body(Body::empty()).unwrap()).await.unwrap()
    }

    async fn assert_401(resp: Response) -> serde_json::Value {
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
        let challenge = resp.headers()[WWW_AUTHENTICATE]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(challenge.starts_with("Bearer"), "{challenge}");
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        let body: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(body["error_code"], 401);
        assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
        assert_eq!(body["errors"], serde_json::json!([]));
        body
    }

    #[tokio::test]
    async fn without_a_token_everything_passes() {
        for (method, path) in [
            ("GET", "/health"),
            ("GET", "/connectors"),
            ("PUT", "/connectors/a/pause"),
        ] {
            let resp = send(app(None), method, path, None).await;
            assert_eq!(resp.status(), StatusCode::OK, "{method} {path}");
        }
        let resp = send(app(None), "GET", "/connectors", Some("Bearer whatever")).await;
        assert_eq!(resp.status(), StatusCode::OK);
    }

    #[tokio::test]
    async fn missing_header_is_401() {
        assert_401(send(app(Some(TOKEN)), "GET", "/connectors", None).await).await;
        assert_401(send(app(Some(TOKEN)), "PUT", "/connectors/a/pause", None).await).await;
        // Unknown routes do not reveal themselves as 404 to an unauthenticated client.
        assert_401(send(app(Some(TOKEN)), "GET", "/nope", None).await).await;
    }

    #[tokio::test]
    async fn wrong_token_is_401_and_not_echoed() {
        for wrong in [
            "Bearer nope",
            "Bearer s3cret-token-012345678",
            "Bearer s3cret-token-01234567890",
            "Bearer ",
        ] {
            let body =
                assert_401(send(app(Some(TOKEN)), "GET", "/connectors", Some(wrong)).await).await;
            assert!(!body.to_string().contains("nope"));
        }
    }

    #[tokio::test]
    async fn wrong_scheme_is_401() {
        for auth in [
            TOKEN.to_owned(),
            format!("Basic {TOKEN}"),
            format!("Token {TOKEN}"),
            format!("Bearer{TOKEN}"),
        ] {
            assert_401(send(app(Some(TOKEN)), "GET", "/connectors", Some(&auth)).await).await;
        }
    }

    #[tokio::test]
    async fn right_token_passes() {
        let auth = format!("Bearer {TOKEN}");
        let resp = send(app(Some(TOKEN)), "GET", "/connectors", Some(&auth)).await;
        assert_eq!(resp.status(), StatusCode::OK);
        let resp = send(app(Some(TOKEN)), "PUT", "/connectors/a/pause", Some(&auth)).await;
        assert_eq!(resp.status(), StatusCode::OK);
        let lower = format!("bearer {TOKEN}");
        let resp = send(app(Some(TOKEN)), "GET", "/connectors", Some(&lower)).await;
        assert_eq!(resp.status(), StatusCode::OK);
    }

    #[tokio::test]
    async fn health_is_always_open() {
        for auth in [None, Some("Bearer wrong"), Some("garbage")] {
            let resp = send(app(Some(TOKEN)), "GET", "/health", auth).await;
            assert_eq!(resp.status(), StatusCode::OK, "{auth:?}");
        }
        // Only reads of /health are open.
        assert_401(send(app(Some(TOKEN)), "POST", "/health", None).await).await;
    }

    #[test]
    fn exposure_needs_a_non_loopback_bind_and_no_token() {
        let v4: IpAddr = [0, 0, 0, 0].into();
        assert!(is_exposed(v4, false));
        assert!(!is_exposed(v4, true));
        assert!(!is_exposed([127, 0, 0, 1].into(), false));
        assert!(!is_exposed("::1".parse().unwrap(), false));
        assert!(is_exposed("::".parse().unwrap(), false));
        // Callable on a whole config.
        warn_if_exposed(&WorkerConfig::with_store("/tmp/x"));
    }
}

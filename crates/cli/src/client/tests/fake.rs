//! A fake of the REST API for the client tests: listens on 127.0.0.1:0, records the
//! method, path, query, `Authorization` header and body of every request, and answers
//! canned JSON by method and path (404 in the API's error shape otherwise).

use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::response::Response;
use axum::Router;
use serde_json::{json, Value};

/// One request the fake received.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    /// The path as sent (still percent-encoded).
    pub path: String,
    pub query: Option<String>,
    pub auth: Option<String>,
    pub content_type: Option<String>,
    /// The body parsed as JSON; `None` when empty.
    pub body: Option<Value>,
}

/// A canned answer; a `Value::Null` body is sent as an empty body, a `Value::String`
/// as plain text (like a proxy's error page), anything else as JSON.
struct Reply {
    method: &'static str,
    path: &'static str,
    status: u16,
    body: Value,
}

#[derive(Clone)]
struct Shared {
    replies: Arc<Vec<Reply>>,
    seen: Arc<Mutex<Vec<Seen>>>,
}

/// A running fake; it stops with the test's runtime.
pub struct Fake {
    pub url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Fake {
    /// Starts a fake answering `(method, path, status, body)`.
    pub async fn start(replies: Vec<(&'static str, &'static str, u16, Value)>) -> Self {
        let shared = Shared {
            replies: Arc::new(
                replies
                    .into_iter()
                    .map(|(method, path, status, body)| Reply {
                        method,
                        path,
                        status,
                        body,
                    })
                    .collect(),
            ),
            seen: Arc::default(),
        };
        let seen = shared.seen.clone();
        let app = Router::new().fallback(answer).with_state(shared);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self {
            url: format!("http://{addr}"),
            seen,
        }
    }

    /// Every request so far, in order.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    /// The one request so far.
    pub fn only(&self) -> Seen {
        let seen = self.seen();
        assert_eq!(seen.len(), 1, "expected exactly one request: {seen:#?}");
        seen.into_iter().next().unwrap()
    }
}

async fn answer(State(shared): State<Shared>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap();
    let header_text = |name| {
        parts
            .headers
            .get(name)
            .map(|v: &header::HeaderValue| v.to_str().unwrap().to_owned())
    };
    let seen = Seen {
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().map(str::to_owned),
        auth: header_text(header::AUTHORIZATION),
        content_type: header_text(header::CONTENT_TYPE),
        body: (!bytes.is_empty()).then(|| serde_json::from_slice(&bytes).unwrap()),
    };
    shared.seen.lock().unwrap().push(seen.clone());
    let reply = shared
        .replies
        .iter()
        .find(|r| r.method == seen.method && r.path == seen.path);
    let (status, body) = match reply {
        Some(r) => (r.status, r.body.clone()),
        None => (
            404,
            json!({"error_code": 404, "message": "no such route", "errors": []}),
        ),
    };
    let builder = Response::builder().status(StatusCode::from_u16(status).unwrap());
    if body.is_null() {
        builder.body(Body::empty()).unwrap()
    } else if let Value::String(text) = body {
        builder
            .header(header::CONTENT_TYPE, "text/plain")
            .body(Body::from(text))
            .unwrap()
    } else {
        builder
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .unwrap()
    }
}

//! Fuzz test of the REST API: thousands of random and malformed requests (methods ×
//! paths built from the route templates with random segments, random query strings,
//! bodies and content types). For every one: never a 5xx, 4xx answers are the API's JSON
//! error with `error_code` equal to the status, no panic, no planted secret in a body.
//! After the run the pre-created connector is unchanged (config, stored config, state,
//! offsets) and every connector that exists was created by a 2xx response.
//!
//! A seeded generator of our own (no proptest): the run is reproducible from the seed
//! printed on failure; `RMQ_FUZZ_SEED` and `RMQ_FUZZ_CASES` override the defaults.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;
use std::fmt::Write as _;

use axum::body::Body;
use axum::http::{Method, Request};
use common::{fake_config, Harness, PLANTED, PLUGIN, PLUGIN_ALIAS};
use connect_runtime::herder::Herder;
use connect_runtime::store::{ConfigStore, OffsetStore};
use serde_json::{json, Map, Value};

const KEEPER: &str = "keeper";

/// xorshift64* — small, deterministic, good enough to pick cases.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Self(seed.max(1))
    }
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    /// True with probability `pct` percent.
    fn pct(&mut self, pct: u64) -> bool {
        self.next() % 100 < pct
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

// ---------------------------------------------------------------------------------------
// Paths

/// Route templates with the methods they answer (the fuzz mostly uses those, so bodies
/// reach the handlers instead of stopping at 405).
const TEMPLATES: &[(&str, &[&str])] = &[
    ("/", &["GET"]),
    ("/health", &["GET"]),
    ("/metrics", &["GET"]),
    ("/openapi.json", &["GET"]),
    ("/connectors", &["GET", "POST", "POST", "POST"]),
    ("/connectors/list", &["GET"]),
    ("/connectors/{n}", &["GET", "POST", "POST", "DELETE"]),
    (
        "/connectors/{n}/config",
        &["GET", "PUT", "PUT", "PATCH", "PATCH"],
    ),
    ("/connectors/{n}/status", &["GET"]),
    ("/connectors/{n}/tasks", &["GET"]),
    ("/connectors/{n}/tasks/{id}/status", &["GET"]),
    ("/connectors/{n}/tasks/{id}/restart", &["POST"]),
    ("/connectors/{n}/pause", &["PUT", "GET"]),
    ("/connectors/{n}/resume", &["PUT", "GET"]),
    ("/connectors/{n}/stop", &["PUT", "GET"]),
    ("/connectors/{n}/restart", &["POST"]),
    (
        "/connectors/{n}/offsets",
        &["GET", "PATCH", "PATCH", "DELETE"],
    ),
    ("/connectors/{n}/all", &["GET"]),
    ("/connector-plugins", &["GET"]),
    ("/connector-plugins/{p}/config", &["GET"]),
    ("/connector-plugins/{p}/config/validate", &["PUT"]),
    ("/plugin/list", &["GET"]),
    ("/plugin/reload", &["GET"]),
    ("/getClusterInfo", &["GET"]),
    ("/allocated/connectors", &["GET"]),
    ("/allocated/tasks", &["GET"]),
    ("/{x}", &["GET"]),
    ("/connectors/{n}/{x}", &["GET", "PUT"]),
    ("/{x}/{x}/{x}", &["GET"]),
    ("/connectors/{n}/tasks/{id}/{x}", &["GET", "POST"]),
];

/// Names the fuzz reuses so creates, updates, lifecycle calls and deletes meet.
const POOL: &[&str] = &[
    "f1", "f.2", "f-3", "F_4", "keeper2", "keepe", "list", "stop", "all",
];

/// Percent-encodes everything but unreserved characters.
fn encode(bytes: &[u8]) -> String {
    let mut out = String::new();
    for &b in bytes {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

fn decode(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Some(v) = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

fn random_segment(rng: &mut Rng) -> String {
    loop {
        let s = match rng.below(16) {
            0..=4 => (*rng.pick(POOL)).to_owned(),
            5 => String::new(),
            6 => (*rng.pick(&[
                "..", ".", "%2e%2e", "%00", "%2F", "%2f..%2f", "~", "%20", "+", "%25", "%",
            ]))
            .to_owned(),
            7 => "a".repeat(if rng.pct(20) { 5000 } else { 129 }),
            8 => {
                // Unicode, percent-encoded.
                let text: String = (0..1 + rng.below(6))
                    .map(|_| {
                        *rng.pick(&[
                            '✓', 'é', '値', '😀', '\u{0}', '\u{202e}', ' ', '/', '?', '#',
                        ])
                    })
                    .collect();
                encode(text.as_bytes())
            }
            9 => {
                // Random bytes (invalid UTF-8 included), percent-encoded.
                let bytes: Vec<u8> = (0..1 + rng.below(12)).map(|_| rng.next() as u8).collect();
                encode(&bytes)
            }
            10 => (*rng.pick(&[
                "0",
                "1",
                "-1",
                "4294967295",
                "4294967296",
                "99999999999999999999",
                "1.5",
                "0x1",
                "1e3",
            ]))
            .to_owned(),
            11 => {
                // Sub-delimiters and friends, raw.
                (0..1 + rng.below(8))
                    .map(|_| {
                        *rng.pick(&[
                            '!', '$', '\'', '(', ')', '*', ',', ';', '=', ':', '@', 'a', 'Z', '9',
                            '.', '-', '_',
                        ])
                    })
                    .collect()
            }
            12 => {
                (*rng.pick(&[PLUGIN, PLUGIN_ALIAS, "es-source", "connectors", "config"])).to_owned()
            }
            _ => {
                // Plausible names.
                let len = 1 + rng.below(20);
                (0..len)
                    .map(|_| {
                        *rng.pick(&['a', 'b', 'k', 'e', 'p', 'r', 'X', '0', '7', '.', '-', '_'])
                    })
                    .collect()
            }
        };
        // The fuzz must never address the pre-created connector.
        if decode(&s) != KEEPER.as_bytes() && !s.eq_ignore_ascii_case(KEEPER) {
            return s;
        }
    }
}

fn random_path(rng: &mut Rng) -> String {
    random_route(rng).0
}

/// Half of the time a body shaped for the route (so valid and almost-valid requests
/// reach deep into the handlers), otherwise any random body.
fn body_for(rng: &mut Rng, template: &str) -> Vec<u8> {
    if rng.pct(50) {
        return random_body(rng);
    }
    let v = if template == "/connectors" {
        let mut b = json!({"name": random_segment(rng), "config": random_config(rng)});
        if rng.pct(30) {
            b["initial_state"] =
                json!(*rng.pick(&["RUNNING", "PAUSED", "STOPPED", "stopped", "BOGUS"]));
        }
        b
    } else if template.ends_with("/offsets") {
        json!({"offsets": [{"partition": {"task": rng.below(3)}, "offset": if rng.pct(30) { Value::Null } else { json!({"next": rng.below(50)}) }}]})
    } else if template.ends_with("/config") && rng.pct(50) {
        let mut m = Map::new();
        for _ in 0..1 + rng.below(3) {
            let k = (*rng.pick(&[
                "fake.total",
                "fake.fail",
                "max.tasks",
                "x",
                "connect.topicname",
                "fake.password",
            ]))
            .to_owned();
            let v = match k.as_str() {
                "fake.password" => json!(PLANTED),
                "fake.total" | "max.tasks" => json!(*rng.pick(&["1", "2", "0", "x"])),
                _ => random_json(rng, 3),
            };
            m.insert(k, v);
        }
        Value::Object(m)
    } else {
        random_config(rng)
    };
    serde_json::to_vec(&v).unwrap()
}

/// A path from a random template and, most of the time, one of its methods.
fn random_route(rng: &mut Rng) -> (String, Method, &'static str) {
    let (template, methods) = *rng.pick(TEMPLATES);
    let method = if rng.pct(75) {
        Method::from_bytes(rng.pick(methods).as_bytes()).unwrap()
    } else {
        random_method(rng)
    };
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let end = rest[start..].find('}').unwrap() + start;
        let seg = match &rest[start + 1..end] {
            "id" if rng.pct(60) => rng.below(3).to_string(),
            "p" if rng.pct(60) => (*rng.pick(&[PLUGIN, PLUGIN_ALIAS])).to_owned(),
            _ => random_segment(rng),
        };
        out.push_str(&seg);
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    if rng.pct(5) {
        out.push('/');
    }
    if rng.pct(3) {
        out = out.replacen('/', "//", 1);
    }
    (out, method, template)
}

fn random_query(rng: &mut Rng) -> String {
    if rng.pct(55) {
        return String::new();
    }
    if rng.pct(10) {
        return (*rng.pick(&[
            "?", "?&", "?&&=&", "?=", "?==", "?expand", "?expand=", "?%00=%00", "?a=b=c",
        ]))
        .to_owned();
    }
    let mut parts = Vec::new();
    for _ in 0..1 + rng.below(4) {
        let key = match rng.below(6) {
            0 | 1 => "expand".to_owned(),
            2 => "includeTasks".to_owned(),
            3 => "onlyFailed".to_owned(),
            4 => encode((*rng.pick(&["x", "Expand", "include tasks", "✓", ""])).as_bytes()),
            _ => random_segment(rng),
        };
        let value = match rng.below(5) {
            0..=2 => (*rng.pick(&[
                "status",
                "info",
                "status,info",
                "true",
                "false",
                "",
                "maybe",
                "TRUE",
                "1",
                "%00",
                "status%2Cinfo",
                ",,",
                "info,,status",
            ]))
            .to_owned(),
            _ => random_segment(rng),
        };
        parts.push(if rng.pct(10) {
            key
        } else {
            format!("{key}={value}")
        });
    }
    format!("?{}", parts.join("&"))
}

// ---------------------------------------------------------------------------------------
// Bodies

fn random_string(rng: &mut Rng) -> String {
    match rng.below(8) {
        0 => String::new(),
        1 => "x".repeat(rng.below(3000)),
        2 => "✓値😀\u{0}\u{202e}\"\\\n"
            .chars()
            .take(1 + rng.below(9))
            .collect(),
        3 => "${env:HOME}".to_owned(),
        4 => "${file:/etc/passwd:root}".to_owned(),
        5 => "$${literal".to_owned(),
        _ => (0..rng.below(12))
            .map(|_| *rng.pick(&['a', 'b', 'Z', '1', ' ', '-', '.', ',', '=', '%', '&', '/']))
            .collect(),
    }
}

fn random_json(rng: &mut Rng, depth: usize) -> Value {
    let top = if depth >= 3 { 5 } else { 8 };
    match rng.below(top) {
        0 => Value::Null,
        1 => json!(rng.pct(50)),
        2 => json!(rng.next() as i64),
        3 => json!((rng.next() as f64) / 3.0),
        4 => json!(random_string(rng)),
        5 | 6 => {
            let mut m = Map::new();
            for _ in 0..rng.below(4) {
                m.insert(random_string(rng), random_json(rng, depth + 1));
            }
            Value::Object(m)
        }
        _ => Value::Array(
            (0..rng.below(4))
                .map(|_| random_json(rng, depth + 1))
                .collect(),
        ),
    }
}

/// A config that is often valid for the fake connector, with random keys and values.
fn random_config(rng: &mut Rng) -> Value {
    let mut cfg = fake_config(rng.below(30) as u64);
    let obj = cfg.as_object_mut().unwrap();
    if rng.pct(15) {
        obj.insert(
            "connector.class".into(),
            json!(*rng.pick(&[PLUGIN_ALIAS, "es-source", "nope", ""])),
        );
    }
    if rng.pct(15) {
        obj.insert(
            "fake.total".into(),
            json!(*rng.pick(&["abc", "-1", "1e3", "99999999999", "", " 3 "])),
        );
    }
    if rng.pct(10) {
        obj.remove("connect.topicname");
    }
    for _ in 0..rng.below(5) {
        let key = *rng.pick(&[
            "max.tasks",
            "max-task",
            "fake.fail",
            "fake.password",
            "value.converter",
            "connect.topicname",
            "connector-class",
            "name",
            "db.secret",
            "random",
        ]);
        let value: Value = match key {
            "max.tasks" | "max-task" => json!(*rng.pick(&["1", "2", "0", "-1", "x", "3", "2000"])),
            "fake.fail" => json!(*rng.pick(&["true", "false", "maybe", ""])),
            // Secret keys carry the planted value: it must never be echoed.
            "fake.password" | "db.secret" => json!(PLANTED),
            "value.converter" => json!(*rng.pick(&["json", "avro", "", "string"])),
            "connect.topicname" => json!(*rng.pick(&["t", "bad topic", "", "rmq_sys_x", "a|b%c"])),
            "name" => json!(random_segment(rng)),
            _ => match rng.below(4) {
                0 => json!(rng.next() as i64),
                1 => json!(rng.pct(50)),
                2 => random_json(rng, 2),
                _ => json!(random_string(rng)),
            },
        };
        let key = if key == "random" {
            random_string(rng)
        } else {
            key.to_owned()
        };
        // Never a non-secret key with the planted value (that would be shown legitimately).
        if value != json!(PLANTED) || key == "fake.password" || key == "db.secret" {
            obj.insert(key, value);
        }
    }
    cfg
}

fn random_body(rng: &mut Rng) -> Vec<u8> {
    let v = match rng.below(20) {
        0 => return Vec::new(),
        1 => return (0..rng.below(300)).map(|_| rng.next() as u8).collect(),
        2 => {
            // Truncated JSON.
            let full = serde_json::to_vec(
                &json!({"name": random_segment(rng), "config": random_config(rng)}),
            )
            .unwrap();
            let cut = rng.below(full.len());
            return full[..cut].to_vec();
        }
        3 => {
            let max = if rng.pct(20) { 100_000 } else { 300 };
            let d = 1 + rng.below(max);
            let (open, close) = if rng.pct(50) {
                ("[", "]")
            } else {
                ("{\"a\":", "}")
            };
            let mut s = open.repeat(d);
            s.push('1');
            s.push_str(&close.repeat(d));
            return s.into_bytes();
        }
        4 => {
            return (*rng.pick(&[
                "1e999",
                "-1e999",
                "123456789012345678901234567890",
                "NaN",
                "-0",
                "null",
                "true",
                "\"s\"",
                "[]",
                "{}",
                "{\"offsets\": 1e400}",
                "{\"name\": 1e999, \"config\": {}}",
                "{\"config\": {\"fake.total\": 1e999}}",
                "{\"a\":1,\"a\":2}",
                "\u{feff}{}",
                "{\"name\":\"x\"}garbage",
                " \n\t ",
            ]))
            .as_bytes()
            .to_vec()
        }
        5 if rng.pct(10) => {
            // Just over the 1 MiB limit.
            let mut s = b"{\"pad\":\"".to_vec();
            s.extend(std::iter::repeat_n(b'x', 1024 * 1024));
            s.extend_from_slice(b"\"}");
            return s;
        }
        5 | 6 => random_json(rng, 0),
        7 | 8 => {
            // An object with non-string values where strings are expected.
            json!({
                "name": random_json(rng, 2),
                "config": random_json(rng, 1),
                "initial_state": random_json(rng, 2),
            })
        }
        9..=12 => {
            let mut b = json!({"name": random_segment(rng), "config": random_config(rng)});
            if rng.pct(30) {
                b["initial_state"] =
                    json!(*rng.pick(&["RUNNING", "PAUSED", "STOPPED", "paused", "BOGUS", ""]));
            }
            b
        }
        13..=15 => random_config(rng),
        16 | 17 => {
            // Offsets.
            let items: Vec<Value> = (0..rng.below(4))
                .map(|_| {
                    let mut m = Map::new();
                    if rng.pct(80) {
                        m.insert(
                            "partition".into(),
                            if rng.pct(50) {
                                json!({"task": rng.below(3)})
                            } else {
                                random_json(rng, 1)
                            },
                        );
                    }
                    if rng.pct(80) {
                        m.insert(
                            "offset".into(),
                            if rng.pct(50) {
                                json!({"next": rng.below(50)})
                            } else {
                                random_json(rng, 1)
                            },
                        );
                    }
                    Value::Object(m)
                })
                .collect();
            if rng.pct(80) {
                json!({ "offsets": items })
            } else {
                json!({ "offsets": random_json(rng, 1) })
            }
        }
        _ => {
            // A patch.
            let mut m = Map::new();
            for _ in 0..rng.below(4) {
                let k = (*rng.pick(&[
                    "fake.total",
                    "fake.fail",
                    "max.tasks",
                    "connector.class",
                    "x",
                    "connect.topicname",
                ]))
                .to_owned();
                m.insert(k, random_json(rng, 2));
            }
            Value::Object(m)
        }
    };
    serde_json::to_vec(&v).unwrap()
}

fn random_method(rng: &mut Rng) -> Method {
    match rng.below(20) {
        0..=5 => Method::GET,
        6..=8 => Method::POST,
        9..=11 => Method::PUT,
        12 | 13 => Method::PATCH,
        14 | 15 => Method::DELETE,
        16 => Method::HEAD,
        17 => Method::OPTIONS,
        18 => Method::TRACE,
        _ => Method::from_bytes(b"FUZZ").unwrap(),
    }
}

fn random_content_type(rng: &mut Rng) -> Option<&'static str> {
    if rng.pct(65) {
        return Some("application/json");
    }
    *rng.pick(&[
        None,
        Some("text/plain"),
        Some("application/json; charset=utf-8"),
        Some("APPLICATION/JSON"),
        Some("application/jsonx"),
        Some("application/json;;;"),
        Some("multipart/form-data; boundary=x"),
        Some(""),
        Some("*/*"),
        Some("application/x-www-form-urlencoded"),
    ])
}

// ---------------------------------------------------------------------------------------
// The run

struct Snapshot {
    info: Value,
    stored: Value,
    state: String,
    task_states: Vec<String>,
    offsets: Value,
}

async fn snapshot(h: &Harness) -> Snapshot {
    let info = serde_json::to_value(h.herder.connector_info(KEEPER).await.unwrap()).unwrap();
    let stored = h
        .store
        .connectors()
        .unwrap()
        .into_iter()
        .find(|(n, _)| n == KEEPER)
        .map(|(_, s)| serde_json::to_value(s).unwrap())
        .unwrap();
    let status = h.herder.connector_status(KEEPER).await.unwrap();
    let offsets = h
        .herder
        .offsets(KEEPER)
        .await
        .unwrap()
        .into_iter()
        .map(|(p, o)| json!([Value::from(p), Value::from(o)]))
        .collect();
    Snapshot {
        info,
        stored,
        state: format!("{:?}", status.connector.state),
        task_states: status
            .tasks
            .iter()
            .map(|t| format!("{:?}", t.state))
            .collect(),
        offsets,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousands_of_random_requests_never_5xx_and_never_change_what_they_do_not_own() {
    let seed = env_u64("RMQ_FUZZ_SEED", 0x5EED_2024_C0FF_EE01);
    let cases = env_u64("RMQ_FUZZ_CASES", 5000);
    let mut rng = Rng::new(seed);

    let h = Harness::new();
    h.create(KEEPER, fake_config(20)).await;
    h.wait_state(KEEPER, "RUNNING").await;
    h.wait_until("keeper committed its 20 records", || {
        h.store
            .list(KEEPER)
            .ok()
            .is_some_and(|o| o.len() == 1 && o[0].1.get("next") == Some(&json!(20)))
    })
    .await;
    let before = snapshot(&h).await;

    let mut created: BTreeSet<String> = BTreeSet::new();
    let mut by_status: std::collections::BTreeMap<u16, usize> = Default::default();
    let mut skipped = 0usize;
    for case in 0..cases {
        let (path, method, template) = random_route(&mut rng);
        let uri = format!("{path}{}", random_query(&mut rng));
        let has_body = method != Method::GET && method != Method::HEAD && rng.pct(85) || rng.pct(5);
        let body = if has_body {
            body_for(&mut rng, template)
        } else {
            Vec::new()
        };
        let ct = if has_body || rng.pct(10) {
            random_content_type(&mut rng)
        } else {
            None
        };
        let mut builder = Request::builder().method(method.clone()).uri(&uri);
        if let Some(ct) = ct {
            builder = builder.header("content-type", ct);
        }
        let Ok(req) = builder.body(Body::from(body.clone())) else {
            skipped += 1;
            continue;
        };
        let what = format!(
            "seed {seed:#x} case {case}: {method} {uri} (content-type {ct:?}) body {:?}",
            String::from_utf8_lossy(&body[..body.len().min(300)])
        );
        let r = h.send(req).await;
        let status = r.status.as_u16();
        *by_status.entry(status).or_default() += 1;
        assert!(status < 500, "{what} -> {status}: {}", r.text());
        if (400..500).contains(&status) && method != Method::HEAD {
            let v: Value = serde_json::from_slice(&r.body).unwrap_or_else(|e| {
                panic!(
                    "{what} -> {status} with a non-JSON body ({e}): {:?}",
                    r.text()
                )
            });
            assert_eq!(v["error_code"], status, "{what}: {v}");
            assert!(v["message"].is_string(), "{what}: {v}");
            assert!(v["errors"].is_array(), "{what}: {v}");
        }
        if (200..300).contains(&status) {
            if let Ok(v) = serde_json::from_slice::<Value>(&r.body) {
                if let (Some(name), true, true) = (
                    v["name"].as_str(),
                    v["config"].is_object(),
                    v["tasks"].is_array(),
                ) {
                    created.insert(name.to_owned());
                }
            }
        }
        if status == 201 {
            // A 201 always carries the created connector's info.
            let name = r.json()["name"].as_str().unwrap_or_default().to_owned();
            assert!(created.contains(&name), "{what}: 201 without an info body");
        }
    }
    eprintln!(
        "fuzz: seed {seed:#x}, {cases} cases ({skipped} unbuildable), statuses {by_status:?}, created {created:?}"
    );
    assert!(
        skipped < cases as usize / 10,
        "too many unbuildable requests: {skipped}"
    );
    // The run exercised more than 404s.
    for s in [200u16, 400, 404, 405, 415] {
        assert!(by_status.contains_key(&s), "no {s} in {by_status:?}");
    }

    // Every connector that exists was created by a 2xx response (or is the keeper), and
    // the herder and the store agree on the set.
    let names = h.herder.connectors().await;
    for n in &names {
        assert!(
            n == KEEPER || created.contains(n),
            "{n} exists but no 2xx created it"
        );
    }
    let mut stored: Vec<String> = h
        .store
        .connectors()
        .unwrap()
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    stored.sort();
    assert_eq!(stored, names, "the store and the herder disagree");

    let after = snapshot(&h).await;
    assert_eq!(after.info, before.info, "keeper's config changed");
    assert_eq!(
        after.stored, before.stored,
        "keeper's stored config changed"
    );
    assert_eq!(after.state, before.state, "keeper's state changed");
    assert_eq!(
        after.task_states, before.task_states,
        "keeper's tasks changed"
    );
    assert_eq!(after.offsets, before.offsets, "keeper's offsets changed");

    h.herder.shutdown().await;
}

/// Random `Authorization` headers against a token-protected API: never a 5xx, 401 (JSON,
/// with `WWW-Authenticate`) unless the token is exactly right, `/health` always open.
#[tokio::test]
async fn random_authorization_headers_are_401_unless_exactly_right() {
    const TOKEN: &str = "fuzz-token-ABCdef-0123456789";
    let seed = env_u64("RMQ_FUZZ_SEED", 0xA117_0000_0000_0001);
    let mut rng = Rng::new(seed);
    let h = Harness::with_token(TOKEN);
    for case in 0..1000 {
        let header: Option<String> = match rng.below(8) {
            0 => None,
            1 => Some(format!("Bearer {TOKEN}")),
            2 => Some(format!("bearer   {TOKEN}  ")),
            3 => {
                // One byte changed, dropped or added.
                let mut t = TOKEN.as_bytes().to_vec();
                let i = rng.below(t.len());
                match rng.below(3) {
                    0 => t[i] = b'a' + (rng.next() % 26) as u8,
                    1 => {
                        t.remove(i);
                    }
                    _ => t.insert(i, b'z'),
                }
                Some(format!("Bearer {}", String::from_utf8(t).unwrap()))
            }
            4 => Some(format!(
                "{} {TOKEN}",
                rng.pick(&["Basic", "Token", "Bearer:", "Bearerx", ""])
            )),
            5 => Some(
                String::from_utf8_lossy(
                    &(0..rng.below(40))
                        .map(|_| 0x20 + (rng.next() % 95) as u8)
                        .collect::<Vec<_>>(),
                )
                .into_owned(),
            ),
            6 => Some(format!("Bearer {}", "A".repeat(rng.below(10_000)))),
            _ => Some(format!("Bearer {TOKEN}{TOKEN}")),
        };
        let path = if rng.pct(15) {
            "/health".to_owned()
        } else {
            random_path(&mut rng)
        };
        let mut b = Request::builder().method(Method::GET).uri(&path);
        if let Some(v) = &header {
            b = b.header("authorization", v.as_str());
        }
        let Ok(req) = b.body(Body::empty()) else {
            continue;
        };
        let r = h.send(req).await;
        let status = r.status.as_u16();
        let what = format!("case {case}: {path} with {header:?}");
        assert!(status < 500, "{what} -> {status}");
        let right = header.as_deref().is_some_and(|v| {
            v.len() > 7 && v[..7].eq_ignore_ascii_case("bearer ") && v[7..].trim() == TOKEN
        });
        if path == "/health" {
            assert_eq!(status, 200, "{what}");
        } else if right {
            assert_ne!(status, 401, "{what}");
        } else {
            assert_eq!(status, 401, "{what}");
            assert!(r.headers.contains_key("www-authenticate"), "{what}");
            let v = r.json();
            assert_eq!(v["error_code"], 401, "{what}");
            assert!(!r.text().contains(TOKEN), "{what}: the token was echoed");
        }
    }
    assert!(h.herder.connectors().await.is_empty());
}

//! Parsing of request bodies and query strings into the API's types, with errors that
//! name the field at fault.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::http::StatusCode;
use connect_api::{ConfigMap, FieldError};
use serde_json::Value;

use super::ApiError;

/// The body as JSON; empty or malformed bodies are 400.
pub fn parse_json(body: &Bytes) -> Result<Value, ApiError> {
    if body.is_empty() {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "the request body is empty; send a JSON object",
        ));
    }
    serde_json::from_slice(body).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("the request body is not valid JSON: {e}"),
        )
    })
}

fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A flat JSON object of scalar values as a string map; numbers and booleans are
/// accepted and kept as their text.
pub fn config_map(value: &Value, field_prefix: &str) -> Result<ConfigMap, ApiError> {
    let Value::Object(obj) = value else {
        return Err(ApiError::field(
            field_prefix.trim_end_matches('.'),
            "must be a JSON object of string values",
        ));
    };
    let mut out = ConfigMap::new();
    let mut errors = Vec::new();
    for (k, v) in obj {
        match scalar_text(v) {
            Some(text) => {
                out.insert(k.clone(), text);
            }
            None => errors.push(FieldError::new(
                format!("{field_prefix}{k}"),
                "must be a string, number or boolean",
            )),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(ApiError::invalid(errors))
    }
}

/// A flat object where `null` removes a key (for PATCH).
pub fn config_patch(value: &Value) -> Result<BTreeMap<String, Option<String>>, ApiError> {
    let Value::Object(obj) = value else {
        return Err(ApiError::field(
            "config",
            "must be a JSON object of string values (null removes a key)",
        ));
    };
    let mut out = BTreeMap::new();
    let mut errors = Vec::new();
    for (k, v) in obj {
        match (v, scalar_text(v)) {
            (Value::Null, _) => {
                out.insert(k.clone(), None);
            }
            (_, Some(text)) => {
                out.insert(k.clone(), Some(text));
            }
            _ => errors.push(FieldError::new(
                k.clone(),
                "must be a string, number, boolean or null",
            )),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(ApiError::invalid(errors))
    }
}

/// The pairs of a query string (no percent-decoding is needed for the API's parameters;
/// `+` and `%` are kept as written).
pub fn query_pairs(raw: Option<&str>) -> Vec<(String, String)> {
    raw.unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (k.to_owned(), v.to_owned()),
            None => (p.to_owned(), String::new()),
        })
        .collect()
}

/// A boolean query parameter; absent is `false`, anything but true/false is 400.
pub fn query_bool(pairs: &[(String, String)], name: &str) -> Result<bool, ApiError> {
    match pairs.iter().rev().find(|(k, _)| k == name) {
        None => Ok(false),
        Some((_, v)) if v.eq_ignore_ascii_case("true") || v.is_empty() => Ok(true),
        Some((_, v)) if v.eq_ignore_ascii_case("false") => Ok(false),
        Some((_, v)) => Err(ApiError::field(
            name,
            format!("must be true or false, got {v:?}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn config_values_must_be_scalars_and_errors_name_the_key() {
        let err = config_map(&json!({"a": "x", "b": 2, "c": [1]}), "config.").unwrap_err();
        let text = format!("{err:?}");
        assert!(text.contains("config.c"), "{text}");
        let ok = config_map(&json!({"a": "x", "b": 2, "t": true}), "").unwrap();
        assert_eq!(ok["b"], "2");
        assert_eq!(ok["t"], "true");
    }

    #[test]
    fn patch_null_removes_and_query_bools_are_strict() {
        let p = config_patch(&json!({"a": null, "b": "1"})).unwrap();
        assert_eq!(p["a"], None);
        assert_eq!(p["b"].as_deref(), Some("1"));
        let q = query_pairs(Some("includeTasks=true&onlyFailed=nope"));
        assert!(query_bool(&q, "includeTasks").unwrap());
        assert!(query_bool(&q, "onlyFailed").is_err());
        assert!(!query_bool(&q, "absent").unwrap());
    }
}

//! Hiding secret config values in everything the runtime shows or logs.
//!
//! Three tools: [`mask`] replaces secret values in a config before it is shown,
//! [`scrub`] removes secret values from free text (error chains, traces) before it is
//! stored in a status or logged, and [`Secret`] wraps a secret the worker itself holds
//! (the REST token) so that `Debug` and `Serialize` can never print it.

use connect_api::{ConfigDef, ConfigMap};
use serde::{Serialize, Serializer};
use subtle::ConstantTimeEq;

/// What a hidden value is shown as.
pub const HIDDEN: &str = "[hidden]";

/// Secret values shorter than this are only scrubbed where they stand as a whole token.
///
/// Replacing every occurrence of a one- to three-character value would rewrite ordinary
/// words all over the text, and the pattern of `[hidden]` marks would itself spell out
/// the secret (every `ab` in "about", "tab", ... turned into a mark).
pub const SHORT_SECRET_LEN: usize = 4;

/// Key fragments that mark a secret even when no plugin declares the key.
const SECRET_HINTS: &[&str] = &[
    "password",
    "secret",
    "api.key",
    "apikey",
    "token",
    "credential",
];

/// A secret string held by the worker (for example the REST bearer token).
///
/// `Debug` and `Serialize` print `[hidden]`; there is deliberately no `Display`. Read the
/// value with [`Secret::expose`] only where it is needed, and compare it with
/// [`Secret::matches`], which runs in constant time.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    /// Wraps `value`.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value in clear; never log or return it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether `presented` equals the secret, in time that depends neither on where the
    /// first differing byte is nor on how long `presented` is relative to the secret.
    pub fn matches(&self, presented: &[u8]) -> bool {
        let expected = self.0.as_bytes();
        let mut same = presented.len().ct_eq(&expected.len());
        // Walk the full length of the secret whatever was presented; a missing byte
        // compares as 0 against it and the length check above already failed.
        for (i, e) in expected.iter().enumerate() {
            let p = presented.get(i).copied().unwrap_or(0);
            same &= p.ct_eq(e);
        }
        same.into()
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(HIDDEN)
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(HIDDEN)
    }
}

/// Whether `key` holds a secret according to `def` or to its name.
pub fn is_secret(key: &str, def: Option<&ConfigDef>) -> bool {
    if def.is_some_and(|d| d.iter().any(|k| k.name == key && k.is_secret())) {
        return true;
    }
    let lower = key.to_ascii_lowercase();
    SECRET_HINTS.iter().any(|h| lower.contains(h))
}

/// A copy of `config` with secret values replaced by `[hidden]`.
pub fn mask(config: &ConfigMap, def: Option<&ConfigDef>) -> ConfigMap {
    config
        .iter()
        .map(|(k, v)| {
            let shown = if is_secret(k, def) {
                HIDDEN.to_owned()
            } else {
                v.clone()
            };
            (k.clone(), shown)
        })
        .collect()
}

/// `text` with every secret value of `config` replaced by `[hidden]`.
///
/// Values of [`SHORT_SECRET_LEN`] bytes or more are replaced wherever they occur, also in
/// their JSON-escaped form (so a secret with a `"` or `\` is caught inside a JSON body).
/// Shorter values are replaced only where they stand as a whole token (see
/// [`SHORT_SECRET_LEN`] for why), and a one-character or empty value is left alone: it
/// cannot be told apart from ordinary text and hiding it protects nothing.
pub fn scrub(text: &str, config: &ConfigMap, def: Option<&ConfigDef>) -> String {
    let secrets = config
        .iter()
        .filter(|(k, _)| is_secret(k, def))
        .map(|(_, v)| v.as_str());
    scrub_values(text, secrets)
}

/// `text` with the secrets of a task's config hidden, before and after placeholder
/// resolution: every secret value of `raw` and of `resolved` (by key name or `def`), and
/// the resolved value of every key whose raw value held a `${...}` placeholder, whatever
/// its name — a value pulled from the environment or a secrets file is treated as secret.
pub fn scrub_resolved(
    text: &str,
    raw: &ConfigMap,
    resolved: &ConfigMap,
    def: Option<&ConfigDef>,
) -> String {
    let mut values: Vec<&str> = Vec::new();
    for (k, v) in raw {
        if is_secret(k, def) {
            values.push(v);
        }
    }
    for (k, v) in resolved {
        let from_placeholder = raw
            .get(k)
            .is_some_and(|r| crate::placeholders::has_placeholders(r));
        if from_placeholder || is_secret(k, def) {
            values.push(v);
        }
    }
    scrub_values(text, values)
}

/// Replaces each of `values` in `text` (see [`scrub`] for the rules on short values).
fn scrub_values<'a>(text: &str, values: impl IntoIterator<Item = &'a str>) -> String {
    let mut values: Vec<&str> = values.into_iter().filter(|v| v.len() >= 2).collect();
    // Longest first: hiding "abcd" before "abcdef" would leave "[hidden]ef" behind.
    values.sort_by_key(|v| std::cmp::Reverse(v.len()));
    values.dedup();
    let mut out = text.to_owned();
    for v in values {
        if v.len() < SHORT_SECRET_LEN {
            out = replace_whole_tokens(&out, v);
            continue;
        }
        out = out.replace(v, HIDDEN);
        if let Ok(quoted) = serde_json::to_string(v) {
            let escaped = &quoted[1..quoted.len() - 1];
            if escaped != v {
                out = out.replace(escaped, HIDDEN);
            }
        }
    }
    out
}

/// Replaces occurrences of `needle` that are not part of a longer alphanumeric run.
fn replace_whole_tokens(text: &str, needle: &str) -> String {
    let is_word = |c: char| c.is_alphanumeric() || c == '_';
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut prev: Option<char> = None;
    while let Some(idx) = rest.find(needle) {
        let before = rest[..idx].chars().next_back().or(prev);
        let after = rest[idx + needle.len()..].chars().next();
        let starts_word = needle.chars().next().is_some_and(is_word);
        let ends_word = needle.chars().next_back().is_some_and(is_word);
        let glued_before = starts_word && before.is_some_and(is_word);
        let glued_after = ends_word && after.is_some_and(is_word);
        let bounded = !glued_before && !glued_after;
        out.push_str(&rest[..idx]);
        if bounded {
            out.push_str(HIDDEN);
        } else {
            out.push_str(needle);
        }
        prev = needle.chars().next_back();
        rest = &rest[idx + needle.len()..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use connect_api::config_from_pairs;

    #[test]
    fn secrets_are_masked_by_name_and_scrubbed_from_text() {
        let cfg: ConfigMap = [
            ("es.password".to_string(), "s3cret!".to_string()),
            ("es.index".to_string(), "logs".to_string()),
        ]
        .into();
        let shown = mask(&cfg, None);
        assert_eq!(shown["es.password"], HIDDEN);
        assert_eq!(shown["es.index"], "logs");
        assert_eq!(
            scrub("auth s3cret! failed", &cfg, None),
            "auth [hidden] failed"
        );
    }

    #[test]
    fn short_secrets_are_scrubbed_only_as_whole_tokens() {
        let cfg = config_from_pairs(&[("es.password", "ab")]);
        assert_eq!(
            scrub("user x, password ab: about tab", &cfg, None),
            "user x, password [hidden]: about tab"
        );
        assert_eq!(scrub("ab", &cfg, None), HIDDEN);
        assert_eq!(scrub("abab", &cfg, None), "abab");
        // One character and empty values are left alone.
        let cfg = config_from_pairs(&[("es.password", "a"), ("es.api.key", "")]);
        assert_eq!(scrub("a b c", &cfg, None), "a b c");
    }

    #[test]
    fn longer_secrets_go_first_and_json_escapes_are_caught() {
        let cfg = config_from_pairs(&[("a.password", "abcd"), ("b.password", "abcdef")]);
        assert_eq!(scrub("x abcdef y", &cfg, None), "x [hidden] y");
        let cfg = config_from_pairs(&[("es.password", r#"pa"ss\word"#)]);
        let body = serde_json::json!({ "echo": r#"pa"ss\word"# }).to_string();
        assert!(!scrub(&body, &cfg, None).contains("ss"), "{body}");
    }

    #[test]
    fn resolved_placeholder_values_are_scrubbed_whatever_the_key() {
        let raw = config_from_pairs(&[("es.url", "${env:ES_URL}"), ("es.index", "logs")]);
        let resolved =
            config_from_pairs(&[("es.url", "http://user:pw@es:9200"), ("es.index", "logs")]);
        let text = "cannot reach http://user:pw@es:9200 for logs";
        assert_eq!(
            scrub_resolved(text, &raw, &resolved, None),
            "cannot reach [hidden] for logs"
        );
    }

    #[test]
    fn secret_debug_and_serialize_hide_and_matches_compares() {
        let s = Secret::new("tok-123");
        assert_eq!(format!("{s:?}"), HIDDEN);
        assert_eq!(serde_json::to_string(&s).unwrap(), "\"[hidden]\"");
        assert!(s.matches(b"tok-123"));
        assert!(!s.matches(b"tok-124"));
        assert!(!s.matches(b"tok-12"));
        assert!(!s.matches(b"tok-1234"));
        assert!(!s.matches(b""));
        assert_eq!(s.expose(), "tok-123");
    }
}

//! Flat string configs, their documented keys, and a reader that collects per-field errors.
//!
//! Connector configs travel as a flat JSON object of strings (RocketMQ Connect style).
//! A connector describes its keys with [`ConfigKey`]s (used for docs, validation output
//! and hiding secrets) and parses the map with a [`ConfigReader`], which records every
//! problem as a [`FieldError`] instead of stopping at the first.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::ops::RangeInclusive;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A flat connector or task config: key → string value, sorted by key.
pub type ConfigMap = BTreeMap<String, String>;

/// One problem with one config key, in words that say what to change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    /// The config key at fault (for example `es.index`).
    pub field: String,
    /// What is wrong and what to do about it.
    pub message: String,
}

impl FieldError {
    /// A new error for `field`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

impl FieldError {
    /// All errors as one line: `field: message; field: message`.
    pub fn join(errors: &[FieldError]) -> String {
        errors
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// A config map from `(key, value)` pairs; handy in tests and defaults.
pub fn config_from_pairs(pairs: &[(&str, &str)]) -> ConfigMap {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// The keys of a connector's config that belong to the runtime, not to the connector
/// (`connector.class`, `max.tasks`, `connect.topicname`, `value.converter`,
/// `send.mode`, `errors.*`, `message.*`, `transforms*`, `predicates*`, `name`). A
/// connector that hands the rest of its config on as is (a plugin whose schema allows
/// more keys than it lists) leaves these out.
pub fn is_framework_key(key: &str) -> bool {
    const KEYS: &[&str] = &[
        "name",
        "connector.class",
        "max.tasks",
        "tasks.max",
        "connect.topicname",
        "value.converter",
        "send.mode",
    ];
    const PREFIXES: &[&str] = &["errors.", "message.", "transforms", "predicates"];
    KEYS.contains(&key) || PREFIXES.iter().any(|p| key.starts_with(p))
}

/// The type of a config value, as shown in docs and plugin descriptions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConfigType {
    /// Free text.
    String,
    /// A whole number.
    Int,
    /// `true` or `false`.
    Bool,
    /// A comma-separated list.
    List,
    /// A secret: never shown or logged in clear.
    Password,
    /// A number that may have a fraction.
    Double,
    /// JSON text: an array or an object (a plugin's key whose schema is one).
    Json,
}

/// The description of one config key.
///
/// The strings are `Cow<'static, str>`: a connector compiled into the binary describes
/// its keys with string literals at no cost, and a plugin found at run time (whose key
/// names and docs come from its own process) with owned strings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigKey {
    /// The key as written in a config.
    pub name: Cow<'static, str>,
    /// The value's type.
    #[serde(rename = "type")]
    pub ty: ConfigType,
    /// The default, when the key may be left out.
    pub default: Option<Cow<'static, str>>,
    /// Whether the key must be set.
    pub required: bool,
    /// What the key means.
    pub doc: Cow<'static, str>,
}

impl ConfigKey {
    /// An optional key without a default.
    pub fn new(
        name: impl Into<Cow<'static, str>>,
        ty: ConfigType,
        doc: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self {
            name: name.into(),
            ty,
            default: None,
            required: false,
            doc: doc.into(),
        }
    }

    /// The same key with a default value.
    pub fn with_default(mut self, default: impl Into<Cow<'static, str>>) -> Self {
        self.default = Some(default.into());
        self
    }

    /// The same key, required.
    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }

    /// Whether values of this key are secrets to hide.
    pub fn is_secret(&self) -> bool {
        self.ty == ConfigType::Password
    }
}

/// All keys a connector understands.
pub type ConfigDef = Vec<ConfigKey>;

/// A Markdown reference of `def`: one table row per key with its type, default,
/// whether it is required, and its doc. Connectors check a generated copy in and test
/// that it is not stale.
pub fn render_markdown(title: &str, def: &[ConfigKey]) -> String {
    let cell = |s: &str| s.replace('|', "\\|").replace('\n', " ");
    let mut out = format!(
        "# {title}\n\n<!-- Generated from the connector's config definition; do not edit by hand. -->\n\n\
         | key | type | default | required | meaning |\n|---|---|---|---|---|\n"
    );
    for k in def {
        let ty = serde_json::to_value(k.ty)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        out.push_str(&format!(
            "| `{}` | {} | {} | {} | {} |\n",
            k.name,
            ty,
            k.default
                .as_deref()
                .map(|d| format!("`{}`", cell(d)))
                .unwrap_or_else(|| "—".into()),
            if k.required { "yes" } else { "no" },
            cell(&k.doc),
        ));
    }
    out
}

/// Reads typed values out of a [`ConfigMap`], collecting every error.
pub struct ConfigReader<'a> {
    map: &'a ConfigMap,
    errors: Vec<FieldError>,
}

impl<'a> ConfigReader<'a> {
    /// A reader over `map`.
    pub fn new(map: &'a ConfigMap) -> Self {
        Self {
            map,
            errors: Vec::new(),
        }
    }

    /// The trimmed value of `key`, or `None` when it is absent or blank.
    pub fn optional_str(&mut self, key: &str) -> Option<String> {
        self.map
            .get(key)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    }

    /// The value of a key that must be set; records an error when it is missing.
    pub fn required_str(&mut self, key: &str) -> String {
        match self.optional_str(key) {
            Some(v) => v,
            None => {
                self.error(key, "is required");
                String::new()
            }
        }
    }

    /// A number within `range`, or `default` when absent.
    pub fn number_or<T>(&mut self, key: &str, default: T, range: RangeInclusive<T>) -> T
    where
        T: FromStr + PartialOrd + Copy + std::fmt::Display,
    {
        let Some(raw) = self.optional_str(key) else {
            return default;
        };
        match raw.parse::<T>() {
            Ok(v) if range.contains(&v) => v,
            Ok(_) => {
                self.error(
                    key,
                    format!(
                        "must be between {} and {}, got {raw}",
                        range.start(),
                        range.end()
                    ),
                );
                default
            }
            Err(_) => {
                self.error(key, format!("must be a whole number, got {raw:?}"));
                default
            }
        }
    }

    /// A boolean, or `default` when absent.
    pub fn bool_or(&mut self, key: &str, default: bool) -> bool {
        match self.optional_str(key).as_deref() {
            None => default,
            Some(v) if v.eq_ignore_ascii_case("true") => true,
            Some(v) if v.eq_ignore_ascii_case("false") => false,
            Some(v) => {
                self.error(key, format!("must be true or false, got {v:?}"));
                default
            }
        }
    }

    /// A comma-separated list with blanks removed; empty when absent.
    pub fn list(&mut self, key: &str) -> Vec<String> {
        self.optional_str(key)
            .map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Records an error for `key`.
    pub fn error(&mut self, key: &str, message: impl Into<String>) {
        self.errors.push(FieldError::new(key, message));
    }

    /// `Ok(value)` when no error was recorded, otherwise every error.
    pub fn finish<T>(self, value: T) -> Result<T, Vec<FieldError>> {
        if self.errors.is_empty() {
            Ok(value)
        } else {
            Err(self.errors)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> ConfigMap {
        config_from_pairs(pairs)
    }

    #[test]
    fn reader_collects_every_error_with_its_field() {
        let m = map(&[("n", "abc"), ("r", "5000"), ("b", "maybe")]);
        let mut r = ConfigReader::new(&m);
        let _ = r.required_str("missing");
        let _ = r.number_or::<u32>("n", 1, 1..=10);
        let _ = r.number_or::<u32>("r", 1, 1..=10);
        let _ = r.bool_or("b", false);
        let errs = r.finish(()).unwrap_err();
        let fields: Vec<_> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["missing", "n", "r", "b"]);
        assert!(errs[2].message.contains("between 1 and 10"));
    }

    #[test]
    fn markdown_reference_has_a_row_per_key_with_escaped_cells() {
        let def = vec![ConfigKey::new("a.b", ConfigType::Password, "x | y").required()];
        let md = render_markdown("T", &def);
        assert!(
            md.contains("| `a.b` | password | — | yes | x \\| y |"),
            "{md}"
        );
    }

    #[test]
    fn reader_uses_defaults_and_trims_lists() {
        let m = map(&[("l", " a, b ,,c "), ("blank", "  ")]);
        let mut r = ConfigReader::new(&m);
        assert_eq!(r.list("l"), ["a", "b", "c"]);
        assert_eq!(r.optional_str("blank"), None);
        assert_eq!(r.number_or::<u64>("absent", 7, 1..=10), 7);
        assert!(r.finish(()).is_ok());
    }
}

//! A plugin's config: its JSON Schema (`spec.connectionSpecification`) seen as the flat
//! string keys of the REST API, and the flat keys turned back into the JSON config the
//! plugin reads.
//!
//! - A property is a key; a nested object's properties are dotted keys
//!   (`credentials.api_key`). The alternatives of a `oneOf` / `anyOf` object (Airbyte's
//!   way of offering several auth methods) all contribute their keys.
//! - Values are typed by the schema: `integer` and `number` are parsed as numbers,
//!   `boolean` as `true` / `false`, arrays and objects without declared properties as
//!   JSON text, strings as written.
//! - `airbyte_secret: true` makes a key a secret (`ConfigType::Password`).
//! - The JSON config is validated against the schema (draft 7) before anything runs:
//!   each error names the dotted key. Remote `$ref`s are never fetched.
//!
//! Keys the schema does not know are not the plugin's (the runtime's framework keys, for
//! one) and are left out of the JSON config.

use std::collections::BTreeSet;

use connect_api::{ConfigDef, ConfigKey, ConfigMap, ConfigType, FieldError};
use serde_json::{Map, Value};

/// How a key's text becomes a JSON value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    String,
    Integer,
    Number,
    Boolean,
    Json,
}

/// One key of the plugin's config.
#[derive(Debug, Clone)]
struct SchemaKey {
    /// The path into the JSON config.
    path: Vec<String>,
    kind: Kind,
    secret: bool,
    key: ConfigKey,
}

/// A plugin's config schema, compiled.
pub struct ConfigSchema {
    keys: Vec<SchemaKey>,
    validator: jsonschema::Validator,
    /// Whether the schema lets the config hold keys it does not list
    /// (`additionalProperties` is not `false`): such keys are handed on as strings.
    open: bool,
}

impl std::fmt::Debug for ConfigSchema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConfigSchema")
            .field("keys", &self.keys.len())
            .finish_non_exhaustive()
    }
}

impl ConfigSchema {
    /// Compiles `spec.connectionSpecification`; an error says why the schema is not a
    /// valid draft-7 schema.
    pub fn new(schema: &Value) -> Result<Self, String> {
        if !schema.is_object() {
            return Err("connectionSpecification is not a JSON object".into());
        }
        let validator = jsonschema::draft7::options()
            .build(schema)
            .map_err(|e| format!("connectionSpecification is not a valid JSON Schema: {e}"))?;
        let mut keys = Vec::new();
        walk(schema, &[], true, &mut keys);
        let open = schema.get("additionalProperties") != Some(&Value::Bool(false));
        Ok(Self {
            keys,
            validator,
            open,
        })
    }

    /// The keys, with types, defaults, docs and secrets, for `GET
    /// /connector-plugins/{name}/config`.
    pub fn config_def(&self) -> ConfigDef {
        self.keys.iter().map(|k| k.key.clone()).collect()
    }

    /// The plugin's JSON config from the flat config, validated against the schema.
    ///
    /// A key the schema does not list is left out when it is the runtime's
    /// ([`connect_api::is_framework_key`]) or `host_key` says it is the plugin host's;
    /// else it is handed on as a string when the schema allows more keys than it lists
    /// (a low-code manifest reads `config['base_url']`), and left out when not.
    pub fn to_json(
        &self,
        flat: &ConfigMap,
        host_key: impl Fn(&str) -> bool,
    ) -> Result<Value, Vec<FieldError>> {
        let mut root = Map::new();
        let mut errors = Vec::new();
        if self.open {
            for (k, v) in flat {
                let listed = self.keys.iter().any(|s| s.key.name == k.as_str());
                if !listed && !connect_api::is_framework_key(k) && !host_key(k) {
                    root.insert(k.clone(), Value::String(v.clone()));
                }
            }
        }
        for k in &self.keys {
            let Some(text) = flat.get(k.key.name.as_ref()) else {
                continue;
            };
            match typed(k, text) {
                Ok(v) => insert(&mut root, &k.path, v),
                Err(message) => errors.push(FieldError::new(k.key.name.to_string(), message)),
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let config = Value::Object(root);
        let errors = self.schema_errors(&config);
        if errors.is_empty() {
            Ok(config)
        } else {
            Err(errors)
        }
    }

    /// The flat keys of a JSON config the plugin sent (`CONTROL` of type
    /// `CONNECTOR_CONFIG`): the inverse of [`ConfigSchema::to_json`] for the keys the
    /// schema lists, plus top-level strings of an open schema that are neither the
    /// runtime's nor `host_key`'s. An error names what does not fit the schema.
    pub fn to_flat(
        &self,
        config: &Value,
        host_key: impl Fn(&str) -> bool,
    ) -> Result<ConfigMap, Vec<FieldError>> {
        let errors = self.schema_errors(config);
        if !errors.is_empty() {
            return Err(errors);
        }
        let mut flat = ConfigMap::new();
        for k in &self.keys {
            let mut at = Some(config);
            for p in &k.path {
                at = at.and_then(|v| v.get(p));
            }
            let text = match at {
                None | Some(Value::Null) => continue,
                Some(Value::String(s)) => s.clone(),
                Some(v) => v.to_string(),
            };
            flat.insert(k.key.name.to_string(), text);
        }
        if let (true, Some(root)) = (self.open, config.as_object()) {
            for (k, v) in root {
                let listed = self.keys.iter().any(|s| s.key.name == k.as_str());
                if let (false, Value::String(text)) = (listed, v) {
                    if !connect_api::is_framework_key(k) && !host_key(k) {
                        flat.insert(k.clone(), text.clone());
                    }
                }
            }
        }
        Ok(flat)
    }

    fn schema_errors(&self, config: &Value) -> Vec<FieldError> {
        let mut seen = BTreeSet::new();
        self.validator
            .iter_errors(config)
            .filter_map(|e| {
                let mut path = pointer_to_path(e.instance_path().as_str());
                if let jsonschema::error::ValidationErrorKind::Required { property } = e.kind() {
                    if let Some(p) = property.as_str() {
                        path.push(p.to_owned());
                    }
                }
                // The key the error is in (an error inside a JSON-text value names
                // its key).
                let key = self
                    .keys
                    .iter()
                    .filter(|k| path.starts_with(&k.path))
                    .max_by_key(|k| k.path.len());
                let field = match (key, path.is_empty()) {
                    (Some(k), _) => k.key.name.to_string(),
                    (None, true) => "config".to_owned(),
                    (None, false) => path.join("."),
                };
                // Masked when the value in error holds a secret, or is one.
                let secret = self
                    .keys
                    .iter()
                    .any(|k| k.secret && (k.path.starts_with(&path) || path.starts_with(&k.path)));
                let message = if secret {
                    e.masked_with("(hidden)").to_string()
                } else {
                    e.to_string()
                };
                seen.insert((field.clone(), message.clone()))
                    .then(|| FieldError::new(field, message))
            })
            .collect()
    }
}

/// Collects the keys of `schema`'s properties under `prefix`.
fn walk(schema: &Value, prefix: &[String], required_here: bool, out: &mut Vec<SchemaKey>) {
    let required: BTreeSet<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let Some(properties) = schema.get("properties").and_then(Value::as_object) else {
        return;
    };
    for (name, sub) in properties {
        let mut path = prefix.to_vec();
        path.push(name.clone());
        let required = required_here && required.contains(name.as_str());
        let alternatives: Vec<&Value> = ["oneOf", "anyOf"]
            .iter()
            .filter_map(|k| sub.get(*k).and_then(Value::as_array))
            .flatten()
            .filter(|alt| alt.get("properties").is_some())
            .collect();
        let has_properties = sub.get("properties").is_some();
        let object = match main_type(sub) {
            Some("object") => has_properties || !alternatives.is_empty(),
            None => has_properties,
            Some(_) => false,
        };
        if object {
            walk(sub, &path, required, out);
            for alt in alternatives {
                // One alternative is chosen: none of its keys is required on its own.
                let before = out.len();
                walk(alt, &path, false, out);
                dedup_tail(out, before);
            }
            continue;
        }
        out.push(leaf(path, sub, required));
    }
}

/// Drops the keys added since `before` that an earlier alternative already added.
fn dedup_tail(out: &mut Vec<SchemaKey>, before: usize) {
    let mut i = before;
    while i < out.len() {
        let dup = out[..before].iter().any(|k| k.path == out[i].path);
        if dup {
            out.remove(i);
        } else {
            i += 1;
        }
    }
}

/// The schema's type, the first that is not `null` when it lists several.
fn main_type(schema: &Value) -> Option<&str> {
    match schema.get("type")? {
        Value::String(t) => Some(t),
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).find(|t| *t != "null"),
        _ => None,
    }
}

fn leaf(path: Vec<String>, schema: &Value, required: bool) -> SchemaKey {
    let secret = schema.get("airbyte_secret").and_then(Value::as_bool) == Some(true);
    let kind = match main_type(schema) {
        Some("integer") => Kind::Integer,
        Some("number") => Kind::Number,
        Some("boolean") => Kind::Boolean,
        Some("array" | "object") => Kind::Json,
        _ => Kind::String,
    };
    let ty = match kind {
        _ if secret => ConfigType::Password,
        Kind::Integer => ConfigType::Int,
        Kind::Number => ConfigType::Double,
        Kind::Boolean => ConfigType::Bool,
        Kind::Json => ConfigType::Json,
        Kind::String => ConfigType::String,
    };
    let mut key = ConfigKey::new(path.join("."), ty, doc(schema));
    if let Some(d) = schema.get("default") {
        key = key.with_default(match d {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        });
    }
    if required {
        key = key.required();
    }
    SchemaKey {
        path,
        kind,
        secret,
        key,
    }
}

/// Title and description, and the allowed values.
fn doc(schema: &Value) -> String {
    let text = |k: &str| schema.get(k).and_then(Value::as_str).map(str::trim);
    let mut doc = match (text("title"), text("description")) {
        (Some(t), Some(d)) if !d.is_empty() => format!("{t}: {d}"),
        (Some(t), _) => t.to_owned(),
        (None, Some(d)) => d.to_owned(),
        (None, None) => String::new(),
    };
    if let Some(values) = schema.get("enum").and_then(Value::as_array) {
        let values: Vec<String> = values
            .iter()
            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
            .collect();
        doc.push_str(&format!(" One of: {}.", values.join(", ")));
    }
    if let Some(c) = schema.get("const") {
        let c = c.as_str().map_or_else(|| c.to_string(), str::to_owned);
        doc.push_str(&format!(" Set to {c:?} to choose this option."));
    }
    doc.trim().to_owned()
}

/// The JSON value of one key's text.
fn typed(k: &SchemaKey, text: &str) -> Result<Value, String> {
    let shown = |what: &str| {
        if k.secret {
            format!("must be {what}")
        } else {
            format!("must be {what}, got {text:?}")
        }
    };
    let t = text.trim();
    match k.kind {
        Kind::String => Ok(Value::String(text.to_owned())),
        Kind::Integer => t
            .parse::<i64>()
            .map(Value::from)
            .map_err(|_| shown("a whole number")),
        Kind::Number => t
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number)
            .ok_or_else(|| shown("a number")),
        Kind::Boolean => match t.to_ascii_lowercase().as_str() {
            "true" => Ok(Value::Bool(true)),
            "false" => Ok(Value::Bool(false)),
            _ => Err(shown("true or false")),
        },
        Kind::Json => serde_json::from_str(t).map_err(|e| {
            if k.secret {
                format!("must be JSON text ({e})")
            } else {
                format!("must be JSON text (an array such as [\"a\",\"b\"] or an object), got {text:?}: {e}")
            }
        }),
    }
}

/// Puts `value` at `path` in `root`, creating the objects on the way.
fn insert(root: &mut Map<String, Value>, path: &[String], value: Value) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut here = root;
    for p in parents {
        let slot = here
            .entry(p.clone())
            .or_insert_with(|| Value::Object(Map::new()));
        if !slot.is_object() {
            *slot = Value::Object(Map::new());
        }
        let Value::Object(next) = slot else { return };
        here = next;
    }
    here.insert(last.clone(), value);
}

/// `/credentials/api_key` → `["credentials", "api_key"]` (JSON Pointer escapes undone).
fn pointer_to_path(pointer: &str) -> Vec<String> {
    pointer
        .split('/')
        .skip(1)
        .map(|s| s.replace("~1", "/").replace("~0", "~"))
        .collect()
}

#[cfg(test)]
mod tests;

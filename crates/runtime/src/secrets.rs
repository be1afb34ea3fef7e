//! Hiding secret config values in everything the runtime shows or logs.

use connect_api::{ConfigDef, ConfigMap};

/// What a hidden value is shown as.
pub const HIDDEN: &str = "[hidden]";

/// Key fragments that mark a secret even when no plugin declares the key.
const SECRET_HINTS: &[&str] = &[
    "password",
    "secret",
    "api.key",
    "apikey",
    "token",
    "credential",
];

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
pub fn scrub(text: &str, config: &ConfigMap, def: Option<&ConfigDef>) -> String {
    let mut out = text.to_owned();
    for (k, v) in config {
        if v.len() >= 3 && is_secret(k, def) {
            out = out.replace(v.as_str(), HIDDEN);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

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
}

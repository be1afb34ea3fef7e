//! Framework keys of a connector config, separated from the connector's own keys.
//!
//! Configs are flat string maps (RocketMQ Connect style). The legacy dashed spellings of
//! older RocketMQ Connect docs are accepted and rewritten to the dotted ones, so what is
//! stored and shown is one spelling.

use connect_api::{ConfigMap, ConfigReader, FieldError};

/// The connector plugin (`connector.class`).
pub const CONNECTOR_CLASS: &str = "connector.class";
/// How many tasks the connector may run (`max.tasks`).
pub const MAX_TASKS: &str = "max.tasks";
/// The topic records are produced to (`connect.topicname`).
pub const TOPIC: &str = "connect.topicname";
/// The value converter (`value.converter`).
pub const VALUE_CONVERTER: &str = "value.converter";

/// Legacy dashed key → dotted key.
const ALIASES: &[(&str, &str)] = &[
    ("connector-class", CONNECTOR_CLASS),
    ("max-task", MAX_TASKS),
    ("max-tasks", MAX_TASKS),
    ("connect-topicname", TOPIC),
    ("source-record-converter", VALUE_CONVERTER),
];

/// Topic names RocketMQ accepts: `^[%|a-zA-Z0-9_-]+$`, at most 127 characters.
pub fn check_topic_name(topic: &str) -> Result<(), String> {
    if topic.is_empty() || topic.len() > 127 {
        return Err("must be 1 to 127 characters".into());
    }
    if !topic
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '%' | '|'))
    {
        return Err(format!(
            "{topic:?} is not a valid RocketMQ topic name (letters, digits, '_', '-', '%', '|')"
        ));
    }
    if topic.to_ascii_lowercase().starts_with("rmq_sys_") {
        return Err("the rmq_sys_ prefix is reserved by RocketMQ".into());
    }
    Ok(())
}

/// Rewrites legacy dashed keys to dotted ones; a key given both ways with different
/// values is an error.
pub fn normalize(mut config: ConfigMap) -> Result<ConfigMap, Vec<FieldError>> {
    let mut errors = Vec::new();
    for (legacy, dotted) in ALIASES {
        if let Some(value) = config.remove(*legacy) {
            match config.get(*dotted) {
                Some(existing) if existing != &value => errors.push(FieldError::new(
                    *legacy,
                    format!("conflicts with {dotted}; give only one of them"),
                )),
                _ => {
                    config.insert((*dotted).to_owned(), value);
                }
            }
        }
    }
    if errors.is_empty() {
        Ok(config)
    } else {
        Err(errors)
    }
}

/// The framework settings of one connector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameworkConfig {
    /// The plugin name as written.
    pub class: String,
    /// Upper bound on tasks.
    pub max_tasks: usize,
    /// Default topic of the records.
    pub topic: Option<String>,
    /// Name of the value converter.
    pub value_converter: String,
}

impl FrameworkConfig {
    /// Reads the framework keys of a normalized config, collecting every error.
    pub fn parse(config: &ConfigMap) -> Result<Self, Vec<FieldError>> {
        let mut r = ConfigReader::new(config);
        let class = r.required_str(CONNECTOR_CLASS);
        let max_tasks = r.number_or::<usize>(MAX_TASKS, 1, 1..=1024);
        let topic = r.optional_str(TOPIC);
        if let Some(t) = &topic {
            if let Err(msg) = check_topic_name(t) {
                r.error(TOPIC, msg);
            }
        }
        let value_converter = r
            .optional_str(VALUE_CONVERTER)
            .unwrap_or_else(|| "json".to_owned());
        if let Err(e) = connect_converters::converter_by_name(&value_converter) {
            r.error(VALUE_CONVERTER, e.to_string());
        }
        r.finish(Self {
            class,
            max_tasks,
            topic,
            value_converter,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> ConfigMap {
        connect_api::config::config_from_pairs(pairs)
    }

    #[test]
    fn legacy_dashed_keys_become_dotted() {
        let cfg = normalize(map(&[
            ("connector-class", "es-source"),
            ("max-task", "2"),
            ("connect-topicname", "t"),
        ]))
        .unwrap();
        let fw = FrameworkConfig::parse(&cfg).unwrap();
        assert_eq!(fw.class, "es-source");
        assert_eq!(fw.max_tasks, 2);
        assert_eq!(fw.topic.as_deref(), Some("t"));
        assert!(!cfg.contains_key("max-task"));
    }

    #[test]
    fn conflicting_spellings_are_rejected() {
        let errs = normalize(map(&[("max-task", "2"), ("max.tasks", "3")])).unwrap_err();
        assert_eq!(errs[0].field, "max-task");
    }

    #[test]
    fn framework_errors_name_their_fields() {
        let errs = FrameworkConfig::parse(&map(&[
            ("max.tasks", "0"),
            ("connect.topicname", "bad topic!"),
            ("value.converter", "avro"),
        ]))
        .unwrap_err();
        let fields: Vec<_> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, [CONNECTOR_CLASS, MAX_TASKS, TOPIC, VALUE_CONVERTER]);
    }
}

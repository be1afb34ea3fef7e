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

/// How records are sent (`send.mode`): `sync`, `async` or `oneway`.
pub const SEND_MODE: &str = "send.mode";
/// What to do with a record that cannot be converted or sent (`errors.tolerance`).
pub const ERRORS_TOLERANCE: &str = "errors.tolerance";
/// How long retriable failures are retried before they count as failures, ms
/// (`errors.retry.timeout`; -1 retries for ever).
pub const ERRORS_RETRY_TIMEOUT: &str = "errors.retry.timeout";
/// The topic that gets a message for each record skipped under `errors.tolerance=all`
/// (`errors.deadletterqueue.topic.name`); unset: skipped records are only counted and
/// logged.
pub const ERRORS_DLQ_TOPIC: &str = "errors.deadletterqueue.topic.name";
/// Longest back-off between retries, ms (`errors.retry.delay.max.ms`).
pub const ERRORS_RETRY_DELAY_MAX: &str = "errors.retry.delay.max.ms";
/// A constant tag for messages whose record has none (`message.tags`).
pub const MESSAGE_TAGS: &str = "message.tags";
/// Constant user properties added to every message, `k1=v1,k2=v2` (`message.properties`).
pub const MESSAGE_PROPERTIES: &str = "message.properties";

/// Default longest back-off between retries.
pub const DEFAULT_RETRY_DELAY_MAX_MS: u64 = 10_000;

/// How the task loop sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendMode {
    /// One batch at a time: each is acknowledged and its offsets committed before the
    /// next is sent, so a crash re-sends at most one batch.
    Sync,
    /// Several batches in flight, acknowledged in order (the default).
    Async,
    /// Fire and forget: no acknowledgement, so offsets move when the send was handed to
    /// the network. Possibly lossy (a broker failure loses what was in transit).
    Oneway,
}

/// What the task does with a record that cannot be converted or is not a valid
/// RocketMQ message (for example one over 4 MiB).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tolerance {
    /// Fail the task, naming the record.
    None,
    /// Skip the record, count it in `records_failed`, log it and, with a dead-letter
    /// topic, send a message about it there.
    All,
}

/// The delivery settings of a connector's tasks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryConfig {
    /// Sync, async or oneway sends.
    pub send_mode: SendMode,
    /// Skip or fail on bad records.
    pub tolerance: Tolerance,
    /// How long retriable failures are retried; `None` for ever.
    pub retry_timeout: Option<std::time::Duration>,
    /// Longest back-off between retries.
    pub retry_delay_max: std::time::Duration,
    /// Tag for records that carry none.
    pub tags: Option<String>,
    /// Properties added to every message.
    pub properties: Vec<(String, String)>,
    /// Where skipped records are reported (`errors.deadletterqueue.topic.name`).
    pub dlq_topic: Option<String>,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        Self {
            send_mode: SendMode::Async,
            tolerance: Tolerance::None,
            retry_timeout: None,
            retry_delay_max: std::time::Duration::from_millis(DEFAULT_RETRY_DELAY_MAX_MS),
            tags: None,
            properties: Vec::new(),
            dlq_topic: None,
        }
    }
}

fn parse_delivery(r: &mut ConfigReader<'_>) -> DeliveryConfig {
    let mut d = DeliveryConfig::default();
    match r.optional_str(SEND_MODE).as_deref() {
        None | Some("async") => {}
        Some("sync") => d.send_mode = SendMode::Sync,
        Some("oneway") => d.send_mode = SendMode::Oneway,
        Some(other) => r.error(
            SEND_MODE,
            format!("must be sync, async or oneway, got {other:?}"),
        ),
    }
    match r.optional_str(ERRORS_TOLERANCE).as_deref() {
        None | Some("none") => {}
        Some("all") => d.tolerance = Tolerance::All,
        Some(other) => r.error(
            ERRORS_TOLERANCE,
            format!("must be none or all, got {other:?}"),
        ),
    }
    let timeout = r.number_or::<i64>(ERRORS_RETRY_TIMEOUT, -1, -1..=i64::MAX);
    d.retry_timeout = u64::try_from(timeout)
        .ok()
        .map(std::time::Duration::from_millis);
    d.retry_delay_max = std::time::Duration::from_millis(r.number_or::<u64>(
        ERRORS_RETRY_DELAY_MAX,
        DEFAULT_RETRY_DELAY_MAX_MS,
        1..=3_600_000,
    ));
    d.dlq_topic = r.optional_str(ERRORS_DLQ_TOPIC);
    if let Some(t) = &d.dlq_topic {
        if let Err(msg) = check_topic_name(t) {
            r.error(ERRORS_DLQ_TOPIC, msg);
        } else if d.tolerance != Tolerance::All {
            r.error(
                ERRORS_DLQ_TOPIC,
                "needs errors.tolerance=all (with none a bad record fails the task instead)",
            );
        }
    }
    d.tags = r.optional_str(MESSAGE_TAGS);
    if let Some(t) = &d.tags {
        if t.contains("||") || t.chars().any(char::is_control) {
            r.error(
                MESSAGE_TAGS,
                "must be one tag: no '||' and no control characters",
            );
        }
    }
    if let Some(props) = r.optional_str(MESSAGE_PROPERTIES) {
        for pair in props.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            match pair.split_once('=') {
                Some((k, v)) if !k.trim().is_empty() => d
                    .properties
                    .push((k.trim().to_owned(), v.trim().to_owned())),
                _ => r.error(
                    MESSAGE_PROPERTIES,
                    format!("{pair:?} is not name=value; write k1=v1,k2=v2"),
                ),
            }
        }
    }
    d
}

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
    /// Send mode, error handling, tags and properties.
    pub delivery: DeliveryConfig,
}

impl FrameworkConfig {
    /// Reads the framework keys of a normalized config, collecting every error.
    pub fn parse(config: &ConfigMap) -> Result<Self, Vec<FieldError>> {
        let mut r = ConfigReader::new(config);
        let class = r.required_str(CONNECTOR_CLASS);
        let max_tasks = r.number_or::<usize>(MAX_TASKS, 1, 1..=1024);
        let topic = r.optional_str(TOPIC);
        if let Some(t) = &topic {
            // A plugin's `${stream}` / `${namespace}` are filled in per record; the rest
            // of the name must follow the rules.
            let template = t.replace("${stream}", "s").replace("${namespace}", "n");
            if let Err(msg) = check_topic_name(&template) {
                r.error(TOPIC, msg);
            }
        }
        let value_converter = r
            .optional_str(VALUE_CONVERTER)
            .unwrap_or_else(|| "json".to_owned());
        if let Err(e) = connect_converters::converter_by_name(&value_converter) {
            r.error(VALUE_CONVERTER, e.to_string());
        }
        let delivery = parse_delivery(&mut r);
        r.finish(Self {
            class,
            max_tasks,
            topic,
            value_converter,
            delivery,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_framework_key_is_one_for_the_api_too() {
        for k in [
            CONNECTOR_CLASS,
            MAX_TASKS,
            TOPIC,
            VALUE_CONVERTER,
            SEND_MODE,
            ERRORS_TOLERANCE,
            ERRORS_RETRY_TIMEOUT,
            ERRORS_DLQ_TOPIC,
            ERRORS_RETRY_DELAY_MAX,
            MESSAGE_TAGS,
            MESSAGE_PROPERTIES,
        ] {
            assert!(connect_api::is_framework_key(k), "{k}");
        }
    }

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

    #[test]
    fn delivery_keys_are_parsed_and_checked() {
        let fw = FrameworkConfig::parse(&map(&[
            ("connector.class", "x"),
            ("send.mode", "sync"),
            ("errors.tolerance", "all"),
            ("errors.retry.timeout", "30000"),
            ("message.tags", "orders"),
            ("message.properties", "source=es, env=prod"),
        ]))
        .unwrap();
        assert_eq!(fw.delivery.send_mode, SendMode::Sync);
        assert_eq!(fw.delivery.tolerance, Tolerance::All);
        assert_eq!(
            fw.delivery.retry_timeout,
            Some(std::time::Duration::from_secs(30))
        );
        assert_eq!(fw.delivery.tags.as_deref(), Some("orders"));
        assert_eq!(fw.delivery.properties.len(), 2);
        let errs = FrameworkConfig::parse(&map(&[
            ("connector.class", "x"),
            ("send.mode", "fast"),
            ("errors.tolerance", "some"),
            ("message.properties", "novalue"),
        ]))
        .unwrap_err();
        let fields: Vec<_> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, [SEND_MODE, ERRORS_TOLERANCE, MESSAGE_PROPERTIES]);
    }

    #[test]
    fn the_dead_letter_topic_needs_a_valid_name_and_tolerance_all() {
        let fw = FrameworkConfig::parse(&map(&[
            ("connector.class", "x"),
            ("errors.tolerance", "all"),
            (ERRORS_DLQ_TOPIC, "es-dlq"),
        ]))
        .unwrap();
        assert_eq!(fw.delivery.dlq_topic.as_deref(), Some("es-dlq"));
        for (tolerance, topic, says) in [
            ("none", "es-dlq", "errors.tolerance=all"),
            ("all", "bad topic", "not a valid RocketMQ topic"),
        ] {
            let errs = FrameworkConfig::parse(&map(&[
                ("connector.class", "x"),
                ("errors.tolerance", tolerance),
                (ERRORS_DLQ_TOPIC, topic),
            ]))
            .unwrap_err();
            assert_eq!(errs[0].field, ERRORS_DLQ_TOPIC);
            assert!(errs[0].message.contains(says), "{}", errs[0].message);
        }
    }
}

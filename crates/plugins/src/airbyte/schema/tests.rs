use serde_json::json;

use super::*;

/// faker 7.2.1's `connectionSpecification`, as its `spec` prints it.
fn faker() -> Value {
    json!({
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "Faker Source Spec",
        "type": "object",
        "required": [],
        "additionalProperties": true,
        "properties": {
            "count": {"title": "Count", "description": "How many users should be generated in total.",
                      "type": "integer", "minimum": 1, "default": 1000, "order": 0},
            "seed": {"title": "Seed", "type": "integer", "default": -1, "order": 1},
            "records_per_slice": {"title": "Records Per Stream Slice", "type": "integer", "minimum": 1, "default": 1000},
            "always_updated": {"title": "Always Updated", "type": "boolean", "default": true},
            "parallelism": {"title": "Parallelism", "type": "integer", "minimum": 1, "default": 4}
        }
    })
}

/// A schema in the shape of Airbyte's API sources: required keys, a secret, a nested
/// object, an auth choice (`oneOf`), an array and a number.
fn api() -> Value {
    json!({
        "type": "object",
        "required": ["repository", "credentials"],
        "properties": {
            "repository": {"type": "string", "title": "Repository", "pattern": "^[^/]+/[^/]+$"},
            "start_date": {"type": ["null", "string"], "description": "From when"},
            "branches": {"type": "array", "items": {"type": "string"}},
            "ratio": {"type": "number", "maximum": 1.0},
            "options": {"type": "object", "properties": {"page_size": {"type": "integer", "minimum": 1}}},
            "credentials": {
                "type": "object",
                "title": "Authentication",
                "oneOf": [
                    {"title": "Token", "required": ["option_title", "personal_access_token"],
                     "properties": {"option_title": {"type": "string", "const": "PAT Credentials"},
                                    "personal_access_token": {"type": "string", "airbyte_secret": true, "minLength": 8}}},
                    {"title": "OAuth", "required": ["option_title", "access_token"],
                     "properties": {"option_title": {"type": "string", "const": "OAuth Credentials"},
                                    "access_token": {"type": "string", "airbyte_secret": true}}}
                ]
            }
        }
    })
}

fn schema(v: &Value) -> ConfigSchema {
    ConfigSchema::new(v).unwrap_or_else(|e| panic!("{e}"))
}

fn flat(pairs: &[(&str, &str)]) -> ConfigMap {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn errors(s: &ConfigSchema, pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    match s.to_json(&flat(pairs), |_| false) {
        Ok(v) => panic!("expected errors, got {v}"),
        Err(e) => e.into_iter().map(|e| (e.field, e.message)).collect(),
    }
}

#[test]
fn faker_keys_are_listed_with_their_types_and_defaults() {
    let def = schema(&faker()).config_def();
    let count = def
        .iter()
        .find(|k| k.name == "count")
        .unwrap_or_else(|| panic!("{def:?}"));
    assert_eq!(count.ty, ConfigType::Int);
    assert_eq!(count.default.as_deref(), Some("1000"));
    assert!(!count.required);
    assert!(
        count.doc.starts_with("Count: How many users"),
        "{}",
        count.doc
    );
    let always = def.iter().find(|k| k.name == "always_updated");
    assert_eq!(always.map(|k| k.ty), Some(ConfigType::Bool));
}

#[test]
fn flat_keys_become_the_typed_json_config_and_framework_and_host_keys_stay_out() {
    let s = schema(&faker());
    let config = s.to_json(
        &flat(&[
            ("connector.class", "faker"),
            ("connect.topicname", "faker-${stream}"),
            ("errors.tolerance", "all"),
            ("sync.interval.ms", "1000"),
            ("count", "5000"),
            ("records_per_slice", " 250 "),
            ("always_updated", "false"),
            // faker's schema allows more keys than it lists: handed on as text.
            ("base_url", "http://127.0.0.1:1"),
        ]),
        |k| k == "sync.interval.ms",
    );
    assert_eq!(
        config.ok(),
        Some(
            json!({"count": 5000, "records_per_slice": 250, "always_updated": false,
                    "base_url": "http://127.0.0.1:1"})
        )
    );
    let mut closed = faker();
    closed["additionalProperties"] = json!(false);
    let config = schema(&closed).to_json(&flat(&[("count", "1"), ("base_url", "x")]), |_| false);
    assert_eq!(
        config.ok(),
        Some(json!({"count": 1})),
        "a closed schema gets only its keys"
    );
}

#[test]
fn a_wrong_type_or_a_value_below_the_minimum_names_the_key() {
    let s = schema(&faker());
    let e = errors(&s, &[("count", "abc")]);
    assert_eq!(e.len(), 1, "{e:?}");
    assert_eq!(e[0].0, "count");
    assert!(
        e[0].1.contains("whole number") && e[0].1.contains("abc"),
        "{e:?}"
    );
    let e = errors(&s, &[("count", "0"), ("always_updated", "maybe")]);
    assert_eq!(e[0].0, "always_updated", "{e:?}");
    let e = errors(&s, &[("count", "0")]);
    assert_eq!(e[0].0, "count");
    assert!(e[0].1.contains("minimum"), "{e:?}");
}

#[test]
fn nested_objects_and_auth_choices_are_dotted_keys_and_secrets_are_passwords() {
    let def = schema(&api()).config_def();
    let names: Vec<&str> = def.iter().map(|k| k.name.as_ref()).collect();
    assert_eq!(
        names,
        [
            "branches",
            "credentials.option_title",
            "credentials.personal_access_token",
            "credentials.access_token",
            "options.page_size",
            "ratio",
            "repository",
            "start_date",
        ]
    );
    let by = |n: &str| def.iter().find(|k| k.name == n).map(|k| (k.ty, k.required));
    assert_eq!(by("repository"), Some((ConfigType::String, true)));
    assert_eq!(
        by("credentials.personal_access_token"),
        Some((ConfigType::Password, false))
    );
    assert_eq!(by("branches"), Some((ConfigType::Json, false)));
    assert_eq!(by("ratio"), Some((ConfigType::Double, false)));
    assert_eq!(by("start_date"), Some((ConfigType::String, false)));
    let title = def.iter().find(|k| k.name == "credentials.option_title");
    assert!(
        title.is_some_and(|k| k.doc.contains("\"PAT Credentials\"")),
        "{title:?}"
    );
}

#[test]
fn a_nested_config_is_built_and_validated_against_the_chosen_alternative() {
    let s = schema(&api());
    let config = s.to_json(
        &flat(&[
            ("repository", "apache/rocketmq"),
            ("branches", r#"["main","develop"]"#),
            ("options.page_size", "100"),
            ("credentials.option_title", "PAT Credentials"),
            ("credentials.personal_access_token", "ghp_0123456789"),
        ]),
        |_| false,
    );
    assert_eq!(
        config.ok(),
        Some(json!({
            "repository": "apache/rocketmq",
            "branches": ["main", "develop"],
            "options": {"page_size": 100},
            "credentials": {"option_title": "PAT Credentials", "personal_access_token": "ghp_0123456789"}
        }))
    );
}

#[test]
fn a_missing_required_key_is_named_with_its_dotted_path() {
    let s = schema(&api());
    let e = errors(&s, &[("credentials.option_title", "PAT Credentials")]);
    let fields: Vec<&str> = e.iter().map(|(f, _)| f.as_str()).collect();
    assert!(fields.contains(&"repository"), "{e:?}");
    let e = errors(&s, &[("repository", "a/b"), ("options.page_size", "0")]);
    let fields: Vec<&str> = e.iter().map(|(f, _)| f.as_str()).collect();
    assert!(fields.contains(&"options.page_size"), "{e:?}");
    assert!(fields.contains(&"credentials"), "{e:?}");
}

#[test]
fn bad_json_text_and_errors_in_secrets_never_show_the_secret() {
    let s = schema(&api());
    let e = errors(
        &s,
        &[
            ("repository", "a/b"),
            ("branches", "main,develop"),
            ("credentials.option_title", "PAT Credentials"),
            ("credentials.personal_access_token", "short"),
        ],
    );
    assert_eq!(e[0].0, "branches", "{e:?}");
    assert!(e[0].1.contains("JSON text"), "{e:?}");
    let e = errors(
        &s,
        &[
            ("repository", "a/b"),
            ("credentials.option_title", "PAT Credentials"),
            ("credentials.personal_access_token", "short"),
        ],
    );
    assert!(!e.is_empty());
    for (_, message) in &e {
        assert!(!message.contains("short"), "{e:?}");
    }
}

#[test]
fn a_schema_that_is_not_json_schema_is_refused_with_why() {
    let err = ConfigSchema::new(&json!({"type": 12}))
        .err()
        .unwrap_or_default();
    assert!(err.contains("not a valid JSON Schema"), "{err}");
    let err = ConfigSchema::new(&json!([1])).err().unwrap_or_default();
    assert!(err.contains("not a JSON object"), "{err}");
}

#[test]
fn a_json_config_the_plugin_sends_back_becomes_the_same_flat_keys() {
    let s = schema(&api());
    let pairs = [
        ("repository", "a/b"),
        ("branches", r#"["main","dev"]"#),
        ("ratio", "0.5"),
        ("options.page_size", "10"),
        ("credentials.option_title", "OAuth Credentials"),
        ("credentials.access_token", "token-1"),
    ];
    let json = s
        .to_json(&flat(&pairs), |_| false)
        .unwrap_or_else(|e| panic!("{e:?}"));
    let back = s
        .to_flat(&json, |_| false)
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(back, flat(&pairs));

    // An open schema hands back its extra top-level strings too, never host keys.
    let f = schema(&faker());
    let json = json!({"count": 10, "base_url": "http://x", "streams": "users"});
    let back = f
        .to_flat(&json, |k| k == "streams")
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(back, flat(&[("count", "10"), ("base_url", "http://x")]));
}

#[test]
fn a_json_config_the_plugin_sends_back_that_breaks_its_schema_is_refused() {
    let s = schema(&faker());
    let errors = s
        .to_flat(&json!({"count": 0}), |_| false)
        .expect_err("count 0 is below the minimum");
    assert_eq!(errors[0].field, "count");
}

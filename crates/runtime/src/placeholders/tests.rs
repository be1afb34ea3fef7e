//! Unit tests of placeholder syntax, policy and resolution (files in temporary
//! directories, a fake environment).

use std::collections::BTreeMap;
use std::path::PathBuf;

use connect_api::config_from_pairs;

use super::syntax::is_env_name;
use super::*;

fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<OsString> {
    let map: BTreeMap<String, String> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    move |name| map.get(name).map(OsString::from)
}

fn policy_for(dir: &Path) -> PlaceholderPolicy {
    PlaceholderPolicy {
        file_allowed_dirs: vec![dir.to_path_buf()],
        env_allowed: None,
    }
}

fn one_error(result: Result<ConfigMap, Vec<FieldError>>, field: &str) -> String {
    let errors = result.expect_err("resolution should fail");
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].field, field);
    errors[0].message.clone()
}

#[test]
fn values_without_placeholders_are_copied_and_escapes_unescaped() {
    let cfg = config_from_pairs(&[("a", "plain $5 text"), ("b", "lit $${env:X}")]);
    let out = resolve_with(&cfg, &PlaceholderPolicy::default(), env_of(&[])).unwrap();
    assert_eq!(out["a"], "plain $5 text");
    assert_eq!(out["b"], "lit ${env:X}");
    assert!(!has_placeholders("lit $${env:X}"));
    assert!(!has_placeholders("a $ b"));
    assert!(has_placeholders("${env:X}"));
    assert!(has_placeholders("x ${unclosed"));
}

#[test]
fn env_placeholders_resolve_anywhere_in_a_value() {
    let cfg = config_from_pairs(&[
        ("es.password", "${env:ES_PW}"),
        ("es.url", "http://${env:HOST}:${env:PORT}/"),
    ]);
    let env = env_of(&[("ES_PW", "pw"), ("HOST", "es"), ("PORT", "9200")]);
    let out = resolve_with(&cfg, &PlaceholderPolicy::default(), env).unwrap();
    assert_eq!(out["es.password"], "pw");
    assert_eq!(out["es.url"], "http://es:9200/");
    // The stored config is left as written.
    assert_eq!(cfg["es.password"], "${env:ES_PW}");
}

#[test]
fn resolved_values_are_not_expanded_again() {
    let cfg = config_from_pairs(&[("k", "${env:A}")]);
    let out = resolve_with(
        &cfg,
        &PlaceholderPolicy::default(),
        env_of(&[("A", "${env:B}")]),
    )
    .unwrap();
    assert_eq!(out["k"], "${env:B}");
}

#[test]
fn unset_env_var_names_the_key_and_the_variable() {
    let cfg = config_from_pairs(&[("es.password", "${env:NOPE_NOT_SET}")]);
    let msg = one_error(
        resolve_with(&cfg, &PlaceholderPolicy::default(), env_of(&[])),
        "es.password",
    );
    assert!(
        msg.contains("NOPE_NOT_SET") && msg.contains("not set"),
        "{msg}"
    );
}

#[test]
fn real_process_environment_is_read_by_resolve() {
    let (name, value) = std::env::vars()
        .find(|(k, v)| is_env_name(k) && !v.contains("${"))
        .expect("some environment variable");
    let cfg = config_from_pairs(&[("k", &format!("${{env:{name}}}"))]);
    assert_eq!(
        resolve(&cfg, &PlaceholderPolicy::default()).unwrap()["k"],
        value
    );
}

#[test]
fn env_allow_list_takes_names_and_prefixes() {
    let policy = PlaceholderPolicy {
        file_allowed_dirs: vec![],
        env_allowed: Some(PlaceholderPolicy::parse_env_allowed(
            "ES_PASSWORD, CONNECT_*",
        )),
    };
    let env = env_of(&[
        ("ES_PASSWORD", "a"),
        ("CONNECT_X", "b"),
        ("AWS_SECRET", "c"),
    ]);
    let ok = config_from_pairs(&[("p", "${env:ES_PASSWORD}"), ("q", "${env:CONNECT_X}")]);
    assert!(resolve_with(&ok, &policy, &env).is_ok());
    let bad = config_from_pairs(&[("r", "${env:AWS_SECRET}")]);
    let msg = one_error(resolve_with(&bad, &policy, &env), "r");
    assert!(msg.contains(ENV_ALLOWED_KEY), "{msg}");
    assert_eq!(check(&bad, &policy).len(), 1);
    // Explicitly empty: nothing allowed.
    let none = PlaceholderPolicy {
        env_allowed: Some(PlaceholderPolicy::parse_env_allowed("")),
        ..PlaceholderPolicy::default()
    };
    assert!(!none.env_is_allowed("ES_PASSWORD"));
    assert!(PlaceholderPolicy::default().env_is_allowed("ANY"));
}

#[test]
fn file_placeholders_are_disabled_by_default() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.properties");
    std::fs::write(&path, "pw=x\n").unwrap();
    let cfg = config_from_pairs(&[("es.password", &format!("${{file:{}:pw}}", path.display()))]);
    let msg = one_error(
        resolve_with(&cfg, &PlaceholderPolicy::default(), env_of(&[])),
        "es.password",
    );
    assert!(msg.contains(FILE_ALLOWED_DIRS_KEY), "{msg}");
    assert_eq!(check(&cfg, &PlaceholderPolicy::default()).len(), 1);
}

#[test]
fn file_placeholders_read_a_key_inside_an_allowed_dir() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("es.properties");
    std::fs::write(&path, "# secrets\nuser=elastic\npassword = p@ss=word\n").unwrap();
    let p = path.display();
    let cfg = config_from_pairs(&[
        ("es.username", &format!("${{file:{p}:user}}")),
        ("es.password", &format!("${{file:{p}:password}}")),
    ]);
    let policy = policy_for(dir.path());
    assert!(check(&cfg, &policy).is_empty());
    let out = resolve_with(&cfg, &policy, env_of(&[])).unwrap();
    assert_eq!(out["es.username"], "elastic");
    assert_eq!(out["es.password"], "p@ss=word");

    let missing = config_from_pairs(&[("k", &format!("${{file:{p}:nokey}}"))]);
    let msg = one_error(resolve_with(&missing, &policy, env_of(&[])), "k");
    assert!(msg.contains("no key nokey"), "{msg}");
    let absent = config_from_pairs(&[("k", &format!("${{file:{}/gone:x}}", dir.path().display()))]);
    let msg = one_error(resolve_with(&absent, &policy, env_of(&[])), "k");
    assert!(msg.contains("cannot open"), "{msg}");
}

#[test]
fn malformed_secrets_file_errors_do_not_quote_lines() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.properties");
    std::fs::write(&path, "ok=1\nhunter2\n").unwrap();
    let cfg = config_from_pairs(&[("k", &format!("${{file:{}:ok}}", path.display()))]);
    let msg = one_error(
        resolve_with(&cfg, &policy_for(dir.path()), env_of(&[])),
        "k",
    );
    assert!(msg.contains("line 2") && !msg.contains("hunter2"), "{msg}");
}

#[test]
fn dot_dot_escape_is_rejected_before_touching_the_file_system() {
    let root = tempfile::tempdir().unwrap();
    let allowed = root.path().join("allowed");
    std::fs::create_dir(&allowed).unwrap();
    std::fs::write(root.path().join("outside.properties"), "pw=stolen\n").unwrap();
    let cfg = config_from_pairs(&[(
        "es.password",
        &format!("${{file:{}/../outside.properties:pw}}", allowed.display()),
    )]);
    let policy = policy_for(&allowed);
    let msg = one_error(resolve_with(&cfg, &policy, env_of(&[])), "es.password");
    assert!(msg.contains(".."), "{msg}");
    assert!(!msg.contains("stolen"));
    assert_eq!(check(&cfg, &policy).len(), 1);
}

#[test]
fn path_outside_allowed_dirs_is_rejected() {
    let allowed = tempfile::tempdir().unwrap();
    let other = tempfile::tempdir().unwrap();
    let path = other.path().join("s.properties");
    std::fs::write(&path, "pw=x\n").unwrap();
    let cfg = config_from_pairs(&[("k", &format!("${{file:{}:pw}}", path.display()))]);
    let msg = one_error(
        resolve_with(&cfg, &policy_for(allowed.path()), env_of(&[])),
        "k",
    );
    assert!(msg.contains("not inside"), "{msg}");
    // A sibling whose name merely starts with the allowed dir's name is outside too.
    let sibling = PathBuf::from(format!("{}x", allowed.path().display()));
    std::fs::create_dir(&sibling).unwrap();
    std::fs::write(sibling.join("s"), "pw=x\n").unwrap();
    let cfg = config_from_pairs(&[("k", &format!("${{file:{}/s:pw}}", sibling.display()))]);
    let result = resolve_with(&cfg, &policy_for(allowed.path()), env_of(&[]));
    std::fs::remove_dir_all(&sibling).unwrap();
    assert!(one_error(result, "k").contains("not inside"));
}

#[cfg(unix)]
#[test]
fn symlink_escape_is_rejected() {
    let allowed = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    let target = outside.path().join("secrets.properties");
    std::fs::write(&target, "pw=stolen\n").unwrap();
    // A link to a file outside, and a link to a directory outside.
    std::os::unix::fs::symlink(&target, allowed.path().join("link.properties")).unwrap();
    std::os::unix::fs::symlink(outside.path(), allowed.path().join("dir")).unwrap();
    let policy = policy_for(allowed.path());
    for path in [
        allowed.path().join("link.properties"),
        allowed.path().join("dir/secrets.properties"),
    ] {
        let cfg = config_from_pairs(&[("k", &format!("${{file:{}:pw}}", path.display()))]);
        let msg = one_error(resolve_with(&cfg, &policy, env_of(&[])), "k");
        assert!(
            msg.contains("not inside") && !msg.contains("stolen"),
            "{msg}"
        );
    }
}

#[cfg(unix)]
#[test]
fn symlink_inside_the_allowed_dir_and_symlinked_allowed_dir_work() {
    let root = tempfile::tempdir().unwrap();
    let real = root.path().join("real");
    std::fs::create_dir(&real).unwrap();
    std::fs::write(real.join("s.properties"), "pw=ok\n").unwrap();
    std::os::unix::fs::symlink(real.join("s.properties"), real.join("current")).unwrap();
    let linked = root.path().join("linked");
    std::os::unix::fs::symlink(&real, &linked).unwrap();
    let cfg = config_from_pairs(&[
        ("a", &format!("${{file:{}/current:pw}}", real.display())),
        (
            "b",
            &format!("${{file:{}/s.properties:pw}}", linked.display()),
        ),
    ]);
    let out = resolve_with(&cfg, &policy_for(&linked), env_of(&[])).unwrap();
    assert_eq!((out["a"].as_str(), out["b"].as_str()), ("ok", "ok"));
}

#[test]
fn allowed_dirs_must_be_absolute_without_dot_dot() {
    assert_eq!(
        PlaceholderPolicy::parse_allowed_dirs(" /etc/connect/secrets , /run/secrets ").unwrap(),
        vec![
            PathBuf::from("/etc/connect/secrets"),
            PathBuf::from("/run/secrets")
        ]
    );
    assert!(PlaceholderPolicy::parse_allowed_dirs("secrets").is_err());
    assert!(PlaceholderPolicy::parse_allowed_dirs("/etc/../root").is_err());
    assert!(PlaceholderPolicy::parse_allowed_dirs("/").is_err());
    assert!(PlaceholderPolicy::parse_allowed_dirs("")
        .unwrap()
        .is_empty());
}

#[test]
fn malformed_placeholders_are_field_errors_that_do_not_quote_the_value() {
    let cases = [
        ("unclosed", "abc${env:X"),
        ("no.provider", "${X}"),
        ("unknown", "${vault:secret/x:pw}"),
        ("odd.provider", "${s3cr#t:x}"),
        ("nested", "${env:${env:X}}"),
        ("env.name", "${env:1BAD}"),
        ("env.empty", "${env:}"),
        ("file.nokey", "${file:/etc/x.properties}"),
        ("file.relative", "${file:secrets/x.properties:pw}"),
        ("file.emptykey", "${file:/etc/x:}"),
    ];
    let cfg: ConfigMap = cases
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let errors = check_syntax(&cfg);
    let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
    let mut expected: Vec<&str> = cases.iter().map(|(k, _)| *k).collect();
    expected.sort();
    assert_eq!(fields, expected, "{errors:?}");
    let msg = |f: &str| {
        errors
            .iter()
            .find(|e| e.field == f)
            .unwrap()
            .message
            .clone()
    };
    assert!(msg("unknown").contains("`vault`"), "{}", msg("unknown"));
    assert!(
        !msg("odd.provider").contains("s3cr"),
        "{}",
        msg("odd.provider")
    );
    assert!(
        msg("unclosed").contains("character 4"),
        "{}",
        msg("unclosed")
    );
    assert!(msg("file.nokey").contains("key"), "{}", msg("file.nokey"));
    // resolve reports the same errors.
    let resolved = resolve_with(&cfg, &PlaceholderPolicy::default(), env_of(&[]));
    assert_eq!(resolved.unwrap_err().len(), cases.len());
    // Well-formed values pass.
    let good = config_from_pairs(&[("a", "${env:A_1}"), ("b", "${file:/x/y.p:k}"), ("c", "$")]);
    assert!(check_syntax(&good).is_empty());
}

#[test]
fn every_failing_key_is_reported() {
    let cfg = config_from_pairs(&[
        ("a", "${env:MISSING_A}"),
        ("b", "${env:MISSING_B}"),
        ("c", "ok"),
    ]);
    let errors = resolve_with(&cfg, &PlaceholderPolicy::default(), env_of(&[])).unwrap_err();
    let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, ["a", "b"]);
}

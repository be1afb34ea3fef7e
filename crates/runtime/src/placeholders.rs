//! `${env:VAR}` and `${file:path:key}` placeholders in connector config values.
//!
//! Contract: placeholders are stored, returned and validated *as written*; they are
//! resolved only inside the task, right before it starts, by [`resolve`]. The herder
//! checks them at create/update time with [`check_syntax`] (and optionally [`check`],
//! which also applies the worker's [`PlaceholderPolicy`] without touching the
//! environment or the file system).
//!
//! Syntax, anywhere inside a value (several per value are fine):
//! - `${env:VAR}` — the environment variable `VAR` (`[A-Za-z_][A-Za-z0-9_]*`) of the
//!   worker process;
//! - `${file:/abs/path:key}` — the value of `key` in the properties file (`key=value`
//!   lines) at the absolute path `/abs/path`;
//! - `$${` — a literal `${` (so a password may contain `${`).
//!
//! Resolved values are never scanned again: an environment variable holding
//! `${file:...}` stays that text. Errors name the config key and the placeholder, never a
//! resolved value or a line of a secrets file.
//!
//! Security (the lesson of Kafka's CVE-2024-31141, a file provider that read any file a
//! REST client named): `${file:...}` is off until the worker conf lists the directories it
//! may read (`config.providers.file.allowed.dirs`); the path must be absolute, may not
//! contain `..`, and must still lie inside an allowed directory once symlinks are
//! resolved. `${env:...}` may be narrowed to an allow-list (`config.providers.env.allowed`).

use std::collections::HashMap;
use std::ffi::OsString;
use std::io::Read;
use std::path::{Component, Path, PathBuf};

use connect_api::{ConfigMap, FieldError};

use crate::properties::{parse_properties_quiet, PropertiesError};

/// Worker conf key: comma-separated absolute directories `${file:...}` may read from.
pub const FILE_ALLOWED_DIRS_KEY: &str = "config.providers.file.allowed.dirs";
/// Worker conf key: comma-separated variable names (or prefixes ending in `*`) that
/// `${env:...}` may read.
pub const ENV_ALLOWED_KEY: &str = "config.providers.env.allowed";
/// Largest secrets file `${file:...}` reads.
pub const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// What placeholders may read; part of the worker conf.
///
/// The default disables `${file:...}` and allows every `${env:...}` variable.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlaceholderPolicy {
    /// Absolute directories `${file:...}` may read inside
    /// (`config.providers.file.allowed.dirs`); empty rejects every `${file:...}`.
    pub file_allowed_dirs: Vec<PathBuf>,
    /// Variable names, or prefixes ending in `*`, that `${env:...}` may read
    /// (`config.providers.env.allowed`); `None` allows all, an empty list none.
    pub env_allowed: Option<Vec<String>>,
}

impl PlaceholderPolicy {
    /// Parses the value of `config.providers.file.allowed.dirs`; every entry must be an
    /// absolute path without `..`.
    pub fn parse_allowed_dirs(value: &str) -> Result<Vec<PathBuf>, String> {
        let mut dirs = Vec::new();
        for entry in value.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let path = PathBuf::from(entry);
            if !path.is_absolute() {
                return Err(format!(
                    "{FILE_ALLOWED_DIRS_KEY}: {entry:?} is not an absolute path"
                ));
            }
            if path.components().any(|c| c == Component::ParentDir) {
                return Err(format!("{FILE_ALLOWED_DIRS_KEY}: {entry:?} contains `..`"));
            }
            if path.parent().is_none() {
                return Err(format!(
                    "{FILE_ALLOWED_DIRS_KEY}: allowing `/` would let placeholders read any file; name a directory of secrets files"
                ));
            }
            dirs.push(path);
        }
        Ok(dirs)
    }

    /// Parses the value of `config.providers.env.allowed` (`*` alone allows all).
    pub fn parse_env_allowed(value: &str) -> Vec<String> {
        value
            .split(',')
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .map(str::to_owned)
            .collect()
    }

    /// Whether `${env:name}` may be read.
    pub fn env_is_allowed(&self, name: &str) -> bool {
        let Some(list) = &self.env_allowed else {
            return true;
        };
        list.iter().any(|p| match p.strip_suffix('*') {
            Some(prefix) => name.starts_with(prefix),
            None => p == name,
        })
    }
}

/// Whether `value` holds a `${` that is not the escape `$${` (well-formed or not).
pub fn has_placeholders(value: &str) -> bool {
    scan(value).map_or(true, |segs| {
        segs.iter().any(|s| matches!(s, Segment::Ref(_)))
    })
}

/// Per-field errors for malformed placeholders (unclosed, nested, unknown provider, bad
/// variable name, `${file:...}` without a key or with a relative path).
pub fn check_syntax(config: &ConfigMap) -> Vec<FieldError> {
    let mut errors = Vec::new();
    for (key, value) in config {
        if let Err(message) = scan(value) {
            errors.push(FieldError::new(key, message));
        }
    }
    errors
}

/// [`check_syntax`] plus the parts of `policy` that can be checked without reading the
/// environment or any file: `${file:...}` disabled or outside the allowed directories,
/// `${env:...}` not on the allow-list.
pub fn check(config: &ConfigMap, policy: &PlaceholderPolicy) -> Vec<FieldError> {
    let mut errors = Vec::new();
    for (key, value) in config {
        match scan(value) {
            Err(message) => errors.push(FieldError::new(key, message)),
            Ok(segments) => {
                for seg in &segments {
                    let problem = match seg {
                        Segment::Ref(Ref::Env(name)) => env_policy(name, policy).err(),
                        Segment::Ref(Ref::File { path, .. }) => {
                            lexically_allowed(Path::new(path), policy).err()
                        }
                        Segment::Text(_) => None,
                    };
                    if let Some(message) = problem {
                        errors.push(FieldError::new(key, message));
                    }
                }
            }
        }
    }
    errors
}

/// A copy of `config` with every placeholder replaced, reading the worker's environment;
/// call it inside the task, right before it starts, and never store or show the result.
pub fn resolve(
    config: &ConfigMap,
    policy: &PlaceholderPolicy,
) -> Result<ConfigMap, Vec<FieldError>> {
    resolve_with(config, policy, |name| std::env::var_os(name))
}

/// [`resolve`] with `env` standing in for the process environment (for tests and for
/// callers that snapshot it).
pub fn resolve_with(
    config: &ConfigMap,
    policy: &PlaceholderPolicy,
    env: impl Fn(&str) -> Option<OsString>,
) -> Result<ConfigMap, Vec<FieldError>> {
    let mut files = FileCache::default();
    let mut out = ConfigMap::new();
    let mut errors = Vec::new();
    for (key, value) in config {
        if !value.contains("${") {
            out.insert(key.clone(), value.clone());
            continue;
        }
        let segments = match scan(value) {
            Ok(s) => s,
            Err(message) => {
                errors.push(FieldError::new(key, message));
                continue;
            }
        };
        let mut resolved = String::with_capacity(value.len());
        let mut failed = false;
        for seg in segments {
            let piece = match seg {
                Segment::Text(t) => Ok(t.to_owned()),
                Segment::Ref(Ref::Env(name)) => resolve_env(name, policy, &env),
                Segment::Ref(Ref::File { path, key: prop }) => {
                    files.lookup(Path::new(path), prop, policy)
                }
            };
            match piece {
                Ok(p) => resolved.push_str(&p),
                Err(message) => {
                    errors.push(FieldError::new(key, message));
                    failed = true;
                }
            }
        }
        if !failed {
            out.insert(key.clone(), resolved);
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// A piece of a scanned value.
#[derive(Debug, PartialEq, Eq)]
enum Segment<'a> {
    /// Literal text (an escaped `$${` yields `${`).
    Text(&'a str),
    /// A placeholder.
    Ref(Ref<'a>),
}

/// A well-formed placeholder.
#[derive(Debug, PartialEq, Eq)]
enum Ref<'a> {
    Env(&'a str),
    File { path: &'a str, key: &'a str },
}

/// Splits `value` into text and placeholders. The error says what is wrong and where
/// (character position), without quoting the value: it may be a literal secret.
fn scan(value: &str) -> Result<Vec<Segment<'_>>, String> {
    let mut out = Vec::new();
    let mut rest = value;
    let mut consumed = 0;
    while let Some(idx) = rest.find('$') {
        let after = &rest[idx..];
        if after.starts_with("$${") {
            out.push(Segment::Text(&rest[..idx]));
            out.push(Segment::Text("${"));
            consumed += idx + 3;
            rest = &rest[idx + 3..];
        } else if after.starts_with("${") {
            out.push(Segment::Text(&rest[..idx]));
            let at = value[..consumed + idx].chars().count() + 1;
            let body_start = idx + 2;
            let Some(len) = rest[body_start..].find('}') else {
                return Err(format!(
                    "unclosed `${{` at character {at}: a placeholder ends with `}}` (write `$${{` for a literal `${{`)"
                ));
            };
            let body = &rest[body_start..body_start + len];
            out.push(Segment::Ref(parse_ref(body, at)?));
            consumed += body_start + len + 1;
            rest = &rest[body_start + len + 1..];
        } else {
            out.push(Segment::Text(&rest[..=idx]));
            consumed += idx + 1;
            rest = &rest[idx + 1..];
        }
    }
    out.push(Segment::Text(rest));
    out.retain(|s| *s != Segment::Text(""));
    Ok(out)
}

/// Parses the inside of `${...}` found at character `at`.
fn parse_ref(body: &str, at: usize) -> Result<Ref<'_>, String> {
    const FORMS: &str = "use ${env:VAR} or ${file:/path:key}";
    if body.contains("${") {
        return Err(format!(
            "placeholder at character {at}: nested placeholders are not supported"
        ));
    }
    let Some((provider, args)) = body.split_once(':') else {
        return Err(format!(
            "placeholder at character {at} names no provider; {FORMS}"
        ));
    };
    match provider {
        "env" => {
            if !is_env_name(args) {
                return Err(format!(
                    "placeholder at character {at}: ${{env:...}} needs a variable name of letters, digits and `_`"
                ));
            }
            Ok(Ref::Env(args))
        }
        "file" => {
            let Some((path, key)) = args
                .rsplit_once(':')
                .filter(|(p, k)| !p.is_empty() && !k.is_empty())
            else {
                return Err(format!(
                    "placeholder at character {at}: ${{file:...}} needs a path and a key, ${{file:/path:key}}"
                ));
            };
            if !Path::new(path).is_absolute() {
                return Err(format!(
                    "placeholder at character {at}: the path of ${{file:{path}:{key}}} must be absolute"
                ));
            }
            Ok(Ref::File { path, key })
        }
        other if is_identifier(other) => Err(format!(
            "placeholder at character {at}: unknown provider `{other}`; {FORMS}"
        )),
        _ => Err(format!(
            "placeholder at character {at}: unknown provider; {FORMS}"
        )),
    }
}

fn is_env_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Short enough and plain enough to quote in an error without leaking a literal secret.
fn is_identifier(s: &str) -> bool {
    (1..=32).contains(&s.len())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

fn env_policy(name: &str, policy: &PlaceholderPolicy) -> Result<(), String> {
    if policy.env_is_allowed(name) {
        Ok(())
    } else {
        Err(format!(
            "${{env:{name}}}: the variable is not allowed by the worker conf key {ENV_ALLOWED_KEY}"
        ))
    }
}

fn resolve_env(
    name: &str,
    policy: &PlaceholderPolicy,
    env: &impl Fn(&str) -> Option<OsString>,
) -> Result<String, String> {
    env_policy(name, policy)?;
    let value = env(name).ok_or_else(|| {
        format!("${{env:{name}}}: the environment variable {name} is not set on this worker")
    })?;
    value
        .into_string()
        .map_err(|_| format!("${{env:{name}}}: the environment variable is not valid UTF-8"))
}

/// Checks `path` against the allowed directories as written, before touching the file
/// system, so a rejected path reveals nothing about what exists outside them.
fn lexically_allowed(path: &Path, policy: &PlaceholderPolicy) -> Result<(), String> {
    let shown = path.display();
    if policy.file_allowed_dirs.is_empty() {
        return Err(format!(
            "${{file:{shown}:...}}: file placeholders are disabled on this worker; list the directories they may read in the worker conf key {FILE_ALLOWED_DIRS_KEY}"
        ));
    }
    if path
        .components()
        .any(|c| matches!(c, Component::ParentDir | Component::CurDir))
    {
        return Err(format!(
            "${{file:{shown}:...}}: the path may not contain `..` or `.`"
        ));
    }
    let inside = policy.file_allowed_dirs.iter().any(|dir| {
        path.starts_with(dir)
            || std::fs::canonicalize(dir).is_ok_and(|canon| path.starts_with(canon))
    });
    if inside {
        Ok(())
    } else {
        Err(not_allowed(path))
    }
}

fn not_allowed(path: &Path) -> String {
    format!(
        "${{file:{}:...}}: the file is not inside a directory listed in the worker conf key {FILE_ALLOWED_DIRS_KEY}",
        path.display()
    )
}

/// Secrets files read during one [`resolve`], by canonical path.
#[derive(Default)]
struct FileCache {
    files: HashMap<PathBuf, Result<std::collections::BTreeMap<String, String>, String>>,
}

impl FileCache {
    fn lookup(
        &mut self,
        path: &Path,
        key: &str,
        policy: &PlaceholderPolicy,
    ) -> Result<String, String> {
        lexically_allowed(path, policy)?;
        let shown = path.display();
        let canon = std::fs::canonicalize(path)
            .map_err(|e| format!("${{file:{shown}:{key}}}: cannot open the file: {e}"))?;
        // Symlinks may point anywhere; what counts is where the path really leads.
        let inside = policy.file_allowed_dirs.iter().any(|dir| {
            std::fs::canonicalize(dir).is_ok_and(|d| canon.starts_with(&d) && canon != d)
        });
        if !inside {
            return Err(not_allowed(path));
        }
        let props = self
            .files
            .entry(canon.clone())
            .or_insert_with(|| read_properties(&canon))
            .as_ref()
            .map_err(|why| format!("${{file:{shown}:{key}}}: {why}"))?;
        props
            .get(key)
            .cloned()
            .ok_or_else(|| format!("${{file:{shown}:{key}}}: the file has no key {key}"))
    }
}

/// Reads a properties file; errors never quote a line (it may be a bare secret).
fn read_properties(path: &Path) -> Result<std::collections::BTreeMap<String, String>, String> {
    let file = std::fs::File::open(path).map_err(|e| format!("cannot open the file: {e}"))?;
    let meta = file
        .metadata()
        .map_err(|e| format!("cannot open the file: {e}"))?;
    if !meta.is_file() {
        return Err("not a regular file".into());
    }
    let mut text = String::new();
    file.take(MAX_FILE_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(|e| format!("cannot read the file as UTF-8 text: {e}"))?;
    if text.len() as u64 > MAX_FILE_BYTES {
        return Err(format!("the file is larger than {MAX_FILE_BYTES} bytes"));
    }
    parse_properties_quiet(&text).map_err(|e| match e {
        PropertiesError::NoSeparator { line, .. } => {
            format!("line {line} of the file is not a key=value line")
        }
        PropertiesError::EmptyKey { line } => format!("line {line} of the file has an empty key"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use connect_api::config_from_pairs;
    use std::collections::BTreeMap;

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
        let cfg =
            config_from_pairs(&[("es.password", &format!("${{file:{}:pw}}", path.display()))]);
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
        let absent =
            config_from_pairs(&[("k", &format!("${{file:{}/gone:x}}", dir.path().display()))]);
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
}

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
//!
//! This file holds the entry points; `syntax.rs` scans values, `policy.rs` holds the
//! worker conf's [`PlaceholderPolicy`], `env.rs` and `file.rs` are the two providers.

mod env;
mod file;
mod policy;
mod syntax;
#[cfg(test)]
mod tests;

use std::ffi::OsString;
use std::path::Path;

use connect_api::{ConfigMap, FieldError};

use env::{env_policy, resolve_env};
pub use file::MAX_FILE_BYTES;
use file::{lexically_allowed, FileCache};
pub use policy::{PlaceholderPolicy, ENV_ALLOWED_KEY, FILE_ALLOWED_DIRS_KEY};
use syntax::{scan, Ref, Segment};

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

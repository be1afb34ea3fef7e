//! What placeholders may read: the worker conf keys and the [`PlaceholderPolicy`] they
//! fill. Parsing the keys' values is here; applying the policy is the providers' job
//! (`env.rs`, `file.rs`).

use std::path::{Component, PathBuf};

/// Worker conf key: comma-separated absolute directories `${file:...}` may read from.
pub const FILE_ALLOWED_DIRS_KEY: &str = "config.providers.file.allowed.dirs";
/// Worker conf key: comma-separated variable names (or prefixes ending in `*`) that
/// `${env:...}` may read.
pub const ENV_ALLOWED_KEY: &str = "config.providers.env.allowed";

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

//! The `${file:/path:key}` provider: the value of `key` in a properties file inside a
//! directory the worker conf allows (`config.providers.file.allowed.dirs`).
//!
//! A path is first checked as written (absolute, no `..` or `.`, inside an allowed
//! directory) before the file system is touched, then again once symlinks are resolved.
//! Each file is read once per resolution, at most [`MAX_FILE_BYTES`], and its errors never
//! quote a line (it may be a bare secret).

use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::{Component, Path, PathBuf};

use super::policy::{PlaceholderPolicy, FILE_ALLOWED_DIRS_KEY};
use crate::properties::{parse_properties_quiet, PropertiesError};

/// Largest secrets file `${file:...}` reads.
pub const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// Checks `path` against the allowed directories as written, before touching the file
/// system, so a rejected path reveals nothing about what exists outside them.
pub(super) fn lexically_allowed(path: &Path, policy: &PlaceholderPolicy) -> Result<(), String> {
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

/// Secrets files read during one [`resolve`](super::resolve), by canonical path.
#[derive(Default)]
pub(super) struct FileCache {
    files: HashMap<PathBuf, Result<BTreeMap<String, String>, String>>,
}

impl FileCache {
    pub(super) fn lookup(
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
fn read_properties(path: &Path) -> Result<BTreeMap<String, String>, String> {
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

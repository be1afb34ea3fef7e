//! Which indices are read: `es.index` and how often it is resolved again
//! (`es.index.refresh.interval.ms`), and the task's share (`es.task.indices`).
//!
//! Contract: entries are only checked for form here (Elasticsearch's naming rules,
//! patterns with `*`, `-exclusions`); what they stand for is resolved live by
//! [`crate::resolve`].

use std::time::Duration;

use connect_api::ConfigReader;

/// Comma-separated index names; each is one partition.
pub const INDEX: &str = "es.index";
/// How often the connector re-resolves `es.index` to find new concrete indices.
pub const INDEX_REFRESH_INTERVAL_MS: &str = "es.index.refresh.interval.ms";
/// Default of [`INDEX_REFRESH_INTERVAL_MS`].
pub const DEFAULT_INDEX_REFRESH_INTERVAL_MS: u64 = 60_000;
/// Smallest non-zero [`INDEX_REFRESH_INTERVAL_MS`].
pub const MIN_INDEX_REFRESH_INTERVAL_MS: u64 = 1_000;
/// Largest [`INDEX_REFRESH_INTERVAL_MS`] (one day).
pub const MAX_INDEX_REFRESH_INTERVAL_MS: u64 = 86_400_000;
/// Internal: the indices one task reads, written by `task_configs` (not for users).
pub const TASK_INDICES: &str = "es.task.indices";

/// Reads `es.index`: at least one entry that is not an exclusion, each well formed and
/// listed once.
pub(super) fn read_entries(r: &mut ConfigReader<'_>) -> Vec<String> {
    let indices = r.list(INDEX);
    if indices.is_empty() {
        r.error(
            INDEX,
            "is required: one index name or a comma-separated list",
        );
    }
    if !indices.is_empty() && indices.iter().all(|i| i.starts_with('-')) {
        r.error(
            INDEX,
            "lists only exclusions (-name); add at least one index, alias or pattern",
        );
    }
    for (i, name) in indices.iter().enumerate() {
        if let Err(msg) = check_index_entry(name) {
            r.error(INDEX, msg);
        }
        if indices[..i].contains(name) {
            r.error(INDEX, format!("lists index {name:?} more than once"));
        }
    }
    indices
}

/// Reads `es.index.refresh.interval.ms`: `None` for 0 (never).
pub(super) fn read_refresh_interval(r: &mut ConfigReader<'_>) -> Option<Duration> {
    let refresh_ms = r.number_or(
        INDEX_REFRESH_INTERVAL_MS,
        DEFAULT_INDEX_REFRESH_INTERVAL_MS,
        0..=MAX_INDEX_REFRESH_INTERVAL_MS,
    );
    if refresh_ms != 0 && refresh_ms < MIN_INDEX_REFRESH_INTERVAL_MS {
        r.error(
            INDEX_REFRESH_INTERVAL_MS,
            format!("must be 0 (never) or at least {MIN_INDEX_REFRESH_INTERVAL_MS}"),
        );
    }
    (refresh_ms > 0).then(|| Duration::from_millis(refresh_ms))
}

/// Checks one `es.index` entry: a name, alias or data stream, a wildcard pattern (`*`),
/// or an exclusion (`-name` or `-pattern`).
fn check_index_entry(entry: &str) -> Result<(), String> {
    let name = match entry.strip_prefix('-') {
        Some("") => return Err("\"-\" excludes nothing".to_owned()),
        Some(rest) => rest,
        None => entry,
    };
    if name.contains('?') {
        return Err(format!(
            "{entry:?} contains '?'; Elasticsearch patterns only know '*'"
        ));
    }
    if name.contains('*') {
        // A pattern must be a valid name once its wildcards are left out.
        let fixed = name.replace('*', "");
        if fixed.is_empty() {
            return Ok(());
        }
        return check_index_name(&fixed)
            .map_err(|msg| format!("{entry:?} is not a valid pattern: {msg}"));
    }
    check_index_name(name)
}

/// Checks a concrete index name against Elasticsearch's naming rules.
fn check_index_name(name: &str) -> Result<(), String> {
    if let Some(c) = name
        .chars()
        .find(|c| matches!(c, '\\' | '/' | '"' | '<' | '>' | '|' | ' ' | '#' | ':'))
    {
        return Err(format!(
            "{name:?} contains {c:?}, which index names cannot contain"
        ));
    }
    if name.chars().any(char::is_uppercase) {
        return Err(format!(
            "{name:?} has upper-case letters; index names are lower case"
        ));
    }
    if name.starts_with(['-', '_', '+']) || name == "." || name == ".." {
        return Err(format!("{name:?} is not a valid index name"));
    }
    if name.len() > 255 {
        return Err(format!("{name:?} is longer than 255 bytes"));
    }
    Ok(())
}

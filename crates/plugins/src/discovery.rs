//! Finding plugins: every direct subdirectory of a `pluginPaths` directory that holds a
//! `plugin.json` is one plugin.
//!
//! What stops the worker (a typo must not pass unnoticed): a `pluginPaths` entry that is
//! not a directory, unknown keys in a `plugin.json`, two plugins of one name. What only
//! skips the one plugin (logged, and listed by `GET /connector-plugins` with its error):
//! a `plugin.json` that is not valid JSON or lacks its command, and later a `spec` that
//! fails.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::error::{DiscoveryError, ManifestError};
use crate::manifest::{Manifest, MANIFEST_FILE};

/// A plugin directory with a valid manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// The plugin directory.
    pub dir: PathBuf,
    /// Its `plugin.json`.
    pub manifest: Manifest,
}

/// A plugin directory that could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Broken {
    /// The plugin directory.
    pub dir: PathBuf,
    /// The name it declares, when that much could be read; else the directory's name.
    pub name: String,
    /// What to fix.
    pub error: String,
}

/// What the `pluginPaths` hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Discovered {
    /// The plugins with valid manifests, by name.
    pub found: Vec<Found>,
    /// The directories that could not be loaded.
    pub broken: Vec<Broken>,
}

/// Reads every plugin directory under `paths`; `taken` are the names of the connectors
/// compiled into the binary, which no plugin may take.
pub fn discover(paths: &[PathBuf], taken: &[String]) -> Result<Discovered, DiscoveryError> {
    let mut out = Discovered::default();
    let mut by_name: BTreeMap<String, PathBuf> = BTreeMap::new();
    for path in paths {
        for dir in plugin_dirs(path)? {
            let manifest = match Manifest::load(&dir) {
                Ok(m) => m,
                Err(e @ ManifestError::UnknownKeys { .. }) => {
                    return Err(DiscoveryError::UnknownKeys(e))
                }
                Err(e) => {
                    out.broken.push(Broken {
                        name: declared_name(&dir),
                        dir,
                        error: e.to_string(),
                    });
                    continue;
                }
            };
            let file = dir.join(MANIFEST_FILE);
            if taken.iter().any(|t| t.eq_ignore_ascii_case(&manifest.name)) {
                return Err(DiscoveryError::Duplicate {
                    name: manifest.name,
                    first: file,
                    second: "the connector compiled into rmq-connect".into(),
                });
            }
            if let Some(first) = by_name.get(&manifest.name) {
                return Err(DiscoveryError::Duplicate {
                    name: manifest.name,
                    first: first.clone(),
                    second: file.display().to_string(),
                });
            }
            by_name.insert(manifest.name.clone(), file);
            out.found.push(Found { dir, manifest });
        }
    }
    Ok(out)
}

/// The direct subdirectories of `path` that hold a `plugin.json`, sorted.
fn plugin_dirs(path: &Path) -> Result<Vec<PathBuf>, DiscoveryError> {
    let not_a_dir = |message: String| DiscoveryError::NotADirectory {
        path: path.to_owned(),
        message,
    };
    // Absolute: a plugin's process runs in its own directory.
    let path = &std::path::absolute(path).map_err(|e| not_a_dir(e.to_string()))?;
    let entries = std::fs::read_dir(path).map_err(|e| not_a_dir(e.to_string()))?;
    let mut dirs = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| not_a_dir(e.to_string()))?;
        let dir = entry.path();
        if dir.is_dir() && dir.join(MANIFEST_FILE).exists() {
            dirs.push(dir);
        }
    }
    dirs.sort();
    Ok(dirs)
}

/// The `name` of a manifest that failed to load, if it holds one; else the directory's
/// name.
fn declared_name(dir: &Path) -> String {
    std::fs::read_to_string(dir.join(MANIFEST_FILE))
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .and_then(|v| v.get("name")?.as_str().map(str::to_owned))
        .unwrap_or_else(|| {
            dir.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plugin(root: &Path, dir: &str, manifest: &str) {
        let d = root.join(dir);
        std::fs::create_dir_all(&d).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(d.join(MANIFEST_FILE), manifest).unwrap_or_else(|e| panic!("{e}"));
    }

    fn manifest(name: &str) -> String {
        format!(r#"{{"name": "{name}", "protocol": "airbyte", "command": ["bin/run"]}}"#)
    }

    fn tmp() -> tempfile::TempDir {
        tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn every_subdirectory_with_a_plugin_json_is_a_plugin_and_broken_ones_are_listed_with_why() {
        let (a, b) = (tmp(), tmp());
        plugin(a.path(), "faker", &manifest("faker"));
        plugin(
            a.path(),
            "nocommand",
            r#"{"name": "half", "protocol": "airbyte"}"#,
        );
        plugin(b.path(), "github", &manifest("github"));
        plugin(b.path(), "garbled", "{");
        std::fs::create_dir_all(b.path().join("not-a-plugin")).unwrap_or_else(|e| panic!("{e}"));
        let d = discover(&[a.path().into(), b.path().into()], &["es-source".into()]);
        let Ok(d) = d else { panic!("{d:?}") };
        let names: Vec<_> = d.found.iter().map(|f| f.manifest.name.as_str()).collect();
        assert_eq!(names, ["faker", "github"]);
        let broken: Vec<_> = d.broken.iter().map(|b| b.name.as_str()).collect();
        assert_eq!(broken, ["half", "garbled"]);
        assert!(d.broken[0].error.contains("command"), "{:?}", d.broken[0]);
        assert!(
            d.broken[1].error.contains("not valid JSON"),
            "{:?}",
            d.broken[1]
        );
    }

    #[test]
    fn two_plugins_of_one_name_stop_the_worker_naming_both_files() {
        let (a, b) = (tmp(), tmp());
        plugin(a.path(), "one", &manifest("faker"));
        plugin(b.path(), "two", &manifest("faker"));
        let err = discover(&[a.path().into(), b.path().into()], &[])
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("one/plugin.json"), "{err}");
        assert!(err.contains("two/plugin.json"), "{err}");
    }

    #[test]
    fn a_plugin_may_not_take_the_name_of_a_compiled_in_connector() {
        let a = tmp();
        plugin(a.path(), "es", &manifest("es-source"));
        let err = discover(&[a.path().into()], &["es-source".into()])
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("compiled into rmq-connect"), "{err}");
    }

    #[test]
    fn unknown_keys_and_a_missing_directory_stop_the_worker() {
        let a = tmp();
        plugin(
            a.path(),
            "typo",
            r#"{"name": "t", "protocol": "airbyte", "command": ["x"], "comand": ["y"]}"#,
        );
        let err = discover(&[a.path().into()], &[])
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("\"comand\""), "{err}");
        let missing = a.path().join("nope");
        let err = discover(&[missing], &[])
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.starts_with("pluginPaths: "), "{err}");
        assert!(err.contains("nope"), "{err}");
    }
}

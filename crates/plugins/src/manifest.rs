//! `plugin.json`: what a plugin directory declares about the connector in it.
//!
//! ```json
//! {"name": "faker", "protocol": "airbyte", "command": ["venv/bin/source-faker"],
//!  "version": "7.2.1", "description": "Fake users, products and purchases",
//!  "env": {"PYTHONUNBUFFERED": "1"}}
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::ManifestError;

/// The file every plugin directory holds.
pub const MANIFEST_FILE: &str = "plugin.json";

/// The keys `plugin.json` may hold; any other key is a start-up error.
const KNOWN_KEYS: &[&str] = &[
    "name",
    "protocol",
    "command",
    "version",
    "description",
    "env",
];

/// The protocol a plugin's process speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// Airbyte's: `spec`, `check`, `discover`, `read` with JSON lines on stdout.
    Airbyte,
}

impl Protocol {
    /// The name written in `plugin.json`.
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Airbyte => "airbyte",
        }
    }
}

/// The contents of a `plugin.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// The plugin's name: the `connector.class` of its connectors.
    pub name: String,
    /// The protocol its process speaks.
    pub protocol: Protocol,
    /// The program and its first arguments, run without a shell, in the plugin
    /// directory. A program with a `/` is relative to the plugin directory (unless
    /// absolute); a bare name is looked up on `PATH`.
    pub command: Vec<String>,
    /// The plugin's version, shown by `GET /connector-plugins`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// What it reads, shown by `GET /connector-plugins`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Environment variables set for its process (on top of the worker's).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
}

impl Manifest {
    /// Reads `dir/plugin.json`. Unknown keys are [`ManifestError::UnknownKeys`] (a
    /// start-up error); every other problem names the file and what to fix.
    pub fn load(dir: &Path) -> Result<Self, ManifestError> {
        let file = dir.join(MANIFEST_FILE);
        let text = std::fs::read_to_string(&file).map_err(|e| ManifestError::Read {
            file: file.clone(),
            message: e.to_string(),
        })?;
        Self::parse(&file, &text)
    }

    /// Parses the text of `file`.
    pub fn parse(file: &Path, text: &str) -> Result<Self, ManifestError> {
        let invalid = |message: String| ManifestError::Invalid {
            file: file.to_owned(),
            message,
        };
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| invalid(format!("is not valid JSON: {e}")))?;
        let Some(object) = value.as_object() else {
            return Err(invalid("must hold a JSON object".into()));
        };
        let unknown: Vec<String> = object
            .keys()
            .filter(|k| !KNOWN_KEYS.contains(&k.as_str()))
            .cloned()
            .collect();
        if !unknown.is_empty() {
            return Err(ManifestError::UnknownKeys {
                file: file.to_owned(),
                keys: unknown,
                known: KNOWN_KEYS.join(", "),
            });
        }
        let manifest: Manifest =
            serde_json::from_value(value).map_err(|e| invalid(e.to_string()))?;
        manifest.check().map_err(invalid)?;
        Ok(manifest)
    }

    fn check(&self) -> Result<(), String> {
        check_plugin_name(&self.name)?;
        match self.command.first() {
            None => return Err("\"command\" must name the program to run".into()),
            Some(p) if p.trim().is_empty() => {
                return Err("\"command\" must name the program to run, not \"\"".into())
            }
            Some(_) => {}
        }
        if let Some(k) = self.env.keys().find(|k| k.is_empty() || k.contains('=')) {
            return Err(format!(
                "\"env\" key {k:?} is not a variable name (empty, or holds '=')"
            ));
        }
        Ok(())
    }

    /// The program to run: `command[0]` relative to `dir` when it holds a `/`
    /// (`venv/bin/source-faker`), as written when absolute, and looked up on `PATH` when
    /// it is a bare name (`python3`).
    pub fn program(&self, dir: &Path) -> PathBuf {
        let first = self.command.first().map(String::as_str).unwrap_or_default();
        let p = Path::new(first);
        if p.is_absolute() || !first.contains('/') {
            p.to_owned()
        } else {
            dir.join(p)
        }
    }

    /// The arguments after the program.
    pub fn args(&self) -> &[String] {
        self.command.get(1..).unwrap_or_default()
    }
}

/// A plugin name is a connector class: 1 to 64 characters of letters, digits, '.', '_'
/// or '-'.
pub fn check_plugin_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "\"name\" {name:?} must be 1 to 64 characters of letters, digits, '.', '_' or '-'"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Manifest, ManifestError> {
        Manifest::parse(Path::new("/p/faker/plugin.json"), text)
    }

    #[test]
    fn a_full_manifest_is_read_with_its_program_relative_to_the_plugin_directory() {
        let m = parse(
            r#"{"name": "faker", "protocol": "airbyte", "command": ["venv/bin/source-faker", "-q"],
                "version": "7.2.1", "description": "Fake users", "env": {"PYTHONUNBUFFERED": "1"}}"#,
        );
        let Ok(m) = m else {
            panic!("{m:?}");
        };
        assert_eq!(m.name, "faker");
        assert_eq!(m.protocol, Protocol::Airbyte);
        assert_eq!(
            m.program(Path::new("/p/faker")),
            Path::new("/p/faker/venv/bin/source-faker")
        );
        assert_eq!(m.args(), ["-q".to_owned()]);
        assert_eq!(m.env.get("PYTHONUNBUFFERED").map(String::as_str), Some("1"));
    }

    #[test]
    fn an_absolute_program_is_taken_as_written_and_a_bare_name_is_looked_up_on_path() {
        let m = parse(r#"{"name": "x", "protocol": "airbyte", "command": ["/usr/bin/src"]}"#);
        let Ok(m) = m else {
            panic!("{m:?}");
        };
        assert_eq!(m.program(Path::new("/p/x")), Path::new("/usr/bin/src"));
        assert!(m.version.is_none());
        let m = parse(r#"{"name": "x", "protocol": "airbyte", "command": ["python3", "s.py"]}"#);
        let Ok(m) = m else {
            panic!("{m:?}");
        };
        assert_eq!(m.program(Path::new("/p/x")), Path::new("python3"));
        assert_eq!(m.args(), ["s.py".to_owned()]);
    }

    #[test]
    fn unknown_keys_are_named_with_the_file_and_the_known_keys() {
        let err = parse(r#"{"name": "x", "protocol": "airbyte", "command": ["a"], "cmd": 1}"#)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("/p/faker/plugin.json"), "{err}");
        assert!(err.contains("\"cmd\""), "{err}");
        assert!(err.contains("command"), "{err}");
    }

    #[test]
    fn bad_json_a_missing_command_a_bad_name_and_an_unknown_protocol_say_what_to_fix() {
        for (text, says) in [
            ("{not json", "is not valid JSON"),
            ("[1]", "must hold a JSON object"),
            (r#"{"name": "x", "protocol": "airbyte"}"#, "command"),
            (
                r#"{"name": "x", "protocol": "airbyte", "command": []}"#,
                "command",
            ),
            (
                r#"{"name": "a b", "protocol": "airbyte", "command": ["a"]}"#,
                "\"a b\"",
            ),
            (
                r#"{"name": "x", "protocol": "singer", "command": ["a"]}"#,
                "singer",
            ),
            (
                r#"{"name": "x", "protocol": "airbyte", "command": ["a"], "env": {"A=B": "1"}}"#,
                "\"A=B\"",
            ),
        ] {
            let err = parse(text).err().map(|e| e.to_string()).unwrap_or_default();
            assert!(err.contains("/p/faker/plugin.json"), "{text}: {err}");
            assert!(err.contains(says), "{text}: {err}");
        }
    }
}

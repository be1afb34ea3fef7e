//! The errors of the plugin host.

use std::path::PathBuf;

use thiserror::Error;

/// A `plugin.json` that cannot be used.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum ManifestError {
    /// The file could not be read.
    #[error("{}: cannot be read: {message}", file.display())]
    Read {
        /// The file.
        file: PathBuf,
        /// Why.
        message: String,
    },
    /// The file is not a valid manifest.
    #[error("{}: {message}", file.display())]
    Invalid {
        /// The file.
        file: PathBuf,
        /// What to fix.
        message: String,
    },
    /// The file holds keys the host does not know (a typo, most likely).
    #[error("{}: unknown keys {keys:?}; the keys of plugin.json are {known}", file.display())]
    UnknownKeys {
        /// The file.
        file: PathBuf,
        /// The keys not known.
        keys: Vec<String>,
        /// The keys known.
        known: String,
    },
}

/// Why the plugins under `pluginPaths` cannot be loaded: the worker does not start.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum DiscoveryError {
    /// A directory of `pluginPaths` does not exist or is not a directory.
    #[error("pluginPaths: {} is not a directory ({message})", path.display())]
    NotADirectory {
        /// The path as configured.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// A `plugin.json` holds unknown keys.
    #[error(transparent)]
    UnknownKeys(ManifestError),
    /// Two plugins (or a plugin and a connector compiled into the binary) share a name.
    #[error("two plugins are named {name:?}: {} and {second}; rename one (its \"name\" in plugin.json)", first.display())]
    Duplicate {
        /// The name.
        name: String,
        /// The first one's manifest.
        first: PathBuf,
        /// The second one's manifest, or "the connector compiled into rmq-connect".
        second: String,
    },
}

/// A plugin process that failed.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum PluginError {
    /// The process could not be started.
    #[error("plugin {plugin}: cannot start {program}: {message}")]
    Spawn {
        /// The plugin.
        plugin: String,
        /// The program.
        program: String,
        /// Why.
        message: String,
    },
    /// The process did not answer in time.
    #[error("plugin {plugin}: `{command}` did not finish within {seconds} s")]
    Timeout {
        /// The plugin.
        plugin: String,
        /// The protocol command (`spec`, `check`, `discover`).
        command: String,
        /// The time allowed.
        seconds: u64,
    },
    /// The process broke the protocol or failed.
    #[error("plugin {plugin}: `{command}` {message}")]
    Protocol {
        /// The plugin.
        plugin: String,
        /// The protocol command.
        command: String,
        /// What went wrong, with the process's last stderr lines where they help.
        message: String,
    },
}

//! The plugin host of rmq-connect: connectors that are not compiled into the binary.
//!
//! A plugin is a directory under one of the worker's `pluginPaths` holding a
//! `plugin.json` ([`manifest`]); [`discovery`] finds them at start-up. Each runs as a
//! child process speaking a protocol; the first is Airbyte's ([`airbyte`]), so the
//! sources published for Airbyte run on rmq-connect.

pub mod airbyte;
pub mod coalesce;
pub mod discovery;
pub mod error;
pub mod guard;
pub mod host;
pub mod install;
pub mod manifest;
pub mod process;

pub use discovery::{discover, Broken, Discovered, Found};
pub use error::{DiscoveryError, ManifestError, PluginError};
pub use manifest::{Manifest, Protocol, MANIFEST_FILE};

//! Loading the plugins of a worker at start-up: discovery, then each plugin's `spec`
//! (all at once, each within its timeout). A plugin whose `spec` fails is listed as
//! broken with why; the worker starts anyway.

use std::path::PathBuf;
use std::sync::Arc;

use connect_api::ErasedSourceConnector;
use futures::future::join_all;

use crate::airbyte::config::HostSettings;
use crate::airbyte::source::AirbyteSource;
use crate::discovery::{discover, Broken};
use crate::error::DiscoveryError;
use crate::manifest::Protocol;

/// A plugin ready to be registered.
pub struct Loaded {
    /// The connector, behind the same trait as the compiled-in ones.
    pub connector: Arc<dyn ErasedSourceConnector>,
    /// Its protocol.
    pub protocol: Protocol,
    /// The directory it was loaded from.
    pub dir: PathBuf,
}

/// The plugins of a worker.
#[derive(Default)]
pub struct Plugins {
    /// Those that loaded.
    pub loaded: Vec<Loaded>,
    /// Those that did not, with why.
    pub broken: Vec<Broken>,
}

/// Discovers the plugins under `paths` and runs each one's `spec`; `taken` are the
/// names of the compiled-in connectors.
pub async fn load(
    paths: &[PathBuf],
    taken: &[String],
    host: Arc<HostSettings>,
) -> Result<Plugins, DiscoveryError> {
    let discovered = discover(paths, taken)?;
    let mut out = Plugins {
        loaded: Vec::new(),
        broken: discovered.broken,
    };
    // One protocol today; a second is one more arm here and a module beside `airbyte`.
    let specs = join_all(discovered.found.iter().map(|f| async {
        match f.manifest.protocol {
            Protocol::Airbyte => AirbyteSource::load(f, host.clone())
                .await
                .map(|s| Arc::new(s) as Arc<dyn ErasedSourceConnector>),
        }
    }))
    .await;
    for (found, spec) in discovered.found.into_iter().zip(specs) {
        match spec {
            Ok(connector) => {
                tracing::info!(
                    plugin = %found.manifest.name,
                    dir = %found.dir.display(),
                    protocol = found.manifest.protocol.as_str(),
                    "plugin loaded"
                );
                out.loaded.push(Loaded {
                    connector,
                    protocol: found.manifest.protocol,
                    dir: found.dir,
                });
            }
            Err(error) => {
                out.broken.push(Broken {
                    name: found.manifest.name,
                    dir: found.dir,
                    error,
                });
            }
        }
    }
    for b in &out.broken {
        tracing::error!(plugin = %b.name, dir = %b.dir.display(), error = %b.error, "plugin skipped");
    }
    Ok(out)
}

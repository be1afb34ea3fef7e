//! The client's own runtime.
//!
//! `rocketmq-client-rust` never uses the caller's tokio runtime: every client needs a
//! `ClientRuntime` derived from an application-owned `RuntimeOwner`, which builds and
//! owns a separate multi-thread tokio runtime. [`ClientEnv`] owns both and tears them
//! down without blocking, so it can be created and dropped from async code.

use std::sync::Arc;
use std::sync::Mutex;
use std::time::Duration;

use rocketmq_client_rust::ClientRuntime;
use rocketmq_client_rust::ClientRuntimeConfig;
use rocketmq_observability::TelemetryHandle;
use rocketmq_runtime::RuntimeConfig;
use rocketmq_runtime::RuntimeOwner;
use rocketmq_runtime::ShutdownDeadline;

use crate::boxed::boxed;
use crate::error::MqError;

/// How long a shutdown waits for the client's tasks before abandoning them.
const SHUTDOWN_BUDGET: Duration = Duration::from_secs(5);

/// One client runtime: a tokio runtime owned by `RuntimeOwner` plus the client pool.
pub(crate) struct ClientEnv {
    client_runtime: Arc<ClientRuntime>,
    /// `None` once shut down.
    owner: Mutex<Option<RuntimeOwner>>,
}

impl ClientEnv {
    /// Builds a runtime with `threads` worker threads named after `scope`.
    pub(crate) fn new(scope: &str, threads: usize) -> Result<ClientEnv, MqError> {
        let cfg = RuntimeConfig::for_parallelism(format!("rmq-{scope}"), threads.max(1));
        let owner = RuntimeOwner::plan(cfg)
            .map_err(|e| MqError::Runtime(format!("invalid runtime configuration: {e}")))?
            .build()
            .map_err(|e| MqError::Runtime(format!("cannot build the client runtime: {e}")))?;
        let client_runtime = ClientRuntime::try_new(
            owner.root_context().component("client"),
            ClientRuntimeConfig {
                shutdown_timeout: SHUTDOWN_BUDGET,
                ..ClientRuntimeConfig::default()
            },
            TelemetryHandle::noop(),
        )
        .map_err(|e| MqError::Runtime(format!("cannot create the client runtime: {e}")))?;
        Ok(ClientEnv {
            client_runtime,
            owner: Mutex::new(Some(owner)),
        })
    }

    /// The client runtime to hand to producer / consumer builders.
    pub(crate) fn client_runtime(&self) -> Arc<ClientRuntime> {
        Arc::clone(&self.client_runtime)
    }

    /// Stops the client pool and the runtime's tasks, then lets tokio finish the
    /// runtime in the background. Never blocks the calling thread; idempotent.
    pub(crate) async fn shutdown(&self) {
        let deadline = ShutdownDeadline::after(SHUTDOWN_BUDGET);
        let report = boxed(self.client_runtime.shutdown_until(deadline)).await;
        if !report.is_healthy() {
            tracing::debug!(report = %report.to_json(), "rocketmq client runtime shutdown");
        }
        let owner = match self.owner.lock() {
            Ok(mut guard) => guard.take(),
            Err(poisoned) => poisoned.into_inner().take(),
        };
        if let Some(owner) = owner {
            let report = boxed(owner.shutdown_tasks_until(deadline)).await;
            if !report.is_healthy() {
                tracing::debug!(report = %report.to_json(), "rocketmq runtime task shutdown");
            }
            // `shutdown_background` never blocks, unlike dropping a tokio runtime.
            let _ = owner.shutdown_background();
        }
    }
}

impl ClientEnv {
    /// Tears the runtime down at once: cancels the client's tasks without waiting for
    /// them and closes its connections. For clients whose graceful stop hangs.
    pub(crate) fn abort(&self) {
        let owner = match self.owner.lock() {
            Ok(mut guard) => guard.take(),
            Err(poisoned) => poisoned.into_inner().take(),
        };
        if let Some(owner) = owner {
            let _ = owner.shutdown_background();
        }
    }
}

impl Drop for ClientEnv {
    fn drop(&mut self) {
        // Dropping a `RuntimeOwner` already shuts its runtime down in the background;
        // doing it explicitly keeps that guarantee visible here.
        let owner = match self.owner.get_mut() {
            Ok(o) => o.take(),
            Err(poisoned) => poisoned.into_inner().take(),
        };
        if let Some(owner) = owner {
            let _ = owner.shutdown_background();
        }
    }
}

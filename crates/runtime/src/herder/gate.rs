//! Whether a herder takes requests: it is ready once it has started, and refuses every
//! change from the moment its shutdown begins.

use std::sync::atomic::{AtomicBool, Ordering};

use crate::error::HerderError;

/// The ready and shutting-down flags of a herder.
#[derive(Debug, Default)]
pub(crate) struct Gate {
    ready: AtomicBool,
    shutting_down: AtomicBool,
}

impl Gate {
    /// Marks the herder ready (for `/health`).
    pub(crate) fn set_ready(&self) {
        self.ready.store(true, Ordering::SeqCst);
    }

    /// Ready and not shutting down.
    pub(crate) fn is_ready(&self) -> bool {
        self.ready.load(Ordering::SeqCst) && !self.is_shutting_down()
    }

    /// From now on, changes are refused.
    pub(crate) fn begin_shutdown(&self) {
        self.shutting_down.store(true, Ordering::SeqCst);
    }

    /// Whether the shutdown began.
    pub(crate) fn is_shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::SeqCst)
    }

    /// `ShuttingDown` once the shutdown began.
    pub(crate) fn refuse_if_shutting_down(&self) -> Result<(), HerderError> {
        if self.is_shutting_down() {
            Err(HerderError::ShuttingDown)
        } else {
            Ok(())
        }
    }
}

//! The one error type connectors return to the runtime.

use std::fmt;

/// What the runtime should do about a [`ConnectError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The configuration is wrong; retrying will not help until it changes.
    Config,
    /// A transient failure (network, timeout, overloaded server): back off and retry.
    Retriable,
    /// The task cannot continue; it is marked FAILED.
    Fatal,
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ErrorKind::Config => "config",
            ErrorKind::Retriable => "retriable",
            ErrorKind::Fatal => "fatal",
        })
    }
}

/// An error raised by a connector or task, with a kind that says whether to retry.
///
/// Messages must never contain secret config values.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct ConnectError {
    kind: ErrorKind,
    message: String,
    #[source]
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

impl ConnectError {
    /// A new error of `kind` with a plain-words message.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            source: None,
        }
    }

    /// A configuration error.
    pub fn config(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Config, message)
    }

    /// A transient error worth retrying.
    pub fn retriable(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Retriable, message)
    }

    /// An error that stops the task.
    pub fn fatal(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Fatal, message)
    }

    /// Attaches the underlying cause.
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }

    /// What the runtime should do about this error.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// Whether backing off and retrying may succeed.
    pub fn is_retriable(&self) -> bool {
        self.kind == ErrorKind::Retriable
    }

    /// The message followed by the chain of causes, for status and logs.
    pub fn chain(&self) -> String {
        let mut out = self.message.clone();
        let mut cur: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(self);
        while let Some(err) = cur {
            out.push_str(": ");
            out.push_str(&err.to_string());
            cur = err.source();
        }
        out
    }
}

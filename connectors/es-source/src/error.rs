//! The connector's error type and how each case maps onto a [`ConnectError`] kind.
//!
//! Contract: transport failures, timeouts, 408/429/5xx answers and searches that did not
//! complete on every shard are `Retriable`; bad credentials, missing indices or
//! mappings and offsets that do not fit the config are `Config`; other 4xx answers and
//! responses we cannot read are `Fatal`. Messages never contain secrets: hosts with
//! credentials in them are rejected at config time and passwords are never formatted.

use connect_api::{ConnectError, ErrorKind};

/// Everything that can go wrong between the connector and Elasticsearch.
#[derive(Debug, thiserror::Error)]
pub enum EsError {
    /// The HTTP client could not be built from the config.
    #[error("cannot build the Elasticsearch client")]
    Build(#[source] elasticsearch::Error),

    /// The request did not get an answer (connection refused, DNS, TLS, timeout, ...).
    #[error("no answer from Elasticsearch to {what}")]
    Transport {
        /// The request, in words (for example `search on index orders`).
        what: String,
        /// The client's error.
        #[source]
        source: elasticsearch::Error,
    },

    /// Elasticsearch answered with an HTTP error status.
    #[error("Elasticsearch answered {status} to {what}: {reason}")]
    Status {
        /// The request, in words.
        what: String,
        /// The HTTP status code.
        status: u16,
        /// The `error.type` of the answer, when it has one.
        error_type: Option<String>,
        /// The reason Elasticsearch gave (type, reason and root cause).
        reason: String,
    },

    /// The answer was not what the API documents.
    #[error("unexpected answer from Elasticsearch to {what}: {detail}")]
    Decode {
        /// The request, in words.
        what: String,
        /// What did not fit.
        detail: String,
    },

    /// A search did not run on every shard, so its page may miss documents.
    #[error("search on index {index} {detail}; retrying so that no document is skipped")]
    Incomplete {
        /// The index searched.
        index: String,
        /// Timed out, or how many shards failed.
        detail: String,
    },

    /// The config, the index or its mapping does not allow incremental reads as set up.
    #[error("{0}")]
    Config(String),

    /// The committed offset cannot be used with the current config.
    #[error("{0}")]
    Offset(String),
}

impl EsError {
    /// What the runtime should do about this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            EsError::Build(_) | EsError::Config(_) | EsError::Offset(_) => ErrorKind::Config,
            EsError::Transport { .. } | EsError::Incomplete { .. } => ErrorKind::Retriable,
            EsError::Decode { .. } => ErrorKind::Fatal,
            EsError::Status {
                status, error_type, ..
            } => status_kind(*status, error_type.as_deref()),
        }
    }
}

/// The kind of an HTTP error answer.
fn status_kind(status: u16, error_type: Option<&str>) -> ErrorKind {
    match status {
        408 | 429 | 500..=599 => ErrorKind::Retriable,
        // Wrong credentials or missing privileges: only a config change helps.
        401 | 403 => ErrorKind::Config,
        404 if error_type == Some("index_not_found_exception") => ErrorKind::Config,
        _ => ErrorKind::Fatal,
    }
}

impl From<EsError> for ConnectError {
    fn from(err: EsError) -> Self {
        let kind = err.kind();
        let message = err.to_string();
        // The message already says what failed; the client's error goes in as the cause
        // so that `ConnectError::chain` does not repeat the message.
        match err {
            EsError::Build(source) | EsError::Transport { source, .. } => {
                ConnectError::new(kind, message).with_source(source)
            }
            _ => ConnectError::new(kind, message),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(status: u16, ty: Option<&str>) -> EsError {
        EsError::Status {
            what: "search on index a".into(),
            status,
            error_type: ty.map(str::to_owned),
            reason: "r".into(),
        }
    }

    #[test]
    fn statuses_map_to_kinds() {
        assert_eq!(status(429, None).kind(), ErrorKind::Retriable);
        assert_eq!(status(503, None).kind(), ErrorKind::Retriable);
        assert_eq!(status(500, None).kind(), ErrorKind::Retriable);
        assert_eq!(status(408, None).kind(), ErrorKind::Retriable);
        assert_eq!(status(401, None).kind(), ErrorKind::Config);
        assert_eq!(status(403, None).kind(), ErrorKind::Config);
        assert_eq!(
            status(404, Some("index_not_found_exception")).kind(),
            ErrorKind::Config
        );
        assert_eq!(
            status(400, Some("search_phase_execution_exception")).kind(),
            ErrorKind::Fatal
        );
    }

    #[test]
    fn connect_error_keeps_kind_and_message() {
        let err: ConnectError = status(429, None).into();
        assert!(err.is_retriable());
        assert_eq!(
            err.to_string(),
            "Elasticsearch answered 429 to search on index a: r"
        );
        let err: ConnectError = EsError::Config("field x is text".into()).into();
        assert_eq!(err.kind(), ErrorKind::Config);
        let err: ConnectError = EsError::Incomplete {
            index: "a".into(),
            detail: "timed out".into(),
        }
        .into();
        assert!(err.is_retriable());
    }
}

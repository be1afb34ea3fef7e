//! The error type of this crate and the classification of client errors.

use std::time::Duration;

use rocketmq_client_rust::ClientError;

/// Broker response codes (RocketMQ remoting `ResponseCode`) that mean "try again later".
///
/// `SYSTEM_ERROR` (1), `SYSTEM_BUSY` (2), `FLUSH_DISK_TIMEOUT` (10),
/// `SLAVE_NOT_AVAILABLE` (11), `FLUSH_SLAVE_TIMEOUT` (12), `SERVICE_NOT_AVAILABLE` (14),
/// `TOPIC_NOT_EXIST` (17, the route may still be propagating), `NO_BUYER_ID` (204) and
/// `NOT_IN_CURRENT_UNIT` (205) (retried by the Java client too), `POLLING_FULL` (209),
/// `FLOW_CONTROL` (215), `NOT_LEADER_FOR_QUEUE` (501), `GO_AWAY` (1500).
const RETRIABLE_BROKER_CODES: &[i32] = &[1, 2, 10, 11, 12, 14, 17, 204, 205, 209, 215, 501, 1500];

/// Broker response codes that will fail the same way on every retry.
///
/// `REQUEST_CODE_NOT_SUPPORTED` (3), `MESSAGE_ILLEGAL` (13), `VERSION_NOT_SUPPORTED` (15),
/// `NO_PERMISSION` (16), `SUBSCRIPTION_PARSE_FAILED` (23), `ILLEGAL_OPERATION` (604).
const FATAL_BROKER_CODES: &[i32] = &[3, 13, 15, 16, 23, 604];

/// Canonical client error codes that are never worth retrying even though their class
/// alone would suggest it.
const FATAL_CLIENT_CODES: &[&str] = &[
    "broker.message.too_large",
    "client.lifecycle.shutting_down",
    "route.cluster.not_found",
];

/// Everything that can go wrong when talking to RocketMQ through this crate.
///
/// Use [`MqError::is_retriable`] to decide whether to retry and
/// [`MqError::is_indeterminate`] to know whether the message may already be stored
/// (a retry can then produce a duplicate, which RocketMQ does not de-duplicate).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MqError {
    /// The configuration is unusable (empty name server list, half-set credentials, ...).
    #[error("invalid RocketMQ configuration: {0}")]
    Config(String),

    /// The topic name is not accepted by RocketMQ.
    #[error("invalid topic name {topic:?}: {reason}")]
    InvalidTopic {
        /// The rejected name.
        topic: String,
        /// Why it was rejected.
        reason: String,
    },

    /// A message is malformed (bad key, tag or property) and can never be sent as is.
    #[error("invalid message: {0}")]
    InvalidMessage(String),

    /// `send_batch` was called with no message.
    #[error("empty batch")]
    EmptyBatch,

    /// A batch contains messages for more than one topic.
    #[error("a batch must target a single topic, found {first:?} and {other:?}")]
    MixedTopics {
        /// Topic of the first message.
        first: String,
        /// The first different topic found.
        other: String,
    },

    /// One message body is larger than the broker accepts.
    #[error("message too large: {size} bytes encoded, limit {limit}")]
    MessageTooLarge {
        /// Encoded size of the offending message.
        size: usize,
        /// Configured limit (`MqConfig::max_message_size`).
        limit: usize,
    },

    /// The encoded batch is larger than the broker accepts; split it.
    #[error("batch too large: {size} bytes encoded for {count} messages, limit {limit}")]
    BatchTooLarge {
        /// Encoded size of the whole batch.
        size: usize,
        /// Number of messages in the batch.
        count: usize,
        /// Configured limit (`MqConfig::max_message_size`).
        limit: usize,
    },

    /// No acknowledgement arrived in time. The message may or may not be stored.
    #[error(
        "{operation} timed out after {after:?}; outcome unknown (the message may have been stored)"
    )]
    Timeout {
        /// What timed out.
        operation: &'static str,
        /// How long we waited.
        after: Duration,
    },

    /// An error reported by the RocketMQ client or the broker.
    #[error("rocketmq {operation} failed [{code}{}]: {message}", broker_code.map(|c| format!(", broker code {c}")).unwrap_or_default())]
    Client {
        /// What we were doing.
        operation: &'static str,
        /// Canonical client error code, e.g. `transport.connection.failed`.
        code: String,
        /// Broad class of the code (`timeout`, `unavailable`, `validation`, ...).
        class: String,
        /// Broker response code when the broker answered with an error.
        broker_code: Option<i32>,
        /// Full client error text.
        message: String,
        /// Precomputed classification, see [`MqError::is_retriable`].
        retriable: bool,
        /// Precomputed classification, see [`MqError::is_indeterminate`].
        indeterminate: bool,
    },

    /// A required server is not available right now (e.g. no master broker registered).
    #[error("rocketmq unavailable: {0}")]
    Unavailable(String),

    /// The client runtime could not be created or started.
    #[error("rocketmq client runtime: {0}")]
    Runtime(String),

    /// The producer or consumer has been shut down.
    #[error("rocketmq {0} is shut down")]
    Closed(&'static str),
}

impl MqError {
    /// Whether retrying the same operation later can succeed (timeouts, broker or
    /// name server unavailable, connection errors, flow control, route not yet known).
    pub fn is_retriable(&self) -> bool {
        match self {
            MqError::Timeout { .. } | MqError::Unavailable(_) => true,
            MqError::Client { retriable, .. } => *retriable,
            MqError::Config(_)
            | MqError::InvalidTopic { .. }
            | MqError::InvalidMessage(_)
            | MqError::EmptyBatch
            | MqError::MixedTopics { .. }
            | MqError::MessageTooLarge { .. }
            | MqError::BatchTooLarge { .. }
            | MqError::Runtime(_)
            | MqError::Closed(_) => false,
        }
    }

    /// Whether the broker may have stored the message despite the error (a send
    /// timeout or a connection lost after the request was written). Such sends must be
    /// treated as "maybe delivered": retrying can duplicate.
    pub fn is_indeterminate(&self) -> bool {
        match self {
            MqError::Timeout { .. } => true,
            MqError::Client { indeterminate, .. } => *indeterminate,
            _ => false,
        }
    }

    /// Converts a client error, classifying it.
    pub(crate) fn from_client(operation: &'static str, err: &ClientError) -> MqError {
        let descriptor = err.descriptor();
        let code = descriptor.code().as_str().to_string();
        let class = descriptor.class().as_str().to_string();
        let broker_code = err.broker_response_code();
        let (retriable, indeterminate) = classify(&code, &class, broker_code);
        MqError::Client {
            operation,
            code,
            class,
            broker_code,
            message: err.to_string(),
            retriable,
            indeterminate,
        }
    }
}

/// Classifies a client error from its canonical code, class and broker response code.
///
/// Returns `(retriable, indeterminate)`. Pure, so it can be unit-tested.
pub(crate) fn classify(code: &str, class: &str, broker_code: Option<i32>) -> (bool, bool) {
    let indeterminate =
        class == "timeout" || code == "transport.session.failed" || code == "rpc.request.failed";
    if FATAL_CLIENT_CODES.contains(&code) {
        return (false, indeterminate);
    }
    if let Some(bc) = broker_code {
        if FATAL_BROKER_CODES.contains(&bc) {
            return (false, false);
        }
        if RETRIABLE_BROKER_CODES.contains(&bc) {
            return (true, indeterminate);
        }
    }
    let retriable = match class {
        "timeout" | "unavailable" | "routing" | "capacity" => true,
        // I/O failures and generic broker operation failures are worth another try;
        // validation, auth, unsupported, corruption and bugs are not.
        "io" => true,
        "internal" => code == "broker.operation.failed" || code == "rpc.response.failed",
        _ => false,
    };
    (retriable, indeterminate)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_are_retriable_and_indeterminate() {
        let e = MqError::Timeout {
            operation: "send_batch",
            after: Duration::from_secs(3),
        };
        assert!(e.is_retriable());
        assert!(e.is_indeterminate());
        assert_eq!(
            classify("transport.response.timeout", "timeout", None),
            (true, true)
        );
        assert_eq!(
            classify("core.operation.timed_out", "timeout", None),
            (true, true)
        );
    }

    #[test]
    fn connection_and_availability_errors_are_retriable() {
        assert_eq!(
            classify("transport.connection.failed", "unavailable", None),
            (true, false)
        );
        assert_eq!(
            classify("transport.admission.queue_saturated", "capacity", None),
            (true, false)
        );
        assert_eq!(
            classify("route.topic.not_found", "routing", None),
            (true, false)
        );
        assert_eq!(
            classify("broker.operation.failed", "internal", Some(14)),
            (true, false)
        );
        assert_eq!(
            classify("broker.operation.failed", "internal", Some(2)),
            (true, false)
        );
    }

    #[test]
    fn permanent_errors_are_not_retriable() {
        assert_eq!(
            classify("broker.message.too_large", "capacity", None),
            (false, false)
        );
        assert_eq!(
            classify("broker.operation.failed", "internal", Some(13)),
            (false, false)
        );
        assert_eq!(
            classify("broker.operation.failed", "internal", Some(16)),
            (false, false)
        );
        assert_eq!(
            classify("core.argument.invalid", "validation", None),
            (false, false)
        );
        assert_eq!(
            classify("auth.permission.denied", "authorization", None),
            (false, false)
        );
        assert_eq!(
            classify("client.lifecycle.shutting_down", "unavailable", None),
            (false, false)
        );
    }

    #[test]
    fn local_validation_errors_are_not_retriable() {
        for e in [
            MqError::EmptyBatch,
            MqError::InvalidTopic {
                topic: "a b".into(),
                reason: "space".into(),
            },
            MqError::BatchTooLarge {
                size: 5 << 20,
                count: 2,
                limit: 4 << 20,
            },
            MqError::MessageTooLarge {
                size: 5 << 20,
                limit: 4 << 20,
            },
            MqError::MixedTopics {
                first: "a".into(),
                other: "b".into(),
            },
            MqError::InvalidMessage("x".into()),
            MqError::Closed("producer"),
        ] {
            assert!(!e.is_retriable(), "{e}");
            assert!(!e.is_indeterminate(), "{e}");
        }
    }

    #[test]
    fn real_client_errors_are_classified() {
        let e = MqError::from_client("send", &ClientError::timeout("send", 3000));
        assert!(e.is_retriable() && e.is_indeterminate(), "{e:?}");

        let e = MqError::from_client(
            "send",
            &ClientError::broker_operation_failed("SEND", 13, "message illegal"),
        );
        assert!(!e.is_retriable(), "{e:?}");
        assert!(e.to_string().contains("broker code 13"), "{e}");

        let e = MqError::from_client(
            "send",
            &ClientError::broker_operation_failed("SEND", 17, "topic not exist"),
        );
        assert!(e.is_retriable(), "{e:?}");

        let e = MqError::from_client("send", &ClientError::illegal_argument("bad"));
        assert!(!e.is_retriable(), "{e:?}");

        let e = MqError::from_client("send", &ClientError::route_not_found("t"));
        assert!(e.is_retriable(), "{e:?}");
    }
}

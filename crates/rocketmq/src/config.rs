//! Connection and producer settings.

use std::time::Duration;

use crate::error::MqError;

/// Default broker limit on one message body, and on the encoded body of one batch
/// (the broker's `maxMessageSize`, 4 MiB).
pub const DEFAULT_MAX_MESSAGE_SIZE: usize = 4 * 1024 * 1024;
/// Default name server list.
pub const DEFAULT_NAMESRV_ADDR: &str = "127.0.0.1:9876";
/// Default producer group.
pub const DEFAULT_PRODUCER_GROUP: &str = "rmq-connect-producer";
/// Default budget of one send (RocketMQ's own default).
pub const DEFAULT_SEND_TIMEOUT: Duration = Duration::from_secs(3);
/// Default internal retries of a synchronous send (RocketMQ's own default).
pub const DEFAULT_RETRIES: u32 = 2;
/// Default cap on sends in flight per producer.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 256;
/// Default timeout of admin and name server requests.
pub const DEFAULT_ADMIN_TIMEOUT: Duration = Duration::from_secs(5);
/// Default worker threads of the client's runtime.
pub const DEFAULT_CLIENT_THREADS: usize = 2;

/// Settings shared by [`crate::Producer`] and [`crate::PullConsumer`].
#[derive(Clone, PartialEq, Eq)]
pub struct MqConfig {
    /// Name server addresses, `;`-separated (`host:port;host:port`).
    pub namesrv_addr: String,
    /// Producer group name.
    pub producer_group: String,
    /// ACL access key; set together with `secret_key` or not at all.
    pub access_key: Option<String>,
    /// ACL secret key (printed as `[hidden]` by `Debug`).
    pub secret_key: Option<String>,
    /// Budget for one send including the client's internal retries. A send that is not
    /// acknowledged within it fails with a retriable, indeterminate error.
    pub send_timeout: Duration,
    /// Internal retries of a failed synchronous send (RocketMQ default 2). Internal
    /// retries reuse the message id but can still duplicate on the broker.
    pub retries: u32,
    /// Largest accepted body of one message and encoded size of one batch
    /// (must not exceed the broker's `maxMessageSize`).
    pub max_message_size: usize,
    /// Most sends (one, batch or oneway) in flight per producer; further sends wait.
    /// The client fails requests once ~1024 are queued on one connection.
    pub max_in_flight: usize,
    /// Timeout for name server / admin requests (topic creation, route lookups).
    pub admin_timeout: Duration,
    /// Worker threads of the client's own tokio runtime.
    pub client_threads: usize,
    /// Connect with TLS.
    pub use_tls: bool,
}

impl Default for MqConfig {
    fn default() -> Self {
        MqConfig {
            namesrv_addr: DEFAULT_NAMESRV_ADDR.to_string(),
            producer_group: DEFAULT_PRODUCER_GROUP.to_string(),
            access_key: None,
            secret_key: None,
            send_timeout: DEFAULT_SEND_TIMEOUT,
            retries: DEFAULT_RETRIES,
            max_message_size: DEFAULT_MAX_MESSAGE_SIZE,
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
            admin_timeout: DEFAULT_ADMIN_TIMEOUT,
            client_threads: DEFAULT_CLIENT_THREADS,
            use_tls: false,
        }
    }
}

impl std::fmt::Debug for MqConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MqConfig")
            .field("namesrv_addr", &self.namesrv_addr)
            .field("producer_group", &self.producer_group)
            .field("access_key", &self.access_key)
            .field("secret_key", &self.secret_key.as_ref().map(|_| "[hidden]"))
            .field("send_timeout", &self.send_timeout)
            .field("retries", &self.retries)
            .field("max_message_size", &self.max_message_size)
            .field("max_in_flight", &self.max_in_flight)
            .field("admin_timeout", &self.admin_timeout)
            .field("client_threads", &self.client_threads)
            .field("use_tls", &self.use_tls)
            .finish()
    }
}

impl MqConfig {
    /// A default configuration for the given name server list.
    pub fn new(namesrv_addr: impl Into<String>) -> Self {
        MqConfig {
            namesrv_addr: namesrv_addr.into(),
            ..MqConfig::default()
        }
    }

    /// Checks the settings without contacting anything.
    pub fn validate(&self) -> Result<(), MqError> {
        let addrs = self.namesrv_addrs();
        if addrs.is_empty() {
            return Err(MqError::Config("namesrv_addr is empty".into()));
        }
        for a in &addrs {
            let Some((host, port)) = a.rsplit_once(':') else {
                return Err(MqError::Config(format!(
                    "name server address {a:?} is not host:port"
                )));
            };
            if host.is_empty() || port.parse::<u16>().is_err() {
                return Err(MqError::Config(format!(
                    "name server address {a:?} is not host:port"
                )));
            }
        }
        if self.producer_group.trim().is_empty() {
            return Err(MqError::Config("producer_group is empty".into()));
        }
        crate::validate::check_group(&self.producer_group)?;
        match (&self.access_key, &self.secret_key) {
            (Some(_), Some(_)) | (None, None) => {}
            _ => {
                return Err(MqError::Config(
                    "access_key and secret_key must be set together".into(),
                ))
            }
        }
        if self.send_timeout.is_zero() {
            return Err(MqError::Config("send_timeout must be positive".into()));
        }
        if self.max_message_size == 0 {
            return Err(MqError::Config("max_message_size must be positive".into()));
        }
        if self.max_in_flight == 0 {
            return Err(MqError::Config("max_in_flight must be positive".into()));
        }
        if self.client_threads == 0 {
            return Err(MqError::Config("client_threads must be positive".into()));
        }
        Ok(())
    }

    /// The name server addresses, trimmed, empty entries removed.
    pub fn namesrv_addrs(&self) -> Vec<&str> {
        self.namesrv_addr
            .split(';')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect()
    }

    /// The normalised `;`-separated list handed to the client.
    pub(crate) fn namesrv_list(&self) -> String {
        self.namesrv_addrs().join(";")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_valid() {
        MqConfig::default().validate().unwrap();
    }

    #[test]
    fn rejects_bad_addresses_and_half_credentials() {
        assert!(MqConfig::new(" ; ").validate().is_err());
        assert!(MqConfig::new("localhost").validate().is_err());
        assert!(MqConfig::new("a:1;b:x").validate().is_err());
        MqConfig::new(" a:1 ; b:9876 ;").validate().unwrap();
        assert_eq!(
            MqConfig::new(" a:1 ; b:9876 ;").namesrv_list(),
            "a:1;b:9876"
        );
        let cfg = MqConfig {
            access_key: Some("ak".into()),
            ..MqConfig::default()
        };
        assert!(cfg.validate().is_err());
    }

    #[test]
    fn debug_redacts_the_secret() {
        let cfg = MqConfig {
            access_key: Some("ak".into()),
            secret_key: Some("very-secret".into()),
            ..MqConfig::default()
        };
        let s = format!("{cfg:?}");
        assert!(!s.contains("very-secret"), "{s}");
    }
}

//! [`EsSourceConnector`]: config, live validation and the split of indices over tasks.
//!
//! Contract: `parse_config` never touches the network; `validate` does (each host must
//! answer `GET /_cluster/health` within [`VALIDATE_TIMEOUT`]; every plain `es.index` entry
//! must name an index, alias or data stream; the tracking and tiebreaker fields must be
//! mapped with one sortable type across the matched indices; `es.batch.size` must fit
//! each `index.max_result_window`) and reports every problem on the key to change. A
//! pattern that matches nothing yet is only logged as a warning.
//! `task_configs` resolves `es.index` live (see [`crate::resolve`]), deals the sorted
//! concrete indices round-robin over at most `max.tasks` tasks and writes each task's
//! share under `es.task.indices`; with no match it returns one idle task. It runs again
//! every `es.index.refresh.interval.ms` ([`SourceConnector::reconfigure_interval`]); a
//! newly matched index with a conflicting field type fails it with a config error that
//! names the indices and types.

use std::time::Duration;

use async_trait::async_trait;
use connect_api::{
    ConfigDef, ConfigMap, ConnectError, FieldError, PluginInfo, SourceConnector, SourceTask,
};

use crate::client::{is_certificate_error, EsClient};
use crate::config::{self, EsSourceConfig};
use crate::error::EsError;
use crate::mapping::tracking_kind;
use crate::resolve;
use crate::task::EsSourceTask;

/// How long `validate` waits for each answer from Elasticsearch.
pub const VALIDATE_TIMEOUT: Duration = Duration::from_secs(10);

/// The Elasticsearch source connector: reads documents of one or more indices in
/// ascending order of a tracking field, and keeps reading as new ones arrive.
#[derive(Debug, Clone, Copy, Default)]
pub struct EsSourceConnector;

impl EsSourceConnector {
    /// The connector, ready to register.
    pub fn new() -> Self {
        Self
    }
}

#[async_trait]
impl SourceConnector for EsSourceConnector {
    type Config = EsSourceConfig;

    fn info(&self) -> PluginInfo {
        PluginInfo {
            name: "es-source".into(),
            aliases: vec!["ElasticsearchSourceConnector".into()],
            version: env!("CARGO_PKG_VERSION").into(),
            description: "Streams documents out of Elasticsearch indices incrementally, \
                          by a tracking field"
                .into(),
        }
    }

    fn config_def(&self) -> ConfigDef {
        config::config_def()
    }

    fn parse_config(&self, config: &ConfigMap) -> Result<EsSourceConfig, Vec<FieldError>> {
        EsSourceConfig::parse(config)
    }

    async fn validate(&self, config: &EsSourceConfig) -> Vec<FieldError> {
        let mut errors = Vec::new();
        let mut reachable = None;
        for host in &config.hosts {
            let client = match EsClient::for_hosts(std::slice::from_ref(host), config) {
                Ok(client) => client,
                Err(e) => {
                    errors.push(FieldError::new(
                        config::HOSTS,
                        format!("{host}: {}", chain(e)),
                    ));
                    continue;
                }
            };
            match tokio::time::timeout(VALIDATE_TIMEOUT, client.health()).await {
                Ok(Ok((cluster, status))) => {
                    tracing::debug!(%host, %cluster, %status, "Elasticsearch answers");
                    reachable.get_or_insert(client);
                }
                // Authenticated but not allowed to read cluster info: it answers, which is
                // what this check is about; index access is checked below.
                Ok(Err(EsError::Status { status: 403, .. })) => {
                    reachable.get_or_insert(client);
                }
                Ok(Err(EsError::Status { status: 401, .. })) => {
                    let key = config.credentials_key();
                    let msg = match key {
                        config::API_KEY => {
                            "Elasticsearch rejected es.api.key (unknown, expired or invalidated key)"
                        }
                        config::PASSWORD => "Elasticsearch rejected es.username / es.password",
                        _ => {
                            "Elasticsearch requires authentication: set es.username and \
                             es.password, or es.api.key"
                        }
                    };
                    errors.push(FieldError::new(key, format!("{msg} (host {host})")));
                }
                Ok(Err(EsError::Transport { source, .. }))
                    if host.scheme() == "https" && is_certificate_error(&source) =>
                {
                    errors.push(certificate_error(config, host, &source));
                }
                Ok(Err(e)) => errors.push(FieldError::new(
                    config::HOSTS,
                    format!("{host} is not a usable Elasticsearch node: {}", chain(e)),
                )),
                Err(_) => errors.push(FieldError::new(
                    config::HOSTS,
                    format!(
                        "{host} did not answer within {} s; check the URL and that \
                         Elasticsearch is running",
                        VALIDATE_TIMEOUT.as_secs()
                    ),
                )),
            }
        }
        let Some(client) = reachable else {
            return errors;
        };
        match tokio::time::timeout(VALIDATE_TIMEOUT, validate_indices(&client, config)).await {
            Ok(problems) => errors.extend(problems),
            Err(_) => errors.push(FieldError::new(
                config::INDEX,
                format!(
                    "resolving es.index and reading the mappings took longer than {} s",
                    VALIDATE_TIMEOUT.as_secs()
                ),
            )),
        }
        errors
    }

    async fn task_configs(
        &self,
        config: &EsSourceConfig,
        raw: &ConfigMap,
        max_tasks: usize,
    ) -> Result<Vec<ConfigMap>, ConnectError> {
        if max_tasks == 0 {
            return Err(ConnectError::config("max.tasks must be at least 1"));
        }
        let client = EsClient::new(config)?;
        let resolution = resolve::resolve(&client, &config.indices).await?;
        for name in &resolution.missing {
            tracing::warn!(
                index = %name,
                "es.index names {name}, which no longer exists (no index, alias or data \
                 stream); reading the other indices"
            );
        }
        if resolution.indices.is_empty() {
            tracing::warn!(
                entries = %config.indices.join(","),
                "no concrete index matches es.index yet; the connector runs one idle task \
                 and resolves again every es.index.refresh.interval.ms"
            );
        } else if !resolution.unmatched.is_empty() {
            tracing::info!(patterns = %resolution.unmatched.join(","), "patterns without a matching index yet");
        }
        // A newly matched index whose tracking or tiebreaker field has another type than
        // the rest is reported by failing the reconfiguration, never read or skipped
        // silently.
        let mut fields = vec![config.tracking_field.as_str()];
        fields.extend(config.tiebreaker_field.as_deref());
        let mappings = resolve::field_mappings(&client, &resolution.indices, &fields).await?;
        let conflicts: Vec<String> = resolve::check_fields(config, &mappings)
            .into_iter()
            .filter(|p| p.conflict)
            .map(|p| format!("{}: {}", p.key, p.message))
            .collect();
        if !conflicts.is_empty() {
            let msg = conflicts.join("; ");
            tracing::error!(problem = %msg, "es.index resolves to indices with conflicting mappings");
            return Err(ConnectError::config(msg));
        }
        Ok(resolve::deal(&resolution.indices, max_tasks)
            .into_iter()
            .map(|share| {
                let mut task = raw.clone();
                task.insert(config::TASK_INDICES.to_owned(), share.join(","));
                task
            })
            .collect())
    }

    fn reconfigure_interval(&self, config: &EsSourceConfig) -> Option<Duration> {
        config.index_refresh_interval
    }

    async fn create_task(
        &self,
        _task_config: &ConfigMap,
    ) -> Result<Box<dyn SourceTask>, ConnectError> {
        Ok(Box::new(EsSourceTask::new()))
    }
}

/// The field error for an https host whose certificate was refused: on `es.tls.ca.path`
/// (the key to set or fix), unless the certificate does not name the host.
fn certificate_error(
    config: &EsSourceConfig,
    host: &url::Url,
    source: &elasticsearch::Error,
) -> FieldError {
    let mut detail = String::new();
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(source);
    while let Some(e) = cause {
        detail = e.to_string(); // the innermost cause is the TLS library's reason
        cause = e.source();
    }
    if detail.contains("not valid for name") {
        return FieldError::new(
            config::HOSTS,
            format!(
                "the TLS certificate of {host} does not name this host ({detail}); use a \
                 host name or address the certificate is issued for"
            ),
        );
    }
    let msg = match &config.tls_ca {
        None => format!(
            "the TLS certificate of {host} is not trusted ({detail}); set es.tls.ca.path to \
             the PEM file of the CA that signed it"
        ),
        Some(ca) => format!(
            "the TLS certificate of {host} is not signed by the CA in {} ({detail}); set \
             es.tls.ca.path to the PEM file of the CA that signed it",
            ca.path().display()
        ),
    };
    FieldError::new(config::TLS_CA_PATH, msg)
}

/// The message of an error with its causes.
fn chain(e: EsError) -> String {
    ConnectError::from(e).chain()
}

/// The live checks of `es.index`: every plain entry names something, the fields are
/// mapped, sortable and of one type in every matched index, and `es.batch.size` fits
/// each index's `index.max_result_window`. A pattern without a match is not an error
/// (the connector waits for indices); it is logged as a warning.
async fn validate_indices(client: &EsClient, config: &EsSourceConfig) -> Vec<FieldError> {
    let key_for = |e: &EsError| match e {
        EsError::Status { status: 401, .. } => config::USERNAME,
        EsError::Status { status: 403, .. } => config::INDEX,
        _ => config::HOSTS,
    };
    let resolution = match resolve::resolve(client, &config.indices).await {
        Ok(r) => r,
        Err(e) => return vec![FieldError::new(key_for(&e), chain(e))],
    };
    let mut errors: Vec<FieldError> = resolution
        .missing
        .iter()
        .map(|name| {
            FieldError::new(
                config::INDEX,
                format!(
                    "{name} does not exist (no index, alias or data stream of that name); \
                     create it, fix the name, or use a pattern such as {name}* to wait for it"
                ),
            )
        })
        .collect();
    for pattern in &resolution.unmatched {
        tracing::warn!(
            %pattern,
            "es.index pattern {pattern} matches no index yet; the connector will start \
             reading when one appears"
        );
    }
    if resolution.indices.is_empty() {
        return errors;
    }
    let mut fields = vec![config.tracking_field.as_str()];
    fields.extend(config.tiebreaker_field.as_deref());
    match resolve::field_mappings(client, &resolution.indices, &fields).await {
        Ok(mappings) => {
            let problems = resolve::check_fields(config, &mappings);
            if problems.is_empty() {
                // One sortable type everywhere: the options that depend on it (es.lag,
                // es.tracking.time.unit, an es.start value) are checked against it.
                if let Some(kind) = tracking_kind(config, &mappings) {
                    errors.extend(config.check_for_kind(kind));
                }
            }
            errors.extend(
                problems
                    .into_iter()
                    .map(|p| FieldError::new(p.key, p.message)),
            );
        }
        Err(e) => errors.push(FieldError::new(key_for(&e), chain(e))),
    }
    match resolve::check_batch_size(client, &resolution.indices, config.batch_size).await {
        Ok(problems) => errors.extend(
            problems
                .into_iter()
                .map(|p| FieldError::new(p.key, p.message)),
        ),
        Err(e) => errors.push(FieldError::new(key_for(&e), chain(e))),
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(indices: &str) -> ConfigMap {
        [
            ("connector.class", "es-source"),
            (config::HOSTS, "http://127.0.0.1:9200"),
            (config::INDEX, indices),
            (config::TRACKING_FIELD, "ts"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    #[tokio::test]
    async fn zero_tasks_is_a_config_error() {
        let c = EsSourceConnector::new();
        let raw = raw("a");
        let typed = c.parse_config(&raw).unwrap();
        let err = SourceConnector::task_configs(&c, &typed, &raw, 0)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), connect_api::ErrorKind::Config);
    }

    #[test]
    fn info_names_the_plugin() {
        let info = SourceConnector::info(&EsSourceConnector::new());
        assert_eq!(info.name, "es-source");
        assert_eq!(info.aliases, ["ElasticsearchSourceConnector"]);
    }

    #[tokio::test]
    async fn unreachable_host_is_a_field_error() {
        // Port 9 (discard) on loopback is closed on any test machine: refused at once.
        let mut raw = raw("a");
        raw.insert(config::HOSTS.into(), "http://127.0.0.1:9".into());
        let c = EsSourceConnector::new();
        let errs = connect_api::ErasedSourceConnector::parse_and_validate(&c, &raw).await;
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert_eq!(errs[0].field, config::HOSTS);
        assert!(
            errs[0].message.contains("127.0.0.1:9"),
            "{}",
            errs[0].message
        );
    }
}

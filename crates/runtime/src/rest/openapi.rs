//! The OpenAPI 3 description of the REST API: what belongs to the whole API (info, tags,
//! the bearer scheme) and the schemas of bodies that handlers build as ad-hoc JSON.
//!
//! Nothing here lists routes: every handler carries its own `#[utoipa::path]` (method,
//! path, parameters, request body, responses) and `routes.rs` registers each one on the
//! axum router *and* in the document with `utoipa_axum::routes!`, so the two cannot drift
//! apart; it also adds the auth layer's 401 answer and serves `GET /openapi.json`.

use std::collections::BTreeMap;

use serde_json::Value;
use utoipa::{IntoResponses, ToSchema};

use super::error::{ErrorBody, FieldErrorDoc};

/// Name of the bearer security scheme in `components.securitySchemes`.
pub const BEARER_SCHEME: &str = "bearer_auth";

/// The parts of the document that belong to the whole API.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "rmq-connect REST API",
        description = "Manage source connectors that move data into Apache RocketMQ. \
            Writes take `Content-Type: application/json` (415 otherwise) and at most 1 MiB \
            (413). Every error is the JSON `ErrorBody`. With `rest.auth.token` set, every \
            route but `GET /health` requires `Authorization: Bearer <token>` (401 otherwise).",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    tags(
        (name = "connectors", description = "Create, read, update and delete connectors"),
        (name = "lifecycle", description = "Pause, resume, stop and restart connectors and tasks"),
        (name = "offsets", description = "Committed source offsets (altered and reset only while STOPPED)"),
        (name = "plugins", description = "Installed connector plugins and config validation"),
        (name = "compat", description = "Apache RocketMQ Connect routes: read-only aliases, and 405 for its state-changing GETs"),
        (name = "monitoring", description = "Worker info, health, metrics and this document"),
    ),
    components(schemas(ErrorBody, FieldErrorDoc))
)]
pub struct ApiDoc;

/// A flat connector config: key → value. Numbers and booleans are accepted and stored as
/// their text.
pub struct FlatConfig;

fn scalar_schema(nullable: bool) -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Type};
    let mut one_of = OneOfBuilder::new()
        .item(ObjectBuilder::new().schema_type(Type::String))
        .item(ObjectBuilder::new().schema_type(Type::Number))
        .item(ObjectBuilder::new().schema_type(Type::Boolean));
    if nullable {
        one_of = one_of.item(ObjectBuilder::new().schema_type(Type::Null));
    }
    one_of.build().into()
}

impl utoipa::PartialSchema for FlatConfig {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{AdditionalProperties, ObjectBuilder, Type};
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .description(Some(
                "Flat connector config (`connector.class`, `connect.topicname`, ...); numbers \
                 and booleans are kept as their text",
            ))
            .additional_properties(Some(AdditionalProperties::RefOr(
                scalar_schema(false).into(),
            )))
            .examples([serde_json::json!({
                "connector.class": "es-source",
                "connect.topicname": "orders",
                "es.hosts": "http://127.0.0.1:9200",
                "es.index": "orders",
                "es.tracking.field": "updated_at"
            })])
            .into()
    }
}

impl ToSchema for FlatConfig {}

/// Changes to a connector config: key → new value, or `null` to remove the key.
pub struct ConfigPatch;

impl utoipa::PartialSchema for ConfigPatch {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{AdditionalProperties, ObjectBuilder, Type};
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .description(Some("Keys to set; a value of `null` removes the key"))
            .additional_properties(Some(AdditionalProperties::RefOr(
                scalar_schema(true).into(),
            )))
            .into()
    }
}

impl ToSchema for ConfigPatch {}

/// How a new connector starts.
#[derive(ToSchema)]
#[allow(dead_code, clippy::upper_case_acronyms)]
pub enum InitialState {
    /// Started (the default).
    RUNNING,
    /// Created paused.
    PAUSED,
    /// Created stopped.
    STOPPED,
}

/// Body of `POST /connectors`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct CreateConnector {
    /// `^[A-Za-z0-9._-]{1,128}$`.
    #[schema(example = "orders")]
    name: String,
    /// The connector's config.
    config: FlatConfig,
    /// How it starts (case-insensitive); RUNNING when left out.
    #[schema(nullable = false)]
    initial_state: Option<InitialState>,
}

/// `GET /`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct WorkerInfo {
    /// The worker's version.
    version: String,
    /// This worker's id.
    worker_id: String,
    /// `standalone` or `distributed`.
    #[schema(example = "standalone")]
    mode: String,
}

/// `GET /health`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct Health {
    /// `ready` (200) or `starting` (503).
    #[schema(example = "ready")]
    status: String,
}

/// What `?expand=` adds for one connector.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ConnectorExpansion {
    /// With `expand=status`.
    #[schema(nullable = false)]
    status: Option<crate::herder::ConnectorStatus>,
    /// With `expand=info`.
    #[schema(nullable = false)]
    info: Option<crate::herder::ConnectorInfo>,
}

/// `GET /connectors`: the sorted names, or with `?expand=` a map by name.
#[derive(ToSchema)]
#[serde(untagged)]
#[allow(dead_code)]
pub enum ConnectorList {
    /// Without `expand`.
    Names(Vec<String>),
    /// With `expand=status` and/or `expand=info`.
    Expanded(BTreeMap<String, ConnectorExpansion>),
}

/// One partition's committed offset.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct PartitionOffset {
    /// The source partition, as the connector defines it.
    #[schema(value_type = Object)]
    partition: Value,
    /// The offset within it.
    #[schema(value_type = Object)]
    offset: Value,
}

/// `GET /connectors/{name}/offsets`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct Offsets {
    /// One entry per partition.
    offsets: Vec<PartitionOffset>,
}

/// One change of `PATCH /connectors/{name}/offsets`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct OffsetChange {
    /// The source partition.
    #[schema(value_type = Object)]
    partition: Value,
    /// The new offset, or `null` (or absent) to remove the partition's offset.
    #[schema(value_type = Option<Object>)]
    offset: Option<Value>,
}

/// Body of `PATCH /connectors/{name}/offsets`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct AlterOffsets {
    /// The changes.
    offsets: Vec<OffsetChange>,
}

/// A confirmation.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct Message {
    /// What was done.
    message: String,
}

/// One installed plugin.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct Plugin {
    /// The name used in `connector.class`.
    #[schema(example = "es-source")]
    class: String,
    /// Other names accepted in `connector.class`.
    aliases: Vec<String>,
    /// Always `source`.
    #[serde(rename = "type")]
    #[schema(example = "source")]
    kind: String,
    /// The plugin's version (absent for a plugin that failed to load).
    version: Option<String>,
    /// What it does (absent for a plugin that failed to load).
    description: Option<String>,
    /// `compiled-in`, or the protocol of a plugin found under `pluginPaths` (`airbyte`).
    #[schema(example = "compiled-in")]
    protocol: Option<String>,
    /// The directory of a plugin found under `pluginPaths`.
    location: Option<String>,
    /// Why a plugin found under `pluginPaths` could not be loaded; such a plugin cannot
    /// be used until it is fixed and the worker restarted.
    error: Option<String>,
}

/// The type of a config value.
#[derive(ToSchema)]
#[schema(as = ConfigType)]
#[serde(rename_all = "lowercase")]
#[allow(dead_code)]
pub enum ConfigTypeDoc {
    /// Free text.
    String,
    /// A whole number.
    Int,
    /// `true` or `false`.
    Bool,
    /// A comma-separated list.
    List,
    /// A secret, shown as `[hidden]`.
    Password,
    /// A number that may have a fraction.
    Double,
    /// JSON text: an array or an object (keys of plugins).
    Json,
}

/// One config key of a plugin; the shape of `connect_api::ConfigKey`.
#[derive(ToSchema)]
#[schema(as = ConfigKey)]
#[allow(dead_code)]
pub struct ConfigKeyDoc {
    /// The key.
    name: String,
    /// The value's type.
    #[serde(rename = "type")]
    ty: ConfigTypeDoc,
    /// The default, when the key may be left out.
    default: Option<String>,
    /// Whether the key must be set.
    required: bool,
    /// What the key means.
    doc: String,
}

/// The value part of one validated key.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ValidatedValue {
    /// The key.
    name: String,
    /// The value given (secrets shown as `[hidden]`), or null.
    value: Option<String>,
    /// What is wrong with it; empty when valid.
    errors: Vec<String>,
}

/// One key of a validation result.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ValidatedKey {
    /// The key's definition (only `name` for keys the plugin does not define).
    definition: ConfigKeyDoc,
    /// The value and its errors.
    value: ValidatedValue,
}

/// `PUT /connector-plugins/{name}/config/validate` (Kafka Connect's shape).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct Validation {
    /// The plugin.
    name: String,
    /// Number of errors; 0 when the config is valid.
    error_count: u64,
    /// Always empty.
    groups: Vec<String>,
    /// Every key of the plugin and every key with an error.
    configs: Vec<ValidatedKey>,
}

/// One worker of `GET /getClusterInfo`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ClusterWorker {
    /// Its id.
    worker_id: String,
    /// The connectors it runs.
    connectors: Vec<String>,
}

/// `GET /getClusterInfo`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ClusterInfo {
    /// `standalone` or `distributed`.
    mode: String,
    /// The workers (one in standalone mode).
    workers: Vec<ClusterWorker>,
}

/// Errors of the request-body extractor, on every route that takes a body.
#[derive(IntoResponses)]
#[allow(dead_code)]
pub enum BodyRejections {
    /// The body is larger than 1 MiB.
    #[response(status = 413)]
    TooLarge(ErrorBody),
    /// The body is not declared as `Content-Type: application/json`.
    #[response(status = 415)]
    NotJson(ErrorBody),
}

/// Errors any herder call may end in.
#[derive(IntoResponses)]
#[allow(dead_code)]
pub enum HerderFailures {
    /// The store failed.
    #[response(status = 500)]
    Store(ErrorBody),
    /// The worker is shutting down.
    #[response(status = 503)]
    ShuttingDown(ErrorBody),
}

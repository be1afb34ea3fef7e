//! The API's routes and its OpenAPI document, built from the same declarations: every
//! handler is registered from its `#[utoipa::path]` (one `routes!` per path), and the
//! document is the router's own with the bearer-token scheme added, so the two cannot
//! disagree.

use std::sync::OnceLock;

use axum::http::header::CONTENT_TYPE;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, ResponseBuilder};
use utoipa::OpenApi as _;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::OPEN_PATH;
use super::openapi::{ApiDoc, BEARER_SCHEME};
use super::state::AppState;
use super::{compat, connectors, lifecycle, metrics, monitoring, plugins, workers};

/// Every route of the API, each registered from its handler's `#[utoipa::path]` (one
/// `routes!` per path), so the router and [`openapi`] cannot disagree.
pub(crate) fn api_routes() -> OpenApiRouter<AppState> {
    use connectors as c;
    use lifecycle as l;
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(monitoring::root))
        .routes(routes!(monitoring::health))
        .routes(routes!(c::list, c::create))
        .routes(routes!(c::list_alias))
        .routes(routes!(c::info, c::upsert, c::delete))
        .routes(routes!(c::config, c::put_config, c::patch))
        .routes(routes!(c::status))
        .routes(routes!(c::tasks))
        .routes(routes!(c::task_status))
        .routes(routes!(l::restart_task))
        .routes(routes!(l::pause, compat::get_pause))
        .routes(routes!(l::resume, compat::get_resume))
        .routes(routes!(l::stop, compat::get_stop))
        .routes(routes!(l::restart))
        .routes(routes!(l::offsets, l::alter_offsets, l::reset_offsets))
        .routes(routes!(compat::get_all))
        .routes(routes!(plugins::list))
        .routes(routes!(plugins::config))
        .routes(routes!(plugins::validate))
        .routes(routes!(plugins::list_alias))
        .routes(routes!(compat::get_reload))
        .routes(routes!(metrics::metrics))
        .routes(routes!(openapi_json))
        .routes(routes!(workers::list))
        .routes(routes!(compat::cluster_info))
        .routes(routes!(compat::allocated_connectors))
        .routes(routes!(compat::allocated_tasks))
}

/// The whole document: every route's declaration with the auth layer's part added.
pub fn openapi() -> OpenApi {
    let mut doc = api_routes().into_openapi();
    let components = doc
        .components
        .get_or_insert_with(utoipa::openapi::Components::new);
    components.add_security_scheme(
        BEARER_SCHEME,
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .description(Some(
                    "The worker's `rest.auth.token` (or `rest.auth.token.file`); required by \
                     every route but `GET /health` when one is configured",
                ))
                .build(),
        ),
    );
    let unauthorized = ResponseBuilder::new()
        .description("No or wrong `Authorization: Bearer` token (only when the worker has one)")
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ErrorBody")))
                .build(),
        )
        .build();
    for (path, item) in doc.paths.paths.iter_mut() {
        let open = path == OPEN_PATH;
        let ops: [&mut Option<Operation>; 8] = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.options,
            &mut item.head,
            &mut item.patch,
            &mut item.trace,
        ];
        for op in ops.into_iter().flatten() {
            if open {
                // An empty list: no security at all, whatever the worker's config.
                op.security = Some(Vec::new());
            } else {
                op.security = Some(vec![SecurityRequirement::new(
                    BEARER_SCHEME,
                    Vec::<String>::new(),
                )]);
                op.responses
                    .responses
                    .entry("401".to_owned())
                    .or_insert_with(|| unauthorized.clone().into());
            }
        }
    }
    doc
}

/// The document as JSON, built once.
pub fn openapi_json_text() -> &'static str {
    static TEXT: OnceLock<String> = OnceLock::new();
    TEXT.get_or_init(|| {
        openapi()
            .to_pretty_json()
            .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    })
}

/// `GET /openapi.json`.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "monitoring",
    operation_id = "openapi",
    responses(
        (status = 200, description = "This document (OpenAPI 3.1)", body = Object,
            content_type = "application/json"),
    )
)]
pub async fn openapi_json() -> Response {
    (
        StatusCode::OK,
        [(CONTENT_TYPE, "application/json")],
        openapi_json_text(),
    )
        .into_response()
}

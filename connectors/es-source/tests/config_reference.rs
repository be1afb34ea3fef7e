//! The checked-in reference of every es-source key (`connectors/es-source/CONFIG.md`) must
//! equal what the connector's config definition generates. Regenerate it with
//! `UPDATE_CONFIG_DOCS=1 cargo test -p es-source --test config_reference`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use connect_api::SourceConnector;
use connect_es_source::EsSourceConnector;

#[test]
fn the_checked_in_config_reference_is_not_stale() {
    let generated = connect_api::render_markdown(
        "es-source configuration reference",
        &EsSourceConnector::new().config_def(),
    );
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("CONFIG.md");
    if std::env::var_os("UPDATE_CONFIG_DOCS").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        checked_in == generated,
        "{} is stale: regenerate it with `UPDATE_CONFIG_DOCS=1 cargo test -p es-source --test config_reference`",
        path.display()
    );
}

//! What the tracking field's mapping means for reading: the field checks of one concrete
//! index before a task reads it ([`check_index`]), the tracking kind across the indices
//! validation matched ([`tracking_kind`]), and whether a committed cursor and the
//! kind-dependent options fit the kind found ([`check_cursor_fits`]).
//!
//! Used by the connector (validation) and by the task (before the first page of each
//! index, and again when an index comes back); it knows neither of them.

use connect_api::{ConnectError, FieldError};

use crate::client::{EsClient, FieldMappings};
use crate::config::{self, EsSourceConfig};
use crate::cursor::Cursor;
use crate::error::EsError;
use crate::tracking::{self, check_sortable, TrackingKind};

/// The kind of the tracking field in the first matched index that maps it sortably.
pub fn tracking_kind(config: &EsSourceConfig, mappings: &FieldMappings) -> Option<TrackingKind> {
    mappings.values().find_map(|fields| {
        let m = fields.get(&config.tracking_field)?;
        check_sortable(&config.tracking_field, &m.ty, m.doc_values).ok()
    })
}

/// Checks that `index` is a concrete index that maps the tracking field (and the
/// tiebreaker, when set) with sortable types; returns the tracking field's kind, or every
/// problem with the config key to change.
pub async fn check_index(
    client: &EsClient,
    config: &EsSourceConfig,
    index: &str,
) -> Result<TrackingKind, Vec<(&'static str, EsError)>> {
    let mut fields = vec![config.tracking_field.as_str()];
    fields.extend(config.tiebreaker_field.as_deref());
    let mappings = match client.field_mappings(index, &fields).await {
        Ok(m) => m,
        Err(EsError::Status { status: 404, .. }) => {
            return Err(vec![(
                config::INDEX,
                EsError::Config(format!(
                    "index {index} does not exist; create it or remove it from es.index"
                )),
            )]);
        }
        // Bad credentials are the user's to fix; missing privileges are about the index.
        Err(e @ EsError::Status { status: 401, .. }) => {
            return Err(vec![(config.credentials_key(), e)])
        }
        Err(e @ EsError::Status { status: 403, .. }) => return Err(vec![(config::INDEX, e)]),
        Err(e) => return Err(vec![(config::HOSTS, e)]),
    };
    let concrete: Vec<&str> = mappings.keys().map(String::as_str).collect();
    let Some(index_fields) = mappings.get(index).filter(|_| concrete.len() == 1) else {
        return Err(vec![(
            config::INDEX,
            EsError::Config(format!(
                "{index} is an alias or data stream of [{}], but a task reads concrete \
                 indices only; run the task on a config split by the connector's \
                 task_configs, which resolves it",
                concrete.join(", ")
            )),
        )]);
    };

    let mut problems = Vec::new();
    let mut check = |key: &'static str, field: &str| {
        let Some(mapping) = index_fields.get(field) else {
            problems.push((
                key,
                EsError::Config(format!(
                    "field {field} is not mapped in index {index}; add it to the mapping \
                     (long, date, keyword, ...) or name a mapped field in {key}"
                )),
            ));
            return None;
        };
        match check_sortable(field, &mapping.ty, mapping.doc_values) {
            Ok(kind) => Some(kind),
            Err(msg) => {
                problems.push((key, EsError::Config(format!("index {index}: {msg}"))));
                None
            }
        }
    };
    let kind = check(config::TRACKING_FIELD, &config.tracking_field);
    if let Some(tb) = &config.tiebreaker_field {
        check(config::TIEBREAKER_FIELD, tb);
    }
    match kind {
        Some(kind) if problems.is_empty() => Ok(kind),
        _ => Err(problems),
    }
}

/// Checks that the options and the committed cursor of `index` suit its tracking field's
/// kind: `es.lag` needs a time field, and a cursor written for another type (the index
/// was recreated with a different mapping) must not be used.
pub fn check_cursor_fits(
    config: &EsSourceConfig,
    index: &str,
    cursor: &Cursor,
    kind: TrackingKind,
) -> Result<(), ConnectError> {
    let errors = config.check_for_kind(kind);
    if !errors.is_empty() {
        return Err(ConnectError::config(format!(
            "{} (index {index})",
            FieldError::join(&errors)
        )));
    }
    let value = match cursor {
        Cursor::Start | Cursor::From { .. } => return Ok(()),
        Cursor::After(sort) => sort.first(),
        Cursor::Boundary { value, .. } => Some(value),
    };
    match value {
        Some(v) if tracking::fits(kind, v) => Ok(()),
        _ => Err(ConnectError::config(format!(
            "{}: the committed offset of index {index} holds tracking value {}, which does \
             not fit field {} as it is mapped now ({kind:?}); the index's mapping changed: \
             reset the connector's offsets to read it again",
            config::TRACKING_FIELD,
            value.map(ToString::to_string).unwrap_or_default(),
            config.tracking_field
        ))),
    }
}

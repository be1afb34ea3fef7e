//! From a discovered catalog to the catalogs of the tasks: which streams (`streams`),
//! read how (incremental where the stream supports it, else full refresh; the keys
//! `stream.<name>.sync.mode`, `stream.<name>.cursor.field` and
//! `stream.<name>.primary.key` override the catalog), spread over at most `max.tasks`
//! tasks.

use connect_api::ConfigMap;

use super::messages::{Catalog, ConfiguredCatalog, ConfiguredStream, Stream, SyncMode};

/// The streams a connector reads.
pub struct StreamChoice<'a> {
    streams: Vec<&'a Stream>,
}

impl<'a> StreamChoice<'a> {
    /// The streams of `catalog` named in `wanted` (all when `None`); an unknown name is
    /// an error listing the known ones.
    pub fn new(catalog: &'a Catalog, wanted: Option<&[String]>) -> Result<Self, String> {
        let known: Vec<&str> = catalog.streams.iter().map(|s| s.name.as_str()).collect();
        let streams: Vec<&Stream> = match wanted {
            None => catalog.streams.iter().collect(),
            Some(names) => {
                let unknown: Vec<&str> = names
                    .iter()
                    .map(String::as_str)
                    .filter(|n| !known.contains(n))
                    .collect();
                if !unknown.is_empty() {
                    return Err(format!(
                        "unknown stream{} {}; the plugin's streams are: {}",
                        if unknown.len() == 1 { "" } else { "s" },
                        unknown
                            .iter()
                            .map(|u| format!("{u:?}"))
                            .collect::<Vec<_>>()
                            .join(", "),
                        known.join(", ")
                    ));
                }
                catalog
                    .streams
                    .iter()
                    .filter(|s| names.contains(&s.name))
                    .collect()
            }
        };
        if streams.is_empty() {
            return Err("the plugin discovered no stream to read".into());
        }
        Ok(Self { streams })
    }

    /// The chosen streams, in the catalog's order.
    pub fn streams(&self) -> &[&'a Stream] {
        &self.streams
    }
}

/// The configured streams: sync mode, cursor and primary key of each.
pub fn configure(streams: &[&Stream], config: &ConfigMap) -> Vec<ConfiguredStream> {
    streams
        .iter()
        .map(|s| {
            let key = |k: &str| config.get(&format!("stream.{}.{k}", s.name));
            let path = |text: &str| -> Vec<String> { text.split('.').map(str::to_owned).collect() };
            let cursor_field = key("cursor.field")
                .map(|c| path(c))
                .or_else(|| s.default_cursor_field.clone())
                .unwrap_or_default();
            let can_increment = s.supported_sync_modes.contains(&SyncMode::Incremental)
                && (s.source_defined_cursor == Some(true) || !cursor_field.is_empty());
            let sync_mode = match key("sync.mode").map(String::as_str) {
                Some("full_refresh") => SyncMode::FullRefresh,
                _ if can_increment => SyncMode::Incremental,
                _ => SyncMode::FullRefresh,
            };
            let primary_key = key("primary.key")
                .map(|k| k.split(',').map(|p| path(p.trim())).collect())
                .or_else(|| s.source_defined_primary_key.clone())
                .unwrap_or_default();
            ConfiguredStream {
                stream: (*s).clone(),
                sync_mode,
                cursor_field: if sync_mode == SyncMode::Incremental {
                    cursor_field
                } else {
                    vec![]
                },
                destination_sync_mode: "append".into(),
                primary_key,
            }
        })
        .collect()
}

/// Spreads the streams over at most `max_tasks` catalogs, round robin.
pub fn split(streams: Vec<ConfiguredStream>, max_tasks: usize) -> Vec<ConfiguredCatalog> {
    let n = max_tasks.clamp(1, streams.len().max(1));
    let mut out: Vec<ConfiguredCatalog> = (0..n)
        .map(|_| ConfiguredCatalog { streams: vec![] })
        .collect();
    for (i, s) in streams.into_iter().enumerate() {
        out[i % n].streams.push(s);
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn faker_catalog() -> Catalog {
        let stream = |name: &str| {
            json!({"name": name, "json_schema": {}, "supported_sync_modes": ["full_refresh", "incremental"],
                   "source_defined_cursor": true, "default_cursor_field": ["updated_at"],
                   "source_defined_primary_key": [["id"]]})
        };
        serde_json::from_value(json!({"streams": [
            stream("products"), stream("users"), stream("purchases"),
            {"name": "static", "json_schema": {}, "supported_sync_modes": ["full_refresh"]}
        ]}))
        .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn an_unknown_stream_is_refused_listing_the_known_ones() {
        let c = faker_catalog();
        let err = StreamChoice::new(&c, Some(&["users".into(), "orders".into()]))
            .err()
            .unwrap_or_default();
        assert_eq!(
            err,
            "unknown stream \"orders\"; the plugin's streams are: products, users, purchases, static"
        );
    }

    #[test]
    fn streams_are_incremental_where_they_can_be_and_full_refresh_else() {
        let c = faker_catalog();
        let chosen = StreamChoice::new(&c, None).unwrap_or_else(|e| panic!("{e}"));
        let mut config = ConfigMap::new();
        config.insert("stream.products.sync.mode".into(), "full_refresh".into());
        let s = configure(chosen.streams(), &config);
        let modes: Vec<_> = s
            .iter()
            .map(|s| (s.stream.name.as_str(), s.sync_mode))
            .collect();
        assert_eq!(
            modes,
            [
                ("products", SyncMode::FullRefresh),
                ("users", SyncMode::Incremental),
                ("purchases", SyncMode::Incremental),
                ("static", SyncMode::FullRefresh),
            ]
        );
        assert_eq!(s[1].cursor_field, ["updated_at"]);
        assert!(s[0].cursor_field.is_empty());
        assert_eq!(s[1].primary_key, [["id"]]);
    }

    #[test]
    fn streams_are_spread_over_at_most_max_tasks() {
        let c = faker_catalog();
        let chosen = StreamChoice::new(
            &c,
            Some(&["users".into(), "purchases".into(), "products".into()]),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let configured = configure(chosen.streams(), &ConfigMap::new());
        let names = |cats: &[ConfiguredCatalog]| -> Vec<Vec<String>> {
            cats.iter()
                .map(|c| c.streams.iter().map(|s| s.stream.name.clone()).collect())
                .collect()
        };
        assert_eq!(
            names(&split(configured.clone(), 2)),
            [vec!["products", "purchases"], vec!["users"]]
        );
        assert_eq!(split(configured.clone(), 10).len(), 3);
        assert_eq!(split(configured, 1).len(), 1);
    }
}

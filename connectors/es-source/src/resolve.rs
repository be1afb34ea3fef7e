//! Index resolution: turns the entries of `es.index` (names, aliases, data streams,
//! wildcard patterns, `-exclusions`) into a sorted set of concrete indices, deals them
//! over the tasks, and checks that the tracking and tiebreaker fields have one sortable
//! type across them and that `es.batch.size` fits every `index.max_result_window`.
//!
//! Rules: a plain entry that names an index is that index; an alias stands for the
//! indices it points to; a data stream for its backing indices. A pattern (`*`) matches
//! open concrete indices and data streams (their backing indices), not aliases, so an
//! exclusion cannot be undone by an alias that happens to match the pattern. An exclusion
//! (`-x`, a name or a pattern) removes whatever `x` resolves to, wherever it is listed.
//! Closed indices matched by a pattern are left out (they cannot be searched).
//!
//! Every function here only reads from Elasticsearch; all are cancel-safe.

use std::collections::{BTreeMap, BTreeSet};

use crate::client::{EsClient, FieldMapping, ResolvedExpression};
use crate::config::{self, EsSourceConfig};
use crate::error::EsError;
use crate::query::check_sortable;

/// Concrete indices per request when asking for mappings or settings of many indices,
/// so the request line stays far below Elasticsearch's 4 KiB limit.
pub const INDICES_PER_REQUEST: usize = 40;

/// What `es.index` stands for right now.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resolution {
    /// The concrete indices to read, sorted by name, without duplicates.
    pub indices: Vec<String>,
    /// Plain entries (not patterns) that name nothing: no index, alias or data stream.
    pub missing: Vec<String>,
    /// Pattern entries that match no concrete index (yet).
    pub unmatched: Vec<String>,
}

/// Whether an `es.index` entry is a wildcard pattern.
pub fn is_pattern(entry: &str) -> bool {
    entry.contains('*')
}

/// The concrete indices one resolve answer stands for (see the module docs for the rules).
pub fn concrete_of(pattern: bool, answer: &ResolvedExpression) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for index in &answer.indices {
        // A name written out is used as is (a closed one fails loudly when searched); a
        // pattern skips closed indices the way a search on the pattern would.
        if pattern && index.attributes.iter().any(|a| a == "closed") {
            continue;
        }
        out.insert(index.name.clone());
    }
    for stream in &answer.data_streams {
        out.extend(stream.backing_indices.iter().cloned());
    }
    if !pattern {
        for alias in &answer.aliases {
            out.extend(alias.indices.iter().cloned());
        }
    }
    out
}

/// Resolves every entry of `es.index` against the live cluster.
pub async fn resolve(client: &EsClient, entries: &[String]) -> Result<Resolution, EsError> {
    let mut included = BTreeSet::new();
    let mut excluded = BTreeSet::new();
    let mut resolution = Resolution::default();
    for entry in entries {
        let (exclude, name) = match entry.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, entry.as_str()),
        };
        let pattern = is_pattern(name);
        let answer = match client.resolve_index(name).await {
            Ok(answer) => answer,
            Err(EsError::Status { status: 404, .. }) if !pattern => {
                if !exclude {
                    resolution.missing.push(name.to_owned());
                }
                continue;
            }
            Err(e) => return Err(e),
        };
        let concrete = concrete_of(pattern, &answer);
        if exclude {
            excluded.extend(concrete);
        } else {
            if pattern && concrete.is_empty() {
                resolution.unmatched.push(name.to_owned());
            }
            included.extend(concrete);
        }
    }
    resolution.indices = included.difference(&excluded).cloned().collect();
    Ok(resolution)
}

/// Deals `indices` round-robin over at most `max_tasks` shares (`max_tasks` ≥ 1). With no
/// index there is one empty share: the connector keeps one idle task, so that it shows
/// up in status and starts reading once the next resolution finds an index.
pub fn deal(indices: &[String], max_tasks: usize) -> Vec<Vec<&str>> {
    let tasks = max_tasks.min(indices.len()).max(1);
    let mut shares: Vec<Vec<&str>> = vec![Vec::new(); tasks];
    for (i, index) in indices.iter().enumerate() {
        shares[i % tasks].push(index);
    }
    shares
}

/// The mappings of `fields` in each of `indices`; an index missing from the answer maps
/// none of them.
pub async fn field_mappings(
    client: &EsClient,
    indices: &[String],
    fields: &[&str],
) -> Result<BTreeMap<String, BTreeMap<String, FieldMapping>>, EsError> {
    let mut out = BTreeMap::new();
    for chunk in indices.chunks(INDICES_PER_REQUEST) {
        let mut answer = client.field_mappings(&chunk.join(","), fields).await?;
        for index in chunk {
            out.insert(index.clone(), answer.remove(index).unwrap_or_default());
        }
    }
    Ok(out)
}

/// One problem found by [`check_fields`] or [`check_batch_size`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The config key to change.
    pub key: &'static str,
    /// What is wrong and what to do.
    pub message: String,
    /// Whether this is a type conflict between indices (reported, never skipped, also
    /// when a later resolution finds a new index).
    pub conflict: bool,
}

/// Checks the tracking field (and tiebreaker, when set) in every index: mapped, sortable,
/// and of one type across all of them. Problems name the indices and types.
pub fn check_fields(
    config: &EsSourceConfig,
    mappings: &BTreeMap<String, BTreeMap<String, FieldMapping>>,
) -> Vec<Problem> {
    let mut problems = Vec::new();
    let mut fields = vec![(config::TRACKING_FIELD, config.tracking_field.as_str())];
    if let Some(tb) = &config.tiebreaker_field {
        fields.push((config::TIEBREAKER_FIELD, tb));
    }
    for (key, field) in fields {
        let mut unmapped = Vec::new();
        let mut by_type: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for (index, index_fields) in mappings {
            match index_fields.get(field) {
                None => unmapped.push(index.as_str()),
                Some(mapping) => {
                    if let Err(msg) = check_sortable(field, &mapping.ty, mapping.doc_values) {
                        problems.push(Problem {
                            key,
                            message: format!("index {index}: {msg}"),
                            conflict: false,
                        });
                    }
                    by_type.entry(&mapping.ty).or_default().push(index);
                }
            }
        }
        if !unmapped.is_empty() {
            problems.push(Problem {
                key,
                message: format!(
                    "field {field} is not mapped in index {}; add it to the mapping (long, \
                     date, keyword, ...), name a mapped field in {key}, or leave the index \
                     out of es.index (-name)",
                    unmapped.join(", ")
                ),
                conflict: false,
            });
        }
        if by_type.len() > 1 {
            let types: Vec<String> = by_type
                .iter()
                .map(|(ty, indices)| format!("{ty} in {}", indices.join(", ")))
                .collect();
            problems.push(Problem {
                key,
                message: format!(
                    "field {field} has different types across the matched indices ({}); \
                     it must have one type in every index: fix the mappings, or leave the \
                     odd indices out of es.index (-name)",
                    types.join("; ")
                ),
                conflict: true,
            });
        }
    }
    problems
}

/// Checks `es.batch.size` against `index.max_result_window` of each index.
pub async fn check_batch_size(
    client: &EsClient,
    indices: &[String],
    batch_size: u32,
) -> Result<Vec<Problem>, EsError> {
    let mut problems = Vec::new();
    for chunk in indices.chunks(INDICES_PER_REQUEST) {
        let names: Vec<&str> = chunk.iter().map(String::as_str).collect();
        let limits = client.max_result_windows(&names).await?;
        problems.extend(batch_size_problems(&limits, batch_size));
    }
    Ok(problems)
}

/// The [`check_batch_size`] verdict on known limits.
pub fn batch_size_problems(limits: &BTreeMap<String, u64>, batch_size: u32) -> Vec<Problem> {
    limits
        .iter()
        .filter(|(_, &limit)| u64::from(batch_size) > limit)
        .map(|(index, limit)| Problem {
            key: config::BATCH_SIZE,
            message: format!(
                "is {batch_size}, but index {index} allows at most {limit} hits per search \
                 (index.max_result_window); set es.batch.size to {limit} or less, or raise \
                 the index setting"
            ),
            conflict: false,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::{ResolvedAlias, ResolvedDataStream, ResolvedIndex};

    fn answer() -> ResolvedExpression {
        ResolvedExpression {
            indices: vec![
                ResolvedIndex {
                    name: "logs-1".into(),
                    attributes: vec!["open".into()],
                },
                ResolvedIndex {
                    name: "logs-old".into(),
                    attributes: vec!["closed".into()],
                },
            ],
            aliases: vec![ResolvedAlias {
                name: "logs-all".into(),
                indices: vec!["logs-1".into(), "archive".into()],
            }],
            data_streams: vec![ResolvedDataStream {
                name: "logs-ds".into(),
                backing_indices: vec![".ds-logs-ds-000001".into(), ".ds-logs-ds-000002".into()],
            }],
        }
    }

    #[test]
    fn patterns_take_open_indices_and_data_streams_but_not_aliases() {
        let got: Vec<_> = concrete_of(true, &answer()).into_iter().collect();
        assert_eq!(got, [".ds-logs-ds-000001", ".ds-logs-ds-000002", "logs-1"]);
    }

    #[test]
    fn plain_names_expand_aliases_and_data_streams() {
        let got: Vec<_> = concrete_of(false, &answer()).into_iter().collect();
        assert_eq!(
            got,
            [
                ".ds-logs-ds-000001",
                ".ds-logs-ds-000002",
                "archive",
                "logs-1",
                "logs-old"
            ]
        );
    }

    #[test]
    fn dealing_is_round_robin_over_sorted_indices_with_one_idle_share_when_empty() {
        let idx: Vec<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
        assert_eq!(deal(&idx, 2), [vec!["a", "c"], vec!["b"]]);
        assert_eq!(deal(&idx, 5), [vec!["a"], vec!["b"], vec!["c"]]);
        assert_eq!(deal(&[], 3), [Vec::<&str>::new()]);
    }

    fn cfg(tiebreaker: Option<&str>) -> EsSourceConfig {
        let mut map: connect_api::ConfigMap = [
            (config::HOSTS, "http://127.0.0.1:9200"),
            (config::INDEX, "logs-*"),
            (config::TRACKING_FIELD, "ts"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        if let Some(tb) = tiebreaker {
            map.insert(config::TIEBREAKER_FIELD.into(), tb.into());
        }
        EsSourceConfig::parse(&map).unwrap()
    }

    fn mapped(
        entries: &[(&str, &[(&str, &str)])],
    ) -> BTreeMap<String, BTreeMap<String, FieldMapping>> {
        entries
            .iter()
            .map(|(index, fields)| {
                let fields = fields
                    .iter()
                    .map(|(f, ty)| {
                        (
                            f.to_string(),
                            FieldMapping {
                                ty: ty.to_string(),
                                doc_values: None,
                            },
                        )
                    })
                    .collect();
                (index.to_string(), fields)
            })
            .collect()
    }

    #[test]
    fn one_sortable_type_everywhere_passes() {
        let m = mapped(&[
            ("a", &[("ts", "date"), ("id", "keyword")]),
            ("b", &[("ts", "date"), ("id", "keyword")]),
        ]);
        assert_eq!(check_fields(&cfg(Some("id")), &m), []);
    }

    #[test]
    fn type_conflicts_name_every_index_and_type() {
        let m = mapped(&[
            ("a", &[("ts", "date")]),
            ("b", &[("ts", "long")]),
            ("c", &[("ts", "date")]),
        ]);
        let p = check_fields(&cfg(None), &m);
        assert_eq!(p.len(), 1, "{p:?}");
        assert_eq!(p[0].key, config::TRACKING_FIELD);
        assert!(p[0].conflict);
        assert!(
            p[0].message.contains("date in a, c; long in b"),
            "{}",
            p[0].message
        );
    }

    #[test]
    fn unmapped_and_unsortable_fields_are_reported_on_their_keys() {
        let m = mapped(&[
            ("a", &[("ts", "text"), ("id", "keyword")]),
            ("b", &[("ts", "text")]),
        ]);
        let p = check_fields(&cfg(Some("id")), &m);
        let keys: Vec<_> = p.iter().map(|p| p.key).collect();
        assert_eq!(
            keys,
            [
                config::TRACKING_FIELD,
                config::TRACKING_FIELD,
                config::TIEBREAKER_FIELD
            ]
        );
        assert!(
            p[2].message.contains("not mapped in index b"),
            "{}",
            p[2].message
        );
        assert!(p.iter().all(|p| !p.conflict));
    }

    #[test]
    fn batch_size_above_a_result_window_names_the_index_and_limit() {
        let limits: BTreeMap<String, u64> =
            [("a".to_owned(), 10_000), ("b".to_owned(), 500)].into();
        let p = batch_size_problems(&limits, 1000);
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].key, config::BATCH_SIZE);
        assert!(
            p[0].message.contains("index b allows at most 500"),
            "{}",
            p[0].message
        );
        assert!(batch_size_problems(&limits, 500).is_empty());
    }
}

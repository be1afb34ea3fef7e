//! Unit tests of the config: the whole parse (defaults, every error on its key, the
//! order errors are listed in) and the key reference; one file per concern beside it.

use std::time::Duration;

use connect_api::{ConfigMap, FieldError};
use url::Url;

use super::*;

mod auth;
mod hosts;
mod index;
mod message;
mod tracking;

fn map(pairs: &[(&str, &str)]) -> ConfigMap {
    connect_api::config::config_from_pairs(pairs)
}

fn minimal() -> ConfigMap {
    map(&[
        ("connector.class", "es-source"),
        (HOSTS, "http://127.0.0.1:9200"),
        (INDEX, "orders"),
        (TRACKING_FIELD, "updated_at"),
    ])
}

fn fields(errs: &[FieldError]) -> Vec<&str> {
    errs.iter().map(|e| e.field.as_str()).collect()
}

fn with(pairs: &[(&str, &str)]) -> Result<EsSourceConfig, Vec<FieldError>> {
    let mut m = minimal();
    for (k, v) in pairs {
        m.insert((*k).into(), (*v).into());
    }
    EsSourceConfig::parse(&m)
}

#[test]
fn minimal_config_takes_defaults() {
    let c = EsSourceConfig::parse(&minimal()).unwrap();
    assert_eq!(c.hosts[0].as_str(), "http://127.0.0.1:9200/");
    assert_eq!(c.indices, ["orders"]);
    assert_eq!(c.tracking_field, "updated_at");
    assert_eq!(c.tiebreaker_field, None);
    assert_eq!(c.batch_size, DEFAULT_BATCH_SIZE);
    assert_eq!(
        c.poll_interval,
        Duration::from_millis(DEFAULT_POLL_INTERVAL_MS)
    );
    assert_eq!(
        c.request_timeout,
        Duration::from_millis(DEFAULT_REQUEST_TIMEOUT_MS)
    );
    assert!(c.username.is_none() && c.password.is_none());
}

#[test]
fn full_config_parses() {
    let mut m = minimal();
    m.insert(HOSTS.into(), "https://a:9200/prefix, http://b:9201".into());
    m.insert(INDEX.into(), "a, b,c".into());
    m.insert(TIEBREAKER_FIELD.into(), "id".into());
    m.insert(BATCH_SIZE.into(), "200".into());
    m.insert(POLL_INTERVAL_MS.into(), "10".into());
    m.insert(USERNAME.into(), "elastic".into());
    m.insert(PASSWORD.into(), " s3cret ".into());
    let c = EsSourceConfig::parse(&m).unwrap();
    let hosts: Vec<_> = c.hosts.iter().map(Url::as_str).collect();
    assert_eq!(hosts, ["https://a:9200/prefix/", "http://b:9201/"]);
    assert_eq!(c.indices, ["a", "b", "c"]);
    assert_eq!(c.tiebreaker_field.as_deref(), Some("id"));
    assert_eq!(c.batch_size, 200);
    assert_eq!(c.poll_interval, Duration::from_millis(10));
    assert_eq!(c.password.as_ref().unwrap().expose(), " s3cret ");
}

#[test]
fn every_problem_is_reported_on_its_key() {
    let m = map(&[
        (HOSTS, "ftp://x:21, http://ok:9200, not a url"),
        (INDEX, "Orders, logs-?, a, a"),
        (TIEBREAKER_FIELD, "ts"),
        (TRACKING_FIELD, "ts"),
        (BATCH_SIZE, "10001"),
        (POLL_INTERVAL_MS, "5"),
        (REQUEST_TIMEOUT_MS, "soon"),
        (USERNAME, "elastic"),
    ]);
    let errs = EsSourceConfig::parse(&m).unwrap_err();
    assert_eq!(
        fields(&errs),
        [
            HOSTS,
            HOSTS,
            INDEX,
            INDEX,
            INDEX,
            TIEBREAKER_FIELD,
            BATCH_SIZE,
            POLL_INTERVAL_MS,
            REQUEST_TIMEOUT_MS,
            PASSWORD
        ]
    );
    assert!(errs[0].message.contains("only http and https"), "{errs:?}");
    assert!(errs[2].message.contains("lower case"));
    assert!(errs[3].message.contains("'?'"));
    assert!(errs[4].message.contains("more than once"));
    assert!(errs[6].message.contains("between 1 and 10000"));
}

#[test]
fn required_keys_are_reported() {
    let errs = EsSourceConfig::parse(&map(&[("connector.class", "es-source")])).unwrap_err();
    assert_eq!(fields(&errs), [HOSTS, INDEX, TRACKING_FIELD]);
}

#[test]
fn config_def_documents_every_key_with_matching_defaults() {
    let def = config_def();
    let names: Vec<_> = def.iter().map(|k| k.name.as_ref()).collect();
    assert_eq!(
        names,
        [
            HOSTS,
            INDEX,
            TRACKING_FIELD,
            TIEBREAKER_FIELD,
            BATCH_SIZE,
            POLL_INTERVAL_MS,
            REQUEST_TIMEOUT_MS,
            USERNAME,
            PASSWORD,
            API_KEY,
            HTTP_COMPRESSION,
            TLS_CA_PATH,
            INDEX_REFRESH_INTERVAL_MS,
            TOPIC_PREFIX,
            TAG,
            TAG_FIELD,
            ENVELOPE,
            START,
            QUERY,
            SOURCE_INCLUDES,
            SOURCE_EXCLUDES,
            LAG,
            TIME_UNIT,
            PROGRESS_INTERVAL_MS,
            MESSAGE_PROPERTIES,
            BACKFILL_MODE,
            BACKFILL_SLICES,
            BACKFILL_RANGE_DOCS,
            BACKFILL_KEEP_ALIVE
        ]
    );
    assert!(def.iter().all(|k| !k.doc.is_empty()));
    let default = |name: &str| def.iter().find(|k| k.name == name).unwrap().default.clone();
    assert_eq!(
        default(BACKFILL_RANGE_DOCS),
        Some(DEFAULT_BACKFILL_RANGE_DOCS.to_string().into())
    );
    assert_eq!(default(BACKFILL_MODE), Some("pit".into()));
    assert_eq!(default(BACKFILL_KEEP_ALIVE), Some("5m".into()));
    assert_eq!(
        default(INDEX_REFRESH_INTERVAL_MS),
        Some(DEFAULT_INDEX_REFRESH_INTERVAL_MS.to_string().into())
    );
    assert_eq!(default(ENVELOPE), Some("false".into()));
    assert_eq!(
        default(BATCH_SIZE),
        Some(DEFAULT_BATCH_SIZE.to_string().into())
    );
    assert_eq!(
        default(POLL_INTERVAL_MS),
        Some(DEFAULT_POLL_INTERVAL_MS.to_string().into())
    );
    assert_eq!(
        default(REQUEST_TIMEOUT_MS),
        Some(DEFAULT_REQUEST_TIMEOUT_MS.to_string().into())
    );
    assert!(def.iter().find(|k| k.name == PASSWORD).unwrap().is_secret());
    assert!(def.iter().find(|k| k.name == API_KEY).unwrap().is_secret());
    // Required keys are exactly the ones parse() reports when absent.
    let required: Vec<_> = def
        .iter()
        .filter(|k| k.required)
        .map(|k| k.name.as_ref())
        .collect();
    assert_eq!(required, [HOSTS, INDEX, TRACKING_FIELD]);
}

/// The smallest valid config, for the backfill key tests.
const BACKFILL_BASE: [(&str, &str); 3] = [
    (HOSTS, "http://localhost:9200"),
    (INDEX, "orders"),
    (TRACKING_FIELD, "ts"),
];

#[test]
fn backfill_keys_default_to_a_pit_backfill_and_name_the_key_of_a_bad_value() {
    let base = BACKFILL_BASE;
    let c = EsSourceConfig::parse(&map(&base)).unwrap();
    assert_eq!(c.backfill, BackfillSettings::default());
    assert_eq!(c.backfill.mode, BackfillMode::Pit);
    assert_eq!(c.backfill.keep_alive_param(), "300s");
    let mut set = base.to_vec();
    set.extend([
        (BACKFILL_MODE, "sorted"),
        (BACKFILL_SLICES, "4"),
        (BACKFILL_RANGE_DOCS, "5000"),
        (BACKFILL_KEEP_ALIVE, "2m"),
    ]);
    let c = EsSourceConfig::parse(&map(&set)).unwrap();
    assert_eq!(
        c.backfill,
        BackfillSettings {
            mode: BackfillMode::Sorted,
            slices: BackfillSlices::Fixed(4),
            range_docs: 5000,
            keep_alive: std::time::Duration::from_secs(120),
        }
    );
    let mut bad = base.to_vec();
    bad.extend([
        (BACKFILL_MODE, "scroll"),
        (BACKFILL_SLICES, "0"),
        (BACKFILL_RANGE_DOCS, "10"),
        (BACKFILL_KEEP_ALIVE, "1s"),
    ]);
    let errs = EsSourceConfig::parse(&map(&bad)).unwrap_err();
    assert_eq!(
        fields(&errs),
        [
            BACKFILL_MODE,
            BACKFILL_SLICES,
            BACKFILL_RANGE_DOCS,
            BACKFILL_KEEP_ALIVE
        ]
    );
    assert!(errs[0].message.contains("pit or sorted"), "{errs:?}");
    assert!(errs[3].message.contains("between 10s and 24h"), "{errs:?}");
}

#[test]
fn backfill_slices_default_to_one_per_primary_shard_at_most_eight() {
    let base = BACKFILL_BASE;
    let c = EsSourceConfig::parse(&map(&base)).unwrap();
    assert_eq!(c.backfill.slices, BackfillSlices::Auto);
    assert_eq!(c.backfill.slices.for_shards(1), 1);
    assert_eq!(c.backfill.slices.for_shards(4), 4);
    assert_eq!(c.backfill.slices.for_shards(0), 1);
    assert_eq!(
        c.backfill.slices.for_shards(30),
        MAX_AUTO_BACKFILL_SLICES,
        "auto stops at eight slices"
    );
    let mut set = base.to_vec();
    set.push((BACKFILL_SLICES, "auto"));
    let c = EsSourceConfig::parse(&map(&set)).unwrap();
    assert_eq!(c.backfill.slices, BackfillSlices::Auto);
    let mut set = base.to_vec();
    set.push((BACKFILL_SLICES, "2"));
    let c = EsSourceConfig::parse(&map(&set)).unwrap();
    assert_eq!(
        c.backfill.slices.for_shards(4),
        2,
        "a number is kept as given"
    );
    for bad in ["33", "-1", "many"] {
        let mut set = base.to_vec();
        set.push((BACKFILL_SLICES, bad));
        let errs = EsSourceConfig::parse(&map(&set)).unwrap_err();
        assert_eq!(fields(&errs), [BACKFILL_SLICES], "{bad}");
        assert!(errs[0].message.contains("auto or a number"), "{errs:?}");
    }
}

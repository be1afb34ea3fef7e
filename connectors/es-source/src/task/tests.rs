//! Unit tests of the task's partitions and its share of indices.

use super::*;

#[test]
fn partitions_are_canonical() {
    let p = IndexPartition::of("orders").unwrap();
    assert_eq!(p.to_canonical_bytes(), br#"{"index":"orders"}"#);
    assert_eq!(p.to_typed::<IndexPartition>().unwrap().index, "orders");
}

#[test]
fn task_share_is_the_resolved_list_and_unsplit_configs_need_plain_names() {
    let mut raw = connect_api::config::config_from_pairs(&[
        (config::HOSTS, "http://127.0.0.1:9200"),
        (config::INDEX, "a,b"),
        (config::TRACKING_FIELD, "ts"),
    ]);
    let c = EsSourceConfig::parse(&raw).unwrap();
    assert_eq!(task_indices(&raw, &c).unwrap(), ["a", "b"]);
    raw.insert(config::TASK_INDICES.into(), "b,.ds-x-000001".into());
    assert_eq!(task_indices(&raw, &c).unwrap(), ["b", ".ds-x-000001"]);
    raw.insert(config::TASK_INDICES.into(), "".into());
    assert!(task_indices(&raw, &c).unwrap().is_empty());
    raw.remove(config::TASK_INDICES);
    raw.insert(config::INDEX.into(), "logs-*".into());
    let c = EsSourceConfig::parse(&raw).unwrap();
    assert!(task_indices(&raw, &c).is_err());
}

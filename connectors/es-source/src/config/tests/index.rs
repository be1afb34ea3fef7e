//! Tests of `es.index`.

use super::{fields, minimal};
use crate::config::*;

#[test]
fn index_entries_may_be_patterns_aliases_and_exclusions() {
    let mut m = minimal();
    m.insert(
        INDEX.into(),
        "logs-*, -logs-debug*, orders-alias, -old".into(),
    );
    let c = EsSourceConfig::parse(&m).unwrap();
    assert_eq!(
        c.indices,
        ["logs-*", "-logs-debug*", "orders-alias", "-old"]
    );
    m.insert(INDEX.into(), "-logs-*".into());
    assert_eq!(fields(&EsSourceConfig::parse(&m).unwrap_err()), [INDEX]);
    m.insert(INDEX.into(), "a,-".into());
    assert_eq!(fields(&EsSourceConfig::parse(&m).unwrap_err()), [INDEX]);
    m.insert(INDEX.into(), "Logs-*".into());
    let errs = EsSourceConfig::parse(&m).unwrap_err();
    assert!(errs[0].message.contains("lower case"), "{errs:?}");
}

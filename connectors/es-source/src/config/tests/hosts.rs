//! Tests of `es.hosts`, `es.request.timeout.ms` and `es.http.compression`.

use super::{fields, map, minimal, with};
use crate::config::*;

#[test]
fn credentials_in_urls_are_rejected_without_echoing_them() {
    let mut m = minimal();
    m.insert(HOSTS.into(), "http://elastic:hunter2@es:9200".into());
    let errs = EsSourceConfig::parse(&m).unwrap_err();
    assert_eq!(fields(&errs), [HOSTS]);
    assert!(!errs[0].message.contains("hunter2"));
    m.insert(HOSTS.into(), "http://es:9200".into());
    m.insert(PASSWORD.into(), "hunter2".into());
    assert_eq!(fields(&EsSourceConfig::parse(&m).unwrap_err()), [USERNAME]);
}

#[test]
fn http_compression_is_off_unless_asked_for_and_must_be_a_boolean() {
    assert!(!with(&[]).unwrap().http_compression);
    assert!(
        with(&[(HTTP_COMPRESSION, "true")])
            .unwrap()
            .http_compression
    );
    let errs = with(&[(HTTP_COMPRESSION, "gzip")]).unwrap_err();
    assert_eq!(errs[0].field, HTTP_COMPRESSION);
}

#[test]
fn host_errors_never_echo_a_password() {
    for bad in [
        "http://elastic:hunter2@es:99999",
        "ftp://elastic:hunter2@es",
        "elastic:hunter2@es",
        "http://elastic:hunter2@",
    ] {
        let errs = EsSourceConfig::parse(&map(&[
            ("es.hosts", bad),
            ("es.index", "i"),
            ("es.tracking.field", "ts"),
        ]))
        .unwrap_err();
        let text = format!("{errs:?}");
        assert!(!text.contains("hunter2"), "{bad}: {text}");
        assert!(errs.iter().any(|e| e.field == "es.hosts"), "{bad}: {text}");
    }
}

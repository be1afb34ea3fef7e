//! Unit tests of the client: decoding hits and error answers, building clients.

use super::*;

#[test]
fn hits_keep_source_bytes_exactly() {
    let body = Bytes::from_static(
        br#"{"took":1,"timed_out":false,"_shards":{"total":1,"successful":1,"skipped":0,"failed":0},
        "hits":{"hits":[
          {"_index":"i","_id":"a\"1","_score":null,"_source":{ "n" : 1.50, "s":"\u00e9" },"sort":[5]},
          {"_index":"i","_id":"b","_source":{"n":2},"sort":["k"]}
        ]}}"#,
    );
    let hits = decode_hits(&body, "i", "search").unwrap().hits;
    assert_eq!(hits.len(), 2);
    assert_eq!(hits[0].id, "a\"1");
    assert_eq!(&hits[0].source[..], br#"{ "n" : 1.50, "s":"\u00e9" }"#);
    assert_eq!(hits[0].sort, [serde_json::json!(5)]);
    assert_eq!(hits[1].sort, [serde_json::json!("k")]);
    assert_eq!(&hits[1].source[..], br#"{"n":2}"#);
}

#[test]
fn a_point_in_time_answer_gives_its_newest_id_and_the_doc_values_asked_for() {
    let body = Bytes::from_static(
        br#"{"pit_id":"p2","timed_out":false,"_shards":{"failed":0},
        "hits":{"hits":[{"_index":"i","_id":"a","_source":{},"sort":[12],"fields":{"ts":["1700000000123"]}}]}}"#,
    );
    let page = decode_hits(&body, "i", "search").unwrap();
    assert_eq!(page.pit.as_deref(), Some("p2"));
    assert_eq!(
        page.hits[0].fields["ts"],
        [serde_json::json!("1700000000123")]
    );
}

#[test]
fn incomplete_searches_are_errors() {
    let timed_out = Bytes::from_static(br#"{"timed_out":true,"hits":{"hits":[]}}"#);
    assert!(matches!(
        decode_hits(&timed_out, "i", "s"),
        Err(EsError::Incomplete { .. })
    ));
    let failed = Bytes::from_static(
        br#"{"timed_out":false,"_shards":{"total":2,"failed":1},"hits":{"hits":[]}}"#,
    );
    let err = decode_hits(&failed, "i", "s").unwrap_err();
    assert!(err.to_string().contains("failed on 1 shard"), "{err}");
    let no_source = Bytes::from_static(br#"{"hits":{"hits":[{"_index":"i","_id":"x"}]}}"#);
    assert!(matches!(
        decode_hits(&no_source, "i", "s"),
        Err(EsError::Decode { .. })
    ));
    let junk = Bytes::from_static(b"<html>");
    assert!(matches!(
        decode_hits(&junk, "i", "s"),
        Err(EsError::Decode { .. })
    ));
}

#[test]
fn clients_build_for_http_and_https_with_auth() {
    let map: connect_api::ConfigMap = [
        ("es.hosts", "https://es1:9200,http://es2:9200/prefix"),
        ("es.index", "i"),
        ("es.tracking.field", "ts"),
        ("es.username", "elastic"),
        ("es.password", "hunter2"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let config = EsSourceConfig::parse(&map).unwrap();
    let client = EsClient::new(&config).unwrap();
    assert!(!format!("{client:?}").contains("hunter2"));
    EsClient::for_hosts(&config.hosts[..1], &config).unwrap();
    assert!(EsClient::for_hosts(&[], &config).is_err());
}

#[test]
fn error_bodies_are_described() {
    let body = br#"{"error":{"root_cause":[{"type":"illegal_argument_exception","reason":"Text fields are not optimised"}],"type":"search_phase_execution_exception","reason":"all shards failed"},"status":400}"#;
    let (ty, text) = describe_error(body);
    assert_eq!(ty.as_deref(), Some("search_phase_execution_exception"));
    assert_eq!(
        text,
        "search_phase_execution_exception: all shards failed (root cause: \
         illegal_argument_exception: Text fields are not optimised)"
    );
    assert_eq!(describe_error(b"").1, "no body");
    assert_eq!(describe_error(br#"{"error":"plain"}"#).1, "plain");
    assert!(describe_error(&[b'x'; 5000]).1.len() < 1100);
}

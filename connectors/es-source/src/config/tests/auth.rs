//! Tests of the credentials, the secret types and `es.tls.ca.path`.

use super::{fields, minimal, with};
use crate::config::*;

/// A CA certificate (public part only) made by rmq-services for its secured node.
const TEST_CA_PEM: &str = "-----BEGIN CERTIFICATE-----\n\
MIIDLzCCAhegAwIBAgIUW1Fkd7IGdMPeGILeJSCLgz6tDnwwDQYJKoZIhvcNAQEL\n\
BQAwHzEdMBsGA1UEAwwUcm1xLXNlcnZpY2VzIHRlc3QgQ0EwHhcNMjYxMTIxMTc0\n\
OTM3WhcNMzYxMTE4MTc0OTM3WjAfMR0wGwYDVQQDDBRybXEtc2VydmljZXMgdGVz\n\
dCBDQTCCASIwDQYJKoZIhvcNAQEBBQADggEPADCCAQoCggEBANB8M3hzlZ/qVBZi\n\
r2oNchh8q2epRTH1MiviOiSYO3CqH6KVpyHE4AlLBuQwY7hdLPX71fpk6rXY2uKn\n\
bGQPujK/1Nv7mnY36XfqFjqwn//vgqOTNuQuNBhCY7GMhw6YnBBYSXht/jvYTbun\n\
DLB36dKDuLHzQ738S6vwRmtANmjiZ6+eUeh7BWbMaSNJEUeL1atjqzXOGX3mcXBH\n\
V0hdoajRS0drfwK22MaqeJJW2kbQko4AGx93I22tTJaDeJzmRrNdrxIi4hpfYDBl\n\
9YNw7G1yDJICOcqDmlKKwOt+WFtHAZmRJHa01zoDet+LTVwbsPxnCiqFs1a5NBzm\n\
+ROBZoUCAwEAAaNjMGEwHQYDVR0OBBYEFIgWwplIrMld4Z4G4GXaDxuwuwLkMB8G\n\
A1UdIwQYMBaAFIgWwplIrMld4Z4G4GXaDxuwuwLkMA8GA1UdEwEB/wQFMAMBAf8w\n\
DgYDVR0PAQH/BAQDAgEGMA0GCSqGSIb3DQEBCwUAA4IBAQARfV6Xx2EhtzMK5OOk\n\
NisQATwlF1Kbq6GexaJ1M6JKkSKDWk1vrA3Z1EJoGzSY4B4UmkJQdnzLH451to+a\n\
Hh2Xw+UL4sQ1JV4fJ8MVAZW049wsMm4irgOClQwj1NMl7jSrVbVCVyBHJ5aDxq3S\n\
82mQNyUFcTTH6829OsgT18P8amgCnjkHJpCYI37CIe5vRwVyg/ERdoWjJdWJ+IsL\n\
VceATN1REJT9XJLTHjPPaQa9s+T0x9D2MJES0QfleTGsyPB2yul3Plp6FNQ59fzX\n\
y0HCHeFl1jutN8ccoJnnUelP3LYuLTSUMELx67P/NbWhh1tcrF7L069ZHWwzXySO\n\
uSf1\n\
-----END CERTIFICATE-----\n";

/// Writes `content` to a fresh file under the temp dir and returns its path.
fn temp_file(name: &str, content: &[u8]) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("es-source-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, content).unwrap();
    path
}

#[test]
fn password_never_prints() {
    let mut m = minimal();
    m.insert(USERNAME.into(), "elastic".into());
    m.insert(PASSWORD.into(), "hunter2".into());
    let c = EsSourceConfig::parse(&m).unwrap();
    let shown = format!("{c:?} {}", c.password.as_ref().unwrap());
    assert!(!shown.contains("hunter2"), "{shown}");
    assert!(shown.contains("[hidden]"));
}

#[test]
fn api_key_accepts_the_encoded_form_and_id_colon_key() {
    // base64("VuaCfGcBCdbkQm-e5aOx:ui2lp2axTNmsyakw9tvNnw"), as Elasticsearch returns it.
    let encoded = "VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw==";
    let c = with(&[(API_KEY, encoded)]).unwrap();
    assert_eq!(c.api_key, Some(ApiKey::Encoded(Password::new(encoded))));
    assert_eq!(c.credentials_key(), API_KEY);
    let c = with(&[(API_KEY, " VuaCfGcBCdbkQm-e5aOx:ui2lp2axTNmsyakw9tvNnw ")]).unwrap();
    let Some(ApiKey::IdSecret { id, secret }) = &c.api_key else {
        panic!("{:?}", c.api_key)
    };
    assert_eq!(id, "VuaCfGcBCdbkQm-e5aOx");
    assert_eq!(secret.expose(), "ui2lp2axTNmsyakw9tvNnw");
    let shown = format!("{c:?}");
    assert!(
        !shown.contains("ui2lp2ax") && !shown.contains("VuaCfG"),
        "{shown}"
    );
}

#[test]
fn bad_api_keys_are_errors_on_the_key_without_echoing_it() {
    for bad in [
        "ui2lp2axTNmsyakw9tvNnw",   // only the secret: not base64 of id:key
        "dWkybHAyYXhUTm1zeWFrdzl0", // base64 without a ':' inside
        ":ui2lp2axTNmsyakw9tvNnw",
        "VuaCfGcBCdbkQm-e5aOx:",
        "has space:x",
    ] {
        let errs = with(&[(API_KEY, bad)]).unwrap_err();
        assert_eq!(fields(&errs), [API_KEY], "{bad}");
        assert!(!errs[0].message.contains(bad), "{bad}: {}", errs[0].message);
    }
}

#[test]
fn api_key_and_basic_auth_are_exclusive() {
    let errs = with(&[
        (API_KEY, "id:secret"),
        (USERNAME, "elastic"),
        (PASSWORD, "hunter2"),
    ])
    .unwrap_err();
    assert_eq!(fields(&errs), [API_KEY]);
    assert!(errs[0].message.contains("either"), "{}", errs[0].message);
    let errs = with(&[(API_KEY, "id:secret"), (USERNAME, "elastic")]).unwrap_err();
    assert!(fields(&errs).contains(&API_KEY), "{errs:?}");
}

#[test]
fn ca_file_is_read_and_checked_at_parse_time() {
    let good = temp_file("ca.crt", TEST_CA_PEM.as_bytes());
    let c = with(&[(TLS_CA_PATH, good.to_str().unwrap())]).unwrap();
    let ca = c.tls_ca.as_ref().unwrap();
    assert_eq!(ca.path(), good);
    assert_eq!(ca.pem(), TEST_CA_PEM.as_bytes());
    assert!(
        !format!("{c:?}").contains("BEGIN"),
        "Debug shows the path only"
    );
    // A client builds with it.
    crate::client::EsClient::new(&c).unwrap();

    let not_pem = temp_file("not-pem.crt", b"this is not a certificate\n");
    let garbage = temp_file(
        "garbage.crt",
        b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
    );
    let missing = good.with_file_name("missing.crt");
    for (path, says) in [
        (not_pem.to_str().unwrap(), "no PEM certificate"),
        (garbage.to_str().unwrap(), "cannot be used"),
        (missing.to_str().unwrap(), "cannot read"),
        ("relative/ca.crt", "absolute"),
        (
            good.parent().unwrap().to_str().unwrap(),
            "not a regular file",
        ),
    ] {
        let errs = with(&[(TLS_CA_PATH, path)]).unwrap_err();
        assert_eq!(fields(&errs), [TLS_CA_PATH], "{path}");
        assert!(
            errs[0].message.contains(says),
            "{path}: {}",
            errs[0].message
        );
        assert!(
            !errs[0].message.contains("this is not"),
            "{}",
            errs[0].message
        );
    }
}

#[test]
fn clients_trust_the_ca_bytes_read_at_parse_time_not_the_path() {
    let path = temp_file("ca-read-once.crt", TEST_CA_PEM.as_bytes());
    let c = with(&[
        (HOSTS, "https://127.0.0.1:9200"),
        (TLS_CA_PATH, path.to_str().unwrap()),
    ])
    .unwrap();
    // The file is gone (or replaced) after the parse: the config holds its bytes, and
    // every client made from it uses them without opening the path again.
    std::fs::remove_file(&path).unwrap();
    assert_eq!(c.tls_ca.as_ref().unwrap().pem(), TEST_CA_PEM.as_bytes());
    crate::client::EsClient::new(&c).unwrap();
    crate::client::EsClient::for_hosts(&c.hosts, &c).unwrap();
}

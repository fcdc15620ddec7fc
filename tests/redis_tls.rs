//! A Redis store over TLS ("rediss://"): the server's certificate is checked against the roots the
//! system trusts (SSL_CERT_FILE, when set, names them). A test binary of its own, with one test: it
//! sets SSL_CERT_FILE, which no other thread may read meanwhile.

mod common;

use common::redis::RedisServer;
use sessionstore::{ErrorKind, Filter, Store};

#[test]
fn a_store_over_tls_works_with_a_trusted_certificate_and_refuses_another() {
    let dir = std::env::temp_dir().join(format!("ss-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let server = RedisServer::start_tls(&dir);
    let config = server.config("agent", "tls", "");
    assert!(config.contains("rediss://"), "{config}");

    // The roots are another CA's: the server cannot prove it is who it says.
    std::env::set_var("SSL_CERT_FILE", dir.join("other-ca.pem"));
    let e = Store::open_json(Some(config.as_bytes())).err().expect("an untrusted certificate is refused");
    assert_eq!(e.kind, ErrorKind::Unavailable, "{e}");
    assert!(e.message.contains("cannot connect") && e.message.contains("certificate"), "{e}");

    std::env::set_var("SSL_CERT_FILE", dir.join("ca.pem"));
    let store = Store::open_json(Some(config.as_bytes())).expect("open over TLS");
    store.upsert(br#"{"session_id":"s1","user_id":"u1","memory":{"runs":[]}}"#).unwrap();
    assert_eq!(store.get_all_session_ids(Filter::default()).unwrap(), r#"["s1"]"#);
    drop(store);
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}

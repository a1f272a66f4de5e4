//! Malformed input: garbage, oversized or authentic-but-undecodable cookies are a fresh session
//! (MAL-01, MAL-02), a corrupt stored field takes its default and a record that is not a record
//! is no session (MAL-03); and the cookie store's wire format, pinned by an independent writer.

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use http::{HeaderValue, Request, header};
use typed_sessions::{
    Session,
    store::{Patch, SessionStore, StoreKey, Updated},
};

use typed_sessions_tests::wire::{session_id_in, store_key_of, value_of};
use typed_sessions_tests::*;

// --- MAL-01 ---

fn raw_cookie_request(path: &str, cookie: &[u8]) -> Request<Body> {
    Request::builder()
        .uri(path)
        .header(header::COOKIE, HeaderValue::from_bytes(cookie).unwrap())
        .body(Body::empty())
        .unwrap()
}

on_backends!(
    mal_01_garbage_or_oversized_cookie_is_a_fresh_session,
    [Cookie, Memory],
    |backend| async move {
        let app = TestApp::new(backend, reference_routes());
        let real = app.get("/set", None).await.replay();
        app.store_calls();
        let ten_kb = "a".repeat(10 * 1024);
        let padded_real = format!("{}{}", value_of(&real), "A".repeat(10 * 1024));
        let cookies: Vec<Vec<u8>> = vec![
            // (a) a value that was never signed (there is no unsigned mode).
            b"session=invalid-session".to_vec(),
            // (b)
            b"session=%%%; session.sig=xyz".to_vec(),
            // (c) 10 KB: garbage, and an authentic value padded past the limit.
            format!("session={ten_kb}").into_bytes(),
            format!("session={padded_real}").into_bytes(),
            // More garbage.
            b"session=".to_vec(),
            b"session=...".to_vec(),
            b"session=1.a.b.c".to_vec(),
            b"session=2.x.y.z".to_vec(),
            b"session=3.abc.".to_vec(),
            b"session=3.abc.AAAA".to_vec(),
            b"session=\"quoted\"".to_vec(),
            b"session=\xff\xfe\x80".to_vec(),
            b"session; =; ;;".to_vec(),
        ];
        for cookie in &cookies {
            let shown = String::from_utf8_lossy(cookie);
            let shown = &shown[..shown.len().min(60)];
            let r = app.send(raw_cookie_request("/is_new", cookie)).await;
            assert_eq!(r.status, 200, "{shown}: {}", r.body);
            assert_eq!(r.body, "true", "{shown}");
            assert!(r.set_cookies().is_empty(), "{shown}: {:?}", r.headers);
            assert_eq!(app.store_calls(), Vec::<&str>::new(), "no load for {shown}");
        }
        // Control: the authentic value itself is accepted.
        assert_eq!(app.get("/is_new", Some(&real)).await.body, "false");
    }
);

// --- MAL-02 ---

/// The master key `test_key()` is made from.
const MASTER: [u8; 64] = [42u8; 64];

/// `payload` signed (or sealed) with the app's key by the independent wire-format writer, as a
/// `Cookie` header: lets a test send a payload the library cannot decode.
fn forge(encrypt: bool, payload: &[u8]) -> String {
    let value = if encrypt {
        wire::sealed(&MASTER, payload, [7; 12])
    } else {
        wire::signed_data(&MASTER, payload)
    };
    format!("session={value}")
}

#[tokio::test]
async fn wire_format_of_the_cookie_store_is_stable() {
    // A well-formed payload written by an independent implementation of the format is read.
    let id = "A".repeat(43);
    let now = time::OffsetDateTime::now_utc().unix_timestamp() * 1000;
    let payload = format!(r#"{{"i":"{id}","c":{now},"s":{now},"d":{{"message":"forged"}}}}"#);
    for encrypt in [false, true] {
        let app = TestApp::with(Backend::Cookie, reference_routes(), |l| {
            l.with_encryption(encrypt)
        });
        let response = app
            .get("/read", Some(&forge(encrypt, payload.as_bytes())))
            .await;
        assert_eq!(response.body, "forged", "encrypt = {encrypt}");
    }
}

#[tokio::test]
async fn too_deeply_nested_fields_fail_the_request_instead_of_being_lost() {
    #[derive(typed_sessions::Session, Default)]
    struct Deep {
        deep: serde_json::Value,
    }
    let nested = |depth: usize| {
        (0..depth).fold(serde_json::Value::Null, |inner, _| {
            serde_json::Value::Array(vec![inner])
        })
    };
    let routes = Router::new().route(
        "/deep",
        get(move |mut s: Session<Deep>| async move {
            s.deep = nested(200);
        }),
    );
    for backend in [Backend::Cookie, Backend::Memory] {
        let app = TestApp::new(backend, routes.clone());
        let (logs, _capture) = Logs::capture();
        let response = app.get("/deep", None).await;
        assert_eq!(response.status, 500, "{backend:?}");
        assert_eq!(
            response.body, "internal server error",
            "generic for the client"
        );
        let logged = logs.take();
        assert!(
            logged.contains("levels deep"),
            "the detail goes to the log: {logged}"
        );
        assert!(response.set_cookies().is_empty());
        assert!(app.store_calls().is_empty());
    }
}

/// MAL-02's authentic-but-undecodable cookie: a payload that is not a session payload, signed
/// (or sealed) with the app's key by the independent wire-format writer above.
async fn mal_02_case(encrypt: bool) {
    let (logs, _guard) = Logs::capture();
    let app = TestApp::with(Backend::Cookie, reference_routes(), |l| {
        l.with_encryption(encrypt)
    });
    let bad = forge(encrypt, b"{\"not\": \"a session payload\"}");
    assert!(logs.text().is_empty(), "{}", logs.text());

    // Read-only request: fresh session, the cookie is expired so the client stops sending it.
    let r2 = app.get("/is_new", Some(&bad)).await;
    assert_eq!(r2.status, 200, "{}", r2.body);
    assert_eq!(r2.body, "true");
    assert_eq!(r2.set_cookies().len(), 1, "{:?}", r2.headers);
    assert!(r2.expires_cookie("session"), "{:?}", r2.headers);
    assert!(
        logs.text().contains("WARN") && logs.text().contains("does not decode"),
        "no warning logged: {}",
        logs.text()
    );

    // Writing request: the bad cookie is overwritten by a new session.
    let r3 = app.get("/set", Some(&bad)).await;
    assert_eq!(r3.status, 200);
    assert_eq!(r3.set_cookies().len(), 1, "{:?}", r3.headers);
    let fresh = r3.replay();
    assert!(!r3.expires_cookie("session"));
    assert_eq!(app.get("/read", Some(&fresh)).await.body, "hello");
}

#[tokio::test]
async fn mal_02_authentic_but_undecodable_cookie_signed() {
    mal_02_case(false).await;
}

#[tokio::test]
async fn mal_02_authentic_but_undecodable_cookie_encrypted() {
    mal_02_case(true).await;
}

// --- MAL-03 ---

fn mal_03_routes() -> Router {
    reference_routes().route(
        "/set_both",
        get(|mut s: Session<Msg>| async move {
            s.message = "hello".into();
            s.count = 3;
        }),
    )
}

#[tokio::test]
async fn mal_03_corrupt_field_takes_its_default() {
    let (logs, _guard) = Logs::capture();
    let app = TestApp::new(Backend::Memory, mal_03_routes());
    let cookie = app.get("/set_both", None).await.replay();
    let key = store_key_of(&cookie);
    let store = &app.spy().inner;

    // Corrupt one field: `message` now holds a number.
    let record = store.load(&key).await.unwrap().unwrap();
    let mut changed = typed_sessions::store::Fields::new();
    changed.insert("message".into(), 42.into());
    let patch = Patch::new(changed, vec![], record.expires());
    assert_eq!(store.patch(&key, &patch).await.unwrap(), Updated::Applied);
    app.store_calls();

    // Read: the field takes its default, 200, nothing written.
    let r2 = app.get("/read", Some(&cookie)).await;
    assert_eq!(r2.status, 200, "{}", r2.body);
    assert_eq!(r2.body, "");
    assert!(r2.set_cookies().is_empty(), "{:?}", r2.headers);
    assert_eq!(app.store_calls(), ["load"]);
    let stored = store.load(&key).await.unwrap().unwrap();
    assert_eq!(
        serde_json::Value::Object(stored.fields().clone()),
        serde_json::json!({"message": 42, "count": 3}),
        "nothing overwritten by a read"
    );
    assert!(
        logs.text().contains("WARN") && logs.text().contains("message"),
        "no warning logged: {}",
        logs.text()
    );

    // The session is still the same one; writing another field leaves the corrupt one alone.
    assert_eq!(app.get("/is_new", Some(&cookie)).await.body, "false");
    app.store_calls();
    let r3 = app.get("/count", Some(&cookie)).await;
    assert_eq!(r3.status, 200);
    assert_eq!(r3.body, "4");
    let calls = app.spy().take_calls();
    assert_eq!(calls.len(), 2, "{calls:?}");
    let Call::Patch(patched, patch) = &calls[1] else {
        panic!("{calls:?}")
    };
    assert_eq!(*patched, key);
    assert_eq!(
        serde_json::Value::Object(patch.changed().clone()),
        serde_json::json!({"count": 4})
    );
    assert!(patch.removed().is_empty(), "{patch:?}");
    let stored = store.load(&key).await.unwrap().unwrap();
    assert_eq!(stored.fields()["message"], 42);

    // Writing the corrupt field replaces it.
    app.get("/set", Some(&cookie)).await;
    let stored = store.load(&key).await.unwrap().unwrap();
    assert_eq!(
        serde_json::Value::Object(stored.fields().clone()),
        serde_json::json!({"message": "hello", "count": 4})
    );
}

/// The spy's calls since the last look, as (kind, key).
fn take_calls(spy: &SpyStore) -> Vec<(&'static str, StoreKey)> {
    spy.take_calls()
        .iter()
        .map(|call| (call.kind(), call.key().clone()))
        .collect()
}

#[tokio::test]
async fn mal_03_record_that_is_not_a_record_is_no_session() {
    let (logs, _guard) = Logs::capture();
    let app = TestApp::new(Backend::Memory, reference_routes());
    let store = app.spy();
    let cookie = app.get("/set", None).await.replay();
    let old = store_key_of(&cookie);
    store.take_calls();
    // From now on, `load` answers `Error::corrupt` (a record that is not a session record).
    store.set_faults(Faults {
        corrupt: vec!["load"],
        ..Faults::default()
    });

    // Read: no session, 200, nothing written or removed.
    let r2 = app.get("/is_new", Some(&cookie)).await;
    assert_eq!(r2.status, 200, "{}", r2.body);
    assert_eq!(r2.body, "true");
    assert!(r2.set_cookies().is_empty(), "{:?}", r2.headers);
    assert_eq!(take_calls(store), [("load", old.clone())]);
    assert!(
        logs.text().contains("WARN") && logs.text().contains("corrupt"),
        "no warning logged: {}",
        logs.text()
    );

    // Write: a new session under a new id; the old record is not overwritten.
    let r3 = app.get("/count", Some(&cookie)).await;
    assert_eq!(r3.status, 200);
    assert_eq!(r3.body, "1");
    let fresh = r3.replay();
    assert_ne!(
        session_id_in(Backend::Memory, value_of(&fresh)),
        session_id_in(Backend::Memory, value_of(&cookie))
    );
    let new = store_key_of(&fresh);
    assert_eq!(take_calls(store), [("load", old.clone()), ("create", new)]);
    let kept = store.inner.load(&old).await.unwrap().unwrap();
    assert_eq!(
        serde_json::Value::Object(kept.fields().clone()),
        serde_json::json!({"message": "hello"})
    );
}

/// A stored field that no longer decodes is logged by its name and the type expected, never by
/// what it holds: serde's message quoted the stored value (`invalid type: string "tok_…",
/// expected u64`), and a session's values may be secrets.
#[tokio::test]
async fn a_field_that_does_not_decode_is_logged_without_its_value() {
    let app = TestApp::new(Backend::Memory, reference_routes());
    let r1 = app.get("/set", None).await;
    let key = typed_sessions_tests::wire::store_key_of(&r1.replay());
    let stored = app.spy().inner.load(&key).await.unwrap().unwrap();
    let mut fields = stored.fields().clone();
    fields.insert("count".into(), "tok_live_4f9a2c".into());
    app.spy().inner.remove(&key).await.unwrap();
    let tampered = typed_sessions::store::Record::new(fields, stored.created(), stored.expires());
    app.spy().inner.create(&key, &tampered).await.unwrap();

    let (logs, _capture) = Logs::capture();
    let r2 = app.get("/count", Some(&r1.replay())).await;
    assert_eq!(r2.body, "1", "the field reads as its default");
    let logged = logs.take();
    assert!(
        logged.contains("count") && logged.contains("u64") && logged.contains("a string"),
        "the field, the type expected and what kind of value was found: {logged}"
    );
    assert!(
        !logged.contains("tok_live"),
        "the value stays out of the log: {logged}"
    );
}

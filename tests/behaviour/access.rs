//! ACC — access and change detection.

use typed_sessions_tests::wire::{cookie_fields, session_id_in, store_key_of, value_of};
use typed_sessions_tests::*;

on_backends!(
    acc_01_new_session_not_accessed_emits_nothing,
    [Cookie, Memory],
    |backend| async move {
        let app = TestApp::new(backend, reference_routes());
        let response = app.get("/none", None).await;
        assert_eq!(response.status, 200);
        assert_eq!(response.body, "greetings");
        assert!(response.set_cookies().is_empty());
        assert!(app.store_calls().is_empty());
    }
);

on_backends!(
    acc_03_new_session_populated_issues_cookie,
    [Cookie, Memory],
    |backend| async move {
        let app = TestApp::new(backend, reference_routes());
        let r1 = app.get("/set", None).await;
        assert_eq!(r1.status, 200);
        let cookie = r1.session_cookie().expect("a session cookie");
        if backend.is_store() {
            assert!(!cookie.contains("hello"));
            let calls = app.spy().take_calls();
            assert_eq!(calls.len(), 1, "{calls:?}");
            let Call::Create(_, record) = &calls[0] else {
                panic!("{calls:?}")
            };
            assert_eq!(record.fields()["message"], "hello");
        }
        let r2 = app.get("/read", Some(&r1.replay())).await;
        assert_eq!(r2.body, "hello");
        assert!(r2.set_cookies().is_empty());
    }
);

/// A JSON object of the session's non-default fields (an empty session is `{}`).
fn as_json(msg: &Msg) -> String {
    use typed_sessions::SessionData;
    let mut object = serde_json::Map::new();
    for (index, (key, value)) in Msg::KEYS.iter().zip(msg.encode().unwrap()).enumerate() {
        if value != Msg::encode_default(index).unwrap() {
            object.insert((*key).to_owned(), value);
        }
    }
    serde_json::Value::Object(object).to_string()
}

mod routes {
    use axum::Router;
    use axum::http::StatusCode;
    use axum::routing::get;
    use typed_sessions::Session;

    use super::*;

    /// ACC-09's reader: the same storage keys, but `count` is now a string.
    #[derive(typed_sessions::Session, Default, Debug)]
    pub(crate) struct MsgV2 {
        pub(crate) message: String,
        #[session(rename = "count")]
        pub(crate) count_text: String,
    }

    pub(crate) const AWKWARD: &str = "a;b,\"c\" ü 日本 😀";

    pub(crate) fn acc_routes() -> Router {
        reference_routes()
            .route("/json", get(|s: Session<Msg>| async move { as_json(&s) }))
            .route(
                "/replace_empty",
                get(|mut s: Session<Msg>| async move {
                    *s = Msg::default();
                }),
            )
            .route(
                "/replace_hello",
                get(|mut s: Session<Msg>| async move {
                    *s = Msg {
                        message: "hello".into(),
                        ..Msg::default()
                    };
                }),
            )
            .route(
                "/set_hello3",
                get(|mut s: Session<Msg>| async move {
                    s.message = "hello3".into();
                }),
            )
            .route(
                "/assert_hello",
                get(|s: Session<Msg>| async move {
                    if s.message == "hello" {
                        "saw hello"
                    } else {
                        "saw something else"
                    }
                }),
            )
            .route(
                "/revert",
                get(|mut s: Session<Msg>| async move {
                    s.message = "x".into();
                    s.message = "hello".into();
                }),
            )
            .route(
                "/awkward",
                get(handlers::read).post(|mut s: Session<Msg>| async move {
                    s.message = AWKWARD.into();
                    StatusCode::NO_CONTENT
                }),
            )
    }

    pub(crate) fn v2_routes() -> Router {
        Router::new().route(
            "/read",
            get(|s: Session<MsgV2>| async move {
                format!("message={:?} count={:?}", s.message, s.count_text)
            }),
        )
    }
}

use routes::{AWKWARD, acc_routes, v2_routes};
use typed_sessions::store::SessionStore;

on_backends!(
    acc_02_new_session_read_but_empty_emits_nothing,
    [Cookie, Memory],
    |backend| async move {
        let app = TestApp::new(backend, acc_routes());
        let response = app.get("/json", None).await;
        assert_eq!(response.status, 200);
        assert_eq!(response.body, "{}");
        assert!(response.set_cookies().is_empty(), "{:?}", response.headers);
        assert!(app.store_calls().is_empty());
    }
);

on_backends!(
    acc_04_existing_session_not_accessed_emits_nothing,
    [Cookie, Memory],
    |backend| async move {
        let app = TestApp::new(backend, acc_routes());
        let r1 = app.get("/set", None).await;
        let cookie = r1.replay();
        app.store_calls();
        let r2 = app.get("/none", Some(&cookie)).await;
        assert_eq!(r2.status, 200);
        assert_eq!(r2.body, "greetings");
        assert!(r2.set_cookies().is_empty(), "{:?}", r2.headers);
        // No save, and no load either: the session is loaded lazily.
        assert_eq!(app.store_calls(), Vec::<&str>::new());
    }
);

on_backends!(
    acc_05_existing_session_read_unchanged_emits_nothing,
    [Cookie, Memory],
    |backend| async move {
        let app = TestApp::new(backend, acc_routes());
        let cookie = app.get("/set", None).await.replay();
        app.store_calls();
        let r2 = app.get("/assert_hello", Some(&cookie)).await;
        assert_eq!(r2.status, 200);
        assert_eq!(r2.body, "saw hello");
        assert!(r2.set_cookies().is_empty(), "{:?}", r2.headers);
        if backend.is_store() {
            assert_eq!(app.store_calls(), ["load"]);
        }
    }
);

on_backends!(
    acc_06_existing_session_changed_is_persisted,
    [Cookie, Memory],
    |backend| async move {
        let app = TestApp::new(backend, acc_routes());
        let cookie = app.get("/set", None).await.replay();
        if backend.is_store() {
            // Pre-seed a field no session type of this app knows.
            let key = store_key_of(&cookie);
            let record = app.spy().inner.load(&key).await.unwrap().unwrap();
            let mut changed = typed_sessions::store::Fields::new();
            changed.insert("hello".into(), "world".into());
            let patch = typed_sessions::store::Patch::new(changed, vec![], record.expires());
            app.spy().inner.patch(&key, &patch).await.unwrap();
        }
        app.store_calls();

        let r2 = app.get("/set_hello3", Some(&cookie)).await;
        assert_eq!(r2.status, 200);
        let reissued = r2.replay();
        match backend {
            Backend::Cookie => {
                assert_ne!(reissued, cookie);
                assert_eq!(
                    cookie_fields(value_of(&reissued)),
                    serde_json::json!({"message": "hello3"})
                );
                assert_eq!(
                    session_id_in(backend, value_of(&reissued)),
                    session_id_in(backend, value_of(&cookie)),
                    "same session"
                );
            }
            _ => {
                let key = store_key_of(&cookie);
                let calls = app.spy().take_calls();
                assert_eq!(calls.len(), 2, "{calls:?}");
                assert!(matches!(&calls[0], Call::Load(k) if *k == key), "{calls:?}");
                let Call::Patch(patched, patch) = &calls[1] else {
                    panic!("{calls:?}")
                };
                assert_eq!(*patched, key, "same id");
                assert_eq!(
                    serde_json::Value::Object(patch.changed().clone()),
                    serde_json::json!({"message": "hello3"})
                );
                assert!(patch.removed().is_empty());
                let stored = app.spy().inner.load(&key).await.unwrap().unwrap();
                assert_eq!(
                    serde_json::Value::Object(stored.fields().clone()),
                    serde_json::json!({"hello": "world", "message": "hello3"})
                );
                // Persistent cookie: re-sent for the same id with the moved expiry.
                assert_eq!(store_key_of(&reissued), key);
            }
        }
        let r3 = app.get("/read", Some(&reissued)).await;
        assert_eq!(r3.body, "hello3");
    }
);

on_backends!(
    acc_06_browser_session_cookie_not_resent_on_change,
    [Memory],
    |backend| async move {
        let app = TestApp::with(backend, acc_routes(), |l| l.with_browser_session(true));
        let cookie = app.get("/set", None).await.replay();
        app.store_calls();
        let r2 = app.get("/set_hello3", Some(&cookie)).await;
        assert_eq!(r2.status, 200);
        assert_eq!(app.store_calls(), ["load", "patch"]);
        assert!(r2.set_cookies().is_empty(), "{:?}", r2.headers);
        assert_eq!(app.get("/read", Some(&cookie)).await.body, "hello3");
    }
);

on_backends!(
    acc_07_session_replaced_by_empty_value_emits_nothing,
    [Cookie, Memory],
    |backend| async move {
        let app = TestApp::new(backend, acc_routes());
        let response = app.get("/replace_empty", None).await;
        assert_eq!(response.status, 200);
        assert!(response.set_cookies().is_empty(), "{:?}", response.headers);
        assert!(app.store_calls().is_empty());
    }
);

on_backends!(
    acc_08_session_replaced_by_populated_value_is_created,
    [Cookie, Memory],
    |backend| async move {
        let app = TestApp::new(backend, acc_routes());
        let response = app.get("/replace_hello", None).await;
        assert_eq!(response.status, 200);
        let cookie = response.replay();
        match backend {
            Backend::Cookie => assert_eq!(
                cookie_fields(value_of(&cookie)),
                serde_json::json!({"message": "hello"})
            ),
            _ => {
                let calls = app.spy().take_calls();
                assert_eq!(calls.len(), 1, "{calls:?}");
                let Call::Create(key, record) = &calls[0] else {
                    panic!("{calls:?}")
                };
                assert_eq!(*key, store_key_of(&cookie));
                assert_eq!(
                    serde_json::Value::Object(record.fields().clone()),
                    serde_json::json!({"message": "hello"})
                );
            }
        }
        assert_eq!(app.get("/read", Some(&cookie)).await.body, "hello");
    }
);

on_backends!(
    acc_09_authentic_payload_of_another_schema_reads_as_default,
    [Cookie, Memory],
    |backend| async move {
        // App A (count: u64) issues the session; app B (count: String) shares keys and store.
        let a = TestApp::new(backend, acc_routes());
        let r1 = a.get("/count", None).await;
        assert_eq!(r1.body, "1");
        let cookie = r1.replay();
        let b = a.sibling(v2_routes(), test_key(), |l| l);
        a.store_calls();

        let r2 = b.get("/read", Some(&cookie)).await;
        assert_eq!(r2.status, 200, "{}", r2.body);
        assert_eq!(r2.body, r#"message="" count="""#, "B sees defaults");
        assert!(r2.set_cookies().is_empty(), "{:?}", r2.headers);
        if backend.is_store() {
            // Loaded, nothing removed or rewritten.
            assert_eq!(b.store_calls(), ["load"]);
            let stored = b
                .spy()
                .inner
                .load(&store_key_of(&cookie))
                .await
                .unwrap()
                .expect("the old record is kept");
            assert_eq!(
                serde_json::Value::Object(stored.fields().clone()),
                serde_json::json!({"count": 1})
            );
        }
        // A still reads its session.
        assert_eq!(a.get("/count", Some(&cookie)).await.body, "2");
    }
);

on_backends!(
    acc_10_change_reverted_within_request_emits_nothing,
    [Cookie, Memory],
    |backend| async move {
        let app = TestApp::new(backend, acc_routes());
        let cookie = app.get("/set", None).await.replay();
        app.store_calls();
        let r2 = app.get("/revert", Some(&cookie)).await;
        assert_eq!(r2.status, 200);
        assert!(r2.set_cookies().is_empty(), "{:?}", r2.headers);
        if backend.is_store() {
            assert_eq!(app.store_calls(), ["load"]);
        }
        assert_eq!(app.get("/read", Some(&cookie)).await.body, "hello");
    }
);

on_backends!(
    acc_11_awkward_values_round_trip,
    [Cookie, Memory],
    |backend| async move {
        let app = TestApp::new(backend, acc_routes());
        let r1 = app.send(request("POST", "/awkward", None)).await;
        assert_eq!(r1.status, 204);
        let cookie = r1.replay();
        let value = value_of(&cookie);
        // RFC 6265 cookie-octet: no CTLs, whitespace, DQUOTE, comma, semicolon, backslash,
        // nor anything outside ASCII.
        let safe =
            |b: u8| matches!(b, 0x21 | 0x23..=0x2B | 0x2D..=0x3A | 0x3C..=0x5B | 0x5D..=0x7E);
        assert!(value.bytes().all(safe), "unsafe cookie value: {value}");
        if backend.is_store() {
            let stored = app
                .spy()
                .inner
                .load(&store_key_of(&cookie))
                .await
                .unwrap()
                .unwrap();
            assert_eq!(stored.fields()["message"], AWKWARD);
        }
        let r2 = app.get("/awkward", Some(&cookie)).await;
        assert_eq!(r2.status, 200);
        assert_eq!(r2.body, AWKWARD);
    }
);

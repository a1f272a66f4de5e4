//! DEL — destroying sessions.

use axum::Router;
use axum::routing::get;
use typed_sessions::{Session, store::SessionStore};

use typed_sessions_tests::wire::{session_id_in, store_key_of, value_of};
use typed_sessions_tests::*;

fn del_routes() -> Router {
    reference_routes()
        .route(
            "/destroy_and_read",
            get(|mut s: Session<Msg>| async move {
                s.destroy();
                let empty = s.message.is_empty() && s.count == 0 && s.is_new() && s.id().is_none();
                empty.to_string()
            }),
        )
        .route(
            "/destroy_then_write",
            get(|mut s: Session<Msg>| async move {
                s.destroy();
                s.message = "new".into();
            }),
        )
        .route(
            "/empty",
            get(|mut s: Session<Msg>| async move {
                s.message = String::new();
            }),
        )
}

/// The exact deletion `Set-Cookie` for the default cookie attributes.
fn assert_expires_session(response: &TestResponse) {
    assert!(response.expires_cookie("session"), "{:?}", response.headers);
    let set = response.session_cookie().unwrap();
    assert!(set.starts_with("session=;"), "{set}");
    assert!(set.contains("Path=/"), "{set}");
    assert!(
        set.contains("Expires=Thu, 01 Jan 1970 00:00:00 GMT"),
        "{set}"
    );
}

on_backends!(
    del_01_destroy_existing_session,
    [Cookie, Memory],
    |backend| async move {
        let app = TestApp::new(backend, del_routes());
        let cookie = app.get("/set", None).await.replay();
        app.store_calls();

        let r2 = app.get("/destroy_and_read", Some(&cookie)).await;
        assert_eq!(r2.status, 200);
        assert_eq!(r2.body, "true");
        assert_eq!(r2.set_cookies().len(), 1, "{:?}", r2.headers);
        assert_expires_session(&r2);
        if backend.is_store() {
            let key = store_key_of(&cookie);
            let calls = app.spy().take_calls();
            assert_eq!(calls.len(), 2, "{calls:?}");
            assert!(matches!(&calls[0], Call::Load(k) if *k == key), "{calls:?}");
            assert!(
                matches!(&calls[1], Call::Remove(k) if *k == key),
                "{calls:?}"
            );
            assert!(app.spy().inner.load(&key).await.unwrap().is_none());
            assert!(app.spy().inner.is_empty().await);
        }
    }
);

on_backends!(
    del_02_old_cookie_after_destroy,
    [Cookie, Memory],
    |backend| async move {
        let app = TestApp::new(backend, del_routes());
        let cookie = app.get("/set", None).await.replay();
        let r2 = app.get("/destroy", Some(&cookie)).await;
        assert!(r2.expires_cookie("session"));
        app.store_calls();

        // The client ignored the deletion and replays the R1 cookie.
        let r3 = app.get("/read", Some(&cookie)).await;
        assert_eq!(r3.status, 200);
        match backend {
            // Documented (README, "Revocation"): a pure cookie store cannot revoke a copied
            // cookie before it expires.
            Backend::Cookie => assert_eq!(r3.body, "hello"),
            _ => {
                assert_eq!(r3.body, "");
                assert_eq!(app.store_calls(), ["load"]);
                assert!(r3.set_cookies().is_empty(), "{:?}", r3.headers);
            }
        }
    }
);

on_backends!(
    del_03_destroy_without_a_session_emits_nothing,
    [Cookie, Memory],
    |backend| async move {
        let app = TestApp::new(backend, del_routes());
        let response = app.get("/destroy", None).await;
        assert_eq!(response.status, 200);
        assert!(response.set_cookies().is_empty(), "{:?}", response.headers);
        assert!(app.store_calls().is_empty());
    }
);

on_backends!(
    del_04_destroy_then_write_starts_a_fresh_session,
    [Cookie, Memory],
    |backend| async move {
        let app = TestApp::new(backend, del_routes());
        let cookie = app.get("/set", None).await.replay();
        app.store_calls();

        let r2 = app.get("/destroy_then_write", Some(&cookie)).await;
        assert_eq!(r2.status, 200);
        // Exactly one Set-Cookie for the name: the new session, no separate deletion.
        assert_eq!(r2.set_cookies().len(), 1, "{:?}", r2.headers);
        let fresh = r2.replay();
        assert!(!r2.expires_cookie("session"));
        assert_ne!(
            session_id_in(backend, value_of(&fresh)),
            session_id_in(backend, value_of(&cookie)),
            "a new id"
        );
        if backend.is_store() {
            let (old, new) = (store_key_of(&cookie), store_key_of(&fresh));
            let calls = app.spy().take_calls();
            assert_eq!(calls.len(), 3, "{calls:?}");
            assert!(matches!(&calls[0], Call::Load(k) if *k == old), "{calls:?}");
            assert!(
                matches!(&calls[1], Call::Remove(k) if *k == old),
                "{calls:?}"
            );
            let Call::Create(created, record) = &calls[2] else {
                panic!("{calls:?}")
            };
            assert_eq!(*created, new);
            assert_ne!(new, old);
            assert_eq!(
                serde_json::Value::Object(record.fields().clone()),
                serde_json::json!({"message": "new"})
            );
            assert!(app.spy().inner.load(&old).await.unwrap().is_none());
        }
        assert_eq!(app.get("/read", Some(&fresh)).await.body, "new");
    }
);

on_backends!(
    del_05_emptying_a_cookie_session_deletes_the_cookie,
    [Cookie],
    |backend| async move {
        let app = TestApp::new(backend, del_routes());
        let cookie = app.get("/set", None).await.replay();
        let r2 = app.get("/empty", Some(&cookie)).await;
        assert_eq!(r2.status, 200);
        assert_eq!(r2.set_cookies().len(), 1, "{:?}", r2.headers);
        assert_expires_session(&r2);
    }
);

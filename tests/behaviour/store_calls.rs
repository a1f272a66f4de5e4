//! STO — external store interaction.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use serde_json::json;
use typed_sessions::{Session, store::SessionStore};

use typed_sessions_tests::wire::{id_of, store_key_of};
use typed_sessions_tests::*;

/// The record the memory store holds for the session whose cookie is `replay`.
async fn stored(app: &TestApp, replay: &str) -> Option<typed_sessions::store::Record> {
    app.spy().inner.load(&store_key_of(replay)).await.unwrap()
}

#[tokio::test]
async fn sto_01_unknown_id_gets_a_new_session_without_adoption() {
    let app = TestApp::new(Backend::Memory, reference_routes());
    let r1 = app.get("/count", None).await;
    assert_eq!(r1.body, "1");
    let x = store_key_of(&r1.replay());
    app.spy().inner.clear().await;
    app.spy().take_calls();

    // A handler that does not write: a new session, and nothing emitted.
    let quiet = app.get("/is_new", Some(&r1.replay())).await;
    assert_eq!(quiet.status, 200);
    assert_eq!(quiet.body, "true");
    assert!(quiet.set_cookies().is_empty(), "{quiet:?}");
    assert_eq!(app.store_calls(), ["load"]);

    // A handler that writes: a fresh id, never the client's.
    let r2 = app.get("/count", Some(&r1.replay())).await;
    assert_eq!(r2.status, 200);
    assert_eq!(r2.body, "1", "the session starts afresh");
    let y = store_key_of(&r2.replay());
    assert_ne!(id_of(&r2.session_value()), id_of(&r1.session_value()));
    assert_ne!(y, x);
    let calls = app.spy().take_calls();
    assert_eq!(calls.len(), 2, "{calls:?}");
    let Call::Load(loaded) = &calls[0] else {
        panic!("{calls:?}")
    };
    assert_eq!(loaded, &x);
    let Call::Create(created, record) = &calls[1] else {
        panic!("{calls:?}")
    };
    assert_eq!(created, &y);
    assert_eq!(record.fields()["count"], 1);
    assert!(app.spy().inner.load(&x).await.unwrap().is_none());
    assert_eq!(app.spy().inner.len().await, 1);
}

#[tokio::test]
async fn sto_02_full_record_saved_on_change_nothing_on_read() {
    let app = TestApp::new(Backend::Memory, reference_routes());
    let r1 = app.get("/set", None).await;
    let cookie = r1.replay();
    let key = store_key_of(&cookie);
    app.spy().take_calls();

    let r2 = app.get("/read", Some(&cookie)).await;
    assert_eq!(r2.body, "hello");
    assert!(r2.set_cookies().is_empty(), "{r2:?}");
    assert_eq!(app.store_calls(), ["load"]);

    let r3 = app.get("/count", Some(&cookie)).await;
    assert_eq!(r3.status, 200);
    assert_eq!(r3.body, "1");
    let calls = app.spy().take_calls();
    assert_eq!(calls.len(), 2, "{calls:?}");
    assert_eq!(calls[0].kind(), "load");
    let Call::Patch(patched, patch) = &calls[1] else {
        panic!("{calls:?}")
    };
    assert_eq!(patched, &key, "same id");
    // The patch carries only the change ...
    assert_eq!(json!(patch.changed()), json!({"count": 1}));
    assert!(patch.removed().is_empty());
    // ... and the store holds the full merged record.
    let record = stored(&app, &cookie).await.expect("a record");
    assert_eq!(
        json!(record.fields()),
        json!({"message": "hello", "count": 1})
    );
}

#[derive(typed_sessions::Session, Default, Clone, Debug, PartialEq)]
struct Hit {
    hit: bool,
    n: u32,
}

/// `/save`: sets `hit`, bumps `n`, saves explicitly, then looks at the store (memory backend)
/// or at the session's state (cookie backend) and answers `stored` or `empty`.
fn save_routes(slot: Arc<OnceLock<AnyStore>>) -> Router {
    let save = move |mut session: Session<Hit>| {
        let slot = slot.clone();
        async move {
            session.hit = true;
            session.n += 1;
            session.save().await.expect("explicit save");
            let stored = match slot.get() {
                Some(store) => {
                    let id = session.id().expect("a saved session has an id");
                    let record = store.load(&id.store_key()).await.unwrap();
                    record.is_some_and(|r| {
                        r.fields().get("hit") == Some(&json!(true))
                            && r.fields().get("n") == Some(&json!(session.n))
                    })
                }
                None => !session.is_new() && session.id().is_some(),
            };
            if stored { "stored" } else { "empty" }
        }
    };
    let read = |session: Session<Hit>| async move { format!("{} {}", session.hit, session.n) };
    Router::new()
        .route("/save", get(save))
        .route("/read", get(read))
}

on_backends!(
    sto_03_explicit_save_then_no_duplicate_save,
    [Cookie, Memory],
    |backend| async move {
        let slot = Arc::new(OnceLock::new());
        let app = TestApp::new(backend, save_routes(slot.clone()));
        if backend.is_store() {
            assert!(slot.set(app.spy().inner.clone()).is_ok());
        }

        // A new session.
        let r1 = app.get("/save", None).await;
        assert_eq!(r1.status, 200);
        assert_eq!(r1.body, "stored");
        assert_eq!(r1.set_cookies().len(), 1, "{r1:?}");
        assert!(r1.session_cookie().is_some());
        if backend.is_store() {
            assert_eq!(app.store_calls(), ["create"]);
        }

        // An existing session.
        let r2 = app.get("/save", Some(&r1.replay())).await;
        assert_eq!(r2.status, 200);
        assert_eq!(r2.body, "stored");
        assert_eq!(r2.set_cookies().len(), 1, "{r2:?}");
        if backend.is_store() {
            assert_eq!(app.store_calls(), ["load", "patch"]);
        }

        let r3 = app.get("/read", Some(&r2.replay())).await;
        assert_eq!(r3.body, "true 2");
    }
);

#[tokio::test]
async fn sto_04_idle_refresh_uses_touch_when_data_unchanged() {
    let app = TestApp::with(Backend::Memory, reference_routes(), |layer| {
        layer.with_idle_timeout(Duration::from_secs(60))
    });
    let r1 = app.get("/set", None).await;
    let cookie = r1.replay();
    let key = store_key_of(&cookie);
    let before = stored(&app, &cookie).await.unwrap().expires();
    app.spy().take_calls();

    // Under half the idle timeout: no write at all (the refresh is throttled).
    app.advance(Duration::from_secs(10));
    let early = app.get("/read", Some(&cookie)).await;
    assert_eq!(early.body, "hello");
    assert!(early.set_cookies().is_empty(), "{early:?}");
    assert_eq!(app.store_calls(), ["load"]);

    // Past half the idle timeout: a touch, not a save.
    app.advance(Duration::from_secs(21));
    let r2 = app.get("/read", Some(&cookie)).await;
    assert_eq!(r2.status, 200);
    assert_eq!(r2.body, "hello");
    let now = app.clock.now();
    let calls = app.spy().take_calls();
    assert_eq!(calls.len(), 2, "{calls:?}");
    assert_eq!(calls[0].kind(), "load");
    let Call::Touch(touched, expires) = &calls[1] else {
        panic!("{calls:?}")
    };
    assert_eq!(touched, &key);
    assert_eq!(*expires, now + Duration::from_secs(60));
    let after = stored(&app, &cookie).await.unwrap();
    assert_eq!(after.expires(), now + Duration::from_secs(60));
    assert!(after.expires() > before);
    assert_eq!(json!(after.fields()), json!({"message": "hello"}));
    // The persistent cookie follows the new deadline, under the same id.
    let set = r2.session_cookie().expect("the cookie is re-sent");
    assert!(set.contains("Max-Age=60"), "{set}");
    assert_eq!(id_of(&r2.session_value()), id_of(&r1.session_value()));

    // No touch for an uninitialized new session.
    app.advance(Duration::from_secs(40));
    let fresh = app.get("/read", None).await;
    assert_eq!(fresh.body, "");
    assert!(fresh.set_cookies().is_empty());
    assert!(app.store_calls().is_empty());
}

/// Reads `message` many times through two handles.
async fn read_twice(a: Session<Msg>, b: Session<Msg>) -> String {
    let mut out = String::new();
    for _ in 0..3 {
        out.push_str(&a.message);
        out.push_str(&b.message);
    }
    out
}

#[tokio::test]
async fn sto_05_no_store_calls_without_cookie_and_lazy_load() {
    let routes = reference_routes().route("/read_twice", get(read_twice));
    let app = TestApp::new(Backend::Memory, routes);

    // (a) cookieless: nothing, whether or not the handler extracts the session.
    let none = app.get("/none", None).await;
    assert_eq!(none.body, "greetings");
    assert!(app.store_calls().is_empty());
    let read = app.get("/read", None).await;
    assert_eq!(read.body, "");
    assert!(app.store_calls().is_empty());

    let r1 = app.get("/set", None).await;
    let cookie = r1.replay();
    app.spy().take_calls();

    // (b) valid cookie, handler never extracts: no load.
    let untouched = app.get("/none", Some(&cookie)).await;
    assert_eq!(untouched.body, "greetings");
    assert!(untouched.set_cookies().is_empty());
    assert!(app.store_calls().is_empty());

    // (c) valid cookie, many reads through two handles: exactly one load, of that id.
    let reads = app.get("/read_twice", Some(&cookie)).await;
    assert_eq!(reads.body, "hello".repeat(6));
    let calls = app.spy().take_calls();
    assert_eq!(calls.len(), 1, "{calls:?}");
    let Call::Load(loaded) = &calls[0] else {
        panic!("{calls:?}")
    };
    assert_eq!(loaded, &store_key_of(&cookie));
}

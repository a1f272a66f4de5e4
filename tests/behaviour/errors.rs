//! ERR — failures and error paths.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::response::Response;
use axum::routing::get;
use http::StatusCode;
use typed_sessions::{Session, store::SessionStore};

use typed_sessions_tests::wire::store_key_of;
use typed_sessions_tests::*;

/// The reference routes plus `/counted`: `H_count`, counting its invocations in `runs`.
fn counted_routes(runs: Arc<AtomicUsize>) -> Router {
    reference_routes().route(
        "/counted",
        get(move |mut session: Session<Msg>| {
            let runs = runs.clone();
            async move {
                runs.fetch_add(1, Ordering::SeqCst);
                session.count += 1;
                session.count.to_string()
            }
        }),
    )
}

#[tokio::test]
async fn err_01_store_load_error_is_500_and_handler_not_run() {
    let runs = Arc::new(AtomicUsize::new(0));
    let app = TestApp::new(Backend::Memory, counted_routes(runs.clone()));
    let r1 = app.get("/set", None).await;
    let before = app.spy().inner.load(&store_key_of(&r1.replay())).await;
    app.spy().take_calls();

    app.spy().set_faults(Faults {
        fail: vec!["load"],
        ..Default::default()
    });
    let r2 = app.get("/counted", Some(&r1.replay())).await;
    assert_eq!(r2.status, 500);
    assert!(r2.body.contains("boom!"), "{}", r2.body);
    assert_eq!(runs.load(Ordering::SeqCst), 0, "the handler must not run");
    assert!(r2.set_cookies().is_empty(), "{r2:?}");
    assert_eq!(app.store_calls(), ["load"]);
    let after = app.spy().inner.load(&store_key_of(&r1.replay())).await;
    assert_eq!(after.unwrap(), before.unwrap());
}

#[tokio::test]
async fn err_01_store_load_unavailable_is_503_and_handler_not_run() {
    let runs = Arc::new(AtomicUsize::new(0));
    let app = TestApp::new(Backend::Memory, counted_routes(runs.clone()));
    let r1 = app.get("/set", None).await;
    app.spy().take_calls();

    app.spy().set_faults(Faults {
        unavailable: vec!["load"],
        ..Default::default()
    });
    let r2 = app.get("/counted", Some(&r1.replay())).await;
    assert_eq!(r2.status, 503);
    assert_eq!(runs.load(Ordering::SeqCst), 0, "the handler must not run");
    assert!(r2.set_cookies().is_empty(), "{r2:?}");
    assert_eq!(app.store_calls(), ["load"]);
}

#[tokio::test]
async fn err_02_not_found_is_not_an_error() {
    let runs = Arc::new(AtomicUsize::new(0));
    let app = TestApp::new(Backend::Memory, counted_routes(runs.clone()));
    let r1 = app.get("/counted", None).await;
    assert_eq!(r1.body, "1");
    let old = store_key_of(&r1.replay());
    // The record goes away behind the client's back: the store answers `Ok(None)`.
    app.spy().inner.remove(&old).await.unwrap();
    app.spy().take_calls();

    let r2 = app.get("/counted", Some(&r1.replay())).await;
    assert_eq!(r2.status, 200);
    assert_eq!(r2.body, "1", "a new session");
    assert_eq!(runs.load(Ordering::SeqCst), 2);
    let calls = app.spy().take_calls();
    assert_eq!(
        calls.iter().map(Call::kind).collect::<Vec<_>>(),
        ["load", "create"]
    );
    assert_ne!(store_key_of(&r2.replay()), old);
}

#[tokio::test]
async fn err_03_store_create_error_is_500_without_cookie() {
    let app = TestApp::new(Backend::Memory, reference_routes());
    app.spy().set_faults(Faults {
        fail: vec!["create"],
        ..Default::default()
    });
    let r1 = app.get("/set", None).await;
    assert_eq!(r1.status, 500);
    assert!(r1.body.contains("boom!"), "{}", r1.body);
    assert!(r1.set_cookies().is_empty(), "{r1:?}");
    assert_eq!(app.store_calls(), ["create"]);
    assert!(app.spy().inner.is_empty().await);
}

#[tokio::test]
async fn err_03_store_create_unavailable_is_503_without_cookie() {
    let app = TestApp::new(Backend::Memory, reference_routes());
    app.spy().set_faults(Faults {
        unavailable: vec!["create"],
        ..Default::default()
    });
    let r1 = app.get("/set", None).await;
    assert_eq!(r1.status, 503);
    assert!(r1.set_cookies().is_empty(), "{r1:?}");
    assert_eq!(app.store_calls(), ["create"]);
    assert!(app.spy().inner.is_empty().await);
}

#[tokio::test]
async fn err_03_store_patch_error_is_500_without_cookie() {
    let app = TestApp::new(Backend::Memory, reference_routes());
    let r1 = app.get("/set", None).await;
    let key = store_key_of(&r1.replay());
    let before = app.spy().inner.load(&key).await.unwrap().unwrap();
    app.spy().take_calls();

    app.spy().set_faults(Faults {
        fail: vec!["patch"],
        ..Default::default()
    });
    let r2 = app.get("/count", Some(&r1.replay())).await;
    assert_eq!(r2.status, 500);
    assert!(r2.set_cookies().is_empty(), "{r2:?}");
    assert_eq!(app.store_calls(), ["load", "patch"]);
    assert_eq!(app.spy().inner.load(&key).await.unwrap().unwrap(), before);
}

#[tokio::test]
async fn err_03_store_remove_error_is_500_without_cookie() {
    let app = TestApp::new(Backend::Memory, reference_routes());
    let r1 = app.get("/set", None).await;
    app.spy().take_calls();

    app.spy().set_faults(Faults {
        fail: vec!["remove"],
        ..Default::default()
    });
    let r2 = app.get("/destroy", Some(&r1.replay())).await;
    assert_eq!(r2.status, 500);
    assert!(r2.body.contains("boom!"), "{}", r2.body);
    assert!(r2.set_cookies().is_empty(), "{r2:?}");
    assert_eq!(app.store_calls(), ["load", "remove"]);
}

#[tokio::test]
async fn err_03_store_touch_error_is_500() {
    let app = TestApp::with(Backend::Memory, reference_routes(), |layer| {
        layer.with_idle_timeout(Duration::from_secs(60))
    });
    let r1 = app.get("/set", None).await;
    app.spy().take_calls();

    app.spy().set_faults(Faults {
        fail: vec!["touch"],
        ..Default::default()
    });
    app.advance(Duration::from_secs(31));
    let r2 = app.get("/read", Some(&r1.replay())).await;
    assert_eq!(r2.status, 500);
    assert!(r2.set_cookies().is_empty(), "{r2:?}");
    assert_eq!(app.store_calls(), ["load", "touch"]);
}

/// `/funny` sets `message = "funny"` and fails with 500; an error-mapping layer between it
/// and the session layer turns every 500 into a 401.
fn caught_error_routes() -> Router {
    async fn funny(mut session: Session<Msg>) -> Result<(), StatusCode> {
        session.message = "funny".into();
        Err(StatusCode::INTERNAL_SERVER_ERROR)
    }
    async fn to_401(mut response: Response) -> Response {
        if response.status() == StatusCode::INTERNAL_SERVER_ERROR {
            *response.status_mut() = StatusCode::UNAUTHORIZED;
        }
        response
    }
    Router::new()
        .route("/funny", get(funny))
        .layer(axum::middleware::map_response(to_401))
        .merge(reference_routes())
}

on_backends!(
    err_05_a_error_caught_upstream_as_4xx_still_saves,
    [Cookie, Memory],
    |backend| async move {
        let app = TestApp::new(backend, caught_error_routes());
        let r1 = app.get("/funny", None).await;
        assert_eq!(r1.status, 401);
        assert!(r1.session_cookie().is_some(), "{r1:?}");
        if backend.is_store() {
            assert_eq!(app.store_calls(), ["create"]);
        }
        let r2 = app.get("/read", Some(&r1.replay())).await;
        assert_eq!(r2.body, "funny");
    }
);

/// `/fail` sets `message = "changed"` and `count = 9`, then answers 500.
fn server_error_routes() -> Router {
    async fn fail(mut session: Session<Msg>) -> StatusCode {
        session.message = "changed".into();
        session.count = 9;
        StatusCode::INTERNAL_SERVER_ERROR
    }
    reference_routes().route("/fail", get(fail))
}

on_backends!(
    err_05_b_server_error_discards_changes,
    [Cookie, Memory],
    |backend| async move {
        let app = TestApp::new(backend, server_error_routes());

        // A new session: nothing at all.
        let r0 = app.get("/fail", None).await;
        assert_eq!(r0.status, 500);
        assert!(r0.set_cookies().is_empty(), "{r0:?}");
        assert!(app.store_calls().is_empty());

        // An existing session: the changes are dropped.
        let r1 = app.get("/set", None).await;
        app.store_calls();
        let r2 = app.get("/fail", Some(&r1.replay())).await;
        assert_eq!(r2.status, 500);
        assert!(r2.set_cookies().is_empty(), "{r2:?}");
        if backend.is_store() {
            assert_eq!(app.store_calls(), ["load"]);
        }
        let r3 = app.get("/read", Some(&r1.replay())).await;
        assert_eq!(r3.body, "hello");
        let r4 = app.get("/count", Some(&r1.replay())).await;
        assert_eq!(r4.body, "1");
    }
);

on_backends!(
    err_05_b_save_on_server_error_opt_in_saves,
    [Cookie, Memory],
    |backend| async move {
        let app = TestApp::with(backend, server_error_routes(), |layer| {
            layer.with_save_on_server_error(true)
        });
        let r1 = app.get("/fail", None).await;
        assert_eq!(r1.status, 500);
        assert!(r1.session_cookie().is_some(), "{r1:?}");
        if backend.is_store() {
            assert_eq!(app.store_calls(), ["create"]);
        }
        let r2 = app.get("/read", Some(&r1.replay())).await;
        assert_eq!(r2.body, "changed");
    }
);

/// A session with a field serde_json cannot serialize once it is non-empty (non-string map
/// keys).
#[derive(typed_sessions::Session, Default)]
struct Unserializable {
    message: String,
    pairs: HashMap<(u8, u8), u8>,
}

fn unserializable_routes() -> Router {
    async fn set(mut session: Session<Unserializable>) -> &'static str {
        session.message = "hello".into();
        "set"
    }
    async fn poison(mut session: Session<Unserializable>) -> &'static str {
        session.message = "poisoned".into();
        session.pairs.insert((1, 2), 3);
        "poisoned"
    }
    async fn read(session: Session<Unserializable>) -> String {
        format!("{} {}", session.message, session.pairs.len())
    }
    Router::new()
        .route("/set", get(set))
        .route("/poison", get(poison))
        .route("/read", get(read))
}

on_backends!(
    err_06_serialization_failure_is_500_without_cookie,
    [Cookie, Memory],
    |backend| async move {
        let app = TestApp::new(backend, unserializable_routes());

        // A new session.
        let r0 = app.get("/poison", None).await;
        assert_eq!(r0.status, 500);
        assert!(r0.set_cookies().is_empty(), "{r0:?}");
        assert!(app.store_calls().is_empty());

        // An existing session: nothing written, the stored data intact.
        let r1 = app.get("/set", None).await;
        assert_eq!(r1.status, 200);
        app.store_calls();
        let r2 = app.get("/poison", Some(&r1.replay())).await;
        assert_eq!(r2.status, 500);
        assert!(r2.set_cookies().is_empty(), "{r2:?}");
        if backend.is_store() {
            assert_eq!(app.store_calls(), ["load"]);
        }
        let r3 = app.get("/read", Some(&r1.replay())).await;
        assert_eq!(r3.body, "hello 0");
    }
);

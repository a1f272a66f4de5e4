//! `Option<Session<T>>`: a route that reads the session without starting one. `None` for a
//! request without a live session (no cookie, a forged, expired or destroyed one, an id the
//! store does not know), writing nothing; `Some` for a live one, written through as usual; a
//! store failure is an error response, never `None`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use typed_sessions::{Session, store::SessionStore};

use typed_sessions_tests::wire::store_key_of;
use typed_sessions_tests::*;

/// The reference routes plus `/peek` (`some:<message>` or `none`) and `/bump` (counts up a
/// live session only), both on `Option<Session<Msg>>`; `runs` counts their invocations.
fn optional_routes(runs: Arc<AtomicUsize>) -> Router {
    let peek_runs = runs.clone();
    reference_routes()
        .route(
            "/peek",
            get(move |session: Option<Session<Msg>>| {
                peek_runs.fetch_add(1, Ordering::SeqCst);
                async move {
                    match session {
                        Some(session) => format!("some:{}", session.message),
                        None => "none".to_owned(),
                    }
                }
            }),
        )
        .route(
            "/bump",
            get(move |session: Option<Session<Msg>>| {
                runs.fetch_add(1, Ordering::SeqCst);
                async move {
                    match session {
                        Some(mut session) => {
                            session.count += 1;
                            session.count.to_string()
                        }
                        None => "none".to_owned(),
                    }
                }
            }),
        )
}

fn app(backend: Backend) -> TestApp {
    TestApp::new(backend, optional_routes(Arc::default()))
}

/// `None`, and nothing written or sent: no `Set-Cookie`, no store write.
#[track_caller]
fn assert_none_quietly(response: &TestResponse, calls: &[&str]) {
    assert_eq!(response.status, 200, "{response:?}");
    assert_eq!(response.body, "none");
    assert!(response.set_cookies().is_empty(), "{:?}", response.headers);
    assert!(
        calls.iter().all(|call| *call == "load"),
        "no store write: {calls:?}"
    );
}

on_backends!(
    no_cookie_is_none_and_starts_no_session,
    [Cookie, Memory],
    |backend| async move {
        let app = app(backend);
        for path in ["/peek", "/bump"] {
            let response = app.get(path, None).await;
            assert_none_quietly(&response, &[]);
            assert!(app.store_calls().is_empty(), "no store call at all");
        }
        if backend.is_store() {
            assert!(app.spy().inner.is_empty().await);
        }
    }
);

on_backends!(
    a_forged_cookie_is_none_and_never_looked_up,
    [Cookie, Memory],
    |backend| async move {
        let app = app(backend);
        let genuine = app.get("/set", None).await.replay();
        app.store_calls();
        let mut forged = genuine.into_bytes();
        let at = forged.len() - 5;
        forged[at] = if forged[at] == b'A' { b'B' } else { b'A' };
        let forged = String::from_utf8(forged).unwrap();
        for cookie in [forged.as_str(), "session=nonsense"] {
            let response = app.get("/bump", Some(cookie)).await;
            assert_none_quietly(&response, &[]);
            assert!(
                app.store_calls().is_empty(),
                "a forged id is never looked up"
            );
        }
    }
);

on_backends!(
    a_live_session_is_some_with_its_data,
    [Cookie, Memory],
    |backend| async move {
        let app = app(backend);
        let cookie = app.get("/set", None).await.replay();
        app.store_calls();
        let response = app.get("/peek", Some(&cookie)).await;
        assert_eq!(response.status, 200);
        assert_eq!(response.body, "some:hello");
        assert!(response.set_cookies().is_empty(), "a read writes nothing");
        if backend.is_store() {
            assert_eq!(app.store_calls(), ["load"]);
        }
    }
);

on_backends!(
    writes_through_some_are_saved_as_usual,
    [Cookie, Memory],
    |backend| async move {
        let app = app(backend);
        let cookie = app.get("/set", None).await.replay();
        let first = app.get("/bump", Some(&cookie)).await;
        assert_eq!(first.body, "1");
        // The cookie store sends the new data; a store keeps the cookie it issued.
        let cookie = first.issued().map_or(cookie, |_| first.replay());
        let second = app.get("/bump", Some(&cookie)).await;
        assert_eq!(second.body, "2");
        let cookie = second.issued().map_or(cookie, |_| second.replay());
        assert_eq!(app.get("/read", Some(&cookie)).await.body, "hello");
        let count = app.get("/count", Some(&cookie)).await;
        assert_eq!(count.body, "3", "a plain `Session` sees the writes");
    }
);

on_backends!(
    a_destroyed_session_is_none,
    [Memory],
    |backend| async move {
        let app = app(backend);
        let cookie = app.get("/set", None).await.replay();
        assert!(
            app.get("/destroy", Some(&cookie))
                .await
                .expires_cookie("session")
        );
        app.store_calls();
        // The client kept the old cookie: its record is gone.
        let response = app.get("/bump", Some(&cookie)).await;
        assert_none_quietly(&response, &app.store_calls());
        assert!(app.spy().inner.is_empty().await, "not re-created");
    }
);

on_backends!(
    an_id_the_store_does_not_know_is_none,
    [Memory],
    |backend| async move {
        let app = app(backend);
        let cookie = app.get("/set", None).await.replay();
        app.spy()
            .inner
            .remove(&store_key_of(&cookie))
            .await
            .unwrap();
        app.store_calls();
        let response = app.get("/bump", Some(&cookie)).await;
        assert_none_quietly(&response, &app.store_calls());
        assert!(app.spy().inner.is_empty().await, "not re-created");
    }
);

on_backends!(
    an_expired_session_is_none,
    [Cookie, Memory],
    |backend| async move {
        let app = app(backend);
        let cookie = app.get("/set", None).await.replay();
        app.store_calls();
        app.advance(Duration::from_secs(2 * 24 * 60 * 60)); // past the 1-day idle timeout
        let response = app.get("/bump", Some(&cookie)).await;
        assert_none_quietly(&response, &app.store_calls());
        if backend.is_store() {
            assert!(
                app.spy()
                    .inner
                    .load(&store_key_of(&cookie))
                    .await
                    .unwrap()
                    .is_none()
            );
        }
    }
);

on_backends!(
    a_store_failure_is_an_error_response_not_none,
    [Memory],
    |backend| async move {
        let runs = Arc::new(AtomicUsize::new(0));
        let app = TestApp::new(backend, optional_routes(runs.clone()));
        let cookie = app.get("/set", None).await.replay();
        for (faults, status) in [
            (
                Faults {
                    fail: vec!["load"],
                    ..Default::default()
                },
                500,
            ),
            (
                Faults {
                    unavailable: vec!["load"],
                    ..Default::default()
                },
                503,
            ),
        ] {
            app.spy().set_faults(faults);
            app.store_calls();
            let response = app.get("/bump", Some(&cookie)).await;
            assert_eq!(response.status, status, "{response:?}");
            assert!(response.set_cookies().is_empty(), "{:?}", response.headers);
            assert_eq!(app.store_calls(), ["load"]);
        }
        assert_eq!(runs.load(Ordering::SeqCst), 0, "the handler never ran");
        app.spy().set_faults(Faults::default());
        assert_eq!(app.get("/peek", Some(&cookie)).await.body, "some:hello");
    }
);

#[tokio::test]
async fn a_missing_layer_is_an_error_not_none() {
    let router = optional_routes(Arc::default());
    let response = typed_sessions_tests::get(&router, "/peek", None).await;
    assert_eq!(response.status, 500);
    assert!(
        response.body.contains("`SessionLayer`"),
        "{}",
        response.body
    );
}

//! ERR — failures and error paths.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::StatusCode;
use typed_sessions::{Session, SessionLayer, SessionRejection, store::SessionStore};

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

/// The response says nothing about the store's failure (`detail`); the log does.
#[track_caller]
fn assert_quiet(response: &TestResponse, logs: &Logs, detail: &str) {
    let expected = match response.status.as_u16() {
        503 => "service unavailable: try again shortly",
        409 => "the session changed during this request: try again",
        _ => "internal server error",
    };
    assert_eq!(
        response.body, expected,
        "a generic body for {}",
        response.status
    );
    assert!(!response.body.contains(detail), "{}", response.body);
    let logged = logs.take();
    assert!(
        logged.contains(detail),
        "the detail goes to the log: {logged}"
    );
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
    let (logs, _capture) = Logs::capture();
    let r2 = app.get("/counted", Some(&r1.replay())).await;
    assert_eq!(r2.status, 500);
    assert_quiet(&r2, &logs, "boom!");
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
    let (logs, _capture) = Logs::capture();
    let r1 = app.get("/set", None).await;
    assert_eq!(r1.status, 500);
    assert_quiet(&r1, &logs, "boom!");
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
    let (logs, _capture) = Logs::capture();
    let r2 = app.get("/destroy", Some(&r1.replay())).await;
    assert_eq!(r2.status, 500);
    assert_quiet(&r2, &logs, "boom!");
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

on_backends!(
    store_failures_are_never_echoed_to_the_client,
    [Memory],
    |backend| async move {
        // What a client saw before: `session store unavailable: connection refused ...`.
        let app = TestApp::new(backend, reference_routes());
        let r1 = app.get("/set", None).await;
        let cookie = r1.replay();
        let (logs, _capture) = Logs::capture();
        for (kind, path, status) in [
            ("load", "/read", 503),
            ("patch", "/count", 503),
            ("remove", "/destroy", 503),
        ] {
            app.spy().set_faults(Faults {
                unavailable: vec![kind],
                ..Default::default()
            });
            let failed = app.get(path, Some(&cookie)).await;
            assert_eq!(failed.status, status, "{kind}");
            assert_quiet(&failed, &logs, "connection refused");
        }
        app.spy().set_faults(Faults {
            fail: vec!["create"],
            ..Default::default()
        });
        let failed = app.get("/set", None).await;
        assert_eq!(failed.status, 500);
        assert_quiet(&failed, &logs, "boom!");
    }
);

/// Renders every session failure as JSON naming its status.
fn json_errors(layer: SessionLayer) -> SessionLayer {
    layer.with_error_response(|status| {
        let body = serde_json::json!({ "error": "session", "status": status.as_u16() });
        (status, axum::Json(body)).into_response()
    })
}

on_backends!(
    the_application_renders_session_failures,
    [Memory],
    |backend| async move {
        let app = TestApp::with(backend, reference_routes(), json_errors);
        let r1 = app.get("/set", None).await;
        let cookie = r1.replay();

        // A failed load, answered through the extractor's rejection.
        app.spy().set_faults(Faults {
            unavailable: vec!["load"],
            ..Default::default()
        });
        let load = app.get("/read", Some(&cookie)).await;
        assert_eq!(load.status, 503);
        assert_eq!(
            load.json(),
            serde_json::json!({"error": "session", "status": 503})
        );

        // A failed save.
        app.spy().set_faults(Faults {
            fail: vec!["patch"],
            ..Default::default()
        });
        let save = app.get("/count", Some(&cookie)).await;
        assert_eq!(save.status, 500);
        assert_eq!(
            save.json(),
            serde_json::json!({"error": "session", "status": 500})
        );

        // A session removed by a concurrent request (a logout while this one was writing):
        // 409, and the cookie still expired.
        app.spy().set_faults(Faults {
            delay: Some(("patch", Duration::from_millis(200))),
            ..Default::default()
        });
        let logout = async {
            tokio::time::sleep(Duration::from_millis(50)).await;
            app.spy()
                .inner
                .remove(&store_key_of(&cookie))
                .await
                .unwrap();
        };
        let (conflict, ()) = tokio::join!(app.get("/count", Some(&cookie)), logout);
        assert_eq!(conflict.status, 409);
        assert_eq!(
            conflict.json(),
            serde_json::json!({"error": "session", "status": 409})
        );
        assert!(conflict.expires_cookie("session"), "{conflict:?}");
    }
);

#[tokio::test]
async fn a_handler_that_handles_the_rejection_itself_is_left_alone() {
    async fn lenient(
        session: Result<Session<Msg>, SessionRejection>,
    ) -> (StatusCode, &'static str) {
        match session {
            Ok(_) => (StatusCode::OK, "session"),
            Err(_) => (StatusCode::OK, "no session today"),
        }
    }
    let routes = reference_routes().route("/lenient", get(lenient));
    let app = TestApp::with(Backend::Memory, routes, json_errors);
    let r1 = app.get("/set", None).await;
    app.spy().set_faults(Faults {
        unavailable: vec!["load"],
        ..Default::default()
    });
    let answered = app.get("/lenient", Some(&r1.replay())).await;
    assert_eq!(
        (answered.status, answered.body.as_str()),
        (StatusCode::OK, "no session today")
    );
}

/// `/logout_fails` destroys the session and answers 500; `/login_fails` regenerates it, logs
/// in as `mallory` and answers 500.
fn failing_account_routes() -> Router {
    async fn logout_fails(mut session: Session<Msg>) -> StatusCode {
        session.destroy();
        StatusCode::INTERNAL_SERVER_ERROR
    }
    async fn login_fails(mut session: Session<Msg>) -> StatusCode {
        session.regenerate();
        session.message = "mallory".into();
        StatusCode::INTERNAL_SERVER_ERROR
    }
    reference_routes()
        .route("/logout_fails", get(logout_fails))
        .route("/login_fails", get(login_fails))
}

on_backends!(
    a_logout_answered_with_a_server_error_still_logs_out,
    [Cookie, Memory],
    |backend| async move {
        let app = TestApp::new(backend, failing_account_routes());
        let r1 = app.get("/set", None).await;
        let cookie = r1.replay();
        app.store_calls();

        let r2 = app.get("/logout_fails", Some(&cookie)).await;
        assert_eq!(r2.status, 500);
        assert!(r2.expires_cookie("session"), "the cookie goes: {r2:?}");
        if backend.is_store() {
            assert_eq!(app.store_calls(), ["load", "remove"]);
            // A client that keeps the old cookie anyway is logged out.
            let r3 = app.get("/is_new", Some(&cookie)).await;
            assert_eq!(r3.body, "true");
        }
    }
);

on_backends!(
    a_login_answered_with_a_server_error_kills_the_old_id_and_keeps_nothing,
    [Cookie, Memory],
    |backend| async move {
        let app = TestApp::new(backend, failing_account_routes());
        let r1 = app.get("/set", None).await;
        let cookie = r1.replay();
        app.store_calls();

        let r2 = app.get("/login_fails", Some(&cookie)).await;
        assert_eq!(r2.status, 500);
        assert!(
            r2.expires_cookie("session"),
            "no new cookie, the old one goes: {r2:?}"
        );
        if backend.is_store() {
            assert_eq!(app.store_calls(), ["load", "remove"], "nothing created");
            let r3 = app.get("/read", Some(&cookie)).await;
            assert_eq!(r3.body, "", "the old id is dead");
            assert!(
                app.spy().inner.is_empty().await,
                "the new session was not saved"
            );
        }
    }
);

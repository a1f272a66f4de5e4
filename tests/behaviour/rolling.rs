//! ROL — rolling expiry (`with_rolling(true)`).
//!
//! ROL-04 decision: a request that never extracts the session refreshes nothing.

use std::time::Duration;

use axum::Router;
use axum::routing::get;
use typed_sessions::{Session, store::SessionStore};

use typed_sessions_tests::wire::store_key_of;
use typed_sessions_tests::*;

/// The session of the ROL and REN cases: `{foo: "bar"}` once set.
#[derive(typed_sessions::Session, Default)]
pub(crate) struct Foo {
    foo: Option<String>,
}

/// `/set` assigns `{foo: "bar"}`.
async fn set_foo(mut session: Session<Foo>) {
    session.foo = Some("bar".into());
}

/// `/` returns the session as JSON (`{}` when empty).
async fn show(session: Session<Foo>) -> String {
    match &session.foo {
        Some(value) => serde_json::json!({ "foo": value }).to_string(),
        None => "{}".to_owned(),
    }
}

/// `/set`, `/`, and `/none` (never extracts the session).
pub(crate) fn foo_routes() -> Router {
    Router::new()
        .route("/set", get(set_foo))
        .route("/", get(show))
        .route("/none", get(handlers::none))
}

pub(crate) const FOO_BAR: &str = r#"{"foo":"bar"}"#;

pub(crate) fn expires_of(set_cookie: &str) -> time::OffsetDateTime {
    cookie::Cookie::parse(set_cookie.to_owned())
        .unwrap()
        .expires_datetime()
        .unwrap_or_else(|| panic!("no Expires: {set_cookie}"))
}

on_backends!(
    rol_01_rolling_off_unmodified_reads_emit_nothing,
    [Cookie, Memory],
    |backend| async move {
        let app = TestApp::with(backend, foo_routes(), |l| {
            l.with_idle_timeout(Duration::from_secs(60))
        });
        let r1 = app.get("/set", None).await;
        assert!(r1.session_cookie().is_some());
        app.store_calls();
        app.advance(Duration::from_secs(1));
        let r2 = app.get("/", Some(&r1.replay())).await;
        assert_eq!(r2.status, 200);
        assert_eq!(r2.body, FOO_BAR);
        assert!(r2.set_cookies().is_empty(), "{:?}", r2.set_cookies());
        if backend.is_store() {
            assert_eq!(app.store_calls(), ["load"]);
        }
    }
);

on_backends!(
    rol_02_rolling_on_refreshes_existing_session,
    [Cookie, Memory],
    |backend| async move {
        let app = TestApp::with(backend, foo_routes(), |l| {
            l.with_rolling(true)
                .with_idle_timeout(Duration::from_secs(60))
        });
        let r1 = app.get("/set", None).await;
        let first = r1.session_cookie().expect("a session cookie");
        app.store_calls();
        app.advance(Duration::from_secs(1));
        let r2 = app.get("/", Some(&r1.replay())).await;
        assert_eq!(r2.status, 200);
        assert_eq!(r2.body, FOO_BAR);
        assert_eq!(r2.set_cookies_named("session").len(), 1, "{:?}", r2.headers);
        let second = r2.session_cookie().unwrap();
        assert!(
            expires_of(&second) > expires_of(&first),
            "{first} / {second}"
        );
        if backend.is_store() {
            let calls = app.spy().take_calls();
            let expected = app.clock.now() + time::Duration::seconds(60);
            match calls.as_slice() {
                [Call::Load(_), Call::Touch(_, at)] => assert_eq!(*at, expected),
                [Call::Load(_), Call::Patch(_, patch)] => assert_eq!(patch.expires(), expected),
                _ => panic!("{calls:?}"),
            }
            let record = app
                .spy()
                .inner
                .load(&store_key_of(&r1.replay()))
                .await
                .unwrap()
                .expect("the record");
            assert_eq!(record.expires(), expected);
        }
        // The refreshed cookie works.
        let r3 = app.get("/", Some(&r2.replay())).await;
        assert_eq!(r3.body, FOO_BAR);
    }
);

on_backends!(
    rol_03_rolling_on_without_session_emits_nothing,
    [Cookie, Memory],
    |backend| async move {
        let app = TestApp::with(backend, foo_routes(), |l| l.with_rolling(true));
        let r = app.get("/", None).await;
        assert_eq!(r.status, 200);
        assert_eq!(r.body, "{}");
        assert!(r.set_cookies().is_empty(), "{:?}", r.set_cookies());
        assert!(app.store_calls().is_empty());
    }
);

on_backends!(
    rol_04_rolling_on_untouched_session_is_not_refreshed,
    [Cookie, Memory],
    |backend| async move {
        let app = TestApp::with(backend, foo_routes(), |l| {
            l.with_rolling(true)
                .with_idle_timeout(Duration::from_secs(60))
        });
        let r1 = app.get("/set", None).await;
        let cookie = r1.replay();
        app.store_calls();
        app.advance(Duration::from_secs(1));
        let r2 = app.get("/none", Some(&cookie)).await;
        assert_eq!(r2.status, 200);
        assert_eq!(r2.body, "greetings");
        assert!(r2.set_cookies().is_empty(), "{:?}", r2.set_cookies());
        assert!(app.store_calls().is_empty());
        // The same request, extracting the session, does refresh: rolling is on.
        let r3 = app.get("/", Some(&cookie)).await;
        assert_eq!(r3.body, FOO_BAR);
        assert!(r3.session_cookie().is_some(), "{:?}", r3.headers);
    }
);

on_backends!(
    turning_rolling_off_keeps_the_configured_refresh_threshold,
    [Cookie, Memory],
    |backend| async move {
        // `with_rolling(false)` used to reset `with_idle_refresh_after`: a read 2 s after the
        // write then refreshed nothing until half the idle timeout (30 s) had passed.
        let app = TestApp::with(backend, foo_routes(), |l| {
            l.with_idle_timeout(Duration::from_secs(60))
                .with_idle_refresh_after(Duration::from_secs(2))
                .with_rolling(true)
                .with_rolling(false)
        });
        let r1 = app.get("/set", None).await;
        let cookie = r1.replay();
        app.advance(Duration::from_secs(1));
        let r2 = app.get("/", Some(&cookie)).await;
        assert!(
            r2.set_cookies().is_empty(),
            "1 s: below the threshold: {:?}",
            r2.set_cookies()
        );
        app.advance(Duration::from_secs(1));
        let r3 = app.get("/", Some(&cookie)).await;
        let refreshed = r3
            .session_cookie()
            .expect("2 s: the configured threshold refreshes");
        assert!(expires_of(&refreshed) > expires_of(&r1.session_cookie().unwrap()));
    }
);
